// The passthrough's tables as migration sees them: the one friend of PassthroughFs, so
// saving and restoring state needs no public door into the filesystem's internals.
#pragma once

#include "fs/passthrough_fs.h"

namespace vfs::host::migration {

class FsAccess {
  public:
    static InodeTable& inodes(PassthroughFs& fs) { return fs.inodes_; }
    static HandleTable& handles(PassthroughFs& fs) { return fs.handles_; }
    static int root_fd(PassthroughFs& fs) { return fs.inodes_.get(1)->fd.get(); }
    static int proc_self_fd(PassthroughFs& fs) { return fs.proc_self_fd_.get(); }
    static bool uses_file_handles(PassthroughFs& fs) { return fs.use_file_handles_; }
    static FileHandleStore& file_handles(PassthroughFs& fs) { return fs.file_handles_; }
    static const FsOptions& options(PassthroughFs& fs) { return fs.opts_; }
    static FdBudget& fd_budget(PassthroughFs& fs) { return fs.fd_budget_; }
    static FdBudget& handle_budget(PassthroughFs& fs) { return fs.handle_budget_; }
    static Result<InodeFd> path_fd(PassthroughFs& fs, const Inode& i) { return fs.path_fd(i); }
    static Result<UniqueFd> reopen(PassthroughFs& fs, const Inode& i, int flags) {
        return fs.reopen(i, flags);
    }
    // The inode key a lookup would give fd (device, inode number, mount id).
    static Result<InodeKey> key_of(PassthroughFs& fs, int fd) {
        uint64_t mnt_id = 0;
        dev_t dev = 0;
        auto attr = fs.stat_inode(fd, nullptr, &mnt_id, &dev);
        if (!attr) return vfs::wire::Error{attr.error()};
        return InodeKey{dev, attr->ino, mnt_id};
    }
};

}  // namespace vfs::host::migration
