// Remote POSIX (fcntl) record locks for the guest (-o posix_lock), the way QEMU's C
// virtiofsd keeps them.
//
// In the guest a POSIX lock belongs to a process (a FUSE lock owner); on the host every
// request runs in the one daemon process, where classic fcntl locks of two guest
// processes would merge instead of conflicting, and any close() would drop them all.
// So each (inode, lock owner) gets its own open file description and takes OFD locks
// (F_OFD_SETLK) on it: two owners conflict on the host as they do in the guest, host
// programs see the guest's locks, and dropping one owner's fd drops only its locks.
//
// A guest can make up owners without end; each one's fd counts against the
// filesystem's fd budget and each inode holds at most kMaxOwnersPerInode, so the
// answer to a flood is ENOLCK, never an fd table the daemon cannot use.
#pragma once

#include <fcntl.h>
#include <linux/fuse.h>

#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <unordered_map>

#include "fs/fd_budget.h"
#include "util/unique_fd.h"
#include "vfs/wire/result.h"

namespace vfs::host {

// The guest's fuse_file_lock as a struct flock for F_OFD_*, checked: the type is one of
// F_RDLCK/F_WRLCK/F_UNLCK, start and the inclusive end fit off_t and end >= start
// (end == OFFSET_MAX means "to end of file", l_len 0). EINVAL otherwise.
vfs::wire::Result<struct flock> flock_from_fuse(const fuse_file_lock& lk);
// A lock F_OFD_GETLK reported, in the form the guest kernel accepts (inclusive end,
// OFFSET_MAX for "to end of file", pid 0: an OFD lock has no owning process).
fuse_file_lock fuse_from_flock(const struct flock& fl);

class PosixLocks {
  public:
    static constexpr size_t kMaxOwnersPerInode = 256;

    // Opens a new open file description on the inode, for one owner's locks.
    using Opener = std::function<vfs::wire::Result<UniqueFd>()>;

    explicit PosixLocks(FdBudget& budget) : budget_(budget) {}

    // The first lock that would conflict with `want` for `owner`, or F_UNLCK.
    vfs::wire::Result<fuse_file_lock> getlk(uint64_t nodeid, uint64_t owner,
                                            const fuse_file_lock& want, const Opener& open);
    // Takes or drops a lock without ever waiting: EAGAIN when another owner holds a
    // conflicting one.
    vfs::wire::Status setlk(uint64_t nodeid, uint64_t owner, const fuse_file_lock& lk,
                            const Opener& open);

    // Handle bookkeeping: when an inode's last open handle goes, every owner's locks on
    // it go too (the guest has no file left to unlock them through).
    void opened(uint64_t nodeid);
    void released(uint64_t nodeid);
    // FLUSH (a guest process closed the file) and RELEASE with an owner: its locks go.
    void drop_owner(uint64_t nodeid, uint64_t owner);
    // A new guest session: nothing of the old one's locks survives.
    void clear();

    // Lock fds held, for tests.
    size_t owner_fds() const;

  private:
    struct OwnerFd {
        UniqueFd fd;
        FdBudget::Token token;
    };
    struct InodeLocks {
        uint64_t open_handles = 0;
        std::unordered_map<uint64_t, OwnerFd> owners;
    };

    FdBudget& budget_;
    mutable std::mutex mu_;  // held across the non-blocking fcntl calls only
    std::unordered_map<uint64_t, InodeLocks> inodes_;
};

}  // namespace vfs::host
