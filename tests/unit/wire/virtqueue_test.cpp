// The driver side against the device side in one process, over a fake guest memory,
// plus hostile rings that the device side must refuse without reading out of bounds.
#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <vector>

#include "vfs/wire/checked.h"
#include "vfs/wire/virtqueue_device.h"
#include "vfs/wire/virtqueue_driver.h"

using namespace vfs::wire;

namespace {

constexpr uint64_t kGuestBase = 0x100000;

// Guest memory with guest-physical addresses starting at kGuestBase; the ring parts sit
// at its start, data buffers after them.
struct Harness {
    explicit Harness(uint32_t qsize, bool event_idx = true, size_t mem_bytes = 1 << 20)
        : size(qsize), mem(mem_bytes), slots(qsize) {
        layout = split_ring_layout(qsize);
        data_off = layout.total_bytes;
        DriverQueue::Rings dr{ptr<vring_desc>(layout.desc_offset),
                              ptr<vring_avail>(layout.avail_offset),
                              ptr<vring_used>(layout.used_offset)};
        EXPECT_TRUE(drv.init(qsize, dr, slots.data(), event_idx).ok());
        DeviceQueue::Rings dv{dr.desc, dr.avail, dr.used};
        EXPECT_TRUE(dev.init(qsize, dv, event_idx, 0).ok());
    }
    template <class T>
    T* ptr(uint64_t off) {
        return reinterpret_cast<T*>(mem.data() + off);
    }
    uint64_t gpa(uint64_t off) const { return kGuestBase + off; }
    vring_desc* desc() { return ptr<vring_desc>(layout.desc_offset); }
    vring_avail* avail() { return ptr<vring_avail>(layout.avail_offset); }
    vring_used* used() { return ptr<vring_used>(layout.used_offset); }

    // Refuses anything not wholly inside guest memory.
    uint8_t* translate(uint64_t addr, uint64_t len) {
        if (!range_within(addr, len, kGuestBase, mem.size())) return nullptr;
        return mem.data() + (addr - kGuestBase);
    }
    Result<bool> pop(DeviceChain* c) {
        return dev.pop([this](uint64_t a, uint64_t l) { return translate(a, l); }, segs, kMaxSegs,
                       c);
    }
    // Publishes a hand-made chain whose head is `head`.
    void publish_head(uint16_t head) {
        uint16_t idx = avail()->idx;
        avail()->ring[idx & (size - 1)] = head;
        store_release(&avail()->idx, static_cast<uint16_t>(idx + 1));
    }

    static constexpr uint32_t kMaxSegs = 64;
    uint32_t size;
    std::vector<uint8_t> mem;
    std::vector<DriverSlot> slots;
    SplitRingLayout layout;
    uint64_t data_off;
    DriverQueue drv;
    DeviceQueue dev;
    Segment segs[kMaxSegs];
};

}  // namespace

TEST(VirtqueueLayout, SizesAndAlignment) {
    EXPECT_TRUE(valid_queue_size(1));
    EXPECT_TRUE(valid_queue_size(256));
    EXPECT_TRUE(valid_queue_size(32768));
    EXPECT_FALSE(valid_queue_size(0));
    EXPECT_FALSE(valid_queue_size(65536));
    EXPECT_FALSE(valid_queue_size(100));
    EXPECT_EQ(desc_table_bytes(256), 4096u);
    EXPECT_EQ(avail_ring_bytes(256), 518u);
    EXPECT_EQ(used_ring_bytes(256), 2054u);
    auto l = split_ring_layout(256);
    EXPECT_EQ(l.avail_offset % 4096, 0u);
    EXPECT_EQ(l.used_offset % 4096, 0u);
    EXPECT_GE(l.used_offset, l.avail_offset + avail_ring_bytes(256));
}

