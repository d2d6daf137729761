// A fixed pool of threads for one queue's blocking requests (--thread-pool-size=N): a
// metadata call on a slow file system (a network share, a cold disk) waits on a pool
// thread while the queue's worker goes on popping and serving the rest.
//
// Jobs are small integers (the worker's request slot indices) and results are reply
// lengths, so nothing is allocated per job: the queue and the list of finished jobs are
// sized for `capacity` jobs when the pool starts. `work` runs on a pool thread; `notify`
// runs there too, after each job's result is recorded, and only has to wake the owner,
// which then collects the results on its own thread with take_finished().
//
// Stopping lets every submitted job run to its end before the threads are joined; a job
// stuck in a call (a hung mount) bounds it: stop(bound) gives up on the threads still in
// a job at the bound and detaches them. What such a thread touches afterwards must stay
// valid: the pool's own state is shared with its threads (it outlives the pool object),
// a given-up thread starts no further job and never calls `notify` again, but the job it
// is in runs on in `work`, whose memory is the owner's: an owner that gives up must keep
// that alive until idle() (as QueueWorker keeps an abandoned worker). The destructor
// stops with the bound given at start; 0 (the default) waits for the jobs without bound,
// logging each time another bound's worth has passed, for owners whose jobs' memory dies
// with them.
#pragma once

#include <stdint.h>

#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

#include "vfs/wire/result.h"

namespace vfs::host {

class ThreadPool {
  public:
    using Work = std::function<uint32_t(uint32_t job)>;
    using Notify = std::function<void()>;

    // `threads` threads (at least 1) for at most `capacity` jobs submitted and not yet
    // taken back. `name` (15 characters at most) names the threads for ps and gdb.
    // `give_up_ms`: the destructor's bound (see the top); 0 waits without bound.
    static vfs::wire::Result<std::unique_ptr<ThreadPool>> start(unsigned threads, uint32_t capacity,
                                                                Work work, Notify notify,
                                                                const char* name = "vfs-pool",
                                                                uint32_t give_up_ms = 0);
    ~ThreadPool();
    ThreadPool(const ThreadPool&) = delete;
    ThreadPool& operator=(const ThreadPool&) = delete;

    // Queues a job for the next free thread; false (nothing queued) if `capacity` jobs
    // are already outstanding, or the pool stopped.
    bool submit(uint32_t job);

    // Calls f(job, result) on the caller's thread for every job finished since the last
    // call, in the order they finished; returns how many.
    template <class F>
    uint32_t take_finished(F&& f);

    // Blocks until no job is queued or running (finished ones may wait to be taken).
    void wait_idle();
    // No job queued or running, and no thread a stop gave up on still in its job.
    bool idle() const;

    // Stops: every queued job still runs, then the threads end and are joined. True if
    // they all ended within bound_ms (0: no bound); false if some thread was still in a
    // job then: those are detached (see the top). Once only; later calls return the first
    // answer.
    bool stop(uint32_t bound_ms);

    unsigned threads() const { return thread_count_; }

  private:
    // Everything a pool thread touches: shared with the threads, so one given up on and
    // detached still finds it after the ThreadPool is gone.
    struct State {
        State(uint32_t capacity, Work work, Notify notify);
        const uint32_t capacity;
        const Work work;
        const Notify notify;

        mutable std::mutex mu;
        std::condition_variable work_cv;  // a job was queued, or the pool is stopping
        std::condition_variable idle_cv;  // the last queued or running job finished
        std::condition_variable exit_cv;  // a thread ended, or a notify call returned
        std::vector<uint32_t> queued;     // a ring of capacity entries
        uint32_t head = 0;
        uint32_t queued_count = 0;
        uint32_t running = 0;
        uint32_t outstanding = 0;  // queued + running + finished and not yet taken
        std::vector<std::pair<uint32_t, uint32_t>> finished;  // (job, result), reserved
        std::vector<std::pair<uint32_t, uint32_t>> taking;    // swapped with finished
        bool stopping = false;
        bool given_up = false;   // stop() gave up: start nothing, notify nobody
        unsigned alive = 0;      // threads not yet ended
        unsigned notifying = 0;  // threads inside `notify` now
    };

    ThreadPool(uint32_t capacity, Work work, Notify notify, uint32_t give_up_ms);
    static void run(const std::shared_ptr<State>& s);

    const std::shared_ptr<State> s_;
    const uint32_t give_up_ms_;
    std::vector<std::thread> threads_;
    unsigned thread_count_ = 0;
    bool stopped_ = false;
    bool stop_result_ = true;
};

template <class F>
uint32_t ThreadPool::take_finished(F&& f) {
    State& s = *s_;
    {
        std::lock_guard<std::mutex> lock(s.mu);
        if (s.finished.empty()) return 0;
        s.finished.swap(s.taking);  // both keep their reserved capacity: no allocation
    }
    const auto n = static_cast<uint32_t>(s.taking.size());
    for (const auto& [job, result] : s.taking)
        f(job, result);
    s.taking.clear();
    std::lock_guard<std::mutex> lock(s.mu);
    s.outstanding -= n;
    return n;
}

}  // namespace vfs::host
