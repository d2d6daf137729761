// --uid-map / --gid-map: the id ranges of the sandbox's user namespace, as virtiofsd takes
// them: "<d>namespace_id<d>host_id<d>count<d>", where the first character <d> is the
// separator (usually ':'), e.g. ":0:100000:65536:" (host 100000..165535 are 0..65535
// inside). Repeatable: each is one line of /proc/PID/uid_map or gid_map.
//
// Written by a helper process left in the host's user namespace: as root it writes the
// files itself; unprivileged it runs newuidmap/newgidmap (Debian package uidmap), which
// check /etc/subuid and /etc/subgid. Once mapped, the daemon becomes uid/gid 0 of the
// namespace when the maps give it one, so it creates files as any mapped id.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace vfs::host::sandbox {

struct IdMapRange {
    uint32_t inside = 0;
    uint32_t outside = 0;
    uint32_t count = 0;
};

// One --uid-map/--gid-map value; an error names the value and its bad part.
std::optional<std::string> parse_id_map(std::string_view text, IdMapRange* out);

// Parses all of them and checks that no two overlap, inside or outside.
std::optional<std::string> parse_id_maps(const char* flag, const std::vector<std::string>& texts,
                                         std::vector<IdMapRange>* out);

// The lines of a uid_map/gid_map file.
std::string id_map_text(const std::vector<IdMapRange>& ranges);

struct IdMaps {
    std::vector<IdMapRange> uid;  // empty: the caller's own uid onto itself
    std::vector<IdMapRange> gid;
    bool empty() const { return uid.empty() && gid.empty(); }
};

// Writes the maps of process `pid` (which has just made its user namespace) from a helper
// forked before it: called in that helper, which is still in the host's user namespace.
// Returns an error message, or nothing.
std::optional<std::string> write_id_maps(pid_t pid, const IdMaps& maps, uid_t own_uid,
                                         gid_t own_gid);

}  // namespace vfs::host::sandbox