TEST(Virtqueue, RequestRoundTripCarriesBytesBothWays) {
    Harness h(16);
    const uint64_t req = h.data_off, resp = h.data_off + 4096;
    memcpy(h.mem.data() + req, "hello", 5);
    DriverBuffer out[] = {{h.gpa(req), 5}};
    DriverBuffer in[] = {{h.gpa(resp), 100}, {h.gpa(resp + 100), 28}};
    auto head = h.drv.add(out, 1, in, 2, 42);
    ASSERT_TRUE(head.ok());
    EXPECT_EQ(h.drv.num_free(), 13u);
    h.drv.publish();
    EXPECT_TRUE(h.drv.kick_needed());  // the device has not set an event yet: avail_event 0

    DeviceChain c;
    auto popped = h.pop(&c);
    ASSERT_TRUE(popped.ok());
    ASSERT_TRUE(*popped);
    EXPECT_EQ(c.n_readable, 1u);
    EXPECT_EQ(c.n_writable, 2u);
    EXPECT_EQ(c.readable_bytes, 5u);
    EXPECT_EQ(c.writable_bytes, 128u);
    EXPECT_EQ(0, memcmp(c.readable()[0].data, "hello", 5));
    SgWriter w(c.writable(), c.n_writable);
    std::vector<uint8_t> reply(110, 0xab);
    ASSERT_TRUE(w.write(reply.data(), reply.size()).ok());
    h.dev.push(c.head, static_cast<uint32_t>(w.written()));
    EXPECT_TRUE(h.dev.flush());

    auto done = h.drv.reclaim();
    ASSERT_TRUE(done.ok());
    EXPECT_EQ(done->token, 42u);
    EXPECT_EQ(done->len, 110u);
    EXPECT_EQ(h.mem[resp + 109], 0xab);
    EXPECT_EQ(h.drv.num_free(), 16u);
    EXPECT_EQ(h.drv.reclaim().error(), EAGAIN);
    auto empty = h.pop(&c);
    ASSERT_TRUE(empty.ok());
    EXPECT_FALSE(*empty);
}

// Runs the free-running 16-bit indices past 65536 several times, with batches that
// straddle the wrap, checking every token comes back once and in order.
TEST(Virtqueue, IndicesWrapAt65536) {
    Harness h(8);
    uint64_t next_token = 1, expect_token = 1;
    const uint64_t buf = h.data_off;
    for (int round = 0; round < 3 * 65536 / 2 + 7; ++round) {
        const int batch = 1 + round % 4;  // up to 8 descriptors: the whole queue
        for (int i = 0; i < batch; ++i) {
            DriverBuffer out{h.gpa(buf), 8}, in{h.gpa(buf + 64), 8};
            ASSERT_TRUE(h.drv.add(&out, 1, &in, 1, next_token++).ok());
        }
        h.drv.publish();
        (void)h.drv.kick_needed();
        DeviceChain c;
        for (int i = 0; i < batch; ++i) {
            auto r = h.pop(&c);
            ASSERT_TRUE(r.ok() && *r) << "round " << round;
            h.dev.push(c.head, 4);
        }
        (void)h.dev.flush();
        ASSERT_FALSE(h.dev.enable_notifications());
        for (int i = 0; i < batch; ++i) {
            auto r = h.drv.reclaim();
            ASSERT_TRUE(r.ok());
            ASSERT_EQ(r->token, expect_token++);
        }
        ASSERT_EQ(h.drv.num_free(), 8u);
    }
    EXPECT_GT(next_token, 3u * 65536);
}

TEST(Virtqueue, EventIdxSuppressesKicksAndInterrupts) {
    Harness h(8, /*event_idx=*/true);
    const uint64_t buf = h.data_off;
    DriverBuffer out{h.gpa(buf), 8};
    ASSERT_TRUE(h.drv.add(&out, 1, nullptr, 0, 1).ok());
    h.drv.publish();
    EXPECT_TRUE(h.drv.kick_needed());
    // The device is busy (has not re-armed avail_event): further publishes need no kick.
    ASSERT_TRUE(h.drv.add(&out, 1, nullptr, 0, 2).ok());
    h.drv.publish();
    EXPECT_FALSE(h.drv.kick_needed());
    DeviceChain c;
    ASSERT_TRUE(*h.pop(&c));
    ASSERT_TRUE(*h.pop(&c));
    EXPECT_FALSE(h.dev.enable_notifications());  // armed at avail idx 2
    ASSERT_TRUE(h.drv.add(&out, 1, nullptr, 0, 3).ok());
    h.drv.publish();
    EXPECT_TRUE(h.drv.kick_needed());

    // Interrupts: the driver asks for one after its next reclaim position.
    EXPECT_FALSE(h.drv.enable_interrupts());
    h.dev.push(0, 0);
    EXPECT_TRUE(h.dev.flush());
    h.dev.push(1, 0);
    EXPECT_FALSE(h.dev.flush());  // driver has not consumed the first one yet
}

