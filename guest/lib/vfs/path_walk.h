// Path resolution: an absolute path to a node, one component at a time through ukfuse
// lookups (and so through its dentry cache). "." and ".." are handled here on a stack of
// the directories walked (".." at a mount's root stays there), symlinks are followed with
// a limit of kMaxSymlinks (ELOOP beyond), and an absolute target may cross mounts; so
// does a walk that reaches a mount point by "..", "." or a relative symlink.
//
// Every node a Walk holds is pinned; walk_done() gives them back and sends the forgets
// that made due. Never allocates; single-threaded (it works in static buffers).
#pragma once

#include <linux/fuse.h>
#include <stdint.h>

#include "lib/vfs/mount_table.h"

namespace vfs::guest::vfslib {

inline constexpr int kMaxSymlinks = 40;
inline constexpr int kMaxDepth = 64;

enum WalkFlags : uint32_t {
    kFollow = 1,        // follow a symlink in the final component
    kParent = 2,        // stop before the final component: dir + name only
    kAllowMissing = 4,  // a missing final component is not an error (node 0)
};

struct Walk {
    Mount* mount = nullptr;
    uint64_t dir = 0;   // the final component's directory (pinned)
    uint64_t node = 0;  // the final node (pinned), 0 if missing or kParent
    fuse_attr attr{};   // node's attributes as the lookup saw them
    char name[256] = {};
    uint32_t name_len = 0;  // 0 when the path names a mount root
};

// 0, or a negative errno. On error nothing stays pinned.
int walk(const char* path, uint32_t flags, Walk* out);
void walk_done(Walk* w);

}  // namespace vfs::guest::vfslib
