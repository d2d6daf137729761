// What a POSIX conformance run (pjdfstest in a Linux guest) found, checked against the
// daemon binary through the in-process frontend, as the guest kernel sends it (issue 13):
// MKNOD of character and block devices succeeds (as in virtiofsd; --modcaps=-mknod is the
// way to refuse them), SETATTR sets a symlink's own times (utimensat with
// AT_SYMLINK_NOFOLLOW), and a WRITE the kernel flags FUSE_WRITE_KILL_SUIDGID (a direct-I/O
// write by a caller without CAP_FSETID, KILLPRIV_V2 negotiated or not) clears suid/sgid.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "backends.h"
#include "daemon_process.h"
#include "frontend.h"
#include "raw_fuse.h"

namespace vfs::test {
namespace {

using vfs::frontend::Frontend;
using vfs::frontend::FrontendOptions;
using namespace vfs::slowfs;

constexpr uint32_t kQ = 1;
constexpr uint32_t kCap = 8192;

class PosixConformance : public ::testing::Test {
  protected:
    void SetUp() override {
        dir_ = make_temp_dir("vfs-posix");
        ASSERT_FALSE(dir_.empty());
        share_ = dir_ + "/share";
        std::filesystem::create_directory(share_);
        const std::string sock = dir_ + "/vhost.sock";
        // cache=never: the guest then writes with direct I/O, where the kernel leaves
        // suid/sgid clearing to the server.
        ASSERT_TRUE(
            daemon_.spawn({VFS_DAEMON_PATH, "--socket-path=" + sock, "--shared-dir=" + share_,
                           "--cache=never", "--log-level=debug", "--num-queues=2"},
                          dir_ + "/daemon.log"));
        ASSERT_TRUE(daemon_.wait_for_socket(sock)) << daemon_.log();
        FrontendOptions o;
        o.num_queues = 2;
        auto f = Frontend::connect(sock, o);
        ASSERT_TRUE(f) << strerror(f.error());
        fe_ = std::move(*f);
        ASSERT_TRUE(fe_->setup());
        auto init = fe_->fuse_init(kQ);
        ASSERT_TRUE(init);
        ASSERT_FALSE(init->flags & FUSE_HANDLE_KILLPRIV_V2)
            << "the default must not negotiate KILLPRIV_V2";
    }
    void TearDown() override {
        fe_.reset();
        (void)daemon_.wait_exit(5000);
        daemon_.terminate();
        if (!dir_.empty()) std::filesystem::remove_all(dir_);
    }
    // The reply, with its error (0 or -errno) checked against `want`.
    std::vector<uint8_t> call(const std::vector<uint8_t>& req, int want = 0) {
        auto r = fe_->request(kQ, req, kCap);
        EXPECT_TRUE(r) << strerror(r.error());
        if (!r) return {};
        EXPECT_EQ(reply_header(*r).error, want) << daemon_.log();
        return *r;
    }
    uint64_t lookup(const char* name) {
        auto e = reply_body<fuse_entry_out>(
            call(lookup_request(fe_->next_unique(), FUSE_ROOT_ID, name)));
        EXPECT_NE(e.nodeid, 0u) << name;
        return e.nodeid;
    }
    mode_t host_mode(const char* name) {
        struct stat st {};
        EXPECT_EQ(::lstat((share_ + "/" + name).c_str(), &st), 0);
        return st.st_mode;
    }

