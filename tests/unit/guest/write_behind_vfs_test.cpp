// The mount option write_behind through vfs, ukfuse and the virtio_fs driver against an
// in-process server (fake_fs.h): after a run's first write (sent as it comes: a writer is
// sequential once a write starts where its last ended), sequential writes reach the
// server as one WRITE, byte for byte, only when the buffer fills or something else would see the
// file (stat, read, fsync, close, seek, a write elsewhere), and a failed flush's error comes back
// from the writer's next write, fsync or close, once.
#include <gtest/gtest.h>
#include <linux/fuse.h>

#include <cstdint>
#include <cstring>
#include <vector>

#include "drivers/virtio_fs/fs_device.h"  // first: <linux/virtio_ring.h> without legacy C
#include "fake_fs.h"
#include "fake_vfs_device.h"
#include "lib/vfs/vfs.h"
#include "test_bytes.h"

namespace vfs::guest {
namespace {

using testing::FakeFs;
using testing::FakeReply;
using testing::FakeRequest;
using testing::ramp_bytes;

struct Op {
    uint32_t opcode;
    uint64_t off = 0;
    std::vector<uint8_t> data;  // WRITE's payload
};

FakeFs g_fs;
std::vector<Op> g_log;
int g_write_error = 0;  // errno for every WRITE while nonzero

bool record(const FakeRequest& rq, FakeReply* r) {
    Op op{rq.in.opcode, 0, {}};
    if (rq.in.opcode == FUSE_WRITE) {
        const auto in = rq.arg<fuse_write_in>();
        op.off = in.offset;
        op.data.assign(rq.body.begin() + sizeof(fuse_write_in), rq.body.end());
        if (g_write_error) {
            g_log.push_back(op);
            *r = FakeReply::error(rq.in.unique, g_write_error);
            return true;
        }
    }
    if (rq.in.opcode != FUSE_FORGET && rq.in.opcode != FUSE_BATCH_FORGET) g_log.push_back(op);
    return false;
}

class WriteBehindVfs : public ::testing::Test {
  protected:
    static void SetUpTestSuite() { testing::register_fake_fs_device(g_fs); }
    void SetUp() override {
        g_fs = FakeFs{};
        g_fs.special = record;
        g_write_error = 0;
        ASSERT_EQ(vfs_mount_opts("fake", "/m", "dax=never,write_behind"), 0);
        fd_ = vfs_open("/m/f", VFS_O_WRONLY, 0);
        ASSERT_GE(fd_, 0);
        g_log.clear();
    }
    void TearDown() override {
        if (fd_ >= 0) vfs_close(fd_);
        g_write_error = 0;
        EXPECT_EQ(vfs_umount("/m"), 0);
        g_fs = FakeFs{};
    }
    std::vector<const Op*> writes() const {
        std::vector<const Op*> w;
        for (const Op& o : g_log)
            if (o.opcode == FUSE_WRITE) w.push_back(&o);
        return w;
    }
    // Index in the log of the first op with this opcode, or -1.
    static int first(uint32_t opcode) {
        for (size_t i = 0; i < g_log.size(); ++i)
            if (g_log[i].opcode == opcode) return static_cast<int>(i);
        return -1;
    }
    // n writes of `each` bytes from off; returns what was written.
    std::vector<uint8_t> write_run(uint64_t off, int n, size_t each, uint8_t seed) {
        std::vector<uint8_t> all;
        for (int i = 0; i < n; ++i) {
            auto d = ramp_bytes(each, static_cast<uint8_t>(seed + i));
            EXPECT_EQ(vfs_pwrite(fd_, d.data(), d.size(), static_cast<int64_t>(off + i * each)),
                      static_cast<int64_t>(each));
            all.insert(all.end(), d.begin(), d.end());
        }
        return all;
    }
    int fd_ = -1;
};

TEST_F(WriteBehindVfs, SequentialWritesReachTheServerAsOneWriteAtClose) {
    const auto want = write_run(100, 8, 4096, 1);
    auto w = writes();
    ASSERT_EQ(w.size(), 1u);  // the first one only: the rest is kept in the guest so far
    EXPECT_EQ(w[0]->off, 100u);
    ASSERT_EQ(vfs_close(fd_), 0);
    fd_ = -1;
    w = writes();
    ASSERT_EQ(w.size(), 2u);
    EXPECT_EQ(w[1]->off, 100u + 4096);
    std::vector<uint8_t> got(w[0]->data);
    got.insert(got.end(), w[1]->data.begin(), w[1]->data.end());
    EXPECT_EQ(got, want);
    EXPECT_EQ(g_log.back().opcode, FUSE_RELEASE);
    EXPECT_EQ(g_log[g_log.size() - 2].opcode, FUSE_FLUSH);  // both WRITEs before close's FLUSH
}

TEST_F(WriteBehindVfs, RandomWritesAreNotBuffered) {
    const uint64_t offs[] = {8192, 0, 40960, 4096};
    for (uint64_t off : offs) {
        const auto d = ramp_bytes(4096, static_cast<uint8_t>(off >> 12));
        ASSERT_EQ(vfs_pwrite(fd_, d.data(), d.size(), static_cast<int64_t>(off)), 4096);
    }
    EXPECT_EQ(writes().size(), 4u);  // each sent as it came
}

TEST_F(WriteBehindVfs, AFullBufferGoesOutAtOnce) {
    // The fake server's INIT allows 32 pages per WRITE: the buffer is 128 KiB.
    const auto want = write_run(0, 34, 4096, 7);
    auto w = writes();
    ASSERT_EQ(w.size(), 2u);  // the first write, then 32 pages at once when full
    EXPECT_EQ(w[1]->off, 4096u);
    EXPECT_EQ(w[1]->data.size(), 32u * 4096);
    EXPECT_TRUE(std::equal(w[1]->data.begin(), w[1]->data.end(), want.begin() + 4096));
    ASSERT_EQ(vfs_fsync(fd_), 0);
    w = writes();
    ASSERT_EQ(w.size(), 3u);
    EXPECT_EQ(w[2]->off, 33u * 4096);
    EXPECT_TRUE(std::equal(w[2]->data.begin(), w[2]->data.end(), want.begin() + 33 * 4096));
    EXPECT_EQ(g_log.back().opcode, FUSE_FSYNC);  // the last WRITE came before it
}

// Index in the log of the last WRITE, or -1.
int last_write() {
    for (size_t i = g_log.size(); i-- > 0;)
        if (g_log[i].opcode == FUSE_WRITE) return static_cast<int>(i);
    return -1;
}

TEST_F(WriteBehindVfs, StatReadSeekAndAWriteElsewhereFlushFirst) {
    // Each time: a run of 3 writes (the first sent, 2 kept), then what must flush them.
    write_run(0, 3, 1000, 1);
    ASSERT_EQ(writes().size(), 1u);
    struct vfs_stat st {};
    ASSERT_EQ(vfs_fstat(fd_, &st), 0);
    ASSERT_EQ(writes().size(), 2u);
    EXPECT_EQ(writes()[1]->off, 1000u);
    EXPECT_LT(last_write(), first(FUSE_GETATTR));

    g_log.clear();
    write_run(3500, 3, 1000, 2);  // not where the last run ended
    ASSERT_EQ(writes().size(), 1u);
    ASSERT_EQ(vfs_lseek(fd_, 0, VFS_SEEK_SET), 0);
    EXPECT_EQ(writes().size(), 2u);

    g_log.clear();
    write_run(7777, 3, 1000, 3);  // not where the last run ended
    ASSERT_EQ(writes().size(), 1u);
    const auto d = ramp_bytes(10, 4);
    ASSERT_EQ(vfs_pwrite(fd_, d.data(), d.size(), 50), 10);  // not contiguous
    auto w = writes();
    ASSERT_EQ(w.size(), 3u);  // the run went out first, then the new write, unbuffered
    EXPECT_EQ(w[1]->off, 8777u);
    EXPECT_EQ(w[1]->data.size(), 2000u);
    EXPECT_EQ(w[2]->off, 50u);
    EXPECT_EQ(w[2]->data, d);
    ASSERT_EQ(vfs_fsync(fd_), 0);
    EXPECT_EQ(writes().size(), 3u);

    // A read through another descriptor of the file.
    g_log.clear();
    write_run(9999, 3, 1000, 5);
    ASSERT_EQ(writes().size(), 1u);
    const int rfd = vfs_open("/m/f", VFS_O_RDONLY, 0);
    ASSERT_GE(rfd, 0);
    uint8_t b[16];
    EXPECT_EQ(vfs_pread(rfd, b, sizeof(b), 0), 16);
    vfs_close(rfd);
    ASSERT_EQ(writes().size(), 2u);
    EXPECT_LT(last_write(), first(FUSE_READ));
}

TEST_F(WriteBehindVfs, AFailedFlushIsReportedByFsyncOnce) {
    write_run(0, 4, 4096, 1);  // 3 of them kept
    g_write_error = ENOSPC;
    EXPECT_EQ(vfs_fsync(fd_), -ENOSPC);
    g_write_error = 0;
    EXPECT_EQ(vfs_fsync(fd_), 0);  // reported once
}

TEST_F(WriteBehindVfs, AFailedImplicitFlushIsReportedByTheNextWrite) {
    write_run(0, 3, 4096, 1);
    g_write_error = EIO;
    struct vfs_stat st {};
    ASSERT_EQ(vfs_fstat(fd_, &st), 0);  // flushes: the WRITE fails, the stat does not
    g_write_error = 0;
    const auto d = ramp_bytes(100, 2);
    EXPECT_EQ(vfs_pwrite(fd_, d.data(), d.size(), 8192), -EIO);
    EXPECT_EQ(vfs_pwrite(fd_, d.data(), d.size(), 8192), 100);
    EXPECT_EQ(vfs_close(fd_), 0);
    fd_ = -1;
}

TEST_F(WriteBehindVfs, AFailedFlushIsReportedByClose) {
    write_run(0, 3, 4096, 1);
    g_write_error = ENOSPC;
    EXPECT_EQ(vfs_close(fd_), -ENOSPC);
    fd_ = -1;
    g_write_error = 0;
    // The handle is gone, and its error with it: a new descriptor starts clean.
    fd_ = vfs_open("/m/f", VFS_O_WRONLY, 0);
    ASSERT_GE(fd_, 0);
    write_run(0, 1, 100, 2);
    EXPECT_EQ(vfs_fsync(fd_), 0);
}

TEST_F(WriteBehindVfs, CloseFlushesWhatUnmountCannot) {
    const auto want = write_run(0, 3, 500, 1);
    ASSERT_EQ(writes().size(), 1u);
    ASSERT_EQ(vfs_umount("/m"), -EBUSY);  // open files: nothing changes
    ASSERT_EQ(writes().size(), 1u);
    ASSERT_EQ(vfs_close(fd_), 0);
    fd_ = -1;
    auto w = writes();
    ASSERT_EQ(w.size(), 2u);
    std::vector<uint8_t> got(w[0]->data);
    got.insert(got.end(), w[1]->data.begin(), w[1]->data.end());
    EXPECT_EQ(got, want);
}

TEST_F(WriteBehindVfs, BigWritesAreNotBuffered) {
    const auto d = ramp_bytes(128 * 1024, 3);
    ASSERT_EQ(vfs_pwrite(fd_, d.data(), d.size(), 0), static_cast<int64_t>(d.size()));
    EXPECT_EQ(writes().size(), 1u);  // sent at once
}

}  // namespace
}  // namespace vfs::guest
