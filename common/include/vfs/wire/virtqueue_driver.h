// Driver side of a split virtqueue: the guest's virtio_fs driver and the test frontend
// (which plays the guest) both submit requests through this.
//
// The free list and per-chain bookkeeping live in a private array, never in the shared
// descriptor table, so a misbehaving device cannot corrupt it: a used entry naming a
// descriptor that is not an in-flight head, or reporting more bytes than the chain could
// take, is an error. Never allocates; the caller provides ring memory and the slot array.
#pragma once

#include <stdint.h>

#include "vfs/wire/result.h"
#include "vfs/wire/virtqueue_layout.h"

namespace vfs::wire {

// A buffer as the device addresses it (guest-physical in a VM).
struct DriverBuffer {
    uint64_t addr = 0;
    uint32_t len = 0;
};

// Private bookkeeping per descriptor; the caller allocates `size` of them.
struct DriverSlot {
    uint64_t token = 0;           // non-zero on an in-flight chain's head
    uint64_t writable_bytes = 0;  // on a head: what the device may report as written
    uint16_t next = 0;            // next descriptor of the chain, or of the free list
    uint16_t chain_len = 0;       // on a head: descriptors in the chain
};

// A finished request: the token given to add() and the bytes the device wrote.
struct DriverCompletion {
    uint64_t token = 0;
    uint32_t len = 0;
};

class DriverQueue {
  public:
    struct Rings {
        vring_desc* desc = nullptr;
        vring_avail* avail = nullptr;
        vring_used* used = nullptr;
    };

    // Takes over zeroed (or reset) ring memory of `size` entries.
    Status init(uint32_t size, Rings rings, DriverSlot* slots, bool event_idx) {
        if (size == 0 || !valid_queue_size(size)) return Error{EINVAL};
        if (!rings.desc || !rings.avail || !rings.used || !slots) return Error{EINVAL};
        size_ = size;
        r_ = rings;
        slots_ = slots;
        event_idx_ = event_idx;
        for (uint32_t i = 0; i < size; ++i) {
            slots_[i] = DriverSlot{};
            slots_[i].next = static_cast<uint16_t>(i + 1);
        }
        free_head_ = 0;
        num_free_ = size;
        avail_shadow_ = load_relaxed(&r_.avail->idx);
        last_kick_avail_ = avail_shadow_;
        last_used_ = load_relaxed(&r_.used->idx);
        interrupts_ = true;
        return {};
    }

    uint32_t size() const { return size_; }
    uint32_t num_free() const { return num_free_; }

    // Queues a chain of device-readable `out` buffers followed by device-writable `in`
    // buffers. Invisible to the device until publish(). token must be non-zero.
    Result<uint16_t> add(const DriverBuffer* out, uint32_t n_out, const DriverBuffer* in,
                         uint32_t n_in, uint64_t token) {
        const uint32_t n = n_out + n_in;
        if (token == 0 || n == 0 || n < n_out) return Error{EINVAL};
        if (n > num_free_) return Error{ENOSPC};
        const uint16_t head = free_head_;
        uint16_t idx = head;
        uint64_t writable = 0;
        for (uint32_t i = 0; i < n; ++i) {
            const bool is_in = i >= n_out;
            const DriverBuffer& b = is_in ? in[i - n_out] : out[i];
            vring_desc d;
            d.addr = b.addr;
            d.len = b.len;
            d.flags = static_cast<uint16_t>((is_in ? VRING_DESC_F_WRITE : 0) |
                                            (i + 1 < n ? VRING_DESC_F_NEXT : 0));
            d.next = slots_[idx].next;
            __builtin_memcpy(&r_.desc[idx], &d, sizeof(d));
            if (is_in) writable += b.len;
            idx = slots_[idx].next;
        }
        free_head_ = idx;
        num_free_ -= n;
        slots_[head].token = token;
        slots_[head].writable_bytes = writable;
        slots_[head].chain_len = static_cast<uint16_t>(n);
        store_relaxed(&r_.avail->ring[avail_shadow_ & (size_ - 1)], head);
        ++avail_shadow_;
        return head;
    }

    // Makes every added chain visible to the device.
    void publish() { store_release(&r_.avail->idx, avail_shadow_); }

