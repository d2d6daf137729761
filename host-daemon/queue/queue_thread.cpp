#include "queue/queue_thread.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>

#include <spdlog/spdlog.h>

#include "queue/queue_worker.h"

namespace vfs::host {

namespace {

int64_t now_ns() {
    timespec t{};
    ::clock_gettime(CLOCK_MONOTONIC, &t);
    return int64_t{t.tv_sec} * 1000000000 + t.tv_nsec;
}

// How often a spin offers its CPU to other runnable tasks (sched_yield).
constexpr int64_t kSpinYieldNs = 5000;

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    asm volatile("yield" ::: "memory");
#endif
}

}  // namespace

vfs::wire::Result<std::shared_ptr<QueueThread>> QueueThread::start(QueueWorker* first) {
    std::shared_ptr<QueueThread> t(new QueueThread());
    const int efd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (efd < 0) return vfs::wire::Error{errno};
    t->wake_.reset(efd);
    // Attached before the thread exists, so it never sees itself without a worker.
    t->pending_.push_back(first);
    t->count_ = 1;
    t->thread_ = std::thread([self = t] { self->run(); });
    char name[16];
    snprintf(name, sizeof(name), "vfs-queue-%u", first->queue_index());
    pthread_setname_np(t->thread_.native_handle(), name);
    return t;
}

QueueThread::~QueueThread() {
    if (!thread_.joinable()) return;
    // The thread holds the last reference when an abandoned worker's was dropped first.
    if (thread_.get_id() == std::this_thread::get_id()) {
        thread_.detach();
    } else {
        thread_.join();
    }
}

bool QueueThread::attach(QueueWorker* worker) {
    {
        std::lock_guard<std::mutex> lock(mu_);
        if (ended_ || count_ == 0 || stuck()) return false;
        pending_.push_back(worker);
        ++count_;
        has_pending_.store(true, std::memory_order_release);
    }
    const uint64_t one = 1;
    [[maybe_unused]] ssize_t n = ::write(wake_.get(), &one, sizeof(one));
    return true;
}

void QueueThread::join_if_idle() {
    {
        std::lock_guard<std::mutex> lock(mu_);
        if (count_ != 0) return;
    }
    // count_ 0: the thread is on its way out of run() and takes no lock but mu_.
    if (thread_.joinable() && thread_.get_id() != std::this_thread::get_id()) thread_.join();
}

size_t QueueThread::workers() const {
    std::lock_guard<std::mutex> lock(mu_);
    return count_;
}

void QueueThread::leave(QueueWorker* worker) {
    {
        std::lock_guard<std::mutex> lock(mu_);
        --count_;  // before the worker's stop() can see it gone and ask to join
    }
    worker->left_thread();  // the worker may be freed from here on
}

void QueueThread::run() {
    std::vector<QueueWorker*> served;
    served.reserve(4);
    for (;;) {
        stuck_.store(false, std::memory_order_relaxed);  // back: whatever held it is over
        // The lock only when a worker was attached, or none is left: not once per wake-up.
        if (served.empty() || has_pending_.load(std::memory_order_acquire)) {
            std::lock_guard<std::mutex> lock(mu_);
            served.insert(served.end(), pending_.begin(), pending_.end());
            pending_.clear();
            has_pending_.store(false, std::memory_order_relaxed);
            if (count_ == 0) {
                ended_ = true;
                return;
            }
        }
        const int64_t now = now_ns() / 1000000;
        for (size_t i = 0; i < served.size();) {
            QueueWorker* w = served[i];
            if (w->take_due(now) && w->turn()) {
                w->finish();
                served.erase(served.begin() + static_cast<ptrdiff_t>(i));
                leave(w);
            } else {
                ++i;
            }
        }
        if (served.empty()) continue;  // pick up workers attached meanwhile, or end
        wait(served);
        for (QueueWorker* w : served)
            w->reap();
    }
}

