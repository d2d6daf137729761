// The ASan+UBSan daemon (-DVFS_SANITIZE=ON; registered in that build only) under its
// default confinement, --sandbox=namespace --seccomp=kill: it serves a round of requests,
// a SIGTERM ends it with status 0, and its log holds no sanitizer report. Without the
// calls the sanitizer runtimes make added to the seccomp list in this build
// (sandbox/sanitizer_runtime.h), UBSan's first vptr check after the filter kills it.
// LeakSanitizer cannot check a confined daemon (no /proc in its root, no ptrace past the
// filter): the daemon skips that check there, and the unconfined case keeps it.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/fuse.h>
#include <stdlib.h>
#include <sys/wait.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "daemon_with_frontend.h"
#include "frontend.h"
#include "raw_fuse.h"

namespace vfs::test {
namespace {

using namespace vfs::slowfs;
namespace fs = std::filesystem;

constexpr uint32_t kQ = 1;
constexpr uint32_t kCap = 8192;

// What tools/test runs the sanitizer build with, leaks included.
constexpr const char* kAsanOptions = "detect_leaks=1:abort_on_error=1";
constexpr const char* kUbsanOptions = "print_stacktrace=1:halt_on_error=1";

class SanitizedDaemon : public ::testing::Test {
  protected:
    void SetUp() override {
        ASSERT_EQ(::setenv("ASAN_OPTIONS", kAsanOptions, 1), 0);
        ASSERT_EQ(::setenv("UBSAN_OPTIONS", kUbsanOptions, 1), 0);
        dir_ = make_temp_dir("vfs-sanitized");
        ASSERT_FALSE(dir_.empty());
        share_ = dir_ + "/share";
        fs::create_directory(share_);
        std::ofstream(share_ + "/f") << "sanitized";
    }
    void TearDown() override {
        fe_.reset();
        daemon_.terminate();
        if (!dir_.empty()) fs::remove_all(dir_);
    }
    void start(const std::vector<std::string>& extra) {
        spawn_daemon_and_connect(daemon_, dir_ + "/vhost.sock", share_, dir_ + "/daemon.log", extra,
                                 &fe_);
        if (HasFatalFailure()) return;
        ASSERT_TRUE(fe_->fuse_init(kQ)) << daemon_.log();
    }
    std::vector<uint8_t> call(uint32_t q, const std::vector<uint8_t>& req) {
        return call_daemon(*fe_, daemon_, q, req, kCap);
    }
    // LOOKUP, GETATTR, OPEN, READ, WRITE, READDIR, RELEASE, FORGET, and a bad node id:
    // the filesystem, handle and reply paths, each through virtual calls UBSan checks.
    void serve_a_round() {
        const uint64_t u0 = fe_->next_unique();
        auto lr = call(kQ, lookup_request(u0, FUSE_ROOT_ID, "f"));
        ASSERT_EQ(reply_header(lr).error, 0) << daemon_.log();
        const uint64_t node = reply_body<fuse_entry_out>(lr).nodeid;
        EXPECT_EQ(reply_header(call(kQ, getattr_request(fe_->next_unique(), node))).error, 0);
        auto orr = call(kQ, open_request(fe_->next_unique(), node, O_RDWR));
        ASSERT_EQ(reply_header(orr).error, 0) << daemon_.log();
        const uint64_t fh = reply_body<fuse_open_out>(orr).fh;
        auto rd = call(kQ, read_request(fe_->next_unique(), node, fh, 0, 4096));
        ASSERT_EQ(rd.size(), sizeof(fuse_out_header) + 9) << daemon_.log();
        EXPECT_EQ(std::string(rd.begin() + sizeof(fuse_out_header), rd.end()), "sanitized");
        EXPECT_EQ(
            reply_header(call(kQ, write_request(fe_->next_unique(), node, fh, 9, {'!'}))).error, 0);
        fuse_open_in od{};
        auto dir = call(kQ, fuse_request(FUSE_OPENDIR, fe_->next_unique(), FUSE_ROOT_ID, od));
        ASSERT_EQ(reply_header(dir).error, 0) << daemon_.log();
        fuse_read_in rdi{};
        rdi.fh = reply_body<fuse_open_out>(dir).fh;
        rdi.size = 4096;
        EXPECT_EQ(reply_header(call(kQ, fuse_request(FUSE_READDIRPLUS, fe_->next_unique(),
                                                     FUSE_ROOT_ID, rdi)))
                      .error,
                  0);
        fuse_release_in rel{};
        rel.fh = rdi.fh;
        call(kQ, fuse_request(FUSE_RELEASEDIR, fe_->next_unique(), FUSE_ROOT_ID, rel));
        rel.fh = fh;
        call(kQ, fuse_request(FUSE_RELEASE, fe_->next_unique(), node, rel));
        EXPECT_LT(reply_header(call(kQ, getattr_request(fe_->next_unique(), 0xdead))).error, 0);
        fuse_forget_in fo{};
        fo.nlookup = 2;                                                    // LOOKUP and READDIRPLUS
        call(0, fuse_request(FUSE_FORGET, fe_->next_unique(), node, fo));  // the hiprio queue
        EXPECT_EQ(reply_header(call(kQ, getattr_request(fe_->next_unique(), FUSE_ROOT_ID))).error,
                  0);
        std::ifstream in(share_ + "/f");
        std::string back;
        in >> back;
        EXPECT_EQ(back, "sanitized!");
    }
    // SIGTERM: the daemon must exit 0, with no report of any sanitizer in its log.
    void expect_clean_exit() {
        fe_.reset();
        const auto st = daemon_.terminate(20000);
        ASSERT_TRUE(st) << "did not exit\n" << daemon_.log();
        const std::string log = daemon_.log();
        EXPECT_TRUE(WIFEXITED(*st)) << "killed by signal " << WTERMSIG(*st) << "\n" << log;
        if (WIFEXITED(*st)) {
            EXPECT_EQ(WEXITSTATUS(*st), 0) << log;
        }
        for (const char* report : {"Sanitizer", "runtime error"})
            EXPECT_EQ(log.find(report), std::string::npos) << report << "\n" << log;
    }

    std::string dir_, share_;
    DaemonProcess daemon_;
    std::unique_ptr<frontend::Frontend> fe_;
};

TEST_F(SanitizedDaemon, ServesUnderTheDefaultSandboxAndSeccomp) {
    ASSERT_NO_FATAL_FAILURE(start({}));
    // The serving process is confined as a release daemon is.
    const pid_t server = daemon_.sandboxed_child();
    ASSERT_GT(server, 0);
    EXPECT_NE(read_text("/proc/" + std::to_string(server) + "/status").find("Seccomp:\t2"),
              std::string::npos);
    ASSERT_NO_FATAL_FAILURE(serve_a_round());
    expect_clean_exit();
}

// Unconfined, LeakSanitizer runs its exit check on the daemon.
TEST_F(SanitizedDaemon, UnconfinedExitsWithNoLeak) {
    ASSERT_NO_FATAL_FAILURE(start({"--sandbox=none", "--seccomp=none"}));
    ASSERT_NO_FATAL_FAILURE(serve_a_round());
    expect_clean_exit();
}

}  // namespace
}  // namespace vfs::test
