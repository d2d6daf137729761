// The vfs calls on a 9p mount, over an in-process virtio-9p device: vfs_mount picks the
// 9p backend for a 9p tag, the calls reach the server, and a hostile reply comes out of
// the vfs call as -EPROTO. One test: the device registry and mount table are global.
#include <gtest/gtest.h>

#include <cstring>
#include <memory>
#include <string>

#include "drivers/virtio_9p/p9_device.h"
#include "fake_9p_server.h"
#include "fake_fs_transport.h"
#include "lib/vfs/backend_9p.h"
#include "lib/vfs/vfs.h"

namespace vfs::guest {
namespace {

using testing::Fake9pReply;

TEST(Vfs9p, CallsGoThroughThe9pBackendAndHostileRepliesAreEproto) {
    testing::Fake9pServer server;
    testing::Fake9pTransport t([&](const std::vector<uint8_t>& rq) { return server(rq); });
    testing::HostDma dma;
    virtio_9p::P9Device dev;
    ASSERT_TRUE(dev.probe(t, dma, {}));
    ASSERT_TRUE(vfslib::register_p9_device(&dev));
    ASSERT_EQ(vfs_mount("p9fake", "/p9"), 0);
    EXPECT_EQ(vfs_mount("p9fake", "/again"), -EBUSY);

    struct vfs_stat st;
    ASSERT_EQ(vfs_stat("/p9/f", &st), 0);
    EXPECT_EQ(st.st_size, static_cast<int64_t>(server.file.size()));
    EXPECT_EQ(vfs_stat("/p9/missing", &st), -ENOENT);

    auto* buf = static_cast<uint8_t*>(vfs_buffer_alloc(4096));
    ASSERT_NE(buf, nullptr);
    const int fd = vfs_open("/p9/f", VFS_O_RDWR, 0);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(vfs_pread(fd, buf, 4096, 100), 4096);
    EXPECT_EQ(std::memcmp(buf, server.file.data() + 100, 4096), 0);
    EXPECT_EQ(vfs_lseek(fd, 0, VFS_SEEK_END), static_cast<int64_t>(server.file.size()));

    // An Rread whose count is more than was asked for.
    server.mutate = [](uint8_t type, Fake9pReply& r) {
        if (type == p9::kTread) testing::set_le32(r.bytes, 7, 1u << 20);
    };
    EXPECT_EQ(vfs_pread(fd, buf, 4096, 0), -EPROTO);
    // A truncated Rgetattr.
    server.mutate = [](uint8_t type, Fake9pReply& r) {
        if (type != p9::kTgetattr) return;
        r.bytes.resize(40);
        testing::set_le32(r.bytes, 0, 40);
    };
    EXPECT_EQ(vfs_fstat(fd, &st), -EPROTO);
    EXPECT_EQ(vfs_stat("/p9/f", &st), -EPROTO);
    server.mutate = nullptr;
    EXPECT_EQ(vfs_close(fd), 0);

    // Symlinks: followed in the middle of a path and at its end, not by lstat.
    ASSERT_EQ(vfs_stat("/p9/lnk/f", &st), 0);
    EXPECT_EQ(st.st_mode & VFS_S_IFMT, VFS_S_IFREG);
    ASSERT_EQ(vfs_stat("/p9/lnk", &st), 0);
    EXPECT_EQ(st.st_mode & VFS_S_IFMT, VFS_S_IFDIR);
    ASSERT_EQ(vfs_lstat("/p9/lnk", &st), 0);
    EXPECT_EQ(st.st_mode & VFS_S_IFMT, VFS_S_IFLNK);
    char target[16];
    ASSERT_EQ(vfs_readlink("/p9/lnk", target, sizeof(target)), 4);
    EXPECT_EQ(std::string(target, 4), "dsub");
    EXPECT_EQ(vfs_readlink("/p9/f", target, sizeof(target)), -EINVAL);
    // An Rreadlink whose string runs past the reply.
    server.mutate = [](uint8_t type, Fake9pReply& r) {
        if (type == p9::kTreadlink) r.bytes[7] = 0xff;
    };
    EXPECT_EQ(vfs_readlink("/p9/lnk", target, sizeof(target)), -EPROTO);
    EXPECT_EQ(vfs_stat("/p9/lnk/f", &st), -EPROTO);
    server.mutate = nullptr;

    const int d = vfs_opendir("/p9");
    ASSERT_GE(d, 0);
    vfs_dirent e;
    std::string names;
    int r;
    while ((r = vfs_readdir(d, &e)) == 1)
        names += std::string(e.d_name) + ";";
    EXPECT_EQ(r, 0);
    EXPECT_EQ(names, "a;dsub;");
    EXPECT_EQ(vfs_closedir(d), 0);
    EXPECT_EQ(vfs_umount("/p9"), 0);
    vfs_buffer_free(buf);
}

}  // namespace
}  // namespace vfs::guest
