// backend_name over lib/vfs: the mount's backend as vfs_mount picked it, and whether
// its data goes through a DAX window.
#include "apps/bench/backend_name.h"

#include "lib/vfs/mount_table.h"
#include "lib/vfs/vfs.h"

namespace vfs::guest::bench {

const char* backend_name(const char* mount) {
    const vfslib::Mount* m = vfslib::mount_at(mount);
    if (m && m->p9) return "9p";
    return vfs_mount_dax(mount) == 1 ? "virtio-fs-dax" : "virtio-fs";
}

}  // namespace vfs::guest::bench