// A polling driver that turned interrupts off gets none, one completion at a time, with
// the indices wrapping (used_event must never come round into the device's window); and
// gets one again for the first completion after turning them back on.
static void expect_no_signal_while_polling(bool event_idx) {
    Harness h(8, event_idx);
    h.drv.disable_interrupts();
    DriverBuffer out{h.gpa(h.data_off), 8};
    uint32_t signals = 0;
    const uint32_t rounds = event_idx ? 3 * 65536 : 1000;
    for (uint32_t i = 0; i < rounds; ++i) {
        ASSERT_TRUE(h.drv.add(&out, 1, nullptr, 0, i + 1).ok());
        h.drv.publish();
        DeviceChain c;
        ASSERT_TRUE(*h.pop(&c));
        h.dev.push(c.head, 0);
        signals += h.dev.flush();
        ASSERT_TRUE(h.drv.reclaim().ok());
    }
    EXPECT_EQ(signals, 0u) << "of " << rounds << " completions";
    EXPECT_FALSE(h.drv.enable_interrupts());
    for (uint16_t token = 1; token <= 2; ++token) {
        ASSERT_TRUE(h.drv.add(&out, 1, nullptr, 0, token).ok());
        h.drv.publish();
        DeviceChain c;
        ASSERT_TRUE(*h.pop(&c));
        h.dev.push(c.head, 0);
        EXPECT_TRUE(h.dev.flush()) << token;
        ASSERT_TRUE(h.drv.reclaim().ok());
    }
}

TEST(Virtqueue, PollingDriverGetsNoInterruptsUnderEventIdx) {
    expect_no_signal_while_polling(true);
}

TEST(Virtqueue, PollingDriverGetsNoInterruptsWithFlags) {
    expect_no_signal_while_polling(false);
}

TEST(Virtqueue, NoEventIdxUsesFlags) {
    Harness h(8, /*event_idx=*/false);
    DriverBuffer out{h.gpa(h.data_off), 8};
    ASSERT_TRUE(h.drv.add(&out, 1, nullptr, 0, 1).ok());
    h.drv.publish();
    EXPECT_TRUE(h.drv.kick_needed());
    h.dev.disable_notifications();
    ASSERT_TRUE(h.drv.add(&out, 1, nullptr, 0, 2).ok());
    h.drv.publish();
    EXPECT_FALSE(h.drv.kick_needed());
    h.drv.disable_interrupts();
    DeviceChain c;
    ASSERT_TRUE(*h.pop(&c));
    h.dev.push(c.head, 0);
    EXPECT_FALSE(h.dev.flush());
}

TEST(Virtqueue, IndirectTable) {
    Harness h(8);
    const uint64_t table = h.data_off, buf = h.data_off + 4096;
    auto* t = h.ptr<vring_desc>(table);
    t[0] = {h.gpa(buf), 16, VRING_DESC_F_NEXT, 1};
    t[1] = {h.gpa(buf + 16), 32, VRING_DESC_F_WRITE, 0};
    h.desc()[3] = {h.gpa(table), 2 * 16, VRING_DESC_F_INDIRECT, 0};
    h.publish_head(3);
    DeviceChain c;
    auto r = h.pop(&c);
    ASSERT_TRUE(r.ok() && *r);
    EXPECT_EQ(c.head, 3);
    EXPECT_EQ(c.readable_bytes, 16u);
    EXPECT_EQ(c.writable_bytes, 32u);
}

TEST(Virtqueue, DirectDescriptorsThenIndirect) {
    Harness h(8);
    const uint64_t table = h.data_off, buf = h.data_off + 4096;
    h.ptr<vring_desc>(table)[0] = {h.gpa(buf + 8), 8, VRING_DESC_F_WRITE, 0};
    h.desc()[0] = {h.gpa(buf), 8, VRING_DESC_F_NEXT, 5};
    h.desc()[5] = {h.gpa(table), 16, VRING_DESC_F_INDIRECT, 0};
    h.publish_head(0);
    DeviceChain c;
    auto r = h.pop(&c);
    ASSERT_TRUE(r.ok() && *r);
    EXPECT_EQ(c.n_readable, 1u);
    EXPECT_EQ(c.n_writable, 1u);
}

// --- hostile rings -------------------------------------------------------------

