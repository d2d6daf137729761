// One virtqueue's device side: pops and validates chains with common/'s DeviceQueue, hands
// each to the queue's QueueHandler, and publishes each used entry as soon as the reply is
// written, signalling the call eventfd only when the ring's event index (or flags) ask for
// it, so signals come at most once per guest wake-up while no reply waits for the rest of
// its batch. A QueueThread (queue/queue_thread.h) runs it: its own, or one it shares with
// another worker (QueueWorkerConfig::share_thread_with), sleeping in one poll over the
// workers' kick and control eventfds and, while data operations are out, their I/O engines'
// rings (queue/io_engine.h).
//
// The connection thread owns the worker's lifetime: start() when a ring starts, stop()
// for GET_VRING_BASE (which drains in-flight requests before it returns the ring index).
// A stopped worker leaves its thread; a worker sharing it goes on being served.
// The worker never touches vhost-user state; a hostile chain marks the queue broken (an
// error logged, the err eventfd signalled) and the worker then only drains.
//
// stop() is bounded (QueueWorkerConfig::stop_timeout_ms): a request stuck in I/O (a hung
// NFS or FUSE mount under the share) must not hang GET_VRING_BASE, the connection thread
// and SIGTERM with it. Past a fifth of the bound the worker cancels what is on its ring
// (a cancelled operation is answered with its error, ECANCELED); past four fifths it gives
// up on what is still in flight: those requests are never answered (no used entry: the
// guest's driver sees them as lost), and the guest memory they point into stays mapped
// for good, since the kernel may still write there. If the thread itself is stuck
// in a syscall (for this worker or one sharing it), stop() returns at the bound with
// abandoned() true: the owner must then release the worker, not delete it; once the
// thread comes back it touches neither ring nor guest memory again, and finished() says
// when it may be deleted.
#pragma once

#include <poll.h>
#include <stdint.h>

#include <atomic>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "memory/dirty_log.h"
#include "memory/guest_memory.h"
#include "queue/io_engine.h"
#include "queue/queue_thread.h"
#include "queue/request_handler.h"
#include "queue/thread_pool.h"
#include "util/event_notifier.h"
#include "util/unique_fd.h"
#include "vfs/wire/virtqueue_device.h"

namespace vfs::host {

// Requests in flight on one queue at most, whatever the ring size. Every slot is
// allocated up front (kMaxChainSegments segments, as many iovecs in the I/O engine, and
// the handler's per-slot state), and the ring size is the front-end's choice: one slot per
// ring entry would cost a 32768-entry ring ~138 MiB of segments alone. One worker thread gains
// nothing from more than a few hundred requests at once; 256 equals the worker's io_uring size and
// is above QEMU's default queue-size (128), so common rings still get one slot per entry. With the
// slots taken, the worker leaves chains in the ring and pops again as requests complete.
inline constexpr uint32_t kMaxInFlightPerQueue = 256;
// Requests one turn pops before the thread serves its other workers: a request ring the
// guest keeps full of requests answered inline (each frees its slot at once) must not
// starve the hiprio queue that shares its thread. As many as there are slots, so requests
// that go to the ring still fill every slot in one turn.
inline constexpr uint32_t kMaxPopsPerTurn = kMaxInFlightPerQueue;

struct QueueWorkerConfig {
    uint32_t queue_index = 0;
    uint32_t size = 0;
    vfs::wire::DeviceQueue::Rings rings;
    // Keeps the mappings the rings live in alive while the worker runs.
    std::shared_ptr<const memory::MemoryMap> ring_memory;
    uint16_t base = 0;
    bool event_idx = false;
    bool enabled = false;
    UniqueFd kick;  // the worker's own dup of the kick eventfd
    EventNotifier* call = nullptr;
    EventNotifier* err = nullptr;
    memory::MemoryHandle* memory = nullptr;
    // The migration's dirty log and where the used ring is logged (both optional): while
    // the log is active, every page the worker's requests wrote is marked when the request
    // completes (before its used entry exists), and the used ring after each publish.
    memory::DirtyLogHandle* dirty_log = nullptr;
    const memory::UsedRingLog* used_log = nullptr;
    RequestHandler* handler = nullptr;  // asked for this queue's QueueHandler at start()
    // How long the worker sleeps before re-scanning the ring without a kick (0: sleep
    // until woken). A kick can be lost where the platform drops the guest's fence (QEMU
    // before 8.1 under TCG with one vCPU); under EVENT_IDX the guest then never kicks that
    // queue again, and only a re-scan turns the stall into a short delay.
    uint32_t lost_kick_rescan_ms = 100;
    // --poll-us: once the ring is empty, the thread spins on it (and its partner's) for up
    // to this many microseconds, the guest's kicks off, before it sleeps (0: sleep at once).
    // Saves the cross-CPU wake-up of a synchronous request, at the cost of a busy CPU.
    uint32_t poll_us = 0;
    // Tests only: run on the thread when a spin ends without work, before notifications
    // are re-enabled (where a chain published unkicked must still be found).
    std::function<void()> spin_ended_for_test;
    // The most stop() waits for in-flight requests (see the top).
    uint32_t stop_timeout_ms = 5000;
    // Threads for the requests the handler offloads (queue/thread_pool.h); 0: none, every
    // request is served on the worker thread.
    unsigned thread_pool_size = 0;
    // A running worker whose thread this one joins (nullptr, or a thread that has ended:
    // a thread of its own). Only read by start().
    QueueWorker* share_thread_with = nullptr;
};

class QueueWorker final : private QueueContext {
  public:
    static vfs::wire::Result<std::unique_ptr<QueueWorker>> start(QueueWorkerConfig config);
    ~QueueWorker();
    QueueWorker(const QueueWorker&) = delete;
    QueueWorker& operator=(const QueueWorker&) = delete;

