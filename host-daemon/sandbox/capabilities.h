// The capabilities the daemon keeps once it is confined (libcap-ng), as virtiofsd: only
// what a passthrough of other users' files needs, and --modcaps (virtiofsd's syntax,
// "+cap:-cap", names as in capabilities(7) without CAP_) to change that set.
#pragma once

#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace vfs::host::sandbox {

struct CapabilityChange {
    bool add = false;
    int capability = 0;  // CAP_* number
};

// Parses --modcaps; the error names the first entry it cannot read.
std::variant<std::vector<CapabilityChange>, std::string> parse_modcaps(const std::string& spec);

// The set kept: CHOWN, DAC_OVERRIDE, FOWNER, FSETID, SETGID, SETUID, MKNOD, SETFCAP, plus
// DAC_READ_SEARCH when inodes are held by file handle (open_by_handle_at needs it), with
// `changes` applied in order.
std::vector<int> kept_capabilities(bool file_handles, const std::vector<CapabilityChange>& changes);

// Drops every other capability, from the effective, permitted, inheritable and bounding
// sets. Single-threaded only (capabilities are per thread). A process holding no
// capabilities (started unprivileged, no user namespace) is left as it is; one holding
// only some keeps those of `keep` it has. Returns an error message on failure.
std::optional<std::string> keep_only(const std::vector<int>& keep);

}  // namespace vfs::host::sandbox
