// Inodes held by file handle instead of an open O_PATH fd (--inode-file-handles).
//
// An O_PATH fd per looked-up inode means `find` over a big tree in the guest can pin
// hundreds of thousands of host fds. A file handle (name_to_handle_at) names the inode
// without an fd; it is reopened with open_by_handle_at for the moment an operation needs
// it. Handles are made here from our own fds, never taken from the guest. Reopening needs
// CAP_DAC_READ_SEARCH, so the daemon checks at start-up that it works.
#pragma once

#include <fcntl.h>

#include <cstdint>
#include <map>
#include <mutex>
#include <set>

#include "util/unique_fd.h"
#include "vfs/wire/result.h"

namespace vfs::host {

// A file handle in fixed storage (MAX_HANDLE_SZ is 128 bytes in the kernel).
struct FileHandle {
    static constexpr uint32_t kMaxBytes = 128;
    uint64_t mnt_id = 0;
    int type = 0;
    uint32_t size = 0;
    unsigned char bytes[kMaxBytes] = {};
};

// Whether open_by_handle_at still finds an inode of a filesystem of this type (statfs
// f_type) after the kernel has dropped it from its inode cache. FUSE (sshfs, ...) puts
// its node id in the handle and, unless the server declares export support (which is
// not visible from here), fails with ESTALE once the inode is evicted: measured on sshfs
// 3.7 with echo 2 >/proc/sys/vm/drop_caches. Such handles cannot stand in for an fd.
bool handles_survive_eviction(long f_type);

class FileHandleStore {
  public:
    // The handle for `fd`'s inode, remembering an fd on its mount for reopening.
    // EOPNOTSUPP where the filesystem has no handles, or none that survive eviction
    // (handles_survive_eviction), checked once per mount.
    vfs::wire::Result<FileHandle> encode(int fd, uint64_t mnt_id);
    // A new fd (O_PATH unless flags say otherwise) on the handle's inode.
    vfs::wire::Result<UniqueFd> open(const FileHandle& h, int flags) const;

  private:
    mutable std::mutex mu_;
    std::map<uint64_t, UniqueFd> mount_fds_;  // one fd per mount, for open_by_handle_at
    std::set<uint64_t> unusable_mounts_;      // mounts whose handles do not survive eviction
};

// An fd for one operation on an inode: borrowed from the inode, or opened from its file
// handle for just this operation.
class InodeFd {
  public:
    static InodeFd borrowed(int fd) { return InodeFd(fd, UniqueFd()); }
    static InodeFd owned(UniqueFd fd) {
        const int raw = fd.get();
        return InodeFd(raw, std::move(fd));
    }
    InodeFd() = default;
    int get() const { return fd_; }

  private:
    InodeFd(int fd, UniqueFd owned) : fd_(fd), owned_(std::move(owned)) {}
    int fd_ = -1;
    UniqueFd owned_;
};

}  // namespace vfs::host