namespace {
int pop_error(Harness& h) {
    DeviceChain c;
    auto r = h.pop(&c);
    return r.ok() ? 0 : r.error();
}
}  // namespace

TEST(VirtqueueHostile, HeadOutOfRange) {
    Harness h(8);
    h.publish_head(8);
    EXPECT_EQ(pop_error(h), EPROTO);
    EXPECT_EQ(h.dev.last_avail_idx(), 0);  // nothing consumed
}

TEST(VirtqueueHostile, NextOutOfRange) {
    Harness h(8);
    h.desc()[0] = {h.gpa(h.data_off), 8, VRING_DESC_F_NEXT, 9};
    h.publish_head(0);
    EXPECT_EQ(pop_error(h), EPROTO);
}

TEST(VirtqueueHostile, LoopIsDetected) {
    Harness h(8);
    h.desc()[0] = {h.gpa(h.data_off), 8, VRING_DESC_F_NEXT, 1};
    h.desc()[1] = {h.gpa(h.data_off), 8, VRING_DESC_F_NEXT, 0};
    h.publish_head(0);
    EXPECT_EQ(pop_error(h), ELOOP);
}

TEST(VirtqueueHostile, SelfLoopOfEmptyDescriptors) {
    Harness h(8);
    h.desc()[2] = {0, 0, VRING_DESC_F_NEXT, 2};
    h.publish_head(2);
    EXPECT_EQ(pop_error(h), ELOOP);
}

TEST(VirtqueueHostile, LoopInsideIndirectTable) {
    Harness h(8);
    auto* t = h.ptr<vring_desc>(h.data_off);
    t[0] = {h.gpa(h.data_off + 4096), 8, VRING_DESC_F_NEXT, 1};
    t[1] = {h.gpa(h.data_off + 4096), 8, VRING_DESC_F_NEXT, 0};
    h.desc()[0] = {h.gpa(h.data_off), 32, VRING_DESC_F_INDIRECT, 0};
    h.publish_head(0);
    EXPECT_EQ(pop_error(h), ELOOP);
}

TEST(VirtqueueHostile, NestedIndirect) {
    Harness h(8);
    auto* t = h.ptr<vring_desc>(h.data_off);
    t[0] = {h.gpa(h.data_off), 16, VRING_DESC_F_INDIRECT, 0};
    h.desc()[0] = {h.gpa(h.data_off), 16, VRING_DESC_F_INDIRECT, 0};
    h.publish_head(0);
    EXPECT_EQ(pop_error(h), EPROTO);
}

TEST(VirtqueueHostile, IndirectWithNext) {
    Harness h(8);
    h.ptr<vring_desc>(h.data_off)[0] = {h.gpa(h.data_off + 4096), 8, 0, 0};
    h.desc()[0] = {h.gpa(h.data_off), 16, VRING_DESC_F_INDIRECT | VRING_DESC_F_NEXT, 1};
    h.publish_head(0);
    EXPECT_EQ(pop_error(h), EPROTO);
}

TEST(VirtqueueHostile, IndirectBadSizes) {
    // Past kMaxQueueSize entries, or not a whole number of descriptors.
    for (uint32_t len : {0u, 15u, 17u, 16u * (kMaxQueueSize + 1), 0xfffffff0u}) {
        Harness h(8);
        h.desc()[0] = {h.gpa(h.data_off), len, VRING_DESC_F_INDIRECT, 0};
        h.publish_head(0);
        EXPECT_EQ(pop_error(h), EPROTO) << len;
    }
}

