// vfslib's path walk over mounted fake shares (tree_fs.h): ".." on the stack of walked
// directories, symlink loops and the 40-link limit, and symlinks and paths that cross
// from one mount into another. After every test the shares are unmounted, and each
// server must have had every lookup it counted forgotten: a walk leaks no pin.
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "drivers/virtio_fs/fs_device.h"
#include "lib/vfs/device_registry.h"
#include "lib/vfs/mount_table.h"
#include "lib/vfs/path_walk.h"
#include "lib/vfs/vfs.h"
#include "tree_fs.h"

namespace vfs::guest {
namespace {

using vfslib::kFollow;
using vfslib::Walk;

// One device per share for the whole program: the vfs registry is global.
struct Share {
    explicit Share(const char* tag)
        : transport([this](const testing::FakeRequest& rq) { return fs(rq); }, 128, tag) {}
    testing::TreeFs fs;
    testing::HostDma dma;
    testing::FakeFsTransport transport;
    virtio_fs::FsDevice dev;
};
Share* g_a;
Share* g_b;
Share* g_c;

// Node ids in share a, b and c, as set up by SetUp.
struct Ids {
    uint64_t d, e, f, g, self, x, abs, l0, m0, tob, tobf, rel, c_under;
    uint64_t bf, bd;
    uint64_t cf;
} ids;

class PathWalk : public ::testing::Test {
  protected:
    static void SetUpTestSuite() {
        for (auto [share, tag] : {std::pair{&g_a, "ta"}, {&g_b, "tb"}, {&g_c, "tc"}}) {
            *share = new Share(tag);
            virtio_fs::DeviceOptions d;
            d.timeout_ns = 300'000'000ull;
            ASSERT_TRUE((*share)->dev.probe((*share)->transport, (*share)->dma, d));
            ASSERT_TRUE(vfslib::register_device(&(*share)->dev));
        }
    }
    void SetUp() override {
        for (Share* s : {g_a, g_b, g_c})
            s->fs = testing::TreeFs{};
        testing::TreeFs& a = g_a->fs;
        const uint64_t root = FUSE_ROOT_ID;
        ids.d = a.dir(root, "d");
        ids.e = a.dir(ids.d, "e");
        ids.g = a.file(ids.e, "g");
        ids.f = a.file(root, "f");
        ids.self = a.symlink(root, "self", "self");
        ids.x = a.symlink(root, "x", "y");
        a.symlink(root, "y", "x");
        ids.abs = a.symlink(root, "abs", "/a/abs");
        // l0 -> l1 -> ... -> l39 -> f: 40 links. m0 -> ... -> m40 -> f: 41.
        for (int i = 0; i < 40; ++i)
            a.symlink(root, "l" + std::to_string(i), i == 39 ? "f" : "l" + std::to_string(i + 1));
        for (int i = 0; i < 41; ++i)
            a.symlink(root, "m" + std::to_string(i), i == 40 ? "f" : "m" + std::to_string(i + 1));
        ids.tob = a.symlink(root, "tob", "/b");
        ids.tobf = a.symlink(root, "tobf", "/b/bf");
        ids.rel = a.symlink(ids.d, "rel", "e");
        // Share a's own "sub" directory, hidden by share c mounted over /a/sub.
        ids.c_under = a.dir(root, "sub");
        ids.bf = g_b->fs.file(root, "bf");
        ids.bd = g_b->fs.dir(root, "bd");
        ids.cf = g_c->fs.file(root, "cf");
        ASSERT_EQ(vfs_mount("ta", "/a"), 0);
        ASSERT_EQ(vfs_mount("tb", "/b"), 0);
        ASSERT_EQ(vfs_mount("tc", "/a/sub"), 0);
    }
    void TearDown() override {
        EXPECT_EQ(vfs_umount("/a/sub"), 0);
        EXPECT_EQ(vfs_umount("/b"), 0);
        EXPECT_EQ(vfs_umount("/a"), 0);
        for (Share* s : {g_a, g_b, g_c}) {
            EXPECT_EQ(s->fs.outstanding(), 0) << s->dev.tag() << ": lookups never forgotten";
            EXPECT_FALSE(s->fs.over_forgotten()) << s->dev.tag();
        }
    }