// Kicks and control requests are read with plain system calls (see QueueWorker).
void QueueThread::wait(std::vector<QueueWorker*>& served) {
    bool ready = false;
    for (QueueWorker* w : served)
        if (w->submit_io()) ready = true;
    if (ready) {  // completions to reap first; the next turn scans every ring
        for (QueueWorker* w : served)
            w->due_ = true;
        return;
    }
    bool any_due = false;  // a turn stopped at kMaxPopsPerTurn: look, don't sleep
    for (QueueWorker* w : served)
        any_due = any_due || w->due_;
    if (!any_due && spin(served)) return;
    // Kicks back on (and each ring looked at once more) before the thread sleeps on them.
    for (QueueWorker* w : served)
        if (w->rearm_kicks()) any_due = true;
    // Every fd of every worker, then the thread's own.
    pollfd fds[QueueWorker::kMaxPollFds * 4 + 1];
    std::vector<pollfd> many;
    const size_t want = served.size() * QueueWorker::kMaxPollFds + 1;
    pollfd* p = fds;
    if (want > sizeof(fds) / sizeof(fds[0])) {
        many.resize(want);
        p = many.data();
    }
    nfds_t n = 0;
    int timeout = -1;
    const int64_t now = now_ns() / 1000000;
    for (QueueWorker* w : served) {
        n += w->add_poll_fds(p, n);
        const int t = w->poll_timeout_ms(now);
        if (t >= 0 && (timeout < 0 || t < timeout)) timeout = t;
    }
    if (any_due) timeout = 0;
    const nfds_t wake_at = n;
    p[n++] = {wake_.get(), POLLIN, 0};
    const int k = ::poll(p, n, timeout);
    if (k < 0) {
        const int e = errno;
        for (QueueWorker* w : served)
            w->due_ = true;
        if (e == EINTR) return;
        for (QueueWorker* w : served) {
            spdlog::error("queue {}: waiting for work failed: {}", w->queue_index(), strerror(e));
            w->mark_broken("wait failure");
        }
        // Nothing more can arrive; wait for the stops without spinning.
        timespec pause{0, 50 * 1000 * 1000};
        ::nanosleep(&pause, nullptr);
        return;
    }
    for (QueueWorker* w : served)
        w->take_poll_events(p, k == 0 && !any_due);
    if (p[wake_at].revents) {
        uint64_t v;
        [[maybe_unused]] ssize_t r = ::read(wake_.get(), &v, sizeof(v));
    }
}

}  // namespace vfs::host

namespace vfs::host {

// --poll-us: like vhost's busyloop, watch the rings (and what else would wake the thread)
// for up to the workers' poll_us before sleeping. The guest's kicks are off meanwhile, so
// a request costs it no exit and the thread no wake-up. Bounded by the clock; a pause per
// look keeps the sibling hyperthread and the bus quiet.
bool QueueThread::spin(std::vector<QueueWorker*>& served) {
    uint32_t us = 0;
    for (QueueWorker* w : served)
        us = std::max(us, w->cfg_.poll_us);
    if (us == 0) return false;
    // Only after requests: a wake-up that found none (a re-scan, a control request) goes
    // back to sleep at once, so an idle daemon does not spin on every re-scan timeout.
    bool after_requests = false;
    for (QueueWorker* w : served) {
        after_requests = after_requests || w->popped_;
        w->popped_ = false;
    }
    if (!after_requests) return false;
    for (QueueWorker* w : served)
        w->begin_spin();
    const int64_t start = now_ns(), deadline = start + int64_t{us} * 1000;
    int64_t yield_at = start + kSpinYieldNs;
    for (;;) {
        bool found = false;
        for (QueueWorker* w : served) {
            if (w->spin_sees_work()) {
                w->due_ = true;
                found = true;
            }
        }
        // A worker attached meanwhile is picked up by run().
        if (found || has_pending_.load(std::memory_order_acquire)) return true;
        const int64_t now = now_ns();
        if (now >= deadline) break;
        // vhost's busyloop stops when the CPU is wanted (need_resched); user space cannot
        // see that, so it offers the CPU every few microseconds: on a small machine the
        // task that would publish the next request (the guest's vCPU thread, a client)
        // may be waiting for this very CPU. With nothing else runnable it returns at once.
        if (now >= yield_at) {
            ::sched_yield();
            yield_at = now + kSpinYieldNs;
        }
        cpu_relax();
    }
    for (QueueWorker* w : served)
        if (w->cfg_.spin_ended_for_test) w->cfg_.spin_ended_for_test();
    return false;
}

}  // namespace vfs::host
