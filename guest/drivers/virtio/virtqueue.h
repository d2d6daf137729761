// A driver-side split virtqueue bound to a transport: allocates ring memory, programs
// the queue through the Transport, and submits/reclaims chains with the ring code from
// common/ (vfs::wire::DriverQueue). EVENT_IDX is used when the
// caller negotiated VIRTIO_RING_F_EVENT_IDX.
#pragma once

#include <stdint.h>

#include "drivers/virtio/transport.h"
#include "vfs/wire/result.h"
#include "vfs/wire/virtqueue_driver.h"

namespace vfs::guest::virtio {

class Virtqueue {
  public:
    Virtqueue() = default;
    Virtqueue(const Virtqueue&) = delete;
    Virtqueue& operator=(const Virtqueue&) = delete;
    ~Virtqueue();

    // Sizes (min(device max, requested)), allocates and enables queue `index`.
    wire::Status init(Transport& t, DmaMemory& dma, uint16_t index, uint16_t requested,
                      bool event_idx);

    // Adds a chain (device-readable `out`, then device-writable `in`), publishes it and
    // notifies the device if it asked to be. Returns the head descriptor.
    wire::Result<uint16_t> submit(const wire::DriverBuffer* out, uint32_t n_out,
                                  const wire::DriverBuffer* in, uint32_t n_in, uint64_t token);

    // One finished chain, or EAGAIN if none yet; EPROTO if the device misbehaved.
    wire::Result<wire::DriverCompletion> poll() { return queue_.reclaim(); }

    uint16_t index() const { return index_; }
    uint16_t size() const { return static_cast<uint16_t>(queue_.size()); }
    uint32_t num_free() const { return queue_.num_free(); }
    // Chains the device holds and has not returned yet.
    bool busy() const { return queue_.num_free() != queue_.size(); }
    // Notifies the device whether or not it asked to be (a spurious kick is harmless).
    void notify() {
        if (transport_) transport_->notify(index_);
    }
    const QueueAddresses& addresses() const { return addrs_; }
    // A polling driver wants no interrupts: see wire::DriverQueue::disable_interrupts.
    void disable_interrupts() { queue_.disable_interrupts(); }
    // Before sleeping for an interrupt: asks for one at the next used entry (fenced);
    // true if entries arrived meanwhile (poll again instead of sleeping).
    bool enable_interrupts() { return queue_.enable_interrupts(); }

  private:
    Transport* transport_ = nullptr;
    DmaMemory* dma_ = nullptr;
    uint16_t index_ = 0;
    void* ring_memory_ = nullptr;
    wire::DriverSlot* slots_ = nullptr;  // guest heap, never DmaMemory
    QueueAddresses addrs_;
    wire::DriverQueue queue_;
};

}  // namespace vfs::guest::virtio
