// Split-virtqueue layout: sizes, alignments and the shared-memory access rules that the
// driver side (guest, test frontend) and the device side (daemon) both follow.
//
// The structs are the kernel's own (<linux/virtio_ring.h>); this file only adds the size
// rules and the ordered loads and stores on memory the other side writes concurrently.
// It never allocates: callers own the ring memory.
#pragma once

// The legacy vring_init() helper is C that C++ rejects; we compute layouts ourselves.
#ifndef VIRTIO_RING_NO_LEGACY
#define VIRTIO_RING_NO_LEGACY 1
#endif
#include <linux/virtio_ring.h>
#include <stddef.h>
#include <stdint.h>

#include "vfs/wire/checked.h"

namespace vfs::wire {

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "virtio 1.x rings are little-endian");
static_assert(sizeof(vring_desc) == 16);
static_assert(sizeof(vring_used_elem) == 8);

// Largest split queue the virtio spec allows.
inline constexpr uint32_t kMaxQueueSize = 32768;

// Alignment each part must have (virtio 1.x, 2.7).
inline constexpr uint64_t kDescAlign = 16;
inline constexpr uint64_t kAvailAlign = 2;
inline constexpr uint64_t kUsedAlign = 4;

constexpr bool valid_queue_size(uint32_t n) {
    return n <= kMaxQueueSize && is_power_of_two(n);
}

// Bytes of each part for a queue of n entries, including the event-index words, which
// the spec counts whether or not VIRTIO_RING_F_EVENT_IDX is negotiated.
constexpr uint64_t desc_table_bytes(uint32_t n) {
    return 16ull * n;
}
constexpr uint64_t avail_ring_bytes(uint32_t n) {
    return 6ull + 2ull * n;
}
constexpr uint64_t used_ring_bytes(uint32_t n) {
    return 6ull + 8ull * n;
}

// One contiguous allocation holding all three parts, each on its own page-aligned offset
// so a driver can allocate a single block and hand out the three addresses.
struct SplitRingLayout {
    uint64_t desc_offset = 0;
    uint64_t avail_offset = 0;
    uint64_t used_offset = 0;
    uint64_t total_bytes = 0;
};

constexpr SplitRingLayout split_ring_layout(uint32_t n, uint64_t part_align = 4096) {
    SplitRingLayout l;
    uint64_t off = desc_table_bytes(n);
    align_up(off, part_align, &l.avail_offset);
    off = l.avail_offset + avail_ring_bytes(n);
    align_up(off, part_align, &l.used_offset);
    off = l.used_offset + used_ring_bytes(n);
    align_up(off, part_align, &l.total_bytes);
    return l;
}

// The event words that sit just past each ring (virtio 1.x, 2.7.7 and 2.7.10).
inline uint16_t* used_event_word(vring_avail* avail, uint32_t n) {
    return reinterpret_cast<uint16_t*>(&avail->ring[n]);
}
inline uint16_t* avail_event_word(vring_used* used, uint32_t n) {
    return reinterpret_cast<uint16_t*>(&used->ring[n]);
}

// Ordered access to words the other side writes. Acquire pairs with the other side's
// release of an index; the full fence orders our index store before our read of the
// peer's event word (a store-load pair, which x86 reorders without mfence).
template <class T>
inline T load_acquire(const T* p) {
    return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}
template <class T>
inline T load_relaxed(const T* p) {
    return __atomic_load_n(p, __ATOMIC_RELAXED);
}
template <class T>
inline void store_release(T* p, T v) {
    __atomic_store_n(p, v, __ATOMIC_RELEASE);
}
template <class T>
inline void store_relaxed(T* p, T v) {
    __atomic_store_n(p, v, __ATOMIC_RELAXED);
}
inline void full_fence() {
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
}

// A descriptor copied out of shared memory once, so that it is validated and used as
// the same value (the other side may rewrite the table at any moment).
inline vring_desc read_desc(const vring_desc* table, uint32_t index) {
    vring_desc d;
    __builtin_memcpy(&d, const_cast<const vring_desc*>(&table[index]), sizeof(d));
    // Tell the compiler d may differ from the table, so it can never re-load a field
    // from shared memory after we validated it.
    __asm__ volatile("" : "+m"(d));
    return d;
}

}  // namespace vfs::wire
