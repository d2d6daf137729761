// A fixed pool of threads for one queue's blocking requests (--thread-pool-size=N): a
// metadata call on a slow file system (a network share, a cold disk) waits on a pool
// thread while the queue's worker goes on popping and serving the rest.
//
// Jobs are small integers (the worker's request slot indices) and results are reply
// lengths, so nothing is allocated per job: the queue and the list of finished jobs are
// sized for `capacity` jobs when the pool starts. `work` runs on a pool thread; `notify`
// runs there too, after each job's result is recorded, and only has to wake the owner,
// which then collects the results on its own thread with take_finished(). The destructor
// lets every submitted job run to its end before it joins the threads.
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
    static vfs::wire::Result<std::unique_ptr<ThreadPool>> start(unsigned threads, uint32_t capacity,
                                                                Work work, Notify notify,
                                                                const char* name = "vfs-pool");
    ~ThreadPool();
    ThreadPool(const ThreadPool&) = delete;
    ThreadPool& operator=(const ThreadPool&) = delete;

    // Queues a job for the next free thread; false (nothing queued) if `capacity` jobs
    // are already outstanding.
    bool submit(uint32_t job);

    // Calls f(job, result) on the caller's thread for every job finished since the last
    // call, in the order they finished; returns how many.
    template <class F>
    uint32_t take_finished(F&& f);

    // Blocks until no job is queued or running (finished ones may wait to be taken).
    void wait_idle();

    unsigned threads() const { return static_cast<unsigned>(threads_.size()); }

  private:
    ThreadPool(uint32_t capacity, Work work, Notify notify);
    void run();

    const uint32_t capacity_;
    const Work work_;
    const Notify notify_;

    std::mutex mu_;
    std::condition_variable work_cv_;  // a job was queued, or the pool is stopping
    std::condition_variable idle_cv_;  // the last queued or running job finished
    std::vector<uint32_t> queued_;     // a ring of capacity_ entries
    uint32_t head_ = 0;
    uint32_t queued_count_ = 0;
    uint32_t running_ = 0;
    uint32_t outstanding_ = 0;  // queued + running + finished and not yet taken
    std::vector<std::pair<uint32_t, uint32_t>> finished_;  // (job, result), capacity_ reserved
    std::vector<std::pair<uint32_t, uint32_t>> taking_;    // swapped with finished_ to take
    bool stopping_ = false;
    std::vector<std::thread> threads_;
};

template <class F>
uint32_t ThreadPool::take_finished(F&& f) {
    {
        std::lock_guard<std::mutex> lock(mu_);
        if (finished_.empty()) return 0;
        finished_.swap(taking_);  // both keep their reserved capacity: no allocation
    }
    const auto n = static_cast<uint32_t>(taking_.size());
    for (const auto& [job, result] : taking_)
        f(job, result);
    taking_.clear();
    std::lock_guard<std::mutex> lock(mu_);
    outstanding_ -= n;
    return n;
}

}  // namespace vfs::host
