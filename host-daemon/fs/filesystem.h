// The filesystem interface the FUSE server dispatches to: one method per FUSE operation,
// in host types, with errors as errno values.
//
// The FUSE server decodes and validates the wire format; implementations (passthrough,
// and wrappers such as read-only) only see checked node ids, handles and single-component
// names. Implementations never trust a node id or fh: an unknown one is EBADF/ENOENT.
//
// Data (READ, WRITE, FSYNC, FSYNCDIR, FALLOCATE) does not pass through here byte by byte:
// data_file() grants access to an open file for one operation, and the queue's I/O engine
// moves the bytes between that file and guest memory. A wrapper refuses by refusing the
// grant.
#pragma once

#include <linux/fuse.h>
#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string_view>

#include "fs/data_file.h"
#include "vfs/wire/result.h"

namespace vfs::host {

using vfs::wire::Error;
using vfs::wire::Result;
using vfs::wire::Status;

// A security label to store with a new inode (--security-label, FUSE_SECURITY_CTX): the
// xattr name and value the guest sent, decoded and bounds-checked by the FUSE server.
struct SecurityLabel {
    std::string_view name;
    const void* value = nullptr;
    size_t size = 0;
};

// Who is asking, from the request's fuse_in_header; for CREATE, MKDIR, MKNOD and SYMLINK
// also the label the new inode must get before it is visible (null: none).
struct RequestContext {
    uint32_t uid = 0;
    uint32_t gid = 0;
    uint32_t pid = 0;
    const SecurityLabel* label = nullptr;
};

struct CreateResult {
    fuse_entry_out entry{};
    fuse_open_out open{};
};

// One directory entry for READDIR/READDIRPLUS. For READDIRPLUS `entry` is set; its
// nodeid is 0 for "." and "..", which carry no lookup.
struct DirEntry {
    std::string_view name;
    uint64_t ino = 0;
    uint32_t type = 0;  // DT_* value
    uint64_t next_offset = 0;
    const fuse_entry_out* entry = nullptr;
};

// Returns false when the reply is full; the entry was then not taken.
using DirEntrySink = std::function<bool(const DirEntry&)>;

class Filesystem {
  public:
    virtual ~Filesystem() = default;

