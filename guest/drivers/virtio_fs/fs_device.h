// The virtio-fs device driver (virtio 1.2, 5.11) over any virtio Transport: probe (tag,
// num_request_queues, queue 0 hiprio, queues 1..n requests), then asynchronous FUSE
// request submission with preallocated slots; completion polled, or (interrupts on)
// found after sleeping until the device signals.
//
// It carries FUSE requests; it does not build or understand them (lib/ukfuse does).
// Buffers are handed to the device in place, each segment its own descriptor, so READ
// and WRITE data are never copied. The device is hostile: a used entry it was never given
// breaks the device (every caller gets EIO), it never corrupts driver state. Never
// allocates after probe().
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "drivers/virtio/transport.h"
#include "drivers/virtio/virtqueue.h"
#include "drivers/virtio_fs/request_slot.h"
#include "vfs/wire/fuse_client.h"
#include "vfs/wire/result.h"
#include "vfs/wire/sg.h"

namespace vfs::guest::virtio_fs {

inline constexpr uint32_t kTagSize = 36;  // virtio_fs_config.tag, not NUL-terminated when full
inline constexpr uint32_t kRequestCap = wire::kRequestBufMax;
inline constexpr uint32_t kReplyHeadCap = wire::kReplyHeadMax;
inline constexpr uint32_t kMaxSegments = 8;  // per direction, per request
inline constexpr uint32_t kMaxRequestQueues = 16;

struct DeviceOptions {
    uint16_t queue_size = 128;
    uint32_t max_request_queues = kMaxRequestQueues;  // use at most this many
    uint32_t slots = 32;                              // requests in flight at once
    bool event_idx = true;
    uint64_t timeout_ns = 30'000'000'000ull;  // per request (TCG and a slow daemon)
    // With requests in flight and no completion for this long, kick every busy queue
    // again (0: never). A kick can be lost where the platform drops the driver's fence
    // (QEMU before 8.1 under TCG with one vCPU), and under EVENT_IDX a device that missed
    // one never asks for another.
    uint64_t rekick_after_ns = 10'000'000ull;
    // Sleep for the device's interrupt instead of spinning (completion=irq). Falls back
    // to polling when the transport cannot (no MSI-X, a refused vector): see
    // interrupt_driven(). A sleep never outlasts the re-kick period or the timeout.
    bool interrupts = false;
};

class FsDevice {
  public:
    FsDevice() = default;
    FsDevice(const FsDevice&) = delete;
    FsDevice& operator=(const FsDevice&) = delete;
    ~FsDevice();

    // Negotiates features, reads the configuration, sets up every queue and reaches
    // DRIVER_OK. On failure the device is marked FAILED and the error returned.
    wire::Status probe(virtio::Transport& t, virtio::DmaMemory& dma, const DeviceOptions& opts);

    const char* tag() const { return tag_; }  // NUL-terminated copy
    uint32_t num_request_queues() const { return num_request_; }
    uint32_t device_request_queues() const { return device_request_; }  // as configured
    uint64_t features() const { return features_; }
    virtio::DmaMemory& dma() { return *dma_; }
    virtio::Transport& transport() { return *transport_; }
    uint64_t timeout_ns() const { return opts_.timeout_ns; }
    bool broken() const { return broken_; }
    uint64_t rekicks() const { return rekicks_; }  // times a silent device was kicked again
    bool interrupt_driven() const { return irq_; }
    uint64_t sleeps() const { return sleeps_; }  // waits for an interrupt

    // A free slot, or EAGAIN when every slot is busy (poll() and retry).
    wire::Result<RequestSlot*> acquire();
    // Returns a held or done slot to the pool (a lost one stays out of it).
    void release(RequestSlot* s);

    // Puts a request with a reply on the least-loaded request queue: out segments are
    // device-readable, in segments device-writable. EFAULT for a buffer the device cannot
    // reach, E2BIG for too many segments.
    wire::Status submit(RequestSlot* s, const wire::Segment* out, uint32_t n_out,
                        const wire::Segment* in, uint32_t n_in);
    // FORGET, BATCH_FORGET, INTERRUPT: on the hiprio queue, no reply; the slot returns
    // to the pool by itself when the device is done with it.
    wire::Status submit_hiprio(RequestSlot* s, const wire::Segment* out, uint32_t n_out);

    // Reaps every queue. Returns the completions seen; EIO once the device is broken.
    wire::Result<uint32_t> poll();
    // Polls until s is done; returns the bytes the device wrote. ETIMEDOUT leaves the slot
    // lost (the device still owns its buffers).
    wire::Result<uint32_t> wait(RequestSlot* s);

    // Requests submitted on queue q (0 = hiprio), for tests of the queue spreading.
    uint64_t submitted(uint32_t q) const { return q <= num_request_ ? submitted_[q] : 0; }
    uint32_t in_flight() const { return in_flight_; }

  private:
    wire::Status setup(const DeviceOptions& opts);
    wire::Status to_buffers(const wire::Segment* segs, uint32_t n, wire::DriverBuffer* out,
                            uint32_t* count);
    wire::Status push(RequestSlot* s, uint16_t queue, const wire::Segment* out, uint32_t n_out,
                      const wire::Segment* in, uint32_t n_in);
    uint16_t pick_request_queue(uint32_t descriptors);
    void mark_broken();
    // Nothing completed yet: spin once (polling) or sleep until the device signals.
    void idle(uint64_t deadline);

    virtio::Transport* transport_ = nullptr;
    virtio::DmaMemory* dma_ = nullptr;
    DeviceOptions opts_;
    char tag_[kTagSize + 1] = {};
    uint32_t device_request_ = 0;
    uint32_t num_request_ = 0;
    uint64_t features_ = 0;
    virtio::Virtqueue* queues_ = nullptr;  // [0] hiprio, [1..num_request_] requests
    RequestSlot* slots_ = nullptr;
    uint32_t num_slots_ = 0;
    uint32_t next_free_hint_ = 0;
    uint32_t in_flight_ = 0;
    uint64_t quiet_since_ns_ = 0;  // last completion, or first submit after none in flight
    uint64_t rekicks_ = 0;
    uint64_t sleeps_ = 0;
    bool irq_ = false;
    uint16_t rr_ = 0;
    bool broken_ = false;
    uint64_t submitted_[kMaxRequestQueues + 1] = {};
};

}  // namespace vfs::guest::virtio_fs
