// The 9P2000.L backend of the vfs calls: a mount whose Mount::p9 is set is served here
// instead of by ukfuse. The vfs_* entry points check for such a mount first and hand the
// call over; everything below the mount point is walked by name on the server (one
// Twalk for the whole path, "." and ".." resolved by the client, then again from each
// symlink found in the way, up to kMaxSymlinks; an absolute target must stay on the mount).
//
// Also the registry of the virtio-9p devices the platform found, for vfs_mount(tag).
#pragma once

#include <stdint.h>

#include "drivers/virtio_9p/p9_device.h"
#include "lib/vfs/fd_table.h"
#include "lib/vfs/vfs.h"

namespace vfs::guest::vfslib {

// ENOSPC when full, EEXIST for a tag already registered (either kind).
wire::Status register_p9_device(virtio_9p::P9Device* dev);
virtio_9p::P9Device* find_p9_device(const char* tag);
virtio::DmaMemory* p9_dma();  // the first 9p device's, or nullptr

// The 9p mount serving path (and the rest below it), or nullptr if none does.
Mount* p9_mount_for(const char* path, const char** rest);

// vfs_mount for a 9p tag: -ENODEV when no 9p device has it. norm is normalised.
int p9_mount(const char* tag, const char* norm, uint32_t len);
int p9_umount(Mount* m);

int p9_open(Mount* m, const char* rest, int flags, uint32_t mode);
int p9_close(int fd, OpenFile* f);
int64_t p9_pread(OpenFile* f, void* buf, uint64_t len, uint64_t off);
int64_t p9_pwrite(OpenFile* f, const void* buf, uint64_t len, uint64_t off);
int64_t p9_size(OpenFile* f);  // the file's size on the server now
int p9_fstat(OpenFile* f, struct vfs_stat* st);
int p9_fsync(OpenFile* f);
int p9_ftruncate(OpenFile* f, uint64_t len);
int p9_readdir(OpenFile* f, struct vfs_dirent* out);

int p9_stat(Mount* m, const char* rest, bool follow, struct vfs_stat* st);
int p9_symlink(Mount* m, const char* rest, const char* target);
int64_t p9_readlink(Mount* m, const char* rest, char* buf, uint64_t cap);
int p9_mkdir(Mount* m, const char* rest, uint32_t mode);
int p9_remove(Mount* m, const char* rest, bool dir);  // rmdir or unlink
int p9_rename(Mount* m, const char* from, Mount* m2, const char* to);
int p9_link(Mount* m, const char* from, Mount* m2, const char* to);
int p9_statfs(Mount* m, const char* rest, struct vfs_statfs* st);

}  // namespace vfs::guest::vfslib
