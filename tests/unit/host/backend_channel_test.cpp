// vhost_user::BackendChannel over a socketpair, the test playing the front-end: a map is
// sent with its fd and NEED_REPLY and waits for the u64; a refusal is EIO; a wait can be
// cancelled from another thread, and the reply it gave up on is dropped, not taken for the
// next request's; a cancel holds until resume(); a malformed reply breaks the channel.
#include "vhost_user/backend_channel.h"

#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <future>
#include <thread>

namespace vfs::host::vhost_user {
namespace {

class BackendChannelTest : public ::testing::Test {
  protected:
    void SetUp() override {
        int sv[2];
        ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
        channel_ = std::make_unique<BackendChannel>(UniqueFd(sv[0]));
        frontend_ = Connection(UniqueFd(sv[1]));
    }
    // Receives one request as the front-end.
    std::unique_ptr<Message> next_request() {
        auto m = std::make_unique<Message>();
        auto got = frontend_.receive(m.get());
        if (!got || !*got) return nullptr;
        return m;
    }
    void reply(uint32_t request, uint64_t v) {
        ASSERT_TRUE(frontend_.send_reply(request, &v, sizeof(v)));
    }
    static ShmemMap range(uint64_t off) {
        ShmemMap m;
        m.shm_offset = off;
        m.len = 4096;
        return m;
    }

    std::unique_ptr<BackendChannel> channel_;
    Connection frontend_;
};

TEST_F(BackendChannelTest, MapCarriesTheFdAndWaitsForTheAck) {
    auto done = std::async(std::launch::async,
                           [&] { return channel_->shmem_map(range(8192), STDIN_FILENO); });
    auto m = next_request();
    ASSERT_NE(m, nullptr);
    EXPECT_EQ(m->hdr.request, static_cast<uint32_t>(BackendRequest::kShmemMap));
    EXPECT_TRUE(m->hdr.flags & kFlagNeedReply);
    EXPECT_EQ(m->nfds, 1u);
    EXPECT_EQ(payload_as<ShmemMap>(m->payload).shm_offset, 8192u);
    reply(m->hdr.request, 0);
    EXPECT_TRUE(done.get());
}

TEST_F(BackendChannelTest, ARefusalIsEio) {
    auto done = std::async(std::launch::async, [&] { return channel_->shmem_unmap(range(0)); });
    auto m = next_request();
    ASSERT_NE(m, nullptr);
    EXPECT_EQ(m->nfds, 0u);
    reply(m->hdr.request, 1);
    EXPECT_EQ(done.get().error(), EIO);
}

TEST_F(BackendChannelTest, CancelledWaitsOweTheirReplyWhichIsDropped) {
    auto first = std::async(std::launch::async, [&] { return channel_->shmem_unmap(range(0)); });
    auto m1 = next_request();
    ASSERT_NE(m1, nullptr);
    channel_->cancel();
    EXPECT_EQ(first.get().error(), ECANCELED);
    channel_->resume();  // the ring started again
    // The late answer to the first (a refusal) must not be read as the second's.
    auto second =
        std::async(std::launch::async, [&] { return channel_->shmem_unmap(range(4096)); });
    auto m2 = next_request();
    ASSERT_NE(m2, nullptr);
    reply(m1->hdr.request, 1);
    reply(m2->hdr.request, 0);
    EXPECT_TRUE(second.get());
}

// The cancel is for the worker whose ring is stopping, which may not be waiting yet (queued
// behind another request, or just past the ready check): a request after it must fail
// at once, unsent, not drain the cancel and wait out the 10 s bound for a front-end that
// waits for the stop.
TEST_F(BackendChannelTest, ACancelHoldsUntilResumeSoALaterRequestIsNotSent) {
    channel_->cancel();
    EXPECT_EQ(channel_->shmem_map(range(0), STDIN_FILENO).error(), ECANCELED);
    EXPECT_EQ(channel_->shmem_unmap(range(0)).error(), ECANCELED);
    pollfd p{frontend_.fd(), POLLIN, 0};
    EXPECT_EQ(::poll(&p, 1, 0), 0) << "a request reached the front-end";
    channel_->resume();
    auto done = std::async(std::launch::async, [&] { return channel_->shmem_unmap(range(0)); });
    auto m = next_request();
    ASSERT_NE(m, nullptr);
    reply(m->hdr.request, 0);
    EXPECT_TRUE(done.get());
}

// Every waiter sees the cancel, not just the first to poll it.
TEST_F(BackendChannelTest, ACancelEndsTheWaitAndTheNextRequestBoth) {
    auto first = std::async(std::launch::async, [&] { return channel_->shmem_unmap(range(0)); });
    ASSERT_NE(next_request(), nullptr);
    channel_->cancel();
    EXPECT_EQ(first.get().error(), ECANCELED);
    EXPECT_EQ(channel_->shmem_unmap(range(4096)).error(), ECANCELED);
    EXPECT_TRUE(channel_->cancelled());
}

TEST_F(BackendChannelTest, AMalformedReplyBreaksTheChannel) {
    auto done = std::async(std::launch::async, [&] { return channel_->shmem_unmap(range(0)); });
    auto m = next_request();
    ASSERT_NE(m, nullptr);
    const uint32_t v = 0;  // four bytes: not a u64 ack
    ASSERT_TRUE(frontend_.send_reply(m->hdr.request, &v, sizeof(v)));
    EXPECT_EQ(done.get().error(), EIO);
    EXPECT_EQ(channel_->shmem_unmap(range(0)).error(), EIO);  // nothing more is sent
}

TEST_F(BackendChannelTest, AClosedFrontendFailsTheWait) {
    auto done = std::async(std::launch::async, [&] { return channel_->shmem_unmap(range(0)); });
    ASSERT_NE(next_request(), nullptr);
    frontend_.close();
    EXPECT_EQ(done.get().error(), EIO);
}

}  // namespace
}  // namespace vfs::host::vhost_user
