// The virtio-9p device driver (virtio 1.2, 5.8) over any virtio Transport: probe (mount
// tag from the configuration, one request queue), then one request at a time, polled to
// completion. It carries 9P messages; lib/p9 builds and checks them.
//
// The device is hostile: a completion for a chain it was never given, a used length past
// the chain's writable bytes, or a request that never comes back breaks the device for
// good (EIO to every later caller); driver state is never corrupted. Never allocates
// after probe().
#pragma once

#include <stdint.h>

#include "drivers/virtio/transport.h"
#include "drivers/virtio/virtqueue.h"
#include "vfs/wire/result.h"
#include "vfs/wire/sg.h"

namespace vfs::guest::virtio_9p {

inline constexpr uint32_t kTagMax = 64;  // longer tags are refused (QEMU allows 255)
inline constexpr uint32_t kMaxSegments = 4;
inline constexpr uint64_t kMountTagFeature = 1ull << 0;  // VIRTIO_9P_MOUNT_TAG

struct P9DeviceOptions {
    uint16_t queue_size = 128;
    uint64_t timeout_ns = 30'000'000'000ull;   // per request (TCG and a slow host)
    uint64_t rekick_after_ns = 10'000'000ull;  // kick a silent device again (lost kicks)
};

class P9Device {
  public:
    P9Device() = default;
    P9Device(const P9Device&) = delete;
    P9Device& operator=(const P9Device&) = delete;
    ~P9Device();

    wire::Status probe(virtio::Transport& t, virtio::DmaMemory& dma, const P9DeviceOptions& opts);

    const char* tag() const { return tag_; }  // NUL-terminated copy
    virtio::DmaMemory& dma() { return *dma_; }
    bool broken() const { return broken_; }
    uint64_t requests() const { return requests_; }

    // Sends one request (out: device-readable, in: device-writable) and waits for it.
    // Returns the bytes the device says it wrote, never more than the in segments hold.
    wire::Result<uint32_t> transact(const wire::Segment* out, uint32_t n_out,
                                    const wire::Segment* in, uint32_t n_in);

  private:
    wire::Status setup();
    wire::Status to_buffers(const wire::Segment* segs, uint32_t n, wire::DriverBuffer* out,
                            uint32_t* count, uint64_t* total);
    void mark_broken();

    virtio::Transport* transport_ = nullptr;
    virtio::DmaMemory* dma_ = nullptr;
    P9DeviceOptions opts_;
    virtio::Virtqueue* queue_ = nullptr;
    char tag_[kTagMax + 1] = {};
    uint64_t next_token_ = 1;
    uint64_t requests_ = 0;
    bool broken_ = false;
};

}  // namespace vfs::guest::virtio_9p
