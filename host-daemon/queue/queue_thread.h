// The thread that serves one or more queue workers (queue/queue_worker.h): each turn it
// lets every attached worker pop, serve and publish, then sleeps in one poll over all of
// their kick, control and ring fds, so a kick on any of them wakes it.
//
// Why share: at queue depth 1 a LOOKUP (request queue) and its FORGET (high-priority
// queue) alternate; with a thread per queue both threads sleep and must be woken for every
// operation (1.9 voluntary context switches per LOOKUP+FORGET, docs/benchmarks.md issue
// 14). One thread for both finds the FORGET's kick while it is still awake from the LOOKUP.
// The device decides who shares (virtio_fs/virtio_fs_device.cpp): the high-priority queue
// and the first request queue.
//
// The connection thread attaches a worker when its ring starts; a worker leaves the thread
// when it stops (its own stop request, on its own control eventfd): the others go on being
// served. Once the last worker has left, the thread ends and the stop() that made it
// leave joins it. A thread stuck in a syscall for one worker holds up all of its workers:
// their stop() calls each give up at their bound (QueueWorker::abandoned), and the thread,
// once back, lets every abandoned worker leave without touching its ring again.
#pragma once

#include <stdint.h>

#include <atomic>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "util/unique_fd.h"
#include "vfs/wire/result.h"

namespace vfs::host {

class QueueWorker;

class QueueThread final : public std::enable_shared_from_this<QueueThread> {
  public:
    // A thread serving `first` (named after its queue); it runs until the last worker
    // attached has left.
    static vfs::wire::Result<std::shared_ptr<QueueThread>> start(QueueWorker* first);
    ~QueueThread();
    QueueThread(const QueueThread&) = delete;
    QueueThread& operator=(const QueueThread&) = delete;

    // Connection thread: the worker is served from the thread's next turn on. False when
    // the thread has already ended (its last worker left): the caller starts another.
    bool attach(QueueWorker* worker);
    // Connection thread, after a worker left: joins the thread if no worker is left.
    void join_if_idle();
    // How many workers are attached or about to be (for tests and the log).
    size_t workers() const;
    // A stop() gave up on a worker because this thread did not come back from a call:
    // until it does, attach() refuses (a restarted queue gets a thread of its own) and
    // the partner's stop() waits only briefly (QueueWorker::stop).
    void mark_stuck() { stuck_.store(true, std::memory_order_release); }
    bool stuck() const { return stuck_.load(std::memory_order_acquire); }

  private:
    QueueThread() = default;
    void run();
    // One poll over every worker's fds and the thread's own wake eventfd.
    void wait(std::vector<QueueWorker*>& served);
    // Spins on every worker's ring for up to their poll_us (0: not at all); true when
    // something wants a turn (the workers concerned are then due).
    bool spin(std::vector<QueueWorker*>& served);
    void leave(QueueWorker* worker);

    UniqueFd wake_;  // eventfd: a worker was attached
    mutable std::mutex mu_;
    std::vector<QueueWorker*> pending_;  // attached, not yet picked up by the thread
    std::atomic<bool> has_pending_{false};
    std::atomic<bool> stuck_{false};  // cleared by the thread each time round its loop
    size_t count_ = 0;                // attached or pending; the thread ends at 0
    bool ended_ = false;              // the thread saw count_ 0 and left run()
    std::thread thread_;
};

}  // namespace vfs::host
