// The guest's virtio_fs driver and ukfuse against an in-process device that answers each
// request as the test says (fake_fs.h): an unusual or hostile device gives errors, never
// hangs or wrong results.
#include <gtest/gtest.h>
#include <linux/fuse.h>

#include <cstdint>
#include <cstring>

#include "drivers/virtio_fs/fs_device.h"
#include "fake_fs.h"
#include "lib/ukfuse/file_type.h"
#include "lib/ukfuse/session.h"

namespace vfs::guest {
namespace {

using testing::FakeFs;
using testing::FakeRequest;
using testing::kFileNode;

// --- driver and ukfuse ---------------------------------------------------------------

class FakeSession : public ::testing::Test {
  protected:
    void start(uint32_t slots, uint16_t max_queue = 128) {
        transport_ = std::make_unique<testing::FakeFsTransport>(
            [this](const FakeRequest& rq) { return fs_(rq); }, max_queue);
        virtio_fs::DeviceOptions d;
        d.slots = slots;
        d.event_idx = false;
        d.timeout_ns = 300'000'000ull;  // a stall shows up as ETIMEDOUT, quickly
        ASSERT_TRUE(dev_.probe(*transport_, dma_, d));
        ASSERT_TRUE(session_.init(dev_));
    }

    FakeFs fs_;
    testing::HostDma dma_;
    std::unique_ptr<testing::FakeFsTransport> transport_;
    virtio_fs::FsDevice dev_;
    ukfuse::Session session_;
};

// A read split into more chunks than the device has request slots: the chunks already
// answered hold their slots until collected, so waiting for a free one can only time out.
// The read must go on in rounds instead and return everything.
TEST_F(FakeSession, ReadWithMoreChunksThanSlotsIsNotCutShort) {
    fs_.max_pages = 1;  // one page per READ
    start(/*slots=*/2);
    ASSERT_EQ(session_.info().max_read, 4096u);
    std::vector<uint8_t> buf(8 * 4096);
    auto n = session_.read(kFileNode, 42, 0, buf.data(), buf.size());
    ASSERT_TRUE(n) << n.error();
    EXPECT_EQ(*n, buf.size());
    EXPECT_EQ(buf.back(), 0xab);
    auto w = session_.write(kFileNode, 42, 0, buf.data(), buf.size());
    ASSERT_TRUE(w) << w.error();
    EXPECT_EQ(*w, buf.size());
}

// A device whose queues are too small for a chain (READ takes three descriptors here):
// the request fails at once instead of waiting for room that can never come.
TEST_F(FakeSession, ChainLongerThanEveryQueueIsE2bigNotATimeout) {
    start(/*slots=*/4, /*max_queue=*/2);
    auto a = session_.getattr(kFileNode, nullptr, true);  // two descriptors: fits
    ASSERT_TRUE(a) << a.error();
    std::vector<uint8_t> buf(4096);
    auto n = session_.read(kFileNode, 42, 0, buf.data(), buf.size());
    ASSERT_FALSE(n);
    EXPECT_EQ(n.error(), E2BIG);
    EXPECT_FALSE(dev_.broken());
}

}  // namespace
}  // namespace vfs::guest
