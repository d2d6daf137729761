// The guest's virtio_fs driver and ukfuse against an in-process device that answers each
// request as the test says (fake_fs.h): an unusual or hostile device gives errors, never
// hangs or wrong results.
#include <gtest/gtest.h>
#include <linux/fuse.h>

#include <cstdint>
#include <cstring>
#include <map>

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
    void start(uint32_t slots, uint16_t max_queue = 128, bool event_idx = true,
               bool interrupts = false, bool offer_interrupts = false) {
        transport_ = std::make_unique<testing::FakeFsTransport>(
            [this](const FakeRequest& rq) { return fs_(rq); }, max_queue);
        transport_->offer_interrupts = offer_interrupts;
        transport_->deferred = offer_interrupts;
        virtio_fs::DeviceOptions d;
        d.slots = slots;
        d.event_idx = event_idx;
        d.interrupts = interrupts;
        d.timeout_ns = 300'000'000ull;  // a stall shows up as ETIMEDOUT, quickly
        ASSERT_TRUE(dev_.probe(*transport_, dma_, d));
        ASSERT_EQ((dev_.features() >> VIRTIO_RING_F_EVENT_IDX) & 1, event_idx ? 1u : 0u);
        dma_after_probe_ = dma_.live();
        ASSERT_TRUE(session_.init(dev_));
    }

    // Requests on a polling driver: the device must never have been asked to interrupt.
    void expect_no_interrupts() {
        for (int i = 0; i < 100; ++i) {
            auto a = session_.getattr(kFileNode, nullptr, true);
            ASSERT_TRUE(a) << a.error();
        }
        EXPECT_GE(transport_->seen().size(), 101u);
        EXPECT_EQ(transport_->signals(1), 0u) << "interrupts for ~100 request completions";
        EXPECT_EQ(transport_->signals(0), 0u);
        EXPECT_EQ(transport_->ring_error(1), 0);
    }

    // completion=irq: every wait sleeps, and every sleep is ended by the device's signal,
    // so the driver re-armed used_event (EVENT_IDX) or kept NO_INTERRUPT clear before it.
    void expect_woken_by_every_completion() {
        ASSERT_TRUE(dev_.interrupt_driven());
        const int before = transport_->sleeps;
        for (int i = 0; i < 100; ++i) {
            auto a = session_.getattr(kFileNode, nullptr, true);
            ASSERT_TRUE(a) << a.error();
        }
        EXPECT_GE(transport_->sleeps - before, 100);
        EXPECT_EQ(transport_->unsignalled_sleeps, 0) << "slept with the device's interrupt off";
        EXPECT_GE(transport_->signals(1), 100u);
        EXPECT_EQ(dev_.sleeps(), static_cast<uint64_t>(transport_->sleeps));
    }

    FakeFs fs_;
    testing::HostDma dma_;
    std::unique_ptr<testing::FakeFsTransport> transport_;
    virtio_fs::FsDevice dev_;
    ukfuse::Session session_;
    std::map<void*, size_t> dma_after_probe_;
};

// The driver polls for completions: under EVENT_IDX (used_event) and without it
// (NO_INTERRUPT), the device never has a reason to interrupt.
TEST_F(FakeSession, PollingDriverAsksForNoInterruptsUnderEventIdx) {
    start(/*slots=*/4);
    expect_no_interrupts();
}

TEST_F(FakeSession, PollingDriverAsksForNoInterruptsWithFlags) {
    start(/*slots=*/4, 128, /*event_idx=*/false);
    expect_no_interrupts();
}

TEST_F(FakeSession, InterruptDrivenDriverIsWokenByEveryCompletionUnderEventIdx) {
    start(/*slots=*/4, 128, /*event_idx=*/true, /*interrupts=*/true, /*offer=*/true);
    expect_woken_by_every_completion();
}

TEST_F(FakeSession, InterruptDrivenDriverIsWokenByEveryCompletionWithFlags) {
    start(/*slots=*/4, 128, /*event_idx=*/false, /*interrupts=*/true, /*offer=*/true);
    expect_woken_by_every_completion();
}

// A transport that cannot interrupt: the driver polls, and asks for no interrupts.
TEST_F(FakeSession, InterruptsAskedOfATransportWithoutThemMeansPolling) {
    start(/*slots=*/4, 128, /*event_idx=*/true, /*interrupts=*/true, /*offer=*/false);
    EXPECT_FALSE(dev_.interrupt_driven());
    expect_no_interrupts();
    EXPECT_EQ(transport_->sleeps, 0);
}

// Device-visible memory holds rings and request buffers only: the driver's free list and
// chain bookkeeping (wire::DriverSlot) would be the device's to rewrite there.
TEST_F(FakeSession, DriverBookkeepingIsNotInDeviceMemory) {
    start(/*slots=*/4);
    const uint64_t ring = wire::split_ring_layout(128, 4096).total_bytes;
    uint32_t rings = 0, buffers = 0;
    for (auto& [p, size] : dma_after_probe_) {
        if (size == ring) {
            ++rings;
        } else if (size == virtio_fs::kRequestCap || size == virtio_fs::kReplyHeadCap) {
            ++buffers;
        } else {
            ADD_FAILURE() << "a device-visible allocation of " << size << " bytes";
        }
    }
    EXPECT_EQ(rings, 2u);  // hiprio and one request queue
    EXPECT_EQ(buffers, 2u * 4u);
}

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
