// The descriptor table (see fd_table.h).
#include "lib/vfs/fd_table.h"

#include <linux/errno.h>

namespace vfs::guest::vfslib {
namespace {
OpenFile g_files[kMaxFds];
}

int fd_alloc() {
    // 0..2 stay free: apps print through the console, but numbers read like POSIX ones.
    for (int fd = 3; fd < kMaxFds; ++fd) {
        OpenFile& f = g_files[fd];
        if (f.used) continue;
        uint8_t* keep = f.dir_buf;
        f = OpenFile{};
        f.dir_buf = keep;
        f.used = true;
        return fd;
    }
    return -EMFILE;
}

OpenFile* fd_get(int fd) {
    if (fd < 0 || fd >= kMaxFds || !g_files[fd].used) return nullptr;
    return &g_files[fd];
}

void fd_free(int fd) {
    if (OpenFile* f = fd_get(fd)) f->used = false;
}

}  // namespace vfs::guest::vfslib
