#include "fs/file_handles.h"

#include <linux/magic.h>
#include <sys/statfs.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "util/proc_self_fd.h"

namespace vfs::host {
namespace {

// struct file_handle with room for the largest handle, as the kernel expects it.
struct HandleBuffer {
    file_handle head;
    unsigned char room[FileHandle::kMaxBytes];
};

}  // namespace

bool handles_survive_eviction(long f_type) {
    return f_type != FUSE_SUPER_MAGIC;
}

vfs::wire::Result<FileHandle> FileHandleStore::encode(int fd, uint64_t mnt_id) {
    {
        std::lock_guard lock(mu_);
        if (unusable_mounts_.count(mnt_id)) return vfs::wire::Error{EOPNOTSUPP};
    }
    HandleBuffer buf{};
    buf.head.handle_bytes = FileHandle::kMaxBytes;
    int kernel_mnt = 0;
    if (name_to_handle_at(fd, "", &buf.head, &kernel_mnt, AT_EMPTY_PATH) != 0)
        return vfs::wire::Error{errno == EOVERFLOW ? EOPNOTSUPP : errno};
    FileHandle h;
    h.mnt_id = mnt_id;
    h.type = buf.head.handle_type;
    h.size = buf.head.handle_bytes;
    std::memcpy(h.bytes, buf.head.f_handle, h.size);
    std::lock_guard lock(mu_);
    if (!mount_fds_.count(mnt_id)) {
        // open_by_handle_at refuses an O_PATH mount fd, so keep a real one. Only a
        // directory is opened for it (never a FIFO or device, whose open has effects); a
        // mount is always entered through its root directory first.
        char name[16];
        std::snprintf(name, sizeof(name), "%d", fd);
        const int mount_fd = ::openat(proc_self_fd(), name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (mount_fd < 0) return vfs::wire::Error{errno == ENOTDIR ? EOPNOTSUPP : errno};
        UniqueFd owned(mount_fd);
        struct statfs sfs {};
        if (fstatfs(mount_fd, &sfs) != 0) return vfs::wire::Error{errno};
        if (!handles_survive_eviction(static_cast<long>(sfs.f_type))) {
            unusable_mounts_.insert(mnt_id);
            return vfs::wire::Error{EOPNOTSUPP};
        }
        mount_fds_.emplace(mnt_id, std::move(owned));
    }
    return h;
}

vfs::wire::Result<UniqueFd> FileHandleStore::open(const FileHandle& h, int flags) const {
    int mount_fd = -1;
    {
        std::lock_guard lock(mu_);
        auto it = mount_fds_.find(h.mnt_id);
        if (it == mount_fds_.end()) return vfs::wire::Error{ESTALE};
        mount_fd = it->second.get();
    }
    HandleBuffer buf{};
    buf.head.handle_bytes = h.size;
    buf.head.handle_type = h.type;
    std::memcpy(buf.head.f_handle, h.bytes, h.size);
    const int fd = open_by_handle_at(mount_fd, &buf.head, flags | O_CLOEXEC);
    if (fd < 0) return vfs::wire::Error{errno};
    return UniqueFd(fd);
}

}  // namespace vfs::host
