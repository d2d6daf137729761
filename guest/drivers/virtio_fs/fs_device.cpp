// virtio-fs probe, submission and completion (see fs_device.h).
#include "drivers/virtio_fs/fs_device.h"

#include <linux/virtio_config.h>
#include <linux/virtio_fs.h>
#include <linux/virtio_ring.h>
#include <stddef.h>

#include "drivers/virtio_fs/poll_clock.h"

namespace vfs::guest::virtio_fs {
namespace {

// The part of virtio_fs_config every device has (notify_buf_size belongs to the
// notification feature, which is not negotiated).
constexpr uint32_t kConfigBytes = offsetof(virtio_fs_config, num_request_queues) + 4;

uint64_t token_for(const RequestSlot& s) {
    return static_cast<uint64_t>(s.index) + 1;
}

// Descriptors a chain takes: one per non-empty segment (see to_buffers).
uint32_t descriptors(const wire::Segment* segs, uint32_t n) {
    uint32_t k = 0;
    for (uint32_t i = 0; i < n; ++i)
        k += segs[i].len != 0;
    return k;
}

}  // namespace

FsDevice::~FsDevice() {
    delete[] queues_;
    if (slots_ && dma_) {
        for (uint32_t i = 0; i < num_slots_; ++i) {
            // A lost slot's buffers may still be written by the device: leak them.
            if (slots_[i].state == SlotState::kLost) continue;
            dma_->release(slots_[i].request);
            dma_->release(slots_[i].reply_head);
        }
    }
    delete[] slots_;
}

wire::Status FsDevice::probe(virtio::Transport& t, virtio::DmaMemory& dma,
                             const DeviceOptions& opts) {
    if (transport_) return wire::Error{EBUSY};
    transport_ = &t;
    dma_ = &dma;
    opts_ = opts;
    wire::Status s = setup(opts);
    if (!s) t.set_failed();
    return s;
}

wire::Status FsDevice::setup(const DeviceOptions& opts) {
    if (opts.slots == 0 || opts.max_request_queues == 0) return wire::Error{EINVAL};
    const uint64_t wanted =
        (1ull << VIRTIO_F_VERSION_1) | (opts.event_idx ? 1ull << VIRTIO_RING_F_EVENT_IDX : 0);
    auto features = transport_->negotiate_features(wanted);
    if (!features) return wire::Error{features.error()};
    features_ = *features;
    const bool event_idx = (features_ >> VIRTIO_RING_F_EVENT_IDX) & 1;

    uint8_t cfg[kConfigBytes];
    if (wire::Status s = transport_->read_device_config(0, cfg, kConfigBytes); !s) return s;
    __builtin_memcpy(tag_, cfg, kTagSize);
    tag_[kTagSize] = '\0';  // a full-length tag has no NUL of its own
    uint32_t nreq = 0;
    __builtin_memcpy(&nreq, cfg + offsetof(virtio_fs_config, num_request_queues), 4);
    device_request_ = nreq;
    if (tag_[0] == '\0') return wire::Error{EINVAL};
    // The device's numbers are checked against the transport's, never trusted alone.
    const uint32_t total = transport_->num_queues();
    if (nreq == 0 || total < 2 || nreq > total - 1u) return wire::Error{EPROTO};
    num_request_ = nreq;
    if (num_request_ > opts.max_request_queues) num_request_ = opts.max_request_queues;
    if (num_request_ > kMaxRequestQueues) num_request_ = kMaxRequestQueues;

    // The transport logs why it cannot; the driver then polls.
    irq_ = opts.interrupts && transport_->use_interrupts().ok();
    queues_ = new virtio::Virtqueue[num_request_ + 1];
    if (!queues_) return wire::Error{ENOMEM};
    for (uint16_t q = 0; q <= num_request_; ++q) {
        if (wire::Status s = queues_[q].init(*transport_, *dma_, q, opts.queue_size, event_idx); !s)
            return s;
    }
    // A device may refuse a queue's vector: then every queue is polled.
    irq_ = irq_ && transport_->interrupts_active();
    if (!irq_) {
        // Polled: an interrupt per completion would only cost the device an eventfd
        // write (and a VMM an injected interrupt) that nobody waits for.
        for (uint16_t q = 0; q <= num_request_; ++q)
            queues_[q].disable_interrupts();
    }

    slots_ = new RequestSlot[opts.slots];
    if (!slots_) return wire::Error{ENOMEM};
    num_slots_ = opts.slots;
    for (uint32_t i = 0; i < num_slots_; ++i) {
        RequestSlot& s = slots_[i];
        s.index = static_cast<uint16_t>(i);
        s.request = static_cast<uint8_t*>(dma_->allocate_zeroed(kRequestCap, 64));
        s.reply_head = static_cast<uint8_t*>(dma_->allocate_zeroed(kReplyHeadCap, 64));
        if (!s.request || !s.reply_head) return wire::Error{ENOMEM};
    }
    return transport_->driver_ok();
}

wire::Result<RequestSlot*> FsDevice::acquire() {
    if (broken_) return wire::Error{EIO};
    for (uint32_t n = 0; n < num_slots_; ++n) {
        RequestSlot& s = slots_[(next_free_hint_ + n) % num_slots_];
        if (s.state != SlotState::kFree) continue;
        next_free_hint_ = (s.index + 1u) % num_slots_;
        s.state = SlotState::kHeld;
        s.used_len = 0;
        s.error = 0;
        s.free_on_completion = false;
        return &s;
    }
    return wire::Error{EAGAIN};
}

void FsDevice::release(RequestSlot* s) {
    if (!s || s->state == SlotState::kLost || s->state == SlotState::kInFlight) return;
    s->state = SlotState::kFree;
}

wire::Status FsDevice::to_buffers(const wire::Segment* segs, uint32_t n, wire::DriverBuffer* out,
                                  uint32_t* count) {
    uint32_t k = 0;
    for (uint32_t i = 0; i < n; ++i) {
        if (segs[i].len == 0) continue;  // a zero-length descriptor helps nobody
        if (!dma_->can_reach(segs[i].data, segs[i].len)) return wire::Error{EFAULT};
        out[k++] = wire::DriverBuffer{dma_->device_address(segs[i].data), segs[i].len};
    }
    *count = k;
    return {};
}

uint16_t FsDevice::pick_request_queue(uint32_t descriptors) {
    // Round robin among the queues with room, so concurrent requests spread out.
    for (uint32_t n = 0; n < num_request_; ++n) {
        const uint16_t q = static_cast<uint16_t>(1 + (rr_ + n) % num_request_);
        if (queues_[q].num_free() >= descriptors) {
            rr_ = static_cast<uint16_t>((rr_ + n + 1) % num_request_);
            return q;
        }
    }
    return 0;
}

wire::Status FsDevice::push(RequestSlot* s, uint16_t queue, const wire::Segment* out,
                            uint32_t n_out, const wire::Segment* in, uint32_t n_in) {
    wire::DriverBuffer ob[kMaxSegments], ib[kMaxSegments];
    uint32_t no = 0, ni = 0;
    if (wire::Status st = to_buffers(out, n_out, ob, &no); !st) return st;
    if (wire::Status st = to_buffers(in, n_in, ib, &ni); !st) return st;
    if (no == 0) return wire::Error{EINVAL};
    s->queue = queue;
    s->state = SlotState::kInFlight;
    auto head = queues_[queue].submit(ob, no, ib, ni, token_for(*s));
    if (!head) {
        s->state = SlotState::kHeld;
        return wire::Error{head.error()};
    }
    if (in_flight_ == 0) quiet_since_ns_ = poll_clock_ns();
    ++in_flight_;
    ++submitted_[queue];
    return {};
}

wire::Status FsDevice::submit(RequestSlot* s, const wire::Segment* out, uint32_t n_out,
                              const wire::Segment* in, uint32_t n_in) {
    if (broken_) return wire::Error{EIO};
    if (!s || s->state != SlotState::kHeld) return wire::Error{EINVAL};
    if (n_out > kMaxSegments || n_in > kMaxSegments) return wire::Error{E2BIG};
    const uint32_t need = descriptors(out, n_out) + descriptors(in, n_in);
    // A chain longer than every request queue (a device may offer tiny ones) would
    // never find room: waiting for completions could only time out.
    bool fits = false;
    for (uint32_t q = 1; q <= num_request_; ++q)
        fits = fits || queues_[q].size() >= need;
    if (!fits) return wire::Error{E2BIG};
    const uint64_t deadline = poll_clock_ns() + opts_.timeout_ns;
    for (;;) {
        const uint16_t q = pick_request_queue(need);
        if (q != 0) return push(s, q, out, n_out, in, n_in);
        // Every request queue is full: completions free descriptors.
        auto p = poll();
        if (!p) return wire::Error{p.error()};
        if (*p == 0) {
            if (poll_clock_ns() > deadline) return wire::Error{ETIMEDOUT};
            idle(deadline);
        }
    }
}

wire::Status FsDevice::submit_hiprio(RequestSlot* s, const wire::Segment* out, uint32_t n_out) {
    if (broken_) return wire::Error{EIO};
    if (!s || s->state != SlotState::kHeld) return wire::Error{EINVAL};
    if (n_out > kMaxSegments) return wire::Error{E2BIG};
    const uint32_t need = descriptors(out, n_out);
    if (queues_[0].size() < need) return wire::Error{E2BIG};  // would never fit
    const uint64_t deadline = poll_clock_ns() + opts_.timeout_ns;
    while (queues_[0].num_free() < need) {
        auto p = poll();
        if (!p) return wire::Error{p.error()};
        if (*p == 0) {
            if (poll_clock_ns() > deadline) return wire::Error{ETIMEDOUT};
            idle(deadline);
        }
    }
    s->free_on_completion = true;
    wire::Status st = push(s, 0, out, n_out, nullptr, 0);
    if (!st) s->free_on_completion = false;
    return st;
}

void FsDevice::mark_broken() {
    broken_ = true;
    for (uint32_t i = 0; i < num_slots_; ++i) {
        RequestSlot& s = slots_[i];
        // The device may still write into anything it holds: never reuse those buffers.
        if (s.state == SlotState::kInFlight) {
            s.state = SlotState::kLost;
            s.error = EIO;
        }
    }
    transport_->set_failed();
}

wire::Result<uint32_t> FsDevice::poll() {
    if (broken_) return wire::Error{EIO};
    uint32_t seen = 0;
    for (uint16_t q = 0; q <= num_request_; ++q) {
        for (;;) {
            auto c = queues_[q].poll();
            if (!c) {
                if (c.error() == EAGAIN) break;
                mark_broken();
                return wire::Error{EIO};
            }
            // The ring code vouches for the head; the slot must agree it sent it here.
            const uint64_t idx = c->token - 1;
            if (idx >= num_slots_ || slots_[idx].queue != q ||
                (slots_[idx].state != SlotState::kInFlight &&
                 slots_[idx].state != SlotState::kLost)) {
                mark_broken();
                return wire::Error{EIO};
            }
            RequestSlot& s = slots_[idx];
            --in_flight_;
            ++seen;
            s.used_len = c->len;
            if (s.state == SlotState::kLost) {
                s.state = SlotState::kFree;  // its waiter gave up; the buffers are ours again
            } else {
                s.state = s.free_on_completion ? SlotState::kFree : SlotState::kDone;
            }
        }
    }
    if (seen != 0 || in_flight_ == 0 || opts_.rekick_after_ns == 0) {
        if (seen != 0) quiet_since_ns_ = poll_clock_ns();
        return seen;
    }
    if (const uint64_t now = poll_clock_ns(); now - quiet_since_ns_ > opts_.rekick_after_ns) {
        for (uint16_t q = 0; q <= num_request_; ++q)
            if (queues_[q].busy()) queues_[q].notify();
        ++rekicks_;
        quiet_since_ns_ = now;
    }
    return seen;
}

void FsDevice::idle(uint64_t deadline) {
    if (!irq_) {
        poll_relax();
        return;
    }
    // As Linux's virtqueue_enable_cb: used_event at what was seen, a full fence, a last
    // look. A completion published after that look is signalled and ends the sleep.
    bool pending = false;
    for (uint16_t q = 0; q <= num_request_; ++q)
        pending = queues_[q].enable_interrupts() || pending;
    if (pending) return;
    const uint64_t now = poll_clock_ns();
    if (now >= deadline) return;
    uint64_t max = deadline - now;
    // Wake for poll()'s re-kick of a device that missed a kick (it cannot signal then).
    if (opts_.rekick_after_ns != 0 && opts_.rekick_after_ns < max) max = opts_.rekick_after_ns;
    ++sleeps_;
    transport_->wait_for_interrupt(max);
}

wire::Result<uint32_t> FsDevice::wait(RequestSlot* s) {
    if (!s) return wire::Error{EINVAL};
    const uint64_t deadline = poll_clock_ns() + opts_.timeout_ns;
    while (s->state == SlotState::kInFlight) {
        auto p = poll();
        if (!p) return wire::Error{p.error()};
        if (s->state != SlotState::kInFlight) break;
        if (poll_clock_ns() > deadline) {
            s->state = SlotState::kLost;  // still in flight: poll() frees it if it returns
            return wire::Error{ETIMEDOUT};
        }
        idle(deadline);
    }
    if (s->state == SlotState::kLost) return wire::Error{s->error ? s->error : EIO};
    if (s->state != SlotState::kDone) return wire::Error{EINVAL};
    return s->used_len;
}

}  // namespace vfs::guest::virtio_fs
