// --xattrmap: virtiofsd's rules that rename extended attributes between guest and host.
//
// The rule language is virtiofsd's (its doc/xattr-mapping.md; QEMU's virtiofsd.rst):
// each rule is `<sep>type<sep>scope<sep>key<sep>prepend<sep>`, the separator being the
// rule's first non-blank character; `<sep>map<sep>key<sep>prepend<sep>` is shorthand for
// a set of rules and must come last. Rules are tried in order and the first match wins.
// Client names (GETXATTR, SETXATTR, REMOVEXATTR) match on `key`; server names (LISTXATTR)
// match on `prepend`. A name no rule matches is refused (client) or hidden (server), as
// QEMU's virtiofsd's implicit terminator does (Rust virtiofsd aborts instead).
//
// Pure functions: parsing is done once at start-up and the map is then read-only.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace vfs::host {

class XattrMap {
  public:
    enum class Type { kPrefix, kOk, kBad, kUnsupported };
    struct Rule {
        Type type;
        bool client;  // scope client or all
        bool server;  // scope server or all
        std::string key;
        std::string prepend;
        bool operator==(const Rule&) const = default;
    };

    // The rules, or an error naming the rule (1-based) and the character position
    // (0-based, in `text`) where it breaks.
    static std::variant<XattrMap, std::string> parse(std::string_view text);

    // A client's name as the host stores it; errno (EPERM for `bad` and no match,
    // ENOTSUP for `unsupported`) when refused. GETXATTR answers EPERM as ENODATA.
    struct ClientName {
        int error = 0;
        std::string host_name;
    };
    ClientName map_client(std::string_view name) const;

    // Rewrites a host listxattr(2) buffer (NUL-terminated names) into the names the guest
    // sees: hidden names dropped, prefixes stripped. Never longer than the input.
    std::string map_server_list(std::string_view host_list) const;

    const std::vector<Rule>& rules() const { return rules_; }

  private:
    std::vector<Rule> rules_;
};

}  // namespace vfs::host
