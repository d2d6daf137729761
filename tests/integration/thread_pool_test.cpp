// --thread-pool-size through the in-process frontend, against the daemon's own parts run
// in-process over a passthrough whose LOOKUP of "slow" waits until the test releases it
// (tools/slow-fs): with a pool, the queue serves GETATTR, LOOKUP, OPEN, READ and WRITE
// while that LOOKUP waits, and the replies complete out of order; without one (the
// default) the same queue serves nothing until the LOOKUP returns. DESTROY and a ring stop
// wait for the LOOKUP still on the pool.
#include <fcntl.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include "daemon_process.h"
#include "frontend.h"
#include "raw_fuse.h"
#include "slowed_daemon.h"

namespace vfs::test {
namespace {

using namespace std::chrono_literals;
using vfs::frontend::Frontend;
using vfs::frontend::FrontendOptions;
using namespace vfs::slowfs;

constexpr uint32_t kQ = 1;  // the one request queue: slow and fast calls share it
constexpr uint32_t kReplyCap = 8192;

class ThreadPoolQueue : public ::testing::Test {
  protected:
    void start(unsigned pool, int timeout_ms = 10000) {
        dir_ = make_temp_dir("vfs-pool");
        ASSERT_FALSE(dir_.empty());
        share_ = dir_ + "/share";
        std::filesystem::create_directory(share_);
        std::ofstream(share_ + "/slow") << "the slow one";
        std::ofstream(share_ + "/file") << std::string(8192, 'x');
        SlowedDaemonConfig c;
        c.shared_dir = share_;
        c.socket_path = dir_ + "/vhost.sock";
        c.gated = true;
        c.thread_pool_size = pool;
        auto d = SlowedDaemon::start(c);
        ASSERT_TRUE(d) << strerror(d.error());
        daemon_ = std::move(*d);
        FrontendOptions o;
        o.num_queues = 2;
        o.timeout_ms = timeout_ms;
        auto f = Frontend::connect(c.socket_path, o);
        ASSERT_TRUE(f) << strerror(f.error());
        fe_ = std::move(*f);
        ASSERT_TRUE(fe_->setup());
        ASSERT_TRUE(fe_->fuse_init(kQ));
    }
    void TearDown() override {
        if (daemon_) daemon_->fs().release();
        fe_.reset();
        daemon_.reset();
        if (!dir_.empty()) std::filesystem::remove_all(dir_);
    }

    // Sends the LOOKUP of "slow" and waits until the filesystem holds it.
    Frontend::Ticket start_slow_lookup() {
        auto t =
            fe_->submit(kQ, lookup_request(fe_->next_unique(), FUSE_ROOT_ID, "slow"), kReplyCap);
        EXPECT_TRUE(t);
        EXPECT_TRUE(daemon_->fs().wait_started(1, 10s)) << "the slow LOOKUP never arrived";
        return t ? *t : Frontend::Ticket{};
    }
    std::vector<uint8_t> call(const std::vector<uint8_t>& req) {
        auto r = fe_->request(kQ, req, kReplyCap);
        EXPECT_TRUE(r) << strerror(r.error());
        if (!r) return {};
        EXPECT_EQ(reply_header(*r).error, 0);
        return *r;
    }
    void expect_slow_lookup_answered(const Frontend::Ticket& t) {
        auto r = fe_->wait(t);
        ASSERT_TRUE(r) << strerror(r.error());
        EXPECT_EQ(reply_header(*r).error, 0);
        EXPECT_NE(reply_body<fuse_entry_out>(*r).nodeid, 0u);
    }

    std::string dir_, share_;
    std::unique_ptr<SlowedDaemon> daemon_;
    std::unique_ptr<Frontend> fe_;
};

TEST_F(ThreadPoolQueue, WithAPoolASlowLookupStallsNothingElse) {
    start(4);
    const auto slow = start_slow_lookup();
    for (int i = 0; i < 20; ++i)
        call(getattr_request(fe_->next_unique(), FUSE_ROOT_ID));
    const auto e =
        reply_body<fuse_entry_out>(call(lookup_request(fe_->next_unique(), FUSE_ROOT_ID, "file")));
    ASSERT_NE(e.nodeid, 0u);
    const auto fh =
        reply_body<fuse_open_out>(call(open_request(fe_->next_unique(), e.nodeid, O_RDWR))).fh;
    const auto w = call(
        write_request(fe_->next_unique(), e.nodeid, fh, 4096, std::vector<uint8_t>(4096, 'y')));
    EXPECT_EQ(reply_body<fuse_write_out>(w).size, 4096u);
    const auto r = call(read_request(fe_->next_unique(), e.nodeid, fh, 4094, 4));
    ASSERT_EQ(r.size(), sizeof(fuse_out_header) + 4);
    EXPECT_EQ(std::string(r.begin() + sizeof(fuse_out_header), r.end()), "xxyy");
    // All of that while the first request still waits: it completes last.
    EXPECT_EQ(daemon_->fs().slow_finished(), 0u);
    daemon_->fs().release();
    expect_slow_lookup_answered(slow);
}

TEST_F(ThreadPoolQueue, WithoutAPoolASlowLookupStallsTheQueue) {
    start(0, /*timeout_ms=*/500);
    const auto slow = start_slow_lookup();
    auto t = fe_->submit(kQ, getattr_request(fe_->next_unique(), FUSE_ROOT_ID), kReplyCap);
    ASSERT_TRUE(t);
    auto stalled = fe_->wait(*t);
    ASSERT_FALSE(stalled) << "a GETATTR was served while the worker was in the slow LOOKUP";
    EXPECT_EQ(stalled.error(), ETIMEDOUT);
    daemon_->fs().release();
    expect_slow_lookup_answered(slow);
    auto r = fe_->wait(*t);
    ASSERT_TRUE(r) << strerror(r.error());
    EXPECT_EQ(reply_header(*r).error, 0);
}

// DESTROY resets the filesystem: it waits for the LOOKUP on the pool, which then still
// gets its reply.
TEST_F(ThreadPoolQueue, DestroyWaitsForThePool) {
    start(2);
    const auto slow = start_slow_lookup();
    std::thread releaser([&] {
        std::this_thread::sleep_for(200ms);
        daemon_->fs().release();
    });
    auto d = fe_->request(kQ, destroy_request(fe_->next_unique()), kReplyCap);
    releaser.join();
    ASSERT_TRUE(d) << strerror(d.error());
    EXPECT_EQ(daemon_->fs().slow_finished(), 1u) << "DESTROY overlapped a pooled LOOKUP";
    expect_slow_lookup_answered(slow);
}

// GET_VRING_BASE (a ring stop, a device reset) waits for the LOOKUP on the pool and
// publishes its reply before it answers.
TEST_F(ThreadPoolQueue, RingStopWaitsForThePool) {
    start(2);
    const auto slow = start_slow_lookup();
    std::thread releaser([&] {
        std::this_thread::sleep_for(200ms);
        daemon_->fs().release();
    });
    auto base = fe_->stop_queue(kQ);
    releaser.join();
    ASSERT_TRUE(base) << strerror(base.error());
    EXPECT_EQ(daemon_->fs().slow_finished(), 1u) << "the ring stopped under a pooled LOOKUP";
    expect_slow_lookup_answered(slow);
    ASSERT_TRUE(fe_->start_queue(kQ));
    call(getattr_request(fe_->next_unique(), FUSE_ROOT_ID));
}

}  // namespace
}  // namespace vfs::test
