// Issue 16's id mapping against the daemon binary through the in-process frontend:
// --translate-uid/--translate-gid translate request credentials and chown guest->host and
// every attribute reply host->guest, and refuse forbidden ids with EPERM; --uid-map and
// --gid-map put the sandbox in a user namespace with those ranges (root writes them).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

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
constexpr uint32_t kGuestUser = 1000;
constexpr uint32_t kHostUser = 101000;
constexpr uint32_t kForbidden = 5000;

class IdMapping : public ::testing::Test {
  protected:
    void SetUp() override {
        if (::geteuid() != 0) GTEST_SKIP() << "creating files as other ids needs a root daemon";
        dir_ = make_temp_dir("vfs-idmap");
        ASSERT_FALSE(dir_.empty());
        share_ = dir_ + "/share";
        socket_ = dir_ + "/vhost.sock";
        std::filesystem::create_directory(share_);
        // Guest users create here: the daemon's fsuid switch drops root's DAC override.
        ASSERT_EQ(::chmod(share_.c_str(), 0777), 0);
    }
    void TearDown() override {
        fe_.reset();
        daemon_.terminate();
        if (!dir_.empty()) std::filesystem::remove_all(dir_);
    }
    void start(std::vector<std::string> extra) {
        spawn_daemon_and_connect(daemon_, socket_, share_, dir_ + "/daemon.log", extra, &fe_);
        if (HasFatalFailure()) return;
        ASSERT_TRUE(fe_->fuse_init(kQ)) << daemon_.log();
    }
    std::vector<uint8_t> call(const std::vector<uint8_t>& req, int want = 0) {
        return call_daemon(*fe_, daemon_, kQ, req, kCap, want);
    }
    fuse_entry_out lookup(const char* name) {
        return reply_body<fuse_entry_out>(
            call(lookup_request(fe_->next_unique(), FUSE_ROOT_ID, name)));
    }
    fuse_attr getattr(uint64_t node) {
        return reply_body<fuse_attr_out>(call(getattr_request(fe_->next_unique(), node))).attr;
    }
    // MKNOD of a regular file as guest uid/gid.
    std::vector<uint8_t> create_as(const char* name, uint32_t uid, uint32_t gid, int want = 0) {
        return call(
            as_user(mknod_request(fe_->next_unique(), FUSE_ROOT_ID, name, S_IFREG | 0644, 0), uid,
                    gid),
            want);
    }
    std::vector<uint8_t> mkdir_as(const char* name, uint32_t uid, uint32_t gid, int want = 0) {
        fuse_mkdir_in in{};
        in.mode = 0755;
        return call(
            as_user(fuse_request(FUSE_MKDIR, fe_->next_unique(), FUSE_ROOT_ID, in, name), uid, gid),
            want);
    }
    std::vector<uint8_t> chown_to(uint64_t node, uint32_t uid, uint32_t gid, int want = 0) {
        fuse_setattr_in in{};
        in.valid = FATTR_UID | FATTR_GID;
        in.uid = uid;
        in.gid = gid;
        return call(setattr_request(fe_->next_unique(), node, in), want);
    }
    struct stat host_stat(const char* name) {
        struct stat st {};
        EXPECT_EQ(::lstat((share_ + "/" + name).c_str(), &st), 0) << name;
        return st;
    }
    // The process that serves: the namespace sandbox's child of the one we started.
    pid_t server_pid() { return daemon_.sandboxed_child(); }

    std::string dir_, share_, socket_;
    DaemonProcess daemon_;
    std::unique_ptr<Frontend> fe_;
};

const std::vector<std::string> kTranslate{
    "--translate-uid=map:1000:101000:1", "--translate-gid=map:1000:101000:1",
    "--translate-uid=forbid-guest:5000:1", "--translate-gid=forbid-guest:5000:1"};

// Guest user 1000 creates: the host file is 101000's; every reply shows 1000.
TEST_F(IdMapping, TranslatedCreateIsTheHostIdAndRepliesShowTheGuestId) {
    start(kTranslate);
    const auto made = reply_body<fuse_entry_out>(create_as("f", kGuestUser, kGuestUser));
    EXPECT_EQ(made.attr.uid, kGuestUser);
    EXPECT_EQ(made.attr.gid, kGuestUser);
    const struct stat st = host_stat("f");
    EXPECT_EQ(st.st_uid, kHostUser);
    EXPECT_EQ(st.st_gid, kHostUser);
    EXPECT_EQ(getattr(made.nodeid).uid, kGuestUser);
    EXPECT_EQ(lookup("f").attr.gid, kGuestUser);
    const auto dir = reply_body<fuse_entry_out>(mkdir_as("d", kGuestUser, kGuestUser));
    EXPECT_EQ(dir.attr.uid, kGuestUser);
    EXPECT_EQ(host_stat("d").st_uid, kHostUser);
    // An id no rule covers is the same number both ways.
    const auto other = reply_body<fuse_entry_out>(create_as("g", 2000, 2000));
    EXPECT_EQ(other.attr.uid, 2000u);
    EXPECT_EQ(host_stat("g").st_uid, 2000u);
}

