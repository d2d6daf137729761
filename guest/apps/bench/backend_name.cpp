// backend_name over lib/vfs: the mount's backend as vfs_mount picked it.
#include "apps/bench/backend_name.h"

#include "lib/vfs/mount_table.h"

namespace vfs::guest::bench {

const char* backend_name(const char* mount) {
    const vfslib::Mount* m = vfslib::mount_at(mount);
    return m && m->p9 ? "9p" : "virtio-fs";
}

}  // namespace vfs::guest::bench