    std::string dir_, share_;
    DaemonProcess daemon_;
    std::unique_ptr<Frontend> fe_;
};

TEST_F(PosixConformance, MknodMakesCharacterAndBlockDevices) {
    if (::geteuid() != 0) GTEST_SKIP() << "device nodes need a root daemon";
    const uint32_t chr = static_cast<uint32_t>(makedev(1, 3));
    const uint32_t blk = static_cast<uint32_t>(makedev(7, 0));
    call(mknod_request(fe_->next_unique(), FUSE_ROOT_ID, "chr", S_IFCHR | 0600, chr));
    call(mknod_request(fe_->next_unique(), FUSE_ROOT_ID, "blk", S_IFBLK | 0600, blk));
    struct stat st {};
    ASSERT_EQ(::lstat((share_ + "/chr").c_str(), &st), 0);
    EXPECT_TRUE(S_ISCHR(st.st_mode));
    EXPECT_EQ(st.st_rdev, makedev(1, 3));
    ASSERT_EQ(::lstat((share_ + "/blk").c_str(), &st), 0);
    EXPECT_TRUE(S_ISBLK(st.st_mode));
    EXPECT_EQ(st.st_rdev, makedev(7, 0));
}

// utimensat(dirfd, symlink, times, AT_SYMLINK_NOFOLLOW) in the guest: the link's own times
// change, the target's do not.
TEST_F(PosixConformance, SetattrSetsASymlinksOwnTimes) {
    std::ofstream(share_ + "/target") << "t";
    ASSERT_EQ(::symlink("target", (share_ + "/link").c_str()), 0);
    struct stat before {};
    ASSERT_EQ(::stat((share_ + "/target").c_str(), &before), 0);
    const uint64_t link = lookup("link");
    fuse_setattr_in in{};
    in.valid = FATTR_ATIME | FATTR_MTIME;
    in.atime = 1000;
    in.mtime = 2000;
    in.mtimensec = 5;
    const auto r = call(setattr_request(fe_->next_unique(), link, in));
    EXPECT_EQ(reply_body<fuse_attr_out>(r).attr.mtime, 2000u);
    struct stat l {
    }, t{};
    ASSERT_EQ(::lstat((share_ + "/link").c_str(), &l), 0);
    EXPECT_EQ(l.st_atim.tv_sec, 1000);
    EXPECT_EQ(l.st_mtim.tv_sec, 2000);
    EXPECT_EQ(l.st_mtim.tv_nsec, 5);
    ASSERT_EQ(::stat((share_ + "/target").c_str(), &t), 0);
    EXPECT_EQ(t.st_mtim.tv_sec, before.st_mtim.tv_sec) << "the target's times changed";
}

// A non-owner's write to a 04777, 02777 or 06777 file leaves it 0777: the guest kernel
// flags the WRITE (direct I/O under cache=never) and the daemon clears the bits.
TEST_F(PosixConformance, FlaggedWriteClearsSuidAndSgid) {
    for (mode_t mode : {04777, 02777, 06777}) {
        const std::string name = "f" + std::to_string(mode);
        std::ofstream(share_ + "/" + name) << "x";
        ASSERT_EQ(::chmod((share_ + "/" + name).c_str(), mode), 0);
        const uint64_t node = lookup(name.c_str());
        const auto fh =
            reply_body<fuse_open_out>(call(open_request(fe_->next_unique(), node, O_WRONLY))).fh;
        const auto w =
            call(write_request(fe_->next_unique(), node, fh, 0, {'y'}, FUSE_WRITE_KILL_SUIDGID));
        EXPECT_EQ(reply_body<fuse_write_out>(w).size, 1u);
        EXPECT_EQ(host_mode(name.c_str()) & 07777, 0777u) << std::oct << mode;
    }
}

// An unflagged write (a caller with CAP_FSETID) keeps the bits.
TEST_F(PosixConformance, UnflaggedWriteKeepsSuid) {
    std::ofstream(share_ + "/keep") << "x";
    ASSERT_EQ(::chmod((share_ + "/keep").c_str(), 04777), 0);
    const uint64_t node = lookup("keep");
    const auto fh =
        reply_body<fuse_open_out>(call(open_request(fe_->next_unique(), node, O_WRONLY))).fh;
    call(write_request(fe_->next_unique(), node, fh, 0, {'y'}));
    EXPECT_EQ(host_mode("keep") & 07777, 04777u);
}

// Through the page cache the guest kernel clears the bits itself, with a SETATTR of the
// mode from the writing (non-owner) user: it must succeed.
TEST_F(PosixConformance, NonOwnersSetattrClearingSuidSucceeds) {
    std::ofstream(share_ + "/cached") << "x";
    ASSERT_EQ(::chmod((share_ + "/cached").c_str(), 06777), 0);
    const uint64_t node = lookup("cached");
    fuse_setattr_in in{};
    in.valid = FATTR_MODE;
    in.mode = S_IFREG | 0777;
    call(setattr_request(fe_->next_unique(), node, in, /*uid=*/1000));
    EXPECT_EQ(host_mode("cached") & 07777, 0777u);
}

}  // namespace
}  // namespace vfs::test
