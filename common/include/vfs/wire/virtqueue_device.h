// Device side of a split virtqueue: the daemon's queue workers pop chains the guest
// published and push used entries back.
//
// Everything in the rings is written by the guest and hostile: the available index,
// each head, each descriptor. A chain is validated as it is walked: indices in range,
// no more visits in a table than it has entries (so loops end), an indirect table of at
// most kMaxQueueSize entries that is neither nested nor combined with NEXT, readable
// buffers before writable ones, no more segments than the caller has room for, and every
// buffer translated through the caller's translator, which may refuse. A bad chain is an
// error; the caller marks the queue broken. Never allocates.
#pragma once

#include <stdint.h>

#include "vfs/wire/result.h"
#include "vfs/wire/sg.h"
#include "vfs/wire/virtqueue_layout.h"

namespace vfs::wire {

// A validated chain: readable segments first, then writable ones, in caller storage.
struct DeviceChain {
    uint16_t head = 0;
    uint32_t n_readable = 0;
    uint32_t n_writable = 0;
    uint64_t readable_bytes = 0;
    uint64_t writable_bytes = 0;
    Segment* segs = nullptr;

    const Segment* readable() const { return segs; }
    const Segment* writable() const { return segs + n_readable; }
};

class DeviceQueue {
  public:
    struct Rings {
        vring_desc* desc = nullptr;
        vring_avail* avail = nullptr;
        vring_used* used = nullptr;
    };

    // Starts serving rings of `size` entries, resuming at `base` (SET_VRING_BASE).
    Status init(uint32_t size, Rings rings, bool event_idx, uint16_t base) {
        if (size == 0 || !valid_queue_size(size)) return Error{EINVAL};
        if (!rings.desc || !rings.avail || !rings.used) return Error{EINVAL};
        if (reinterpret_cast<uintptr_t>(rings.desc) % kDescAlign ||
            reinterpret_cast<uintptr_t>(rings.avail) % kAvailAlign ||
            reinterpret_cast<uintptr_t>(rings.used) % kUsedAlign)
            return Error{EINVAL};
        size_ = size;
        r_ = rings;
        event_idx_ = event_idx;
        last_avail_ = base;
        used_shadow_ = load_relaxed(&r_.used->idx);
        signalled_used_ = used_shadow_;
        return {};
    }

    uint32_t size() const { return size_; }
    // Where the next pop starts: what GET_VRING_BASE reports.
    uint16_t last_avail_idx() const { return last_avail_; }

    // Chains published but not yet popped; EPROTO if the guest's index is impossible.
    Result<uint32_t> pending() const {
        const uint16_t avail_idx = load_acquire(&r_.avail->idx);
        const uint32_t n = static_cast<uint16_t>(avail_idx - last_avail_);
        if (n > size_) return Error{EPROTO};
        return n;
    }

