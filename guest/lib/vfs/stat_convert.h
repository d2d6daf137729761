// FUSE attributes to the vfs_stat apps see. One place, so stat, lstat and fstat agree.
#pragma once

#include <linux/fuse.h>

#include "lib/vfs/vfs.h"

namespace vfs::guest::vfslib {

inline void to_vfs_stat(const fuse_attr& a, struct vfs_stat* st) {
    *st = {};
    st->st_ino = a.ino;
    st->st_nlink = a.nlink;
    st->st_rdev = a.rdev;
    st->st_mode = a.mode;
    st->st_uid = a.uid;
    st->st_gid = a.gid;
    st->st_blksize = a.blksize;
    st->st_size = static_cast<int64_t>(a.size);
    st->st_blocks = static_cast<int64_t>(a.blocks);
    st->st_atime_sec = static_cast<int64_t>(a.atime);
    st->st_mtime_sec = static_cast<int64_t>(a.mtime);
    st->st_ctime_sec = static_cast<int64_t>(a.ctime);
    st->st_atime_nsec = a.atimensec;
    st->st_mtime_nsec = a.mtimensec;
    st->st_ctime_nsec = a.ctimensec;
}

}  // namespace vfs::guest::vfslib
