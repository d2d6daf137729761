// A real daemon (virtiofsd-cxx) answers, and the hosted transport corrupts one reply on
// its way to the guest driver: ukfuse must return an error for that request (EPROTO, or
// EIO once the queue itself is broken), never crash, and keep working where it can.
#include <gtest/gtest.h>
#include <linux/fuse.h>

#include <fstream>
#include <memory>

#include "daemon_process.h"
#include "drivers/virtio_fs/fs_device.h"
#include "hosted_transport.h"
#include "lib/ukfuse/session.h"

namespace vfs::guest {
namespace {

using hosted::Tamper;

class MalformedReply : public ::testing::Test {
  protected:
    void SetUp() override {
        dir_ = test::make_temp_dir("vfs-malformed");
        share_ = dir_ + "/share";
        ASSERT_EQ(::mkdir(share_.c_str(), 0755), 0);
        std::ofstream(share_ + "/file.txt") << "twelve bytes";
        sock_ = dir_ + "/fs.sock";
        ASSERT_TRUE(
            daemon_.spawn({VFS_DAEMON_PATH, "--socket-path=" + sock_, "--shared-dir=" + share_},
                          dir_ + "/daemon.log"));
        ASSERT_TRUE(daemon_.wait_for_socket(sock_)) << daemon_.log();
        hosted::HostedOptions o;
        o.socket = sock_;
        o.request_queues = 2;
        o.interpose = true;
        auto t = hosted::HostedTransport::connect(o);
        ASSERT_TRUE(t) << t.error();
        transport_ = std::move(*t);
        virtio_fs::DeviceOptions d;
        d.timeout_ns = 10'000'000'000ull;
        ASSERT_TRUE(dev_.probe(*transport_, transport_->dma(), d));
        ASSERT_TRUE(session_.init(dev_));
    }

    uint64_t lookup_file() {
        auto e = session_.lookup(ukfuse::kRootId, "file.txt", 8);
        EXPECT_TRUE(e) << e.error();
        return e ? e->nodeid : 0;
    }

    std::string dir_, share_, sock_;
    test::DaemonProcess daemon_;
    std::unique_ptr<hosted::HostedTransport> transport_;
    virtio_fs::FsDevice dev_;
    ukfuse::Session session_;
};

// Each corruption of a well-formed reply is EPROTO for that request alone.
TEST_F(MalformedReply, CorruptHeaderIsAnErrorAndTheSessionGoesOn) {
    const uint64_t node = lookup_file();
    ASSERT_NE(node, 0u);
    for (Tamper kind :
         {Tamper::kHeaderLen, Tamper::kPositiveError, Tamper::kWrongUnique, Tamper::kShortBody}) {
        transport_->tamper_next_reply(kind, FUSE_GETATTR);
        auto a = session_.getattr(node, nullptr, true);
        ASSERT_FALSE(a) << "tamper kind " << static_cast<int>(kind);
        EXPECT_EQ(a.error(), EPROTO) << "tamper kind " << static_cast<int>(kind);
        EXPECT_FALSE(transport_->tamper_pending());
        // The next, untouched reply is fine.
        auto b = session_.getattr(node, nullptr, true);
        ASSERT_TRUE(b) << b.error();
        EXPECT_EQ(b->size, 12u);
    }
    session_.put(node);
}

TEST_F(MalformedReply, CorruptLookupReplyCountsNothing) {
    transport_->tamper_next_reply(Tamper::kShortBody, FUSE_LOOKUP);
    auto e = session_.lookup(ukfuse::kRootId, "file.txt", 8);
    ASSERT_FALSE(e);
    EXPECT_EQ(e.error(), EPROTO);
    EXPECT_EQ(session_.held_lookups(), 0u);
    const uint64_t node = lookup_file();
    EXPECT_NE(node, 0u);
    session_.put(node);
}

// A used entry claiming more bytes than the chain had breaks the queue: every request
// then fails with EIO, and nothing reads past the buffers.
TEST_F(MalformedReply, ImpossibleUsedLengthBreaksTheDeviceWithoutCrashing) {
    const uint64_t node = lookup_file();
    ASSERT_NE(node, 0u);
    transport_->tamper_next_reply(Tamper::kUsedLenHuge, FUSE_GETATTR);
    auto a = session_.getattr(node, nullptr, true);
    ASSERT_FALSE(a);
    EXPECT_EQ(a.error(), EIO);
    EXPECT_TRUE(dev_.broken());
    EXPECT_TRUE(transport_->failed());
    auto b = session_.getattr(node, nullptr, true);
    ASSERT_FALSE(b);
    EXPECT_EQ(b.error(), EIO);
}

}  // namespace
}  // namespace vfs::guest
