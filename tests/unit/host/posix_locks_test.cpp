// Remote locks (-o posix_lock, -o flock) through the passthrough filesystem on a real
// temporary directory: owners conflict as guest processes would, the host sees the
// guest's locks, FLUSH/RELEASE drop the right ones, nothing ever waits, and hostile
// ranges, handles and owner floods are refused.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/file.h>
#include <unistd.h>

#include <atomic>
#include <climits>
#include <filesystem>
#include <fstream>
#include <thread>

#include "fs/passthrough_fs.h"
#include "fs/posix_locks.h"
#include "fs/read_only_fs.h"

namespace fs = std::filesystem;
using namespace vfs::host;

namespace {

constexpr uint64_t kOffsetMax = static_cast<uint64_t>(LLONG_MAX);
constexpr uint64_t kOwnerA = 0xa11ce, kOwnerB = 0xb0b, kOwnerC = 0xc0c0;

class PosixLocksTest : public ::testing::Test {
  protected:
    void SetUp() override {
        char tmpl[] = "/tmp/vfs-locks-test-XXXXXX";
        ASSERT_NE(mkdtemp(tmpl), nullptr);
        top_ = tmpl;
        std::ofstream(top_ / "f") << "data";
        std::ofstream(top_ / "g") << "other";
        make_fs(0);
    }
    void TearDown() override {
        pfs_.reset();
        fs::remove_all(top_);
    }
    void make_fs(uint64_t fd_limit, bool enabled = true) {
        pfs_.reset();
        FsOptions o;
        o.shared_dir = top_;
        o.posix_lock = enabled;
        o.flock = enabled;
        o.fd_limit = fd_limit;
        auto r = PassthroughFs::create(o);
        ASSERT_TRUE(r.ok()) << r.error();
        pfs_ = std::move(*r);
        auto e = pfs_->lookup(ctx_, FUSE_ROOT_ID, "f");
        ASSERT_TRUE(e.ok());
        node_ = e->nodeid;
    }
    uint64_t open_fh(uint64_t node) {
        auto o = pfs_->open(ctx_, node, O_RDWR);
        EXPECT_TRUE(o.ok()) << o.error();
        return o.ok() ? o->fh : 0;
    }
    static fuse_lk_in lk(uint64_t fh, uint64_t owner, uint32_t type, uint64_t start, uint64_t end,
                         bool flock = false) {
        fuse_lk_in in{};
        in.fh = fh;
        in.owner = owner;
        in.lk.type = type;
        in.lk.start = start;
        in.lk.end = end;
        in.lk_flags = flock ? FUSE_LK_FLOCK : 0;
        return in;
    }
    int setlk(const fuse_lk_in& in, bool wait = false) {
        auto s = pfs_->setlk(node_, in, wait);
        return s ? 0 : s.error();
    }

    fs::path top_;
    std::unique_ptr<PassthroughFs> pfs_;
    RequestContext ctx_{0, 0, 1};
    uint64_t node_ = 0;
};

}  // namespace

TEST(PosixLockRanges, InclusiveEndBecomesLengthWithoutOverflow) {
    fuse_file_lock l{};
    l.type = F_WRLCK;
    l.start = 10;
    l.end = 10;
    EXPECT_EQ(flock_from_fuse(l)->l_len, 1);
    l.end = kOffsetMax;  // "to end of file"
    EXPECT_EQ(flock_from_fuse(l)->l_len, 0);
    l.start = 0;
    l.end = kOffsetMax - 1;  // the longest finite range
    EXPECT_EQ(flock_from_fuse(l)->l_len, LLONG_MAX);
    struct flock back {};
    back.l_type = F_RDLCK;
    back.l_start = 5;
    back.l_len = 0;
    back.l_pid = -1;  // what F_OFD_GETLK reports
    const fuse_file_lock f = fuse_from_flock(back);
    EXPECT_EQ(f.start, 5u);
    EXPECT_EQ(f.end, kOffsetMax);
    EXPECT_EQ(f.pid, 0u);
}

