// virtio-9p probe and synchronous request submission (see p9_device.h).
#include "drivers/virtio_9p/p9_device.h"

#include <linux/virtio_config.h>

#include "drivers/virtio_fs/poll_clock.h"

namespace vfs::guest::virtio_9p {

using virtio_fs::poll_clock_ns;
using virtio_fs::poll_relax;

P9Device::~P9Device() {
    delete queue_;
}

wire::Status P9Device::probe(virtio::Transport& t, virtio::DmaMemory& dma,
                             const P9DeviceOptions& opts) {
    if (transport_) return wire::Error{EBUSY};
    transport_ = &t;
    dma_ = &dma;
    opts_ = opts;
    wire::Status s = setup();
    if (!s) t.set_failed();
    return s;
}

wire::Status P9Device::setup() {
    auto features = transport_->negotiate_features(kMountTagFeature);
    if (!features) return wire::Error{features.error()};
    if (!(*features & kMountTagFeature)) return wire::Error{ENODEV};  // no tag to mount by
    uint16_t len = 0;
    if (wire::Status s = transport_->read_device_config(0, &len, 2); !s) return s;
    if (len == 0 || len > kTagMax) return wire::Error{EPROTO};
    if (wire::Status s = transport_->read_device_config(2, tag_, len); !s) return s;
    tag_[len] = '\0';
    if (tag_[0] == '\0') return wire::Error{EPROTO};
    if (transport_->num_queues() < 1) return wire::Error{EPROTO};
    queue_ = new virtio::Virtqueue;
    if (!queue_) return wire::Error{ENOMEM};
    // No EVENT_IDX: one request at a time, so every submission kicks anyway.
    if (wire::Status s = queue_->init(*transport_, *dma_, 0, opts_.queue_size, false); !s) return s;
    return transport_->driver_ok();
}

wire::Status P9Device::to_buffers(const wire::Segment* segs, uint32_t n, wire::DriverBuffer* out,
                                  uint32_t* count, uint64_t* total) {
    uint32_t k = 0;
    for (uint32_t i = 0; i < n; ++i) {
        if (segs[i].len == 0) continue;
        if (!dma_->can_reach(segs[i].data, segs[i].len)) return wire::Error{EFAULT};
        out[k++] = wire::DriverBuffer{dma_->device_address(segs[i].data), segs[i].len};
        *total += segs[i].len;
    }
    *count = k;
    return {};
}

void P9Device::mark_broken() {
    broken_ = true;
    transport_->set_failed();
}

wire::Result<uint32_t> P9Device::transact(const wire::Segment* out, uint32_t n_out,
                                          const wire::Segment* in, uint32_t n_in) {
    if (broken_ || !queue_) return wire::Error{EIO};
    if (n_out > kMaxSegments || n_in > kMaxSegments) return wire::Error{E2BIG};
    wire::DriverBuffer ob[kMaxSegments], ib[kMaxSegments];
    uint32_t no = 0, ni = 0;
    uint64_t out_bytes = 0, in_bytes = 0;
    if (wire::Status s = to_buffers(out, n_out, ob, &no, &out_bytes); !s)
        return wire::Error{s.error()};
    if (wire::Status s = to_buffers(in, n_in, ib, &ni, &in_bytes); !s)
        return wire::Error{s.error()};
    if (no == 0 || ni == 0) return wire::Error{EINVAL};
    if (no + ni > queue_->size()) return wire::Error{E2BIG};
    const uint64_t token = next_token_++;
    auto head = queue_->submit(ob, no, ib, ni, token);
    if (!head) return wire::Error{head.error()};
    ++requests_;
    const uint64_t start = poll_clock_ns();
    uint64_t quiet_since = start;
    for (;;) {
        auto c = queue_->poll();
        if (c) {
            // Only one chain is ever outstanding: anything else is the device lying.
            if (c->token != token || c->len > in_bytes) {
                mark_broken();
                return wire::Error{EIO};
            }
            return c->len;
        }
        if (c.error() != EAGAIN) {
            mark_broken();
            return wire::Error{EIO};
        }
        const uint64_t now = poll_clock_ns();
        if (now - start > opts_.timeout_ns) {
            // The device still owns the buffers: nothing may be sent again.
            mark_broken();
            return wire::Error{ETIMEDOUT};
        }
        if (opts_.rekick_after_ns && now - quiet_since > opts_.rekick_after_ns) {
            queue_->notify();
            quiet_since = now;
        }
        poll_relax();
    }
}

}  // namespace vfs::guest::virtio_9p
