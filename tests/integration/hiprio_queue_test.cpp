// The high-priority queue served from the request queue's thread (issue 14), against the
// daemon binary with its default confinement: one queue thread for both rings, FORGET and
// LOOKUP of one node in flight together on the two queues (with and without a thread
// pool, where the LOOKUP runs on a pool thread beside the FORGET), and GET_VRING_BASE on
// either ring leaving the other served.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "daemon_with_frontend.h"
#include "frontend.h"
#include "raw_fuse.h"

namespace vfs::test {
namespace {

namespace fs = std::filesystem;
using vfs::frontend::Frontend;
using namespace vfs::slowfs;

constexpr uint32_t kHiprio = 0, kRequest = 1;
constexpr uint32_t kCap = 8192;

class HiprioQueue : public ::testing::TestWithParam<int> {
  protected:
    void SetUp() override {
        dir_ = make_temp_dir("vfs-hiprio");
        ASSERT_FALSE(dir_.empty());
        share_ = dir_ + "/share";
        fs::create_directory(share_);
        std::ofstream(share_ + "/f") << "file";
        spawn_daemon_and_connect(daemon_, dir_ + "/vhost.sock", share_, dir_ + "/daemon.log",
                                 {"--thread-pool-size=" + std::to_string(GetParam())}, &fe_);
        if (HasFatalFailure()) return;
        ASSERT_TRUE(fe_->fuse_init(kRequest)) << daemon_.log();
    }
    void TearDown() override { disconnect_and_stop(fe_, daemon_, dir_); }

    uint64_t unique() { return fe_->next_unique(); }
    std::vector<uint8_t> call(uint32_t q, const std::vector<uint8_t>& req) {
        return call_daemon(*fe_, daemon_, q, req, kCap);
    }
    std::vector<uint8_t> forget_request(uint64_t node, uint64_t n) {
        fuse_forget_in in{};
        in.nlookup = n;
        return fuse_request(FUSE_FORGET, unique(), node, in);
    }
    int getattr_error(uint64_t node) {
        return reply_header(call(kRequest, getattr_request(unique(), node))).error;
    }

    std::string dir_, share_;
    DaemonProcess daemon_;
    std::unique_ptr<Frontend> fe_;
};

// The guest holds one lookup of "f" and sends, at once, a new LOOKUP of "f" (request
// queue) and the FORGET of the lookup it held (hiprio queue). Whatever order the daemon
// applies them in, the guest then holds exactly one lookup, of the node the LOOKUP named:
// a GETATTR of it must work, and after its FORGET the node must be gone. A LOOKUP that
// found the node, then lost it to the FORGET before counting itself, names a node the
// table no longer has (the GETATTR fails); a count that went wrong either way leaves the
// node alive after the last FORGET, or gone before it.
TEST_P(HiprioQueue, ForgetAndLookupOfOneNodeTogether) {
    auto first = call(kRequest, lookup_request(unique(), FUSE_ROOT_ID, "f"));
    ASSERT_EQ(reply_header(first).error, 0);
    uint64_t held = reply_body<fuse_entry_out>(first).nodeid;
    for (int i = 0; i < 2000 && !HasFailure(); ++i) {
        auto lookup = fe_->submit(kRequest, lookup_request(unique(), FUSE_ROOT_ID, "f"), kCap);
        auto forget = fe_->submit(kHiprio, forget_request(held, 1), kCap);
        ASSERT_TRUE(lookup && forget) << daemon_.log();
        auto looked = fe_->wait(*lookup);
        ASSERT_TRUE(looked) << strerror(looked.error()) << "\n" << daemon_.log();
        ASSERT_TRUE(fe_->wait(*forget)) << daemon_.log();
        ASSERT_EQ(reply_header(*looked).error, 0) << i;
        held = reply_body<fuse_entry_out>(*looked).nodeid;
        ASSERT_EQ(getattr_error(held), 0) << "round " << i << ": the LOOKUP named a dead node";
    }
    call(kHiprio, forget_request(held, 1));
    EXPECT_NE(getattr_error(held), 0) << "the node outlived its last FORGET";
    EXPECT_FALSE(daemon_.exited()) << daemon_.log();
}

// GET_VRING_BASE on the hiprio ring leaves the request ring served, and the other way
// round; a restarted ring is served again.
TEST_P(HiprioQueue, StoppingEitherRingLeavesTheOtherServed) {
    auto lookup = [&] {
        auto r = call(kRequest, lookup_request(unique(), FUSE_ROOT_ID, "f"));
        EXPECT_EQ(reply_header(r).error, 0);
        return reply_body<fuse_entry_out>(r).nodeid;
    };
    const uint64_t node = lookup();
    ASSERT_TRUE(fe_->stop_queue(kHiprio)) << daemon_.log();
    for (int i = 0; i < 20; ++i)
        EXPECT_EQ(lookup(), node);
    ASSERT_TRUE(fe_->start_queue(kHiprio)) << daemon_.log();
    call(kHiprio, forget_request(node, 10));  // 21 held, 11 left

    ASSERT_TRUE(fe_->stop_queue(kRequest)) << daemon_.log();
    call(kHiprio, forget_request(node, 10));  // served with the request ring stopped
    ASSERT_TRUE(fe_->start_queue(kRequest)) << daemon_.log();
    EXPECT_EQ(getattr_error(node), 0);
    call(kHiprio, forget_request(node, 1));  // the last lookup
    EXPECT_NE(getattr_error(node), 0) << "a FORGET was lost across the ring stops";
    EXPECT_FALSE(daemon_.exited()) << daemon_.log();
}

// By default (--hiprio-thread=shared) the hiprio ring and the request ring are served by
// one thread: the tests above would pass with a thread per queue too.
TEST_P(HiprioQueue, BothRingsShareOneThread) {
    auto r = call(kRequest, lookup_request(unique(), FUSE_ROOT_ID, "f"));
    ASSERT_EQ(reply_header(r).error, 0);
    call(kHiprio, forget_request(reply_body<fuse_entry_out>(r).nodeid, 1));
    // The thread's name is not there to look at: the sandbox has no /proc to name it by.
    const std::string log = daemon_.log();
    EXPECT_TRUE(log.find("queue 1: served on the thread of queue 0") != std::string::npos ||
                log.find("queue 0: served on the thread of queue 1") != std::string::npos)
        << log;
}

INSTANTIATE_TEST_SUITE_P(ThreadPool, HiprioQueue, ::testing::Values(0, 2),
                         [](const auto& info) { return "pool" + std::to_string(info.param); });

}  // namespace
}  // namespace vfs::test
