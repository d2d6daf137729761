// --poll-us against the daemon binary (default confinement): with the queue thread spinning
// for a second after each request (the guest's kicks off meanwhile; the in-process frontend
// kicks only when the rings ask it to), LOOKUP, GETATTR and FORGET on both rings keep being
// answered, and GET_VRING_BASE on either ring during a spin stops it and leaves the other
// served. The spin's mechanics are tested in queue_worker_test (QueueSpin).
#include <gtest/gtest.h>

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

class PollUs : public ::testing::Test {
  protected:
    void SetUp() override {
        dir_ = make_temp_dir("vfs-poll-us");
        ASSERT_FALSE(dir_.empty());
        share_ = dir_ + "/share";
        fs::create_directory(share_);
        std::ofstream(share_ + "/f") << "file";
        spawn_daemon_and_connect(daemon_, dir_ + "/vhost.sock", share_, dir_ + "/daemon.log",
                                 {"--poll-us=1000000"}, &fe_);
        if (HasFatalFailure()) return;
        ASSERT_TRUE(fe_->fuse_init(kRequest)) << daemon_.log();
    }
    void TearDown() override { disconnect_and_stop(fe_, daemon_, dir_); }

    uint64_t unique() { return fe_->next_unique(); }
    std::vector<uint8_t> call(uint32_t q, const std::vector<uint8_t>& req) {
        return call_daemon(*fe_, daemon_, q, req, kCap);
    }
    uint64_t lookup_f() {
        auto r = call(kRequest, lookup_request(unique(), FUSE_ROOT_ID, "f"));
        EXPECT_EQ(reply_header(r).error, 0);
        return reply_body<fuse_entry_out>(r).nodeid;
    }
    void forget(uint64_t node, uint64_t n) {
        fuse_forget_in in{};
        in.nlookup = n;
        call(kHiprio, fuse_request(FUSE_FORGET, unique(), node, in));
    }
    int getattr_error(uint64_t node) {
        return reply_header(call(kRequest, getattr_request(unique(), node))).error;
    }

    std::string dir_, share_;
    DaemonProcess daemon_;
    std::unique_ptr<Frontend> fe_;
};

// A LOOKUP and its FORGET, one at a time, as a synchronous guest sends them; the node's
// count must come out right (a FORGET lost on the spinning hiprio ring leaves it alive).
TEST_F(PollUs, LookupsAndForgetsOnBothRingsAreServed) {
    const uint64_t node = lookup_f();
    for (int i = 0; i < 500 && !HasFailure(); ++i) {
        EXPECT_EQ(lookup_f(), node);
        EXPECT_EQ(getattr_error(node), 0);
        forget(node, 1);
    }
    forget(node, 1);
    EXPECT_NE(getattr_error(node), 0) << "a FORGET was lost";
    EXPECT_NE(daemon_.log().find("spin"), std::string::npos) << daemon_.log();
    EXPECT_FALSE(daemon_.exited()) << daemon_.log();
}

// GET_VRING_BASE right after a request, while the thread spins on both rings.
TEST_F(PollUs, StoppingARingDuringASpinLeavesTheOtherServed) {
    const uint64_t node = lookup_f();
    for (int round = 0; round < 5 && !HasFailure(); ++round) {
        EXPECT_EQ(lookup_f(), node);
        ASSERT_TRUE(fe_->stop_queue(kHiprio)) << daemon_.log();
        EXPECT_EQ(getattr_error(node), 0);
        ASSERT_TRUE(fe_->start_queue(kHiprio)) << daemon_.log();
        forget(node, 1);
        ASSERT_TRUE(fe_->stop_queue(kRequest)) << daemon_.log();
        forget(node, 0);  // served with the request ring stopped
        ASSERT_TRUE(fe_->start_queue(kRequest)) << daemon_.log();
        EXPECT_EQ(getattr_error(node), 0);
    }
    forget(node, 1);
    EXPECT_NE(getattr_error(node), 0) << "a FORGET was lost across the ring stops";
    EXPECT_EQ(daemon_.log().find("abandoned"), std::string::npos) << daemon_.log();
    EXPECT_FALSE(daemon_.exited()) << daemon_.log();
}

}  // namespace
}  // namespace vfs::test