TEST_F(PosixLocksTest, TwoOwnersConflictAndTheSameOwnerUpgrades) {
    const uint64_t fh1 = open_fh(node_), fh2 = open_fh(node_);
    EXPECT_EQ(setlk(lk(fh1, kOwnerA, F_RDLCK, 0, 99)), 0);
    EXPECT_EQ(setlk(lk(fh2, kOwnerB, F_RDLCK, 50, 60)), 0);  // readers share
    EXPECT_EQ(setlk(lk(fh2, kOwnerB, F_WRLCK, 50, 60)), EAGAIN);
    EXPECT_EQ(setlk(lk(fh2, kOwnerB, F_UNLCK, 0, kOffsetMax)), 0);
    EXPECT_EQ(setlk(lk(fh1, kOwnerA, F_WRLCK, 0, 99)), 0);  // upgrade of its own lock
    EXPECT_EQ(setlk(lk(fh2, kOwnerB, F_RDLCK, 99, 99)), EAGAIN);
    EXPECT_EQ(setlk(lk(fh2, kOwnerB, F_WRLCK, 100, kOffsetMax)), 0);  // no overlap
    // Unlock, then the other owner gets it.
    EXPECT_EQ(setlk(lk(fh1, kOwnerA, F_UNLCK, 0, 99)), 0);
    EXPECT_EQ(setlk(lk(fh2, kOwnerB, F_WRLCK, 0, 99)), 0);
}

TEST_F(PosixLocksTest, GetlkReportsTheHolderAndTheHostSeesTheLock) {
    const uint64_t fh = open_fh(node_);
    ASSERT_EQ(setlk(lk(fh, kOwnerA, F_WRLCK, 10, 19)), 0);
    auto other = pfs_->getlk(node_, lk(fh, kOwnerB, F_RDLCK, 0, kOffsetMax));
    ASSERT_TRUE(other.ok()) << other.error();
    EXPECT_EQ(other->type, static_cast<uint32_t>(F_WRLCK));
    EXPECT_EQ(other->start, 10u);
    EXPECT_EQ(other->end, 19u);
    EXPECT_EQ(other->pid, 0u);
    auto own = pfs_->getlk(node_, lk(fh, kOwnerA, F_WRLCK, 0, kOffsetMax));
    ASSERT_TRUE(own.ok());
    EXPECT_EQ(own->type, static_cast<uint32_t>(F_UNLCK));  // its own lock is no conflict

    // A host program's lock on the same file conflicts with the guest's.
    const int host_fd = ::open((top_ / "f").c_str(), O_RDWR | O_CLOEXEC);
    ASSERT_GE(host_fd, 0);
    struct flock fl {};
    fl.l_type = F_WRLCK;
    fl.l_whence = SEEK_SET;
    fl.l_start = 15;
    fl.l_len = 1;
    EXPECT_NE(fcntl(host_fd, F_OFD_SETLK, &fl), 0);
    EXPECT_TRUE(errno == EAGAIN || errno == EACCES);
    fl.l_start = 20;
    EXPECT_EQ(fcntl(host_fd, F_OFD_SETLK, &fl), 0);  // beyond the guest's range
    EXPECT_EQ(setlk(lk(fh, kOwnerB, F_RDLCK, 20, 20)), EAGAIN);
    ::close(host_fd);
    EXPECT_EQ(setlk(lk(fh, kOwnerB, F_RDLCK, 20, 20)), 0);
}

TEST_F(PosixLocksTest, FlushDropsOneOwnersLocksAndLastReleaseDropsAll) {
    const uint64_t fh1 = open_fh(node_), fh2 = open_fh(node_);
    ASSERT_EQ(setlk(lk(fh1, kOwnerA, F_WRLCK, 0, 9)), 0);
    ASSERT_EQ(setlk(lk(fh2, kOwnerB, F_WRLCK, 20, 29)), 0);
    EXPECT_EQ(pfs_->posix_locks().owner_fds(), 2u);
    // Owner A closed a file (FLUSH carries its owner): its lock goes, B's stays.
    ASSERT_TRUE(pfs_->flush(fh1, kOwnerA).ok());
    EXPECT_EQ(setlk(lk(fh2, kOwnerC, F_WRLCK, 0, 9)), 0);
    EXPECT_EQ(setlk(lk(fh2, kOwnerC, F_WRLCK, 20, 29)), EAGAIN);
    // Releasing one handle keeps the others' locks: the file is still open.
    ASSERT_TRUE(pfs_->release(fh1, 0, 0).ok());
    EXPECT_EQ(setlk(lk(fh2, kOwnerC, F_WRLCK, 20, 29)), EAGAIN);
    // The inode's last handle goes: no owner can reach its locks any more, so they go.
    ASSERT_TRUE(pfs_->release(fh2, 0, 0).ok());
    EXPECT_EQ(pfs_->posix_locks().owner_fds(), 0u);
    const uint64_t fh3 = open_fh(node_);
    EXPECT_EQ(setlk(lk(fh3, kOwnerC, F_WRLCK, 0, kOffsetMax)), 0);
}

