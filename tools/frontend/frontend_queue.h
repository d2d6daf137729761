// One virtqueue as the frontend (playing the guest) drives it: split rings in guest
// memory, driven with common/'s DriverQueue, the kick/call/err eventfds, and the table of
// chains in flight so several threads may submit and wait on one queue.
//
// A used entry the backend should never have produced makes the queue fail with EPROTO;
// the frontend never trusts the backend's lengths beyond what the chain offered.
#pragma once

#include <stdint.h>

#include <condition_variable>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "guest_ram.h"
#include "queue_attach.h"
#include "vfs/wire/virtqueue_driver.h"

namespace vfs::frontend {

class FrontendQueue {
  public:
    static Result<std::unique_ptr<FrontendQueue>> create(GuestRam& ram, uint32_t index,
                                                         uint32_t size);
    ~FrontendQueue();

    uint32_t index() const { return index_; }
    uint32_t size() const { return size_; }
    // Ring addresses as SET_VRING_ADDR wants them (our virtual addresses).
    uint64_t desc_uva() const { return reinterpret_cast<uint64_t>(rings_.desc); }
    uint64_t avail_uva() const { return reinterpret_cast<uint64_t>(rings_.avail); }
    uint64_t used_uva() const { return reinterpret_cast<uint64_t>(rings_.used); }
    int kick_fd() const { return fds_.kick(); }
    int call_fd() const { return fds_.call(); }
    int err_fd() const { return fds_.err(); }
    // What Frontend::attach_queue needs: our rings' guest-physical addresses, our fds.
    RingPlacement placement() const;
    const QueueNotifiers& notifiers() const { return fds_; }

    // Zeroes the rings and starts the driver side afresh (first start, or a guest reboot).
    Status reset_rings(bool event_idx);

    // Adds one chain (device-readable out, then device-writable in), publishes it and kicks
    // if the backend asked to be kicked. ENOSPC when the ring is full.
    Status submit(const vfs::wire::DriverBuffer* out, uint32_t n_out,
                  const vfs::wire::DriverBuffer* in, uint32_t n_in, uint64_t token);
    // Waits until the chain with this token is used; returns the bytes the backend wrote.
    // ETIMEDOUT after timeout_ms.
    Result<uint32_t> wait(uint64_t token, int timeout_ms);

    // For pipelined drivers that track their own tokens (vfs-bench): moves up to max
    // finished chains, whatever their token, into out without blocking, and returns how
    // many. Poll call_fd() to sleep until there may be more. Waiters in wait() on the same
    // queue would miss the chains taken here, so use one style per queue.
    Result<uint32_t> take_used(vfs::wire::DriverCompletion* out, uint32_t max);

    // A driver that polls the used ring (take_used) wants no call signals: see
    // vfs::wire::DriverQueue::disable_interrupts.
    void disable_interrupts();

    // True if the backend signalled the err eventfd (a broken queue) within timeout_ms.
    bool wait_error(int timeout_ms);

    // Hostile tests: writes descs[0..n) to descriptor indices 0..n-1, publishes `head`
    // directly and kicks, bypassing the driver bookkeeping. Only on an idle queue.
    Status inject_raw(const vring_desc* descs, uint32_t n, uint16_t head);
    // Hostile tests: publishes an avail index far ahead of what was written.
    Status inject_avail_idx(uint16_t idx);

  private:
    FrontendQueue() = default;
    void kick();
    // Moves every used entry into done_; EPROTO if one is impossible. Caller holds mu_.
    Status reap_locked();

    GuestRam* ram_ = nullptr;
    uint32_t index_ = 0;
    uint32_t size_ = 0;
    GuestBuffer ring_mem_;
    vfs::wire::DriverQueue::Rings rings_;
    vfs::wire::DriverQueue dq_;
    std::vector<vfs::wire::DriverSlot> slots_;
    QueueNotifiers fds_;
    std::mutex mu_;
    std::unordered_map<uint64_t, uint32_t> done_;
    bool failed_ = false;
    bool polling_ = false;            // a wait() sleeps on the call eventfd
    std::condition_variable reaped_;  // it woke and reaped: the others look again
};

}  // namespace vfs::frontend
