// --seccomp: an allow-list of the system calls the daemon makes once it serves
// (seccomp_filter.cpp holds the one list, grouped, with where each group comes from).
// Anything else is killed (kill, the default, as virtiofsd), logged and allowed (log),
// or answered ENOSYS after a SIGSYS that logs the call's number (trap).
#pragma once

#include <optional>
#include <string>

namespace vfs::host::sandbox {

enum class SeccompAction { kNone, kKill, kLog, kTrap };

struct SeccompOptions {
    SeccompAction action = SeccompAction::kKill;
    bool syslog = false;  // the syslog socket may have to be re-opened
};

// Installs the filter on every thread of the process (and its future threads). Sets
// no_new_privs. Returns an error message on failure.
std::optional<std::string> install_seccomp_filter(const SeccompOptions& opts);

}  // namespace vfs::host::sandbox