    // Walks path; on success checks it ends at `node` on the mount at `mount`.
    static int walk_to(const char* path, uint32_t flags, uint64_t node, const char* mount) {
        Walk w;
        const int r = vfslib::walk(path, flags, &w);
        if (r != 0) return r;
        EXPECT_EQ(w.node, node) << path;
        EXPECT_EQ(w.mount, vfslib::mount_at(mount)) << path;
        vfslib::walk_done(&w);
        return 0;
    }
};

TEST_F(PathWalk, DotDotPopsTheDirectoriesWalked) {
    EXPECT_EQ(walk_to("/a/d/e/../../f", 0, ids.f, "/a"), 0);
    EXPECT_EQ(walk_to("/a/d/e/..", 0, ids.d, "/a"), 0);
    EXPECT_EQ(walk_to("/a/d/./e/../e/g", 0, ids.g, "/a"), 0);
    EXPECT_EQ(walk_to("/a/d/..", 0, FUSE_ROOT_ID, "/a"), 0);
    // A relative symlink's target is walked from the link's directory.
    EXPECT_EQ(walk_to("/a/d/rel/..", 0, ids.d, "/a"), 0);
    EXPECT_EQ(walk_to("/a/d/rel/g", 0, ids.g, "/a"), 0);
    // ".." at a mount's root stays there.
    EXPECT_EQ(walk_to("/a/../f", 0, ids.f, "/a"), 0);
    EXPECT_EQ(walk_to("/a/d/f", 0, 0, "/a"), -ENOENT);
    EXPECT_EQ(walk_to("/a/f/..", 0, 0, "/a"), -ENOTDIR);
}

TEST_F(PathWalk, SymlinkLoopsAreEloop) {
    EXPECT_EQ(walk_to("/a/self", kFollow, 0, "/a"), -ELOOP);
    EXPECT_EQ(walk_to("/a/x", kFollow, 0, "/a"), -ELOOP);
    EXPECT_EQ(walk_to("/a/abs", kFollow, 0, "/a"), -ELOOP);  // restarts from "/" each time
    EXPECT_EQ(walk_to("/a/self/f", 0, 0, "/a"), -ELOOP);     // not the last: always followed
    // Not followed as the last component: the link itself.
    EXPECT_EQ(walk_to("/a/self", 0, ids.self, "/a"), 0);
}

TEST_F(PathWalk, FortySymlinksResolveAndFortyOneAreEloop) {
    EXPECT_EQ(walk_to("/a/l0", kFollow, ids.f, "/a"), 0);
    EXPECT_EQ(walk_to("/a/m0", kFollow, 0, "/a"), -ELOOP);
    EXPECT_EQ(walk_to("/a/m1", kFollow, ids.f, "/a"), 0);
}

// An absolute target is resolved from the mount table again, so it may land on another
// share; ".." there stays on that share.
TEST_F(PathWalk, AbsoluteSymlinksCrossMounts) {
    EXPECT_EQ(walk_to("/a/tobf", kFollow, ids.bf, "/b"), 0);
    EXPECT_EQ(walk_to("/a/tob/bd", 0, ids.bd, "/b"), 0);
    EXPECT_EQ(walk_to("/a/tob/bd/..", 0, FUSE_ROOT_ID, "/b"), 0);
    EXPECT_EQ(walk_to("/a/tob", kFollow, FUSE_ROOT_ID, "/b"), 0);
    EXPECT_EQ(walk_to("/a/tob", 0, ids.tob, "/a"), 0);
}

// A mount point reached by walking, not by the path's prefix, is entered as well: the
// directory of share a that c is mounted over is hidden whichever way it is reached.
TEST_F(PathWalk, WalkEntersAMountPointItReaches) {
    EXPECT_EQ(walk_to("/a/sub/cf", 0, ids.cf, "/a/sub"), 0);
    EXPECT_EQ(walk_to("/a/./sub/cf", 0, ids.cf, "/a/sub"), 0);
    EXPECT_EQ(walk_to("/a/d/../sub/cf", 0, ids.cf, "/a/sub"), 0);
    EXPECT_EQ(walk_to("/a/d/../sub", 0, FUSE_ROOT_ID, "/a/sub"), 0);
}

}  // namespace
}  // namespace vfs::guest