// virtio-win and older Linux drivers build indirect tables longer than a small queue
// (queue-size=128 with ~259 entries for 1 MiB of I/O): the queue size does not bound them.
TEST(Virtqueue, IndirectTableLongerThanQueue) {
    // Nine and kMaxQueueSize zeroed entries on a size-8 queue: the first is an empty
    // descriptor without NEXT, a legal empty chain.
    for (uint32_t n : {9u, kMaxQueueSize}) {
        Harness h(8);
        h.desc()[0] = {h.gpa(h.data_off), 16u * n, VRING_DESC_F_INDIRECT, 0};
        h.publish_head(0);
        DeviceChain c;
        auto r = h.pop(&c);
        ASSERT_TRUE(r.ok()) << n << ": " << r.error();
        EXPECT_TRUE(*r);
    }
    // 40 chained buffers (1 readable, 39 writable) through a size-8 queue.
    Harness h(8);
    constexpr uint16_t kN = 40;
    auto* t = h.ptr<vring_desc>(h.data_off);
    const uint64_t buf = h.data_off + 4096;
    for (uint16_t i = 0; i < kN; ++i) {
        const uint16_t flags =
            (i + 1 < kN ? VRING_DESC_F_NEXT : 0) | (i > 0 ? VRING_DESC_F_WRITE : 0);
        t[i] = {h.gpa(buf + 64u * i), 64, flags, static_cast<uint16_t>(i + 1)};
    }
    h.desc()[2] = {h.gpa(h.data_off), 16u * kN, VRING_DESC_F_INDIRECT, 0};
    h.publish_head(2);
    DeviceChain c;
    auto r = h.pop(&c);
    ASSERT_TRUE(r.ok()) << r.error();
    ASSERT_TRUE(*r);
    EXPECT_EQ(c.n_readable, 1u);
    EXPECT_EQ(c.n_writable, kN - 1u);
    EXPECT_EQ(c.writable_bytes, 64u * (kN - 1));
}

// The caller's segment room still caps a long indirect table.
TEST(VirtqueueHostile, IndirectTableMoreSegmentsThanCallerRoom) {
    Harness h(8);
    constexpr uint16_t kN = Harness::kMaxSegs + 1;
    auto* t = h.ptr<vring_desc>(h.data_off);
    for (uint16_t i = 0; i < kN; ++i)
        t[i] = {h.gpa(h.data_off + 4096), 1,
                static_cast<uint16_t>(i + 1 < kN ? VRING_DESC_F_NEXT : 0),
                static_cast<uint16_t>(i + 1)};
    h.desc()[0] = {h.gpa(h.data_off), 16u * kN, VRING_DESC_F_INDIRECT, 0};
    h.publish_head(0);
    EXPECT_EQ(pop_error(h), E2BIG);
}

// Loop detection counts per table: a loop inside an indirect table longer than the queue
// still ends, with empty descriptors so no segment limit stops it first.
TEST(VirtqueueHostile, LoopInsideIndirectTableLongerThanQueue) {
    Harness h(8);
    constexpr uint16_t kN = 32;
    auto* t = h.ptr<vring_desc>(h.data_off);
    for (uint16_t i = 0; i < kN; ++i)
        t[i] = {0, 0, VRING_DESC_F_NEXT, static_cast<uint16_t>((i + 1) % kN)};
    h.desc()[1] = {h.gpa(h.data_off), 8, VRING_DESC_F_NEXT, 4};
    h.desc()[4] = {h.gpa(h.data_off), 16u * kN, VRING_DESC_F_INDIRECT, 0};
    h.publish_head(1);
    EXPECT_EQ(pop_error(h), ELOOP);
    EXPECT_EQ(h.dev.last_avail_idx(), 0);
}

TEST(VirtqueueHostile, IndirectTableOutsideMemory) {
    Harness h(8);
    h.desc()[0] = {kGuestBase + h.mem.size() - 16, 32, VRING_DESC_F_INDIRECT, 0};
    h.publish_head(0);
    EXPECT_EQ(pop_error(h), EFAULT);
}

TEST(VirtqueueHostile, BuffersOutsideMemoryOrHuge) {
    const uint64_t bad_addrs[] = {0, kGuestBase - 1, UINT64_MAX - 3, UINT64_MAX};
    for (uint64_t addr : bad_addrs) {
        Harness h(8);
        h.desc()[0] = {addr, 8, 0, 0};
        h.publish_head(0);
        EXPECT_EQ(pop_error(h), EFAULT) << addr;
    }
    Harness h(8);
    h.desc()[0] = {h.gpa(h.data_off), 0xffffffffu, 0, 0};
    h.publish_head(0);
    EXPECT_EQ(pop_error(h), EFAULT);
}

TEST(VirtqueueHostile, ReadableAfterWritable) {
    Harness h(8);
    h.desc()[0] = {h.gpa(h.data_off), 8, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 1};
    h.desc()[1] = {h.gpa(h.data_off), 8, 0, 0};
    h.publish_head(0);
    EXPECT_EQ(pop_error(h), EPROTO);
}

TEST(VirtqueueHostile, AvailIndexJumpsPastQueueSize) {
    Harness h(8);
    store_release(&h.avail()->idx, uint16_t{9});
    EXPECT_EQ(pop_error(h), EPROTO);
}

