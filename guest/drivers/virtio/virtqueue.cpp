// Virtqueue setup and submission (see virtqueue.h).
#include "drivers/virtio/virtqueue.h"

namespace vfs::guest::virtio {
namespace {
constexpr uint64_t kRingAlign = 4096;  // each part on its own page: simple and aligned
}  // namespace

Virtqueue::~Virtqueue() {
    if (dma_) dma_->release(ring_memory_);
    delete[] slots_;
}

wire::Status Virtqueue::init(Transport& t, DmaMemory& dma, uint16_t index, uint16_t requested,
                             bool event_idx) {
    if (ring_memory_) return wire::Error{EBUSY};
    auto n = t.queue_size(index, requested);
    if (!n) return wire::Error{n.error()};
    const wire::SplitRingLayout layout = wire::split_ring_layout(*n, kRingAlign);
    ring_memory_ = dma.allocate_zeroed(layout.total_bytes, kRingAlign);
    // The free list and chain lengths are the driver's own: in device-visible memory a
    // device (in a hosted build, another process) could rewrite them.
    slots_ = new wire::DriverSlot[*n];
    transport_ = &t;
    dma_ = &dma;
    index_ = index;
    if (!ring_memory_ || !slots_) return wire::Error{ENOMEM};

    auto* base = static_cast<uint8_t*>(ring_memory_);
    const wire::DriverQueue::Rings rings{reinterpret_cast<vring_desc*>(base + layout.desc_offset),
                                         reinterpret_cast<vring_avail*>(base + layout.avail_offset),
                                         reinterpret_cast<vring_used*>(base + layout.used_offset)};
    wire::Status s = queue_.init(*n, rings, slots_, event_idx);
    if (!s) return s;
    addrs_ = QueueAddresses{dma.device_address(rings.desc), dma.device_address(rings.avail),
                            dma.device_address(rings.used)};
    return t.enable_queue(index, *n, addrs_);
}

wire::Result<uint16_t> Virtqueue::submit(const wire::DriverBuffer* out, uint32_t n_out,
                                         const wire::DriverBuffer* in, uint32_t n_in,
                                         uint64_t token) {
    if (!transport_) return wire::Error{ENODEV};
    auto head = queue_.add(out, n_out, in, n_in, token);
    if (!head) return head;
    queue_.publish();
    if (queue_.kick_needed()) transport_->notify(index_);
    return head;
}

}  // namespace vfs::guest::virtio
