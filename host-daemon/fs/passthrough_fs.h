// The passthrough filesystem: serves one host directory (--shared-dir) to the guest.
//
// Confinement is structural, not a path check: every inode is an O_PATH fd, every
// operation is an *at call relative to one, every name is a single component, lookups
// use openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS) where the kernel has it, and
// symlinks are never followed on the host ("." and ".." never leave the share root).
// Reopening an inode goes through /proc/self/fd, which names our own fds only.
#pragma once

#include <atomic>
#include <functional>
#include <memory>

#include "fs/file_handles.h"
#include "fs/filesystem.h"
#include "fs/fs_options.h"
#include "fs/handle_table.h"
#include "fs/inode_table.h"
#include "fs/names.h"
#include "fs/posix_locks.h"

namespace vfs::host {

namespace migration {
class FsAccess;
}

class PassthroughFs final : public Filesystem {
  public:
    // Opens the shared directory; fails if it is missing or not a directory.
    static Result<std::unique_ptr<PassthroughFs>> create(const FsOptions& opts);
    // Whether inodes of the shared directory's own mount are held by file handle
    // (--inode-file-handles=prefer|mandatory, and handles that work there).
    bool uses_file_handles() const { return use_file_handles_; }

    Result<fuse_entry_out> lookup(const RequestContext& ctx, uint64_t parent,
                                  std::string_view name) override;
    void forget(uint64_t nodeid, uint64_t nlookup) override;
    Result<fuse_attr_out> getattr(uint64_t nodeid, const uint64_t* fh) override;
    Result<fuse_attr_out> setattr(const RequestContext& ctx, uint64_t nodeid,
                                  const fuse_setattr_in& in) override;
    Result<size_t> readlink(uint64_t nodeid, char* buf, size_t cap) override;
    Result<fuse_entry_out> mknod(const RequestContext& ctx, uint64_t parent, std::string_view name,
                                 uint32_t mode, uint32_t rdev, uint32_t umask) override;
    Result<fuse_entry_out> mkdir(const RequestContext& ctx, uint64_t parent, std::string_view name,
                                 uint32_t mode, uint32_t umask) override;
    Result<fuse_entry_out> symlink(const RequestContext& ctx, uint64_t parent,
                                   std::string_view name, std::string_view target) override;
    Result<fuse_entry_out> link(const RequestContext& ctx, uint64_t nodeid, uint64_t newparent,
                                std::string_view newname) override;
    Status unlink(const RequestContext& ctx, uint64_t parent, std::string_view name) override;
    Status rmdir(const RequestContext& ctx, uint64_t parent, std::string_view name) override;
    Status rename(const RequestContext& ctx, uint64_t parent, std::string_view name,
                  uint64_t newparent, std::string_view newname, uint32_t flags) override;
    Result<fuse_open_out> open(const RequestContext& ctx, uint64_t nodeid, uint32_t flags) override;
    Result<CreateResult> create(const RequestContext& ctx, uint64_t parent, std::string_view name,
                                uint32_t mode, uint32_t flags, uint32_t umask) override;
    Result<CreateResult> tmpfile(const RequestContext& ctx, uint64_t parent, uint32_t mode,
                                 uint32_t flags, uint32_t umask) override;
    Status release(uint64_t fh, uint32_t release_flags, uint64_t lock_owner) override;
    Status flush(uint64_t fh, uint64_t lock_owner) override;
    Result<fuse_open_out> opendir(const RequestContext& ctx, uint64_t nodeid,
                                  uint32_t flags) override;
    Status readdir(const RequestContext& ctx, uint64_t fh, uint64_t offset, bool plus,
                   const DirEntrySink& sink) override;
    Status releasedir(uint64_t fh) override;
    Result<fuse_kstatfs> statfs(uint64_t nodeid) override;
    Status setxattr(uint64_t nodeid, std::string_view name, const void* value, size_t size,
                    uint32_t flags, uint32_t setxattr_flags) override;
    Result<size_t> getxattr(uint64_t nodeid, std::string_view name, void* buf, size_t cap) override;
    Result<size_t> listxattr(uint64_t nodeid, char* buf, size_t cap) override;
    Status removexattr(uint64_t nodeid, std::string_view name) override;
    Result<uint64_t> lseek(uint64_t fh, uint64_t offset, uint32_t whence) override;
    Result<size_t> copy_file_range(uint64_t fh_in, uint64_t off_in, uint64_t fh_out,
                                   uint64_t off_out, size_t len, uint32_t flags) override;
    Status syncfs() override;
    Result<fuse_file_lock> getlk(uint64_t nodeid, const fuse_lk_in& in) override;
    Status setlk(uint64_t nodeid, const fuse_lk_in& in, bool wait) override;
    Status kill_suid_sgid(uint64_t fh) override;
    void reset() override;
    Result<DataFile> data_file(uint64_t fh, DataAccess access) override;
    Result<DataFile> map_file(const RequestContext& ctx, uint64_t nodeid, uint64_t fh,
                              DataAccess access) override;