    // SET_VRING_ENABLE: a disabled ring keeps its kicks but pops nothing.
    void set_enabled(bool enabled);
    // Stops popping, waits for in-flight requests (those on the thread pool too; at most
    // stop_timeout_ms), publishes their
    // used entries, joins the thread and returns the next available index to resume from.
    uint16_t stop();
    bool broken() const { return broken_.load(std::memory_order_acquire); }
    // stop() gave up on a worker thread stuck in a syscall (see the top).
    bool abandoned() const { return abandoned_.load(std::memory_order_acquire); }
    // The thread has let the worker go: an abandoned worker may be deleted now.
    bool finished() const;
    // The thread serving this worker (shared with another worker when they share).
    const QueueThread* thread() const { return thread_.get(); }

  private:
    friend class QueueThread;
    // pollfds one worker adds to its thread's wait: control, kick, ring.
    static constexpr size_t kMaxPollFds = 3;

    explicit QueueWorker(QueueWorkerConfig config);

    // On the thread, one turn: pops, serves and publishes; true when the worker is done
    // (stopped with nothing in flight, or given up on) and leaves the thread.
    bool turn();
    // On the thread, once turn() said done: the last publish and the log.
    void finish();
    // On the thread, before its wait: submits queued ring operations; true when
    // completions are ready (the thread then reaps instead of sleeping).
    bool submit_io();
    // The fds this worker's wait watches, written at all[at]; how many.
    size_t add_poll_fds(pollfd* all, size_t at);
    // The longest the worker may sleep from now_ms (ms; -1: until woken).
    int poll_timeout_ms(int64_t now_ms) const;
    // The poll's results for the fds add_poll_fds wrote into `all` (timed_out: nothing
    // fired at all).
    void take_poll_events(const pollfd* all, bool timed_out);
    // Runs the completions of this worker's ring operations.
    void reap();
    // Before a spin: kicks off for this worker too, so its ring is watched without them.
    void begin_spin();
    // Spinning (--poll-us): whether anything wants a turn: a chain on the ring, a
    // completion, a control request (stop, enable, pool), a stop.
    bool spin_sees_work() const;
    // Before sleeping: kicks back on where a spin left them off, and the ring re-checked;
    // true when work came in meanwhile (the worker is then due).
    bool rearm_kicks();
    // The thread let go of the worker: stop() may return, the worker may be freed.
    void left_thread();
    void process_available();
    void publish_used();
    void refresh_memory();
    void on_completion(const IoCompletion& c);
    void take_kick();
    void drain_control();
    // Completes and publishes the slots the pool has finished.
    void take_offloaded();
    void wake();
    // Once stopping with requests in flight: cancels, then gives up on, what will not end.
    bool give_up_on_stuck_requests();