    virtual Result<fuse_entry_out> lookup(const RequestContext& ctx, uint64_t parent,
                                          std::string_view name) = 0;
    virtual void forget(uint64_t nodeid, uint64_t nlookup) = 0;
    virtual Result<fuse_attr_out> getattr(uint64_t nodeid, const uint64_t* fh) = 0;
    virtual Result<fuse_attr_out> setattr(const RequestContext& ctx, uint64_t nodeid,
                                          const fuse_setattr_in& in) = 0;
    virtual Result<size_t> readlink(uint64_t nodeid, char* buf, size_t cap) = 0;
    virtual Result<fuse_entry_out> mknod(const RequestContext& ctx, uint64_t parent,
                                         std::string_view name, uint32_t mode, uint32_t rdev,
                                         uint32_t umask) = 0;
    virtual Result<fuse_entry_out> mkdir(const RequestContext& ctx, uint64_t parent,
                                         std::string_view name, uint32_t mode, uint32_t umask) = 0;
    virtual Result<fuse_entry_out> symlink(const RequestContext& ctx, uint64_t parent,
                                           std::string_view name, std::string_view target) = 0;
    virtual Result<fuse_entry_out> link(const RequestContext& ctx, uint64_t nodeid,
                                        uint64_t newparent, std::string_view newname) = 0;
    virtual Status unlink(const RequestContext& ctx, uint64_t parent, std::string_view name) = 0;
    virtual Status rmdir(const RequestContext& ctx, uint64_t parent, std::string_view name) = 0;
    virtual Status rename(const RequestContext& ctx, uint64_t parent, std::string_view name,
                          uint64_t newparent, std::string_view newname, uint32_t flags) = 0;
    virtual Result<fuse_open_out> open(const RequestContext& ctx, uint64_t nodeid,
                                       uint32_t flags) = 0;
    virtual Result<CreateResult> create(const RequestContext& ctx, uint64_t parent,
                                        std::string_view name, uint32_t mode, uint32_t flags,
                                        uint32_t umask) = 0;
    virtual Result<CreateResult> tmpfile(const RequestContext& ctx, uint64_t parent, uint32_t mode,
                                         uint32_t flags, uint32_t umask) = 0;
    // RELEASE and FLUSH carry the guest's lock owner: its POSIX locks on the file go on
    // FLUSH (a guest process closed it), its flock on RELEASE with FUSE_RELEASE_FLOCK_UNLOCK.
    virtual Status release(uint64_t fh, uint32_t release_flags, uint64_t lock_owner) = 0;
    virtual Status flush(uint64_t fh, uint64_t lock_owner) = 0;
    virtual Result<fuse_open_out> opendir(const RequestContext& ctx, uint64_t nodeid,
                                          uint32_t flags) = 0;
    virtual Status readdir(const RequestContext& ctx, uint64_t fh, uint64_t offset, bool plus,
                           const DirEntrySink& sink) = 0;
    virtual Status releasedir(uint64_t fh) = 0;
    virtual Result<fuse_kstatfs> statfs(uint64_t nodeid) = 0;
    // `setxattr_flags`: fuse_setxattr_in's (FUSE_SETXATTR_ACL_KILL_SGID), 0 without
    // FUSE_SETXATTR_EXT.
    virtual Status setxattr(uint64_t nodeid, std::string_view name, const void* value, size_t size,
                            uint32_t flags, uint32_t setxattr_flags) = 0;
    // With cap == 0, returns the size needed.
    virtual Result<size_t> getxattr(uint64_t nodeid, std::string_view name, void* buf,
                                    size_t cap) = 0;
    virtual Result<size_t> listxattr(uint64_t nodeid, char* buf, size_t cap) = 0;
    virtual Status removexattr(uint64_t nodeid, std::string_view name) = 0;
    virtual Result<uint64_t> lseek(uint64_t fh, uint64_t offset, uint32_t whence) = 0;
    virtual Result<size_t> copy_file_range(uint64_t fh_in, uint64_t off_in, uint64_t fh_out,
                                           uint64_t off_out, size_t len, uint32_t flags) = 0;
    virtual Status syncfs() = 0;
    // Remote locks (-o posix_lock; -o flock for FUSE_LK_FLOCK): ENOSYS when not enabled.
    // `in` is the guest's, unchecked. GETLK answers the first conflicting lock, or F_UNLCK.
    virtual Result<fuse_file_lock> getlk(uint64_t nodeid, const fuse_lk_in& in) = 0;
    // SETLK and SETLKW (`wait`) never wait: a lock held elsewhere is EAGAIN for SETLK and
    // EOPNOTSUPP for SETLKW, as QEMU's C virtiofsd answers SETLKW.
    virtual Status setlk(uint64_t nodeid, const fuse_lk_in& in, bool wait) = 0;

    // KILLPRIV_V2: drop suid/sgid on an open file after an unprivileged write/truncate.
    virtual Status kill_suid_sgid(uint64_t fh) = 0;

    // The guest's session ended (DESTROY, or a new INIT after a hard reboot): forget every
    // inode but the root and close every handle.
    virtual void reset() = 0;

    // Access to the open file `fh` for one data operation: EBADF for an unknown handle (or
    // a directory, except for kSync), EROFS where the share may not change.
    virtual Result<DataFile> data_file(uint64_t fh, DataAccess access) = 0;

    // DAX: the file behind a SETUPMAPPING of `nodeid`, for a mapping of `access` (kRead or
    // kWrite). fh == kMapOwnFile (Linux sends -1) opens the inode for that access itself,
    // under OPEN's rules; any other fh must be an open file of that very node, opened for
    // the access. Regular files only. EBADF for an unknown or foreign fh, EROFS where the
    // share may not change, ENOSYS where DAX is not served.
    static constexpr uint64_t kMapOwnFile = ~0ull;
    virtual Result<DataFile> map_file(const RequestContext& ctx, uint64_t nodeid, uint64_t fh,
                                      DataAccess access) {
        (void)ctx;
        (void)nodeid;
        (void)fh;
        (void)access;
        return Error{ENOSYS};
    }
};

}  // namespace vfs::host
