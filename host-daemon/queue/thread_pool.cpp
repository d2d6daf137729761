#include "queue/thread_pool.h"

#include <errno.h>
#include <pthread.h>

#include <system_error>

namespace vfs::host {

vfs::wire::Result<std::unique_ptr<ThreadPool>> ThreadPool::start(unsigned threads,
                                                                 uint32_t capacity, Work work,
                                                                 Notify notify, const char* name) {
    if (threads == 0 || capacity == 0 || !work || !notify) return vfs::wire::Error{EINVAL};
    std::unique_ptr<ThreadPool> p(new ThreadPool(capacity, std::move(work), std::move(notify)));
    p->threads_.reserve(threads);
    try {
        for (unsigned i = 0; i < threads; ++i) {
            p->threads_.emplace_back([raw = p.get()] { raw->run(); });
            pthread_setname_np(p->threads_.back().native_handle(), name);
        }
    } catch (const std::system_error& e) {
        // The threads already running see stopping_ and end in the destructor.
        return vfs::wire::Error{e.code().value() ? e.code().value() : EAGAIN};
    }
    return p;
}

ThreadPool::ThreadPool(uint32_t capacity, Work work, Notify notify)
    : capacity_(capacity), work_(std::move(work)), notify_(std::move(notify)), queued_(capacity) {
    finished_.reserve(capacity);
    taking_.reserve(capacity);
}

ThreadPool::~ThreadPool() {
    {
        std::lock_guard<std::mutex> lock(mu_);
        stopping_ = true;
    }
    work_cv_.notify_all();
    for (auto& t : threads_)
        t.join();
}

bool ThreadPool::submit(uint32_t job) {
    {
        std::lock_guard<std::mutex> lock(mu_);
        if (outstanding_ == capacity_) return false;
        queued_[(head_ + queued_count_) % capacity_] = job;
        ++queued_count_;
        ++outstanding_;
    }
    work_cv_.notify_one();
    return true;
}

void ThreadPool::wait_idle() {
    std::unique_lock<std::mutex> lock(mu_);
    idle_cv_.wait(lock, [this] { return queued_count_ == 0 && running_ == 0; });
}

void ThreadPool::run() {
    std::unique_lock<std::mutex> lock(mu_);
    for (;;) {
        // Stopping still drains the queue: every submitted job gets its result.
        work_cv_.wait(lock, [this] { return queued_count_ > 0 || stopping_; });
        if (queued_count_ == 0) return;
        const uint32_t job = queued_[head_];
        head_ = (head_ + 1) % capacity_;
        --queued_count_;
        ++running_;
        lock.unlock();
        const uint32_t result = work_(job);
        lock.lock();
        finished_.emplace_back(job, result);  // within the reserved capacity
        --running_;
        const bool idle = queued_count_ == 0 && running_ == 0;
        lock.unlock();
        if (idle) idle_cv_.notify_all();
        notify_();
        lock.lock();
    }
}

}  // namespace vfs::host