TEST_F(PosixLocksTest, FlockExclusiveAgainstShared) {
    const uint64_t fh1 = open_fh(node_), fh2 = open_fh(node_);
    ASSERT_EQ(setlk(lk(fh1, kOwnerA, F_WRLCK, 0, kOffsetMax, true)), 0);
    EXPECT_EQ(setlk(lk(fh2, kOwnerB, F_RDLCK, 0, kOffsetMax, true)), EAGAIN);
    // The blocking form never waits in a worker: the documented answer instead.
    EXPECT_EQ(setlk(lk(fh2, kOwnerB, F_RDLCK, 0, kOffsetMax, true), true), EOPNOTSUPP);
    ASSERT_EQ(setlk(lk(fh1, kOwnerA, F_UNLCK, 0, kOffsetMax, true)), 0);
    EXPECT_EQ(setlk(lk(fh2, kOwnerB, F_RDLCK, 0, kOffsetMax, true), true), 0);
    EXPECT_EQ(setlk(lk(fh1, kOwnerA, F_RDLCK, 0, kOffsetMax, true)), 0);  // shared with fh2
    EXPECT_EQ(setlk(lk(fh1, kOwnerA, F_WRLCK, 0, kOffsetMax, true)), EAGAIN);
    // RELEASE with FLOCK_UNLOCK lets go of fh2's flock at once.
    ASSERT_TRUE(pfs_->release(fh2, FUSE_RELEASE_FLOCK_UNLOCK, kOwnerB).ok());
    EXPECT_EQ(setlk(lk(fh1, kOwnerA, F_WRLCK, 0, kOffsetMax, true)), 0);
}

TEST_F(PosixLocksTest, SetlkwOnAHeldLockDoesNotBlock) {
    const uint64_t fh = open_fh(node_);
    ASSERT_EQ(setlk(lk(fh, kOwnerA, F_WRLCK, 0, kOffsetMax)), 0);
    EXPECT_EQ(setlk(lk(fh, kOwnerB, F_WRLCK, 0, 0), true), EOPNOTSUPP);
    EXPECT_EQ(setlk(lk(fh, kOwnerA, F_UNLCK, 0, kOffsetMax)), 0);
    EXPECT_EQ(setlk(lk(fh, kOwnerB, F_WRLCK, 0, 0), true), 0);  // free: granted at once
}

TEST_F(PosixLocksTest, HostileInputIsRefused) {
    const uint64_t fh = open_fh(node_);
    EXPECT_EQ(setlk(lk(fh, kOwnerA, 7, 0, 1)), EINVAL);                         // no such type
    EXPECT_EQ(setlk(lk(fh, kOwnerA, F_WRLCK, 10, 9)), EINVAL);                  // end < start
    EXPECT_EQ(setlk(lk(fh, kOwnerA, F_WRLCK, kOffsetMax + 1, ~0ull)), EINVAL);  // > off_t
    EXPECT_EQ(setlk(lk(fh, kOwnerA, F_WRLCK, 0, kOffsetMax + 1)), EINVAL);
    EXPECT_EQ(setlk(lk(fh, kOwnerA, 7, 0, 1, true)), EINVAL);
    EXPECT_EQ(pfs_->getlk(node_, lk(fh, kOwnerA, F_UNLCK, 0, 1)).error(), EINVAL);
    EXPECT_EQ(pfs_->getlk(node_, lk(fh, kOwnerA, F_WRLCK, 0, 1, true)).error(), EINVAL);
    EXPECT_EQ(setlk(lk(12345, kOwnerA, F_WRLCK, 0, 1)), EBADF);  // forged fh
    // A handle of another inode does not lock this one.
    auto g = pfs_->lookup(ctx_, FUSE_ROOT_ID, "g");
    ASSERT_TRUE(g.ok());
    const uint64_t gfh = open_fh(g->nodeid);
    EXPECT_EQ(setlk(lk(gfh, kOwnerA, F_WRLCK, 0, 1)), EBADF);
    EXPECT_EQ(pfs_->getlk(node_, lk(gfh, kOwnerA, F_WRLCK, 0, 1)).error(), EBADF);
    EXPECT_EQ(pfs_->posix_locks().owner_fds(), 0u);
}

TEST_F(PosixLocksTest, OwnerFloodsSpendTheFdBudgetNotTheDaemon) {
    make_fs(8);
    const uint64_t fh = open_fh(node_);
    int granted = 0, refused = 0;
    for (uint64_t owner = 1; owner <= 64; ++owner) {
        const int e = setlk(lk(fh, owner, F_RDLCK, owner, owner));
        if (e == 0) ++granted;
        if (e == ENOLCK) ++refused;
    }
    EXPECT_GT(granted, 0);
    EXPECT_LT(granted, 8);
    EXPECT_EQ(granted + refused, 64);
    // Giving them back makes room again.
    ASSERT_TRUE(pfs_->flush(fh, 1).ok());
    EXPECT_EQ(setlk(lk(fh, 1000, F_RDLCK, 0, 0)), 0);
}