    // After publish(): whether the device asked to be notified of what was published
    // since the last call (event index, or the NO_NOTIFY flag without it).
    bool kick_needed() {
#ifdef VFS_WIRE_TEST_LOSE_KICK_FENCE
        // Test builds only: the fence as QEMU < 8.1 TCG runs it for a guest with one vCPU,
        // where the store of avail idx and the load of avail_event may pass each other on
        // the host (a kick can be lost). The recovery paths must cope with that.
        __atomic_signal_fence(__ATOMIC_SEQ_CST);
#else
        full_fence();
#endif
        const uint16_t old = last_kick_avail_;
        last_kick_avail_ = avail_shadow_;
        if (event_idx_) {
            const uint16_t event = load_relaxed(avail_event_word(r_.used, size_));
            return vring_need_event(event, avail_shadow_, old);
        }
        return !(load_relaxed(&r_.used->flags) & VRING_USED_F_NO_NOTIFY);
    }

    // True if the device has returned chains not yet reclaimed.
    bool has_used() const {
        return load_acquire(&r_.used->idx) != last_used_;
    }

    // Takes one used entry and frees its chain. EAGAIN if there is none; EPROTO if the
    // device returned something it was never given (the queue is then unusable).
    Result<DriverCompletion> reclaim() {
        const uint16_t used_idx = load_acquire(&r_.used->idx);
        if (used_idx == last_used_) return Error{EAGAIN};
        if (static_cast<uint16_t>(used_idx - last_used_) > size_) return Error{EPROTO};
        vring_used_elem e;
        __builtin_memcpy(&e, &r_.used->ring[last_used_ & (size_ - 1)], sizeof(e));
        __asm__ volatile("" : "+m"(e));
        if (e.id >= size_ || slots_[e.id].token == 0) return Error{EPROTO};
        DriverSlot& head = slots_[e.id];
        if (e.len > head.writable_bytes) return Error{EPROTO};
        ++last_used_;
        DriverCompletion c{head.token, e.len};
        free_chain(static_cast<uint16_t>(e.id));
        if (event_idx_) {
            if (interrupts_) {
                // As Linux's virtqueue_get_buf: the next entry is the one to signal.
                store_relaxed(used_event_word(r_.avail, size_), last_used_);
            } else if (static_cast<uint16_t>(last_used_ - quiet_event_) > 0x8000) {
                // used_event stays put while disabled, so the device's window of new
                // entries creeps towards it; move it back before it could be reached
                // (65536 entries after it was set), once per 32768 entries.
                park_used_event();
            }
        }
        return c;
    }

    // Interrupt suppression for polling drivers (Linux's virtqueue_disable_cb and
    // virtqueue_enable_cb). Without EVENT_IDX this is the NO_INTERRUPT flag. With it, the
    // flag means nothing to the device: used_event is parked just behind what the driver
    // has seen, where the device's "did used idx pass used_event" test fails until the
    // index comes all the way round. Interrupts start enabled.
    void disable_interrupts() {
        if (!interrupts_) return;
        interrupts_ = false;
        if (event_idx_) {
            park_used_event();
        } else {
            store_relaxed(&r_.avail->flags, uint16_t{VRING_AVAIL_F_NO_INTERRUPT});
        }
    }
    // Returns true if used entries arrived meanwhile (poll again before sleeping).
    bool enable_interrupts() {
        interrupts_ = true;
        if (event_idx_) {
            store_relaxed(used_event_word(r_.avail, size_), last_used_);
        } else {
            store_relaxed(&r_.avail->flags, uint16_t{0});
        }
        full_fence();
        return has_used();
    }
    bool interrupts_enabled() const {
        return interrupts_;
    }

  private:
    // The device signals when used idx passes used_event; last_used_ - 1 is the value it
    // can pass last (the device has published at least last_used_ already).
    void park_used_event() {
        quiet_event_ = last_used_;
        store_relaxed(used_event_word(r_.avail, size_), static_cast<uint16_t>(last_used_ - 1));
    }

    void free_chain(uint16_t head) {
        DriverSlot& h = slots_[head];
        uint16_t idx = head;
        for (uint16_t i = 1; i < h.chain_len; ++i)
            idx = slots_[idx].next;
        slots_[idx].next = free_head_;
        free_head_ = head;
        num_free_ += h.chain_len;
        h.token = 0;
        h.writable_bytes = 0;
        h.chain_len = 0;
    }

    uint32_t size_ = 0;
    Rings r_;
    DriverSlot* slots_ = nullptr;
    bool event_idx_ = false;
    uint16_t free_head_ = 0;
    uint32_t num_free_ = 0;
    uint16_t avail_shadow_ = 0;
    uint16_t last_kick_avail_ = 0;
    uint16_t last_used_ = 0;
    uint16_t quiet_event_ = 0;  // last_used_ when used_event was last parked
    bool interrupts_ = true;
};

}  // namespace vfs::wire