    const InodeTable& inodes() const { return inodes_; }
    const HandleTable& handles() const { return handles_; }
    const PosixLocks& posix_locks() const { return posix_locks_; }

  private:
    friend class migration::FsAccess;  // saves and restores the tables (migration/)
    explicit PassthroughFs(const FsOptions& opts);
    // A new handle owning `fd` on `inode`; EMFILE when the fd budget is spent.
    Result<uint64_t> add_handle(UniqueFd fd, InodeRef inode, bool dir);

    // A directory entry to create, remove or rename: its parent, an fd on the parent, and
    // a single-component name that is not "." or ".." (those fail with the given errnos).
    struct EntryRef {
        InodeRef parent;
        InodeFd parent_fd;
        ComponentName name;
    };
    Result<EntryRef> entry_ref(uint64_t parent, std::string_view name, int dot_errno,
                               int dotdot_errno) const;
    // --security-label (labelled_create.cpp): `make` (under the guest's ids) makes a node
    // of `type` at a temporary name in e's directory (returning an fd if make_opens, else
    // 0; -1 with errno), which is labelled with ctx.label and renamed to e's name. The
    // node's fd; on failure nothing is left behind.
    Result<UniqueFd> labelled_node(const RequestContext& ctx, const EntryRef& e, mode_t type,
                                   bool make_opens,
                                   const std::function<int(int, const char*)>& make);
    // CREATE of a name that exists: opened as OPEN would, regular files only.
    Result<CreateResult> open_existing(const EntryRef& e, int host_flags);
    // The reply to CREATE/TMPFILE: the new entry and a handle owning `file`.
    Result<CreateResult> opened_new_file(Result<fuse_entry_out> entry, InodeRef inode,
                                         UniqueFd file);

    Result<InodeRef> inode(uint64_t nodeid) const;
    Result<InodeRef> dir_inode(uint64_t nodeid) const;
    Result<UniqueFd> reopen(const Inode& inode, int flags) const;
    // A real fd to reach a node's xattrs through; `refused` answers for symlinks and
    // special files. ENOSYS without --xattr (the guest then stops asking).
    Result<UniqueFd> xattr_fd(uint64_t nodeid, int refused) const;
    // The host's name for a guest's xattr name under --xattrmap (xattr_names.cpp).
    Result<std::string> host_xattr_name(std::string_view name) const;
    Result<InodeFd> path_fd(const Inode& inode) const;
    // A lookup's entry; *held, if given, gets the inode reference it counted.
    Result<fuse_entry_out> lookup_child(const Inode& parent, std::string_view name,
                                        InodeRef* held = nullptr);
    // Whether fd is the share root or below it (".." of a directory the host moved out
    // of the share is not).
    bool beneath_share(int fd) const;
    // The open file `in.fh` names, if it is a file of `nodeid`; EBADF otherwise.
    Result<HandleRef> lock_handle(uint64_t nodeid, const fuse_lk_in& in) const;
    Status flock_op(const Handle& h, const fuse_lk_in& in);
    Result<fuse_entry_out> entry_for(const Inode& parent, UniqueFd fd, InodeRef* held = nullptr);
    Result<fuse_attr> stat_inode(int fd, const InodeKey* parent, uint64_t* mnt_id,
                                 dev_t* dev = nullptr) const;
    int open_flags_for_host(uint32_t guest_flags) const;
    fuse_open_out open_reply(uint64_t fh, bool dir) const;

    FdBudget fd_budget_;      // first members: destroyed last, after every token
    FdBudget handle_budget_;  // inodes held by file handle (see FsOptions)
    FsOptions opts_;
    CachePolicy cache_;
    UniqueFd proc_self_fd_;
    dev_t root_dev_ = 0;  // the share root, as beneath_share() recognises it
    ino_t root_ino_ = 0;
    InodeTable inodes_;
    HandleTable handles_;
    PosixLocks posix_locks_{fd_budget_};  // its lock fds take tokens from fd_budget_
    FileHandleStore file_handles_;
    bool use_file_handles_ = false;
    std::atomic<bool> have_openat2_{true};  // cleared once if the kernel lacks openat2
};

}  // namespace vfs::host
