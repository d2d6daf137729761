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
#include <sys/xattr.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "backends.h"
#include "daemon_with_frontend.h"
#include "frontend.h"
#include "raw_fuse.h"

namespace vfs::test {
namespace {

using vfs::frontend::Frontend;
using namespace vfs::slowfs;

constexpr uint32_t kQ = 1;
constexpr uint32_t kCap = 8192;

class PosixConformance : public ::testing::Test {
  protected:
    void SetUp() override {
        start({"--cache=never"});
        if (HasFatalFailure()) return;
        auto init = fe_->fuse_init(kQ);
        ASSERT_TRUE(init);
        ASSERT_FALSE(init->flags & FUSE_HANDLE_KILLPRIV_V2)
            << "the default must not negotiate KILLPRIV_V2";
    }
    // The daemon on a fresh share with `extra` arguments, and a connected frontend (no
    // INIT yet). cache=never: the guest then writes with direct I/O, where the kernel
    // leaves suid/sgid clearing to the server.
    void start(std::vector<std::string> extra) {
        dir_ = make_temp_dir("vfs-posix");
        ASSERT_FALSE(dir_.empty());
        share_ = dir_ + "/share";
        std::filesystem::create_directory(share_);
        extra.push_back("--log-level=debug");
        spawn_daemon_and_connect(daemon_, dir_ + "/vhost.sock", share_, dir_ + "/daemon.log", extra,
                                 &fe_);
    }
    void TearDown() override { disconnect_and_stop(fe_, daemon_, dir_); }
    // The reply, with its error (0 or -errno) checked against `want`.
    std::vector<uint8_t> call(const std::vector<uint8_t>& req, int want = 0) {
        return call_daemon(*fe_, daemon_, kQ, req, kCap, want);
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

// --posix-acl (issue 13, finding 6). Setting an access ACL can change the mode, and the
// kernel's posix_acl_update_mode then drops S_ISGID for a setter outside the file's group
// without CAP_FSETID. The root daemon always passes that check, so the guest kernel makes
// it and sends FUSE_SETXATTR_ACL_KILL_SGID, which only the extended SETXATTR header
// (FUSE_SETXATTR_EXT) carries: ACLs are offered only with it (CVE-2016-7097's class).
class PosixAcl : public PosixConformance {
  protected:
    void SetUp() override { start({"--posix-acl"}); }

    // A SETXATTR as the guest kernel sends it once FUSE_SETXATTR_EXT is on.
    std::vector<uint8_t> setxattr_ext(uint64_t node, std::string_view name,
                                      const std::vector<uint8_t>& value, uint32_t setxattr_flags,
                                      uint32_t uid, uint32_t gid) {
        fuse_setxattr_in in{};
        in.size = static_cast<uint32_t>(value.size());
        in.setxattr_flags = setxattr_flags;
        return as_user(
            with_payload(fuse_request(FUSE_SETXATTR, fe_->next_unique(), node, in, name), value),
            uid, gid);
    }
    // system.posix_acl_access for u::rwx u:1234:rwx g::rwx m::rwx o::r-x (mode 0775).
    static std::vector<uint8_t> acl_0775_with_named_user() {
        std::vector<uint8_t> v;
        auto put = [&v](uint32_t x, size_t n) {
            for (size_t i = 0; i < n; ++i)
                v.push_back(static_cast<uint8_t>(x >> (8 * i)));
        };
        put(2, 4);  // POSIX_ACL_XATTR_VERSION
        const struct {
            uint16_t tag, perm;
            uint32_t id;
        } entries[] = {
            {0x01, 7, ~0u}, {0x02, 7, 1234}, {0x04, 7, ~0u}, {0x10, 7, ~0u}, {0x20, 5, ~0u}};
        for (const auto& e : entries) {
            put(e.tag, 2);
            put(e.perm, 2);
            put(e.id, 4);
        }
        return v;
    }
    // An sgid file of uid 1000, group 2000, and its node id.
    uint64_t sgid_file(const char* name) {
        const std::string path = share_ + "/" + name;
        std::ofstream(path) << "x";
        EXPECT_EQ(::chown(path.c_str(), 1000, 2000), 0);
        EXPECT_EQ(::chmod(path.c_str(), 02775), 0);
        return lookup(name);
    }
};

TEST_F(PosixAcl, AclsAreNotOfferedWithoutSetxattrExt) {
    auto init = fe_->fuse_init(kQ, FUSE_POSIX_ACL | FUSE_DONT_MASK);
    ASSERT_TRUE(init);
    EXPECT_FALSE(init->flags & FUSE_POSIX_ACL)
        << "without SETXATTR_EXT the guest's ACL_KILL_SGID could never arrive";
}

TEST_F(PosixAcl, KillSgidFlagClearsSgidOfANonMembersAcl) {
    if (::geteuid() != 0) GTEST_SKIP() << "chown to another user needs root";
    auto init = fe_->fuse_init(kQ, FUSE_POSIX_ACL | FUSE_SETXATTR_EXT | FUSE_DONT_MASK);
    ASSERT_TRUE(init);
    ASSERT_TRUE(init->flags & FUSE_POSIX_ACL);
    ASSERT_TRUE(init->flags & FUSE_SETXATTR_EXT);
    const uint64_t node = sgid_file("acl");
    // The owner (uid 1000, not in group 2000) sets an ACL: the guest flags it.
    call(setxattr_ext(node, "system.posix_acl_access", acl_0775_with_named_user(),
                      FUSE_SETXATTR_ACL_KILL_SGID, 1000, 1000));
    EXPECT_EQ(host_mode("acl") & 07777, 0775u) << "S_ISGID kept";
    char buf[64];
    EXPECT_EQ(::getxattr((share_ + "/acl").c_str(), "system.posix_acl_access", buf, sizeof(buf)),
              44)
        << "the ACL itself was not set";
}

TEST_F(PosixAcl, UnflaggedAclKeepsSgid) {
    if (::geteuid() != 0) GTEST_SKIP() << "chown to another user needs root";
    ASSERT_TRUE(fe_->fuse_init(kQ, FUSE_POSIX_ACL | FUSE_SETXATTR_EXT | FUSE_DONT_MASK));
    const uint64_t node = sgid_file("member");
    // A group member (or a caller with CAP_FSETID): no flag, the bit stays.
    call(setxattr_ext(node, "system.posix_acl_access", acl_0775_with_named_user(), 0, 1000, 2000));
    EXPECT_EQ(host_mode("member") & 07777, 02775u);
}

// The flag on any other xattr is not an ACL change: nothing is cleared.
TEST_F(PosixAcl, KillSgidFlagOnAnotherXattrChangesNoMode) {
    if (::geteuid() != 0) GTEST_SKIP() << "chown to another user needs root";
    ASSERT_TRUE(fe_->fuse_init(kQ, FUSE_POSIX_ACL | FUSE_SETXATTR_EXT | FUSE_DONT_MASK));
    const uint64_t node = sgid_file("user");
    call(setxattr_ext(node, "user.k", {'v'}, FUSE_SETXATTR_ACL_KILL_SGID, 1000, 1000));
    EXPECT_EQ(host_mode("user") & 07777, 02775u);
}

}  // namespace
}  // namespace vfs::test