    // Pops and validates the next chain into segs[0..max_segs). translate(addr, len)
    // maps a guest range wholly into this process or returns nullptr to refuse it.
    // Returns false if the
    // ring is empty. Any error leaves the chain unconsumed; the queue is then broken.
    template <class Translate>
    Result<bool> pop(Translate&& translate, Segment* segs, uint32_t max_segs, DeviceChain* out) {
        auto avail = pending();
        if (!avail) return Error{avail.error()};
        if (*avail == 0) return false;
        const uint16_t head = load_relaxed(&r_.avail->ring[last_avail_ & (size_ - 1)]);
        if (head >= size_) return Error{EPROTO};

        DeviceChain c;
        c.head = head;
        c.segs = segs;
        const vring_desc* table = r_.desc;
        uint32_t table_size = size_;
        uint32_t idx = head;
        // Visits in the current table: a chain that visits a table more often than it has
        // entries loops. Counted per table, so an indirect table is bounded by its own
        // length and not by the queue size.
        uint32_t visited = 0;
        bool indirect = false;
        bool writable_seen = false;
        for (;;) {
            if (++visited > table_size) return Error{ELOOP};
            const vring_desc d = read_desc(table, idx);
            if (d.flags & VRING_DESC_F_INDIRECT) {
                if (indirect || (d.flags & VRING_DESC_F_NEXT)) return Error{EPROTO};
                if (d.len == 0 || d.len % sizeof(vring_desc) != 0) return Error{EPROTO};
                const uint64_t n = d.len / sizeof(vring_desc);
                // Not the queue size: virtio-win and older Linux drivers put more entries
                // in one table than a small queue has (~259 for 1 MiB of I/O on a queue of
                // 128). The caller's max_segs still caps what a chain may carry.
                if (n > kMaxQueueSize) return Error{EPROTO};
                uint8_t* t = translate(d.addr, uint64_t{d.len});
                if (!t) return Error{EFAULT};
                table = reinterpret_cast<const vring_desc*>(t);
                table_size = static_cast<uint32_t>(n);
                idx = 0;
                indirect = true;
                visited = 0;
                continue;
            }
            const bool writable = d.flags & VRING_DESC_F_WRITE;
            if (writable) {
                writable_seen = true;
            } else if (writable_seen) {
                return Error{EPROTO};  // readable after writable
            }
            if (d.len != 0) {
                uint8_t* p = translate(d.addr, uint64_t{d.len});
                if (!p) return Error{EFAULT};
                const uint32_t used = c.n_readable + c.n_writable;
                if (used == max_segs) return Error{E2BIG};
                segs[used] = Segment{p, d.len};
                if (writable) {
                    ++c.n_writable;
                    c.writable_bytes += d.len;
                } else {
                    ++c.n_readable;
                    c.readable_bytes += d.len;
                }
            }
            if (!(d.flags & VRING_DESC_F_NEXT)) break;
            if (d.next >= table_size) return Error{EPROTO};
            idx = d.next;
        }
        ++last_avail_;
        *out = c;
        return true;
    }

    // Returns a chain to the guest; invisible until flush().
    void push(uint16_t head, uint32_t written) {
        vring_used_elem e{head, written};
        __builtin_memcpy(&r_.used->ring[used_shadow_ & (size_ - 1)], &e, sizeof(e));
        ++used_shadow_;
    }

    // Publishes pushed entries; returns whether the guest wants an interrupt for them.
    bool flush() {
        if (used_shadow_ == load_relaxed(&r_.used->idx)) return false;
        store_release(&r_.used->idx, used_shadow_);
        full_fence();
        const uint16_t old = signalled_used_;
        signalled_used_ = used_shadow_;
        if (event_idx_) {
            return vring_need_event(load_relaxed(used_event_word(r_.avail, size_)), used_shadow_,
                                    old);
        }
        return !(load_relaxed(&r_.avail->flags) & VRING_AVAIL_F_NO_INTERRUPT);
    }

    // Before sleeping on the kick: ask for a kick on the next publish, then re-check, so
    // a chain published in between is not missed. True means there is work: poll again.
    bool enable_notifications() {
        if (event_idx_) {
            store_relaxed(avail_event_word(r_.used, size_), last_avail_);
        } else {
            store_relaxed(&r_.used->flags, uint16_t{0});
        }
        full_fence();
        auto n = pending();
        return !n.ok() || *n != 0;
    }

    // While busy polling: the guest need not kick.
    void disable_notifications() {
        if (!event_idx_) store_relaxed(&r_.used->flags, uint16_t{VRING_USED_F_NO_NOTIFY});
    }

    // While the device spins on the ring (--poll-us): no kick at all, with EVENT_IDX too.
    // There, avail_event one behind the next chain to pop is behind every index the
    // driver can publish from, so vring_need_event never fires; enable_notifications()
    // then moves it up and re-checks.
    void suppress_kicks() {
        if (event_idx_) {
            store_relaxed(avail_event_word(r_.used, size_), static_cast<uint16_t>(last_avail_ - 1));
        } else {
            store_relaxed(&r_.used->flags, uint16_t{VRING_USED_F_NO_NOTIFY});
        }
    }

  private:
    uint32_t size_ = 0;
    Rings r_;
    bool event_idx_ = false;
    uint16_t last_avail_ = 0;
    uint16_t used_shadow_ = 0;
    uint16_t signalled_used_ = 0;
};

}  // namespace vfs::wire
