#include "queue/thread_pool.h"

#include <errno.h>
#include <pthread.h>

#include <chrono>
#include <system_error>

#include <spdlog/spdlog.h>

namespace vfs::host {

vfs::wire::Result<std::unique_ptr<ThreadPool>> ThreadPool::start(unsigned threads,
                                                                 uint32_t capacity, Work work,
                                                                 Notify notify, const char* name,
                                                                 uint32_t give_up_ms) {
    if (threads == 0 || capacity == 0 || !work || !notify) return vfs::wire::Error{EINVAL};
    std::unique_ptr<ThreadPool> p(
        new ThreadPool(capacity, std::move(work), std::move(notify), give_up_ms));
    p->threads_.reserve(threads);
    try {
        for (unsigned i = 0; i < threads; ++i) {
            {
                std::lock_guard<std::mutex> lock(p->s_->mu);
                ++p->s_->alive;  // before the thread exists: it may end at once
            }
            try {
                p->threads_.emplace_back([s = p->s_] { run(s); });
            } catch (...) {
                std::lock_guard<std::mutex> lock(p->s_->mu);
                --p->s_->alive;
                throw;
            }
            ++p->thread_count_;
            pthread_setname_np(p->threads_.back().native_handle(), name);
        }
    } catch (const std::system_error& e) {
        // The threads already running see stopping and end in the destructor.
        return vfs::wire::Error{e.code().value() ? e.code().value() : EAGAIN};
    }
    return p;
}

ThreadPool::State::State(uint32_t cap, Work w, Notify n)
    : capacity(cap), work(std::move(w)), notify(std::move(n)), queued(cap) {
    finished.reserve(cap);
    taking.reserve(cap);
}

ThreadPool::ThreadPool(uint32_t capacity, Work work, Notify notify, uint32_t give_up_ms)
    : s_(std::make_shared<State>(capacity, std::move(work), std::move(notify))),
      give_up_ms_(give_up_ms) {}

ThreadPool::~ThreadPool() {
    stop(give_up_ms_);
}

bool ThreadPool::stop(uint32_t bound_ms) {
    if (stopped_) return stop_result_;
    stopped_ = true;
    State& s = *s_;
    std::unique_lock<std::mutex> lock(s.mu);
    s.stopping = true;
    s.work_cv.notify_all();
    const auto ended = [&] { return s.alive == 0; };
    if (bound_ms == 0) {
        // No bound: the jobs' memory dies with the owner. Say so while it lasts.
        constexpr auto kLogEvery = std::chrono::seconds(10);
        for (unsigned waited = 0; !s.exit_cv.wait_for(lock, kLogEvery, ended);) {
            waited += 10;
            spdlog::error(
                "thread pool: {} thread(s) still in a job after {} s of stopping "
                "(a call that does not return); waiting for them",
                s.alive, waited);
        }
    } else if (!s.exit_cv.wait_for(lock, std::chrono::milliseconds(bound_ms), ended)) {
        s.given_up = true;
        // A notify under way finishes first: the owner may be gone once we return.
        s.exit_cv.wait(lock, [&] { return s.notifying == 0; });
        spdlog::error(
            "thread pool: {} thread(s) still in a job after {} ms of stopping: "
            "given up on (detached; they start nothing more)",
            s.alive, bound_ms);
        lock.unlock();
        for (auto& t : threads_)
            t.detach();
        threads_.clear();
        stop_result_ = false;
        return false;
    }
    lock.unlock();
    for (auto& t : threads_)
        t.join();
    threads_.clear();
    return true;
}

bool ThreadPool::submit(uint32_t job) {
    State& s = *s_;
    {
        std::lock_guard<std::mutex> lock(s.mu);
        if (s.outstanding == s.capacity || s.stopping) return false;
        s.queued[(s.head + s.queued_count) % s.capacity] = job;
        ++s.queued_count;
        ++s.outstanding;
    }
    s.work_cv.notify_one();
    return true;
}

void ThreadPool::wait_idle() {
    State& s = *s_;
    std::unique_lock<std::mutex> lock(s.mu);
    s.idle_cv.wait(lock, [&] { return s.queued_count == 0 && s.running == 0; });
}

bool ThreadPool::idle() const {
    std::lock_guard<std::mutex> lock(s_->mu);
    return s_->queued_count == 0 && s_->running == 0;
}

void ThreadPool::run(const std::shared_ptr<State>& sp) {
    State& s = *sp;
    std::unique_lock<std::mutex> lock(s.mu);
    for (;;) {
        // Stopping still drains the queue: every submitted job gets its result. Once
        // given up on, nothing more is started.
        s.work_cv.wait(lock, [&] { return s.queued_count > 0 || s.stopping; });
        if (s.queued_count == 0 || s.given_up) break;
        const uint32_t job = s.queued[s.head];
        s.head = (s.head + 1) % s.capacity;
        --s.queued_count;
        ++s.running;
        lock.unlock();
        const uint32_t result = s.work(job);
        lock.lock();
        s.finished.emplace_back(job, result);  // within the reserved capacity
        --s.running;
        const bool idle = s.queued_count == 0 && s.running == 0;
        if (idle) s.idle_cv.notify_all();
        if (s.given_up) break;  // the owner may be gone: no notify
        ++s.notifying;
        lock.unlock();
        s.notify();
        lock.lock();
        --s.notifying;
        s.exit_cv.notify_all();
    }
    --s.alive;
    s.exit_cv.notify_all();
}

}  // namespace vfs::host
