// The guest's vfs calls over ukfuse and the virtio_fs driver, against an in-process
// device (fake_fs.h) that answers as each test says: what a server sends cannot make a
// call loop forever or return a wrong result.
#include <gtest/gtest.h>
#include <linux/fuse.h>

#include <cstdint>
#include <cstring>

#include "drivers/virtio_fs/fs_device.h"  // first: <linux/virtio_ring.h> without legacy C
#include "fake_fs.h"
#include "fake_vfs_device.h"
#include "lib/ukfuse/file_type.h"
#include "lib/vfs/vfs.h"

namespace vfs::guest {
namespace {

using testing::entry;
using testing::FakeFs;
using testing::FakeReply;
using testing::FakeRequest;
using testing::kFileNode;

// One device for the whole program: the vfs registry and mount table are global.
FakeFs g_fs;

class FakeVfs : public ::testing::Test {
  protected:
    static void SetUpTestSuite() { testing::register_fake_fs_device(g_fs); }
    void SetUp() override {
        g_fs = FakeFs{};
        ASSERT_EQ(vfs_mount("fake", "/m"), 0);
    }
    void TearDown() override {
        g_fs = FakeFs{};
        EXPECT_EQ(vfs_umount("/m"), 0);
    }
};

// A READDIR reply whose last record points back at the offset it was asked from would
// have the reader ask for the same records forever.
TEST_F(FakeVfs, ReaddirThatNeverAdvancesIsAnError) {
    g_fs.special = [](const FakeRequest& rq, FakeReply* r) {
        if (rq.in.opcode != FUSE_READDIR) return false;
        const auto in = rq.arg<fuse_read_in>();
        alignas(8) uint8_t rec[FUSE_DIRENT_ALIGN(FUSE_NAME_OFFSET + 1)] = {};
        fuse_dirent d{};
        d.ino = 9;
        d.off = in.offset;  // "the next record is where you started"
        d.namelen = 1;
        d.type = 8;
        std::memcpy(rec, &d, sizeof(d));
        rec[FUSE_NAME_OFFSET] = 'x';
        *r = FakeReply::ok(rq.in.unique, rec, sizeof(rec));
        return true;
    };
    const int fd = vfs_opendir("/m/d");
    ASSERT_GE(fd, 0);
    vfs_dirent de;
    int r = 1, calls = 0;
    while (r > 0 && calls < 100) {
        r = vfs_readdir(fd, &de);
        ++calls;
    }
    EXPECT_EQ(r, -EPROTO) << "after " << calls << " calls";
    EXPECT_EQ(vfs_closedir(fd), 0);
}

// Offsets and sizes from the server beyond INT64_MAX cannot be returned as a position:
// a negative result would read as an errno.
TEST_F(FakeVfs, LseekRefusesPositionsBeyondInt64) {
    g_fs.special = [](const FakeRequest& rq, FakeReply* r) {
        if (rq.in.opcode == FUSE_LSEEK) {
            fuse_lseek_out o{};
            o.offset = (1ull << 63) + 1;
            *r = FakeReply::ok(rq.in.unique, &o, sizeof(o));
            return true;
        }
        if (rq.in.opcode == FUSE_GETATTR && rq.in.nodeid == kFileNode) {
            fuse_attr_out a{};
            a.attr = entry(kFileNode, ukfuse::kTypeReg | 0644, 1ull << 63).attr;
            *r = FakeReply::ok(rq.in.unique, &a, sizeof(a));
            return true;
        }
        return false;
    };
    const int fd = vfs_open("/m/f", VFS_O_RDWR, 0);
    ASSERT_GE(fd, 0);
    EXPECT_EQ(vfs_lseek(fd, 0, VFS_SEEK_DATA), -EOVERFLOW);
    EXPECT_EQ(vfs_lseek(fd, -1, VFS_SEEK_END), -EOVERFLOW);
    EXPECT_EQ(vfs_lseek(fd, 0, VFS_SEEK_END), -EOVERFLOW);
    EXPECT_EQ(vfs_close(fd), 0);
}

// As Linux's rw_verify_area: a count that is negative as a signed size, or that takes
// the offset past INT64_MAX, is EINVAL, and nothing goes to the server.
TEST_F(FakeVfs, ReadWritePastInt64IsEinval) {
    int sent = 0;
    // Whatever reaches the server fails without touching the (small) buffer.
    g_fs.special = [&sent](const FakeRequest& rq, FakeReply* r) {
        if (rq.in.opcode != FUSE_READ && rq.in.opcode != FUSE_WRITE) return false;
        ++sent;
        *r = FakeReply::error(rq.in.unique, EIO);
        return true;
    };
    const int fd = vfs_open("/m/f", VFS_O_RDWR, 0);
    ASSERT_GE(fd, 0);
    uint8_t* buf = static_cast<uint8_t*>(vfs_buffer_alloc(8192));
    ASSERT_NE(buf, nullptr);
    EXPECT_EQ(vfs_pwrite(fd, buf, 8192, INT64_MAX - 100), -EINVAL);
    EXPECT_EQ(vfs_pread(fd, buf, 8192, INT64_MAX - 100), -EINVAL);
    EXPECT_EQ(vfs_pread(fd, buf, UINT64_MAX, 0), -EINVAL);
    EXPECT_EQ(vfs_write(fd, buf, uint64_t{1} << 63), -EINVAL);
    EXPECT_EQ(sent, 0);
    EXPECT_EQ(vfs_pwrite(fd, buf, 100, INT64_MAX - 100), -EIO);  // the last byte is fine
    EXPECT_EQ(sent, 1);
    vfs_buffer_free(buf);
    EXPECT_EQ(vfs_close(fd), 0);
}

}  // namespace
}  // namespace vfs::guest