TEST(VirtqueueHostile, MoreSegmentsThanCallerRoom) {
    Harness h(128);
    for (uint16_t i = 0; i < 100; ++i)
        h.desc()[i] = {h.gpa(h.data_off), 1, VRING_DESC_F_NEXT, static_cast<uint16_t>(i + 1)};
    h.desc()[100] = {h.gpa(h.data_off), 1, 0, 0};
    h.publish_head(0);
    EXPECT_EQ(pop_error(h), E2BIG);
}

TEST(VirtqueueHostile, DeviceReturnsUnknownHeadOrTooManyBytes) {
    Harness h(8);
    DriverBuffer in{h.gpa(h.data_off), 16};
    ASSERT_TRUE(h.drv.add(nullptr, 0, &in, 1, 7).ok());
    h.drv.publish();
    h.dev.push(5, 0);  // never given out
    h.dev.flush();
    EXPECT_EQ(h.drv.reclaim().error(), EPROTO);

    Harness g(8);
    ASSERT_TRUE(g.drv.add(nullptr, 0, &in, 1, 7).ok());
    g.drv.publish();
    g.dev.push(0, 17);  // chain holds only 16 writable bytes
    g.dev.flush();
    EXPECT_EQ(g.drv.reclaim().error(), EPROTO);
}

TEST(VirtqueueHostile, DriverRefusesBadAdds) {
    Harness h(4);
    DriverBuffer b{h.gpa(h.data_off), 8};
    DriverBuffer five[5] = {b, b, b, b, b};
    EXPECT_EQ(h.drv.add(five, 5, nullptr, 0, 1).error(), ENOSPC);
    EXPECT_EQ(h.drv.add(&b, 1, nullptr, 0, 0).error(), EINVAL);  // token 0
    EXPECT_EQ(h.drv.add(nullptr, 0, nullptr, 0, 1).error(), EINVAL);
    EXPECT_EQ(h.drv.num_free(), 4u);
}

// Random descriptor tables and avail rings: every pop either yields a chain whose
// segments lie inside guest memory, or an error. ASan checks nothing is read outside.
TEST(VirtqueueHostile, RandomRingsNeverEscapeMemory) {
    std::mt19937_64 rng(12345);
    for (int iter = 0; iter < 3000; ++iter) {
        Harness h(16, iter % 2 == 0, 64 * 1024);
        auto rand_addr = [&]() -> uint64_t {
            switch (rng() % 4) {
                case 0:
                    return rng();
                case 1:
                    return kGuestBase + rng() % (h.mem.size() + 64);
                case 2:
                    return h.gpa(h.data_off + rng() % 4096);
                default:
                    return kGuestBase - rng() % 64;
            }
        };
        for (uint32_t i = 0; i < 16; ++i) {
            const uint16_t flags = static_cast<uint16_t>(rng() % 8);
            uint32_t len = rng() % 3 == 0 ? static_cast<uint32_t>(rng()) : rng() % 512;
            if (flags & VRING_DESC_F_INDIRECT && rng() % 2) len = 16 * (1 + rng() % 4);
            h.desc()[i] = {rand_addr(), len, flags, static_cast<uint16_t>(rng() % 20)};
        }
        // Some indirect tables in the data area, randomly filled.
        for (uint64_t off = h.data_off; off < h.data_off + 4096; off += 8) {
            uint64_t v = rng();
            memcpy(h.mem.data() + off, &v, 8);
        }
        const uint16_t n = static_cast<uint16_t>(rng() % 20);
        for (uint16_t i = 0; i < n; ++i)
            h.avail()->ring[i % 16] = static_cast<uint16_t>(rng() % 18);
        store_release(&h.avail()->idx, n);
        for (int k = 0; k < 20; ++k) {
            DeviceChain c;
            auto r = h.pop(&c);
            if (!r.ok() || !*r) break;
            for (uint32_t s = 0; s < c.n_readable + c.n_writable; ++s) {
                const uint8_t* p = c.segs[s].data;
                ASSERT_GE(p, h.mem.data());
                ASSERT_LE(p + c.segs[s].len, h.mem.data() + h.mem.size());
                volatile uint8_t touch = p[c.segs[s].len - 1];  // ASan would trip here
                (void)touch;
            }
        }
    }
}
