// --translate-uid / --translate-gid: the daemon's own id translation between the guest's
// ids and the host's (virtiofsd >= 1.11), one table per kind of id.
//
// A rule is "<type>:<source base>:<target base>:<count>" ("forbid-guest:<base>:<count>"):
//   guest         guest [base, base+count) -> host, 1:1
//   host          host  [base, base+count) -> guest, 1:1
//   squash-guest  guest [base, base+count) -> the one host id
//   squash-host   host  [base, base+count) -> the one guest id
//   forbid-guest  guest [base, base+count): refused (the request fails with EPERM)
//   map           "map:<guest base>:<host base>:<count>": guest and host both ways, 1:1
// The two directions are independent tables: within one, ranges may not overlap. An id no
// rule covers stays the same number, as in virtiofsd.
//
// Pure data: parsing here, applying in the passthrough (credentials, chown, attributes).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace vfs::host {

class IdTranslation {
  public:
    // Adds one rule; an error names the rule and the part that is wrong.
    std::optional<std::string> add(std::string_view rule);

    // The host id a guest id stands for; nullopt if a forbid-guest rule covers it.
    std::optional<uint32_t> to_host(uint32_t guest) const;
    // The guest id a host id is shown as.
    uint32_t to_guest(uint32_t host) const;

    bool empty() const { return guest_to_host_.empty() && host_to_guest_.empty(); }

  private:
    enum class Kind { kRange, kSquash, kForbid };
    struct Entry {
        uint64_t first;  // source range [first, end)
        uint64_t end;
        Kind kind;
        uint32_t target;  // kRange: the first id of the target range; kSquash: the id
        std::string rule;
    };
    static std::optional<std::string> insert(std::vector<Entry>& table, Entry e,
                                             const char* direction);
    static const Entry* find(const std::vector<Entry>& table, uint32_t id);

    std::vector<Entry> guest_to_host_;  // sorted by first, disjoint
    std::vector<Entry> host_to_guest_;
};

// Both tables, as the filesystem applies them.
struct IdTranslations {
    IdTranslation uid;
    IdTranslation gid;
    bool empty() const { return uid.empty() && gid.empty(); }
};

}  // namespace vfs::host