// SETATTR chown: to 1000 stores 101000 (the reply says 1000); to a forbidden id is EPERM
// and changes nothing, mode included.
TEST_F(IdMapping, ChownTranslatesAndAForbiddenIdIsEperm) {
    std::ofstream(share_ + "/owned") << "x";
    start(kTranslate);
    const uint64_t node = lookup("owned").nodeid;
    const auto r = reply_body<fuse_attr_out>(chown_to(node, kGuestUser, kGuestUser));
    EXPECT_EQ(r.attr.uid, kGuestUser);
    EXPECT_EQ(r.attr.gid, kGuestUser);
    EXPECT_EQ(host_stat("owned").st_uid, kHostUser);
    EXPECT_EQ(host_stat("owned").st_gid, kHostUser);
    chown_to(node, kForbidden, kGuestUser, -EPERM);
    chown_to(node, kGuestUser, kForbidden, -EPERM);
    fuse_setattr_in both{};
    both.valid = FATTR_MODE | FATTR_UID;
    both.mode = S_IFREG | 0600;
    both.uid = kForbidden;
    call(setattr_request(fe_->next_unique(), node, both), -EPERM);
    EXPECT_EQ(host_stat("owned").st_uid, kHostUser);
    EXPECT_NE(host_stat("owned").st_mode & 0777, 0600u) << "a refused SETATTR changed the mode";
}

// A forbidden guest id cannot create anything.
TEST_F(IdMapping, AForbiddenCallerCannotCreate) {
    start(kTranslate);
    create_as("nope", kForbidden, kGuestUser, -EPERM);
    mkdir_as("nodir", kGuestUser, kForbidden, -EPERM);
    EXPECT_FALSE(std::filesystem::exists(share_ + "/nope"));
    EXPECT_FALSE(std::filesystem::exists(share_ + "/nodir"));
}

// Host-side rules: squash-host shows a host range as one guest id; host: maps one way.
TEST_F(IdMapping, HostRulesShapeWhatTheGuestSees) {
    for (const char* n : {"a", "b", "c"})
        std::ofstream(share_ + "/" + n) << n;
    ASSERT_EQ(::chown((share_ + "/a").c_str(), 200000, 200000), 0);
    ASSERT_EQ(::chown((share_ + "/b").c_str(), 265535, 7), 0);
    ASSERT_EQ(::chown((share_ + "/c").c_str(), 300001, 300001), 0);
    start({"--translate-uid=squash-host:200000:1000:65536", "--translate-uid=host:300000:42:5"});
    EXPECT_EQ(lookup("a").attr.uid, 1000u);
    EXPECT_EQ(lookup("b").attr.uid, 1000u);
    EXPECT_EQ(lookup("b").attr.gid, 7u);
    EXPECT_EQ(lookup("c").attr.uid, 43u);
    EXPECT_EQ(lookup("c").attr.gid, 300001u);  // no gid rule
}

// --uid-map/--gid-map as root: the daemon is root of a user namespace whose 0..65535 are
// host 100000..165535, so guest user 1000's file is host 101000's, and the guest sees 1000.
TEST_F(IdMapping, UidMapPutsTheDaemonInAMappedUserNamespace) {
    ASSERT_EQ(::chmod(dir_.c_str(), 0755), 0);
    ASSERT_EQ(::chown(share_.c_str(), 100000, 100000), 0);
    start({"--uid-map=:0:100000:65536:", "--gid-map=:0:100000:65536:"});
    const pid_t server = server_pid();
    ASSERT_GT(server, 0);
    std::istringstream map(read_text("/proc/" + std::to_string(server) + "/uid_map"));
    uint64_t inside = 1, outside = 0, count = 0;
    map >> inside >> outside >> count;
    EXPECT_TRUE(inside == 0 && outside == 100000 && count == 65536);
    const std::string status = read_text("/proc/" + std::to_string(server) + "/status");
    EXPECT_NE(status.find("\nUid:\t100000\t100000\t100000"), std::string::npos) << status;
    const auto made = reply_body<fuse_entry_out>(create_as("f", kGuestUser, kGuestUser));
    EXPECT_EQ(made.attr.uid, kGuestUser);
    EXPECT_EQ(host_stat("f").st_uid, kHostUser);
    EXPECT_EQ(host_stat("f").st_gid, kHostUser);
    // The share's owner is the namespace's root.
    EXPECT_EQ(getattr(FUSE_ROOT_ID).uid, 0u);
}

// A map that leaves the daemon no id inside is a start-up error naming the flag.
TEST_F(IdMapping, AMapWithoutTheDaemonsIdIsAStartUpError) {
    ASSERT_TRUE(daemon_.spawn({VFS_DAEMON_PATH, "--socket-path=" + socket_,
                               "--shared-dir=" + share_, "--uid-map=:1:100000:10:"},
                              dir_ + "/daemon.log"));
    const auto st = daemon_.wait_exit(10000);
    ASSERT_TRUE(st);
    EXPECT_NE(*st, 0);
    EXPECT_NE(daemon_.log().find("--uid-map: the maps give the daemon no id"), std::string::npos)
        << daemon_.log();
}

}  // namespace
}  // namespace vfs::test
