#include "fs/posix_locks.h"

#include <cerrno>
#include <climits>

namespace vfs::host {

using vfs::wire::Error;
using vfs::wire::Result;
using vfs::wire::Status;

namespace {

// The kernel's OFFSET_MAX: fl_end of a lock that runs to the end of the file.
constexpr uint64_t kOffsetMax = static_cast<uint64_t>(LLONG_MAX);

Error errno_error() {
    return Error{errno > 0 ? errno : EIO};
}

}  // namespace

Result<struct flock> flock_from_fuse(const fuse_file_lock& lk) {
    if (lk.type != F_RDLCK && lk.type != F_WRLCK && lk.type != F_UNLCK) return Error{EINVAL};
    if (lk.start > kOffsetMax || lk.end > kOffsetMax || lk.end < lk.start) return Error{EINVAL};
    struct flock fl {};
    fl.l_type = static_cast<short>(lk.type);
    fl.l_whence = SEEK_SET;
    fl.l_start = static_cast<off_t>(lk.start);
    // end is inclusive; below OFFSET_MAX, end - start + 1 <= OFFSET_MAX cannot overflow.
    fl.l_len = lk.end == kOffsetMax ? 0 : static_cast<off_t>(lk.end - lk.start + 1);
    fl.l_pid = 0;  // F_OFD_* insist on 0
    return fl;
}

fuse_file_lock fuse_from_flock(const struct flock& fl) {
    fuse_file_lock lk{};
    lk.type = static_cast<uint32_t>(fl.l_type);
    if (fl.l_type == F_UNLCK) return lk;
    // F_OFD_GETLK reports SEEK_SET ranges with l_len >= 0.
    lk.start = static_cast<uint64_t>(fl.l_start);
    lk.end = fl.l_len == 0 ? kOffsetMax : static_cast<uint64_t>(fl.l_start + fl.l_len - 1);
    lk.pid = 0;  // the holder may be another owner's OFD, which has no pid (QEMU does so too)
    return lk;
}

Result<fuse_file_lock> PosixLocks::getlk(uint64_t nodeid, uint64_t owner,
                                         const fuse_file_lock& want, const Opener& open) {
    auto fl = flock_from_fuse(want);
    if (!fl) return Error{fl.error()};
    if (fl->l_type == F_UNLCK) return Error{EINVAL};
    std::lock_guard lock(mu_);
    // The owner's own fd, so its own locks never count as conflicts; an owner without
    // locks here asks through a fresh description, which holds none.
    int fd = -1;
    UniqueFd temp;
    if (auto i = inodes_.find(nodeid); i != inodes_.end()) {
        if (auto o = i->second.owners.find(owner); o != i->second.owners.end())
            fd = o->second.fd.get();
    }
    if (fd < 0) {
        auto f = open();
        if (!f) return Error{f.error()};
        temp = std::move(*f);
        fd = temp.get();
    }
    if (fcntl(fd, F_OFD_GETLK, &*fl) != 0) return errno_error();
    return fuse_from_flock(*fl);
}

Status PosixLocks::setlk(uint64_t nodeid, uint64_t owner, const fuse_file_lock& lk,
                         const Opener& open) {
    auto fl = flock_from_fuse(lk);
    if (!fl) return Error{fl.error()};
    std::lock_guard lock(mu_);
    // No open handle counted: the guest's fh was released while this request ran, and an
    // fd opened now would outlive every handle.
    auto i = inodes_.find(nodeid);
    if (i == inodes_.end() || i->second.open_handles == 0) return Error{EBADF};
    InodeLocks& in = i->second;
    auto o = in.owners.find(owner);
    if (o == in.owners.end()) {
        if (fl->l_type == F_UNLCK) return {};  // holds nothing here: nothing to drop
        if (in.owners.size() >= kMaxOwnersPerInode) return Error{ENOLCK};
        auto token = budget_.take();
        if (!token) return Error{ENOLCK};
        auto f = open();
        if (!f) return Error{f.error()};
        o = in.owners.emplace(owner, OwnerFd{std::move(*f), std::move(token)}).first;
    }
    // Never F_OFD_SETLKW: a queue worker must not sleep on a guest's lock.
    if (fcntl(o->second.fd.get(), F_OFD_SETLK, &*fl) != 0)
        return errno == EACCES ? Error{EAGAIN} : errno_error();
    return {};
}

void PosixLocks::opened(uint64_t nodeid) {
    std::lock_guard lock(mu_);
    ++inodes_[nodeid].open_handles;
}

void PosixLocks::released(uint64_t nodeid) {
    std::lock_guard lock(mu_);
    auto i = inodes_.find(nodeid);
    if (i == inodes_.end()) return;
    if (i->second.open_handles > 0) --i->second.open_handles;
    if (i->second.open_handles == 0) inodes_.erase(i);  // closes every owner's fd
}

void PosixLocks::drop_owner(uint64_t nodeid, uint64_t owner) {
    std::lock_guard lock(mu_);
    auto i = inodes_.find(nodeid);
    if (i != inodes_.end()) i->second.owners.erase(owner);
}

void PosixLocks::clear() {
    std::lock_guard lock(mu_);
    inodes_.clear();
}

size_t PosixLocks::owner_fds() const {
    std::lock_guard lock(mu_);
    size_t n = 0;
    for (const auto& [id, in] : inodes_)
        n += in.owners.size();
    return n;
}

}  // namespace vfs::host