TEST_F(PosixLocksTest, OffUnlessEnabledAndReadOnlySharesStillLock) {
    make_fs(0, false);
    uint64_t fh = open_fh(node_);
    EXPECT_EQ(setlk(lk(fh, kOwnerA, F_WRLCK, 0, 1)), ENOSYS);
    EXPECT_EQ(setlk(lk(fh, kOwnerA, F_WRLCK, 0, 1, true)), ENOSYS);
    EXPECT_EQ(pfs_->getlk(node_, lk(fh, kOwnerA, F_WRLCK, 0, 1)).error(), ENOSYS);

    make_fs(0, true);
    ReadOnlyFs ro(std::move(pfs_));
    auto o = ro.open(ctx_, node_, O_RDONLY);
    ASSERT_TRUE(o.ok()) << o.error();
    EXPECT_TRUE(ro.setlk(node_, lk(o->fh, kOwnerA, F_RDLCK, 0, kOffsetMax), false).ok());
    // Review finding 8: a write lock needs a writable file, which a read-only share has
    // none of (it used to be taken on a descriptor root reopened read-write, blocking
    // the host's readers).
    EXPECT_EQ(ro.setlk(node_, lk(o->fh, kOwnerB, F_WRLCK, 0, 0), false).error(), EBADF);
    EXPECT_EQ(ro.setlk(node_, lk(o->fh, kOwnerA, F_WRLCK, 0, 0), false).error(), EBADF);
    auto held = ro.getlk(node_, lk(o->fh, kOwnerB, F_WRLCK, 0, 0));
    ASSERT_TRUE(held.ok());
    EXPECT_EQ(held->type, static_cast<uint32_t>(F_RDLCK));
}

// Review finding 2: CREATE adds its handle to the inode it just looked up. A FORGET from
// another queue (or a guest spraying FORGETs for predictable node ids) may drop that inode
// in between; the handle must still hold it, never a null inode (a crash with
// -o posix_lock). A hiprio thread forgets every node id near the newest while the request
// thread loops CREATE / RELEASE / UNLINK.
TEST_F(PosixLocksTest, CreateRacingForgetNeverLosesTheInode) {
    std::atomic<uint64_t> newest{node_};
    std::atomic<bool> done{false};
    std::thread forgetter([&] {
        while (!done.load(std::memory_order_relaxed)) {
            const uint64_t n = newest.load(std::memory_order_relaxed);
            for (uint64_t id = n; id < n + 4; ++id)
                pfs_->forget(id, 1000);
        }
    });
    for (int i = 0; i < 20000; ++i) {
        auto c = pfs_->create(ctx_, FUSE_ROOT_ID, "race", 0644, O_RDWR, 0);
        ASSERT_TRUE(c.ok()) << c.error();
        newest.store(c->entry.nodeid, std::memory_order_relaxed);
        EXPECT_TRUE(pfs_->release(c->open.fh, 0, kOwnerA).ok());
        EXPECT_TRUE(pfs_->unlink(ctx_, FUSE_ROOT_ID, "race").ok());
    }
    done = true;
    forgetter.join();
}

// Review finding 7: RELEASEDIR naming a file's handle must leave that handle alone. It
// used to remove it, so the file's own RELEASE then found nothing and its locks stayed
// on the host until the next INIT.
TEST_F(PosixLocksTest, ReleasedirOnAFileHandleLeavesItsLocksToItsRelease) {
    const uint64_t fh = open_fh(node_);
    ASSERT_EQ(setlk(lk(fh, kOwnerA, F_WRLCK, 0, 99)), 0);
    EXPECT_EQ(pfs_->releasedir(fh).error(), EBADF);
    EXPECT_TRUE(pfs_->release(fh, FUSE_RELEASE_FLOCK_UNLOCK, kOwnerA).ok());
    // The host can lock the range again: the guest's lock went with its file.
    UniqueFd host(::open((top_ / "f").c_str(), O_RDWR | O_CLOEXEC));
    ASSERT_TRUE(host.valid());
    struct flock fl {};
    fl.l_type = F_WRLCK;
    fl.l_whence = SEEK_SET;
    fl.l_len = 100;
    EXPECT_EQ(::fcntl(host.get(), F_OFD_SETLK, &fl), 0) << strerror(errno);
}
