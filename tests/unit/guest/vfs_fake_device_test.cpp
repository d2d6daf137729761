// The guest's vfs calls over ukfuse and the virtio_fs driver, against an in-process
// device (fake_fs.h) that answers as each test says: what a server sends cannot make a
// call loop forever or return a wrong result.
#include <gtest/gtest.h>
#include <linux/fuse.h>

#include <cstdint>
#include <cstring>

#include "drivers/virtio_fs/fs_device.h"
#include "fake_fs.h"
#include "lib/ukfuse/file_type.h"
#include "lib/vfs/device_registry.h"
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
testing::HostDma g_dma;

class FakeVfs : public ::testing::Test {
  protected:
    static void SetUpTestSuite() {
        static testing::FakeFsTransport transport([](const FakeRequest& rq) { return g_fs(rq); });
        static virtio_fs::FsDevice dev;
        virtio_fs::DeviceOptions d;
        d.event_idx = false;
        d.timeout_ns = 300'000'000ull;
        ASSERT_TRUE(dev.probe(transport, g_dma, d));
        ASSERT_TRUE(vfslib::register_device(&dev));
    }
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

}  // namespace
}  // namespace vfs::guest
