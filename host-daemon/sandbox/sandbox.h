// --sandbox: the daemon confines itself to the shared directory before it serves, as
// virtiofsd does, so that a compromised daemon sees nothing of the host but the share.
//
// namespace (the default): new pid, mount and network namespaces (plus a user namespace
// with the caller's ids mapped 1:1 when not root, or with --uid-map/--gid-map's ranges:
// sandbox/id_map.h). The process forks: the child, pid 1
// of the new pid namespace, bind-mounts the share onto itself, makes it the root with
// pivot_root and detaches the old root, so its mount table holds the share and nothing
// of the host's; the parent stays outside, forwards SIGTERM/SIGINT/SIGHUP to the child,
// removes the socket file once the child accepted its front-end, and exits with the
// child's status. chroot (root only): chroot into the share, no fork. none: as before.
//
// In both confined modes /proc/self/fd stays reachable through a descriptor opened before
// the root changed (util/proc_self_fd.h): the passthrough reopens inodes through it.
#pragma once

#include <string>
#include <variant>

#include "sandbox/id_map.h"

namespace vfs::host::sandbox {

enum class Mode { kNone, kNamespace, kChroot };

struct Request {
    Mode mode = Mode::kNamespace;
    std::string shared_dir;
    // Closed in the waiting parent, which must not hold the front-end's socket open: once
    // the child has accepted and closed its copy, a connect must be refused.
    int listener_fd = -1;
    // The socket file the parent removes when the child accepted (empty: none, --fd).
    std::string socket_path;
    // --uid-map/--gid-map (namespace only): a user namespace with these ranges, root or not.
    IdMaps id_maps;
};

// What the serving process runs with once confined.
struct Confined {
    std::string root;  // the shared directory as the process now names it ("/" inside)
    // namespace: write one byte here when the front-end connected (the parent then
    // removes the socket file); -1 otherwise.
    int accepted_fd = -1;
};

// Confines the calling process (single-threaded: before any thread starts). Returns in
// the process that serves; in namespace mode the parent never returns (it exits with the
// child's status). An error is a message naming the step and the errno's text.
std::variant<Confined, std::string> enter(const Request& req);

}  // namespace vfs::host::sandbox