    // QueueContext
    uint32_t queue_index() const override { return cfg_.queue_index; }
    void complete(RequestSlot& slot, uint32_t written) override;
    IoEngine& io() override { return *io_; }
    void mark_broken(const char* why) override;
    bool logging() const { return cfg_.dirty_log && cfg_.dirty_log->active(); }
    // The current log (refreshed when the connection replaced it), or nullptr.
    const memory::DirtyLog* current_log();
    // Marks the chain's writable buffers: every byte a reply or a READ may have written.
    void log_chain_writes(const RequestSlot& slot);
    // Marks the used ring (elements, idx, flags, avail_event) at its log address.
    void log_used_ring();
    bool others_waiting() const override;
    bool can_offload() const override { return pool_ != nullptr; }
    void offload(RequestSlot& slot) override;
    void wait_offloaded() override;

    QueueWorkerConfig cfg_;
    vfs::wire::DeviceQueue dq_;
    std::unique_ptr<IoEngine> io_;
    std::unique_ptr<QueueHandler> handler_;
    UniqueFd control_;  // eventfd: enable/stop requests from the connection
    std::shared_ptr<const memory::MemoryMap> mem_;
    uint64_t mem_generation_ = 0;
    std::shared_ptr<const memory::DirtyLog> log_;
    uint64_t log_generation_ = UINT64_MAX;
    bool marked_since_signal_ = false;  // for SET_LOG_FD's eventfd

    std::vector<RequestSlot> slots_;
    std::unique_ptr<vfs::wire::Segment[]> seg_storage_;
    std::vector<uint32_t> free_slots_;
    uint32_t in_flight_ = 0;
    bool rescanning_ = false;  // woken by the re-scan timeout, not by a kick or completion
    uint64_t lost_kicks_ = 0;  // re-scans that found work: kicks the guest did not send
    size_t poll_at_ = 0;       // where add_poll_fds put this worker's fds in the thread's set
    bool polled_kick_ = false;
    bool polled_ring_ = false;
    bool kicks_off_ = false;  // process_available left kicks suppressed for a spin
    bool popped_ = false;     // popped a chain since the thread's last spin decision
    // A control request (wake()) came: a spin gives way to the wait that reads it.
    std::atomic<bool> poked_{false};
    // Something may be there for turn(): one of its fds fired, the wait timed out or was
    // skipped, or it just joined. A worker sharing a thread is not scanned on the other's
    // wake-ups (a scan re-arms notifications: a fence and the ring's cache lines).
    bool due_ = true;
    uint32_t skipped_ = 0;  // turns of the thread this worker sat out
    // When the lost-kick re-scan is next due (ms, CLOCK_MONOTONIC): lost_kick_rescan_ms
    // after the worker's last scan, whatever its partner does.
    int64_t rescan_at_ms_ = 0;
    // Whether this turn scans the worker: when due_, while it stops (give_up_on_stuck_requests
    // watches the clock), every 64th turn, and once its re-scan time has come, so a lost kick
    // (see lost_kick_rescan_ms) is found within that time even while a partner's wake-ups keep
    // the wait from timing out (and within 64 of them, whichever is sooner).
    bool take_due(int64_t now_ms) {
        const bool rescan = cfg_.lost_kick_rescan_ms != 0 && now_ms >= rescan_at_ms_;
        if (due_ || rescan || ++skipped_ >= 64 || stopping_.load(std::memory_order_relaxed)) {
            if (rescan && !due_) rescanning_ = true;
            skipped_ = 0;
            if (cfg_.lost_kick_rescan_ms != 0) rescan_at_ms_ = now_ms + cfg_.lost_kick_rescan_ms;
            return true;
        }
        return false;
    }

    std::atomic<bool> enabled_{false};
    std::atomic<bool> stopping_{false};
    std::atomic<bool> broken_{false};
    std::atomic<bool> abandoned_{false};
    std::atomic<uint16_t> next_avail_{0};  // for stop() when the thread cannot be joined
    // When stop() was called: the give-up clock runs from there, not from when a thread
    // busy with a partner's request first saw the stop.
    std::atomic<int64_t> stop_called_ms_{-1};
    bool cancel_sent_ = false;
    // Shared with the thread, so an abandoned worker's exit never touches freed memory.
    struct Exit {
        std::mutex mu;
        std::condition_variable cv;
        bool done = false;
    };
    std::shared_ptr<Exit> exit_ = std::make_shared<Exit>();
    // Declared after the slots and the handler its jobs use, so it is gone (its threads
    // joined) before them. Its jobs count in in_flight_, so stop() waits for them.
    std::unique_ptr<ThreadPool> pool_;
    bool running_ = false;  // started and not yet stopped (connection thread only)
    // Last: its thread may still run this worker until it has left (stop()).
    std::shared_ptr<QueueThread> thread_;
};

}  // namespace vfs::host
