// Fuzzes wire::DeviceQueue::pop, the daemon's validation of guest descriptor chains: random
// rings (size, placement, contents) in a random guest memory map of up to four regions over
// one buffer, popped until empty or broken. Every segment pop returns must lie inside a
// region (ASan sees a byte outside the buffer; the check below, one outside a region), and
// a chain's byte counts must add up.
#include <fuzzer/FuzzedDataProvider.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "vfs/wire/virtqueue_device.h"

namespace {

using vfs::wire::DeviceChain;
using vfs::wire::DeviceQueue;
using vfs::wire::Segment;

constexpr size_t kBuf = 32 << 10;
constexpr uint32_t kMaxSegs = 64;

struct Region {
    uint64_t gpa = 0;
    uint64_t len = 0;
    size_t offset = 0;  // into the buffer
};

size_t ring_offset(FuzzedDataProvider& in, size_t bytes, size_t align) {
    if (bytes > kBuf) return SIZE_MAX;
    const size_t slots = (kBuf - bytes) / align;
    return in.ConsumeIntegralInRange<size_t>(0, slots) * align;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    FuzzedDataProvider in(data, size);
    static uint8_t* buf = static_cast<uint8_t*>(std::aligned_alloc(4096, kBuf));
    memset(buf, 0, kBuf);

    const uint32_t size_log2 = in.ConsumeIntegralInRange<uint32_t>(0, 8);
    const uint32_t qsize = 1u << size_log2;
    const bool event_idx = in.ConsumeBool();
    const uint16_t base = in.ConsumeIntegral<uint16_t>();

    // Regions: windows of the buffer at guest addresses the fuzzer picks (small ones, so
    // descriptors can name them, or anywhere).
    Region regions[4];
    const uint32_t nregions = in.ConsumeIntegralInRange<uint32_t>(1, 4);
    for (uint32_t i = 0; i < nregions; ++i) {
        Region& r = regions[i];
        r.offset = in.ConsumeIntegralInRange<size_t>(0, kBuf - 1);
        r.len = in.ConsumeIntegralInRange<uint64_t>(1, kBuf - r.offset);
        r.gpa = in.ConsumeBool() ? in.ConsumeIntegralInRange<uint64_t>(0, 1 << 20)
                                 : in.ConsumeIntegral<uint64_t>();
    }
    auto translate = [&](uint64_t addr, uint64_t len) -> uint8_t* {
        for (uint32_t i = 0; i < nregions; ++i) {
            const Region& r = regions[i];
            if (addr >= r.gpa && addr - r.gpa <= r.len && len <= r.len - (addr - r.gpa))
                return buf + r.offset + (addr - r.gpa);
        }
        return nullptr;
    };

    const size_t desc_off = ring_offset(in, size_t{16} * qsize, 16);
    const size_t avail_off = ring_offset(in, 6 + size_t{2} * qsize, 2);
    const size_t used_off = ring_offset(in, 6 + size_t{8} * qsize, 4);
    if (desc_off == SIZE_MAX || avail_off == SIZE_MAX || used_off == SIZE_MAX) return 0;

    // The rest of the input is guest memory: the rings and what they point at.
    const std::vector<uint8_t> mem = in.ConsumeRemainingBytes<uint8_t>();
    if (!mem.empty()) memcpy(buf, mem.data(), mem.size() < kBuf ? mem.size() : kBuf);

    DeviceQueue q;
    DeviceQueue::Rings rings{reinterpret_cast<vring_desc*>(buf + desc_off),
                             reinterpret_cast<vring_avail*>(buf + avail_off),
                             reinterpret_cast<vring_used*>(buf + used_off)};
    if (!q.init(qsize, rings, event_idx, base)) return 0;
    Segment segs[kMaxSegs];
    for (uint32_t n = 0; n < 2 * qsize + 2; ++n) {
        q.disable_notifications();
        DeviceChain c;
        auto popped = q.pop(translate, segs, kMaxSegs, &c);
        if (!popped || !*popped) break;
        if (c.n_readable + c.n_writable > kMaxSegs) abort();
        uint64_t readable = 0, writable = 0;
        for (uint32_t i = 0; i < c.n_readable + c.n_writable; ++i) {
            const Segment& s = c.segs[i];
            bool inside = false;
            for (uint32_t r = 0; r < nregions; ++r) {
                const uint8_t* lo = buf + regions[r].offset;
                if (s.data >= lo && s.data + s.len <= lo + regions[r].len) inside = true;
            }
            if (!inside && s.len != 0) abort();
            (i < c.n_readable ? readable : writable) += s.len;
            if (s.len) {
                volatile uint8_t first = s.data[0], last = s.data[s.len - 1];
                (void)first;
                (void)last;
            }
        }
        if (readable != c.readable_bytes || writable != c.writable_bytes) abort();
        q.push(c.head, static_cast<uint32_t>(writable));
        (void)q.flush();
        (void)q.enable_notifications();
    }
    return 0;
}
