#include "queue/queue_worker.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/uio.h>

#include <time.h>

#include <algorithm>
#include <chrono>

#include <spdlog/spdlog.h>

namespace vfs::host {

namespace {

// The completion of the worker's own cancel request (stop() on stuck ring I/O).
constexpr uint32_t kCancelCookie = 3;
constexpr unsigned kUringEntries = 256;
// While stopping, the worker looks at the clock at least this often.
constexpr uint32_t kStopPollMs = 50;

int64_t now_ms() {
    timespec t{};
    ::clock_gettime(CLOCK_MONOTONIC, &t);
    return int64_t{t.tv_sec} * 1000 + t.tv_nsec / 1000000;
}

// Guest memory that requests given up on point into: the kernel may still write there when
// their operations end, so it stays mapped for the life of the process (a deliberate,
// bounded leak: one map per stuck request).
void keep_mapped_forever(std::shared_ptr<const memory::MemoryMap> map) {
    static std::mutex mu;
    static auto* kept = new std::vector<std::shared_ptr<const memory::MemoryMap>>();
    std::lock_guard<std::mutex> lock(mu);
    kept->push_back(std::move(map));
}

}  // namespace

vfs::wire::Result<std::unique_ptr<QueueWorker>> QueueWorker::start(QueueWorkerConfig config) {
    if (!config.memory || !config.handler || !config.call || !config.err || !config.kick.valid())
        return vfs::wire::Error{EINVAL};
    std::unique_ptr<QueueWorker> w(new QueueWorker(std::move(config)));
    if (auto s = w->dq_.init(w->cfg_.size, w->cfg_.rings, w->cfg_.event_idx, w->cfg_.base); !s)
        return vfs::wire::Error{s.error()};
    const int efd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (efd < 0) return vfs::wire::Error{errno};
    w->control_.reset(efd);

    // Every request slot and its segment array up front, and the engine's and the
    // handler's state for each: nothing is allocated per request. Bounded by
    // kMaxInFlightPerQueue, not the ring size, which the front-end picks.
    const uint32_t n = std::min(w->cfg_.size, kMaxInFlightPerQueue);
    auto io = IoEngine::create(kUringEntries, n);
    if (!io) return vfs::wire::Error{io.error()};
    w->io_ = std::move(*io);
    w->handler_ = w->cfg_.handler->start_queue(w->cfg_.queue_index, n);
    if (!w->handler_) return vfs::wire::Error{ENOMEM};
    w->seg_storage_.reset(new vfs::wire::Segment[size_t{n} * kMaxChainSegments]);
    w->slots_.resize(n);
    w->free_slots_.reserve(n);
    for (uint32_t i = 0; i < n; ++i) {
        w->slots_[i].index = i;
        w->slots_[i].segs = &w->seg_storage_[size_t{i} * kMaxChainSegments];
        w->free_slots_.push_back(n - 1 - i);
    }
    if (w->cfg_.thread_pool_size > 0) {
        QueueWorker* raw = w.get();
        char name[16];
        snprintf(name, sizeof(name), "vfs-pool-q%u", raw->cfg_.queue_index);
        // More threads than slots would never all have work.
        auto pool = ThreadPool::start(
            std::min(w->cfg_.thread_pool_size, n), n,
            [raw](uint32_t slot) { return raw->handler_->run_offloaded(raw->slots_[slot]); },
            [raw] { raw->wake(); }, name);
        if (!pool) return vfs::wire::Error{pool.error()};
        w->pool_ = std::move(*pool);
    }
    w->enabled_.store(w->cfg_.enabled);
    w->mem_generation_ = w->cfg_.memory->generation();
    w->mem_ = w->cfg_.memory->get();
    w->next_avail_.store(w->cfg_.base);
    QueueWorker* partner = w->cfg_.share_thread_with;
    w->cfg_.share_thread_with = nullptr;
    w->running_ = true;
    if (partner && partner->thread_ && partner->thread_->attach(w.get())) {
        w->thread_ = partner->thread_;
        spdlog::info("queue {}: served on the thread of queue {}", w->cfg_.queue_index,
                     partner->cfg_.queue_index);
    } else {
        auto t = QueueThread::start(w.get());
        if (!t) {
            w->running_ = false;
            return vfs::wire::Error{t.error()};
        }
        w->thread_ = std::move(*t);
    }
    return w;
}

QueueWorker::QueueWorker(QueueWorkerConfig config) : cfg_(std::move(config)) {}

QueueWorker::~QueueWorker() {
    if (running_) stop();
}

void QueueWorker::wake() {
    poked_.store(true, std::memory_order_release);
    const uint64_t one = 1;
    [[maybe_unused]] ssize_t n = ::write(control_.get(), &one, sizeof(one));
}

void QueueWorker::set_enabled(bool enabled) {
    enabled_.store(enabled, std::memory_order_release);
    wake();
}

uint16_t QueueWorker::stop() {
    if (!running_) return next_avail_.load(std::memory_order_acquire);
    running_ = false;
    stop_called_ms_.store(now_ms(), std::memory_order_release);
    stopping_.store(true, std::memory_order_release);
    wake();
    {
        // A thread a stop already gave up on is still in its call: waiting the whole bound
        // again would only add up (GET_VRING_BASE of both queues, 2x the bound).
        const uint32_t bound = thread_->stuck()
                                   ? std::min<uint32_t>(cfg_.stop_timeout_ms, kStopPollMs)
                                   : cfg_.stop_timeout_ms;
        std::unique_lock<std::mutex> lock(exit_->mu);
        if (!exit_->cv.wait_for(lock, std::chrono::milliseconds(bound),
                                [this] { return exit_->done; })) {
            abandoned_.store(true, std::memory_order_release);
            thread_->mark_stuck();
            lock.unlock();
            spdlog::error(
                "queue {}: the worker is stuck in a syscall after {} ms of stopping; abandoned "
                "(its requests in flight are never answered)",
                cfg_.queue_index, bound);
            return next_avail_.load(std::memory_order_acquire);
        }
    }
    // The thread no longer touches this worker; it ends if no other worker is left on it.
    thread_->join_if_idle();
    // A job the turn gave up on may still be in a pool thread, running in this worker's
    // slots and handler: stop the pool within what is left of the bound, and if a job is
    // still stuck then, the worker is abandoned (kept, not freed, until finished()), so
    // GET_VRING_BASE is answered instead of the pool's destructor waiting without bound.
    if (pool_) {
        const int64_t waited = now_ms() - stop_called_ms_.load(std::memory_order_acquire);
        const int64_t left = std::max<int64_t>(int64_t{cfg_.stop_timeout_ms} - waited, kStopPollMs);
        if (!pool_->stop(static_cast<uint32_t>(left))) {
            abandoned_.store(true, std::memory_order_release);
            spdlog::error(
                "queue {}: a pool thread is stuck in a request after {} ms of stopping; "
                "abandoned (the worker is kept until it returns)",
                cfg_.queue_index, cfg_.stop_timeout_ms);
        }
    }
    return dq_.last_avail_idx();
}

bool QueueWorker::finished() const {
    std::lock_guard<std::mutex> lock(exit_->mu);
    return exit_->done && (!pool_ || pool_->idle());
}

void QueueWorker::left_thread() {
    std::shared_ptr<Exit> exit = exit_;  // `this` may be freed once done is seen
    std::lock_guard<std::mutex> lock(exit->mu);
    exit->done = true;
    exit->cv.notify_all();
}

bool QueueWorker::give_up_on_stuck_requests() {
    if (abandoned()) {  // stop() is long gone: leave at once, keeping what the kernel may touch
        for (RequestSlot& slot : slots_)
            if (slot.memory) keep_mapped_forever(std::move(slot.memory));
        return true;
    }
    const int64_t now = now_ms();
    int64_t since = stop_called_ms_.load(std::memory_order_acquire);
    if (since < 0) since = now;  // stopping without stop() (not done today): count from here
    const int64_t waited = now - since;
    if (!cancel_sent_ && waited >= cfg_.stop_timeout_ms / 5) {
        cancel_sent_ = true;
        spdlog::warn("queue {}: {} request(s) still in flight after {} ms of stopping: cancelling",
                     cfg_.queue_index, in_flight_, waited);
        io_->cancel_all(kCancelCookie);
    }
    if (waited < int64_t{cfg_.stop_timeout_ms} * 4 / 5) return false;
    spdlog::error("queue {}: giving up on {} request(s) stuck in I/O: they are never answered",
                  cfg_.queue_index, in_flight_);
    for (RequestSlot& slot : slots_)
        if (slot.memory) keep_mapped_forever(std::move(slot.memory));
    return true;
}

void QueueWorker::refresh_memory() {
    const uint64_t g = cfg_.memory->generation();
    if (g == mem_generation_) return;
    mem_generation_ = g;
    mem_ = cfg_.memory->get();
}

bool QueueWorker::turn() {
    due_ = false;
    // Before the state it stands for is read: a wake() after this sets it again.
    poked_.store(false, std::memory_order_relaxed);
    std::atomic_thread_fence(std::memory_order_seq_cst);
    const bool stopping = stopping_.load(std::memory_order_acquire);
    refresh_memory();
    take_offloaded();
    if (!stopping && enabled_.load(std::memory_order_acquire) && !broken()) {
        const uint16_t before = dq_.last_avail_idx();
        process_available();
        if (rescanning_ && dq_.last_avail_idx() != before) ++lost_kicks_;
    }
    publish_used();
    if (stopping && in_flight_ == 0) return true;
    return stopping && give_up_on_stuck_requests();
}

void QueueWorker::finish() {
    // A stop during a spin: kicks back on for whoever serves the ring next (another
    // backend waits for a kick before it looks); publish_used() then logs the write.
    if (kicks_off_ && !abandoned()) {
        (void)dq_.enable_notifications();
        kicks_off_ = false;
    }
    publish_used();
    if (lost_kicks_ != 0)
        spdlog::info("queue {}: {} time(s) the re-scan found requests no kick announced",
                     cfg_.queue_index, lost_kicks_);
    const IoStats& st = io_->stats();
    spdlog::debug(
        "queue {}: reads {} inline, {} waited for inline, {} with {} bytes left for the ring; "
        "writes {} inline; {} data operations on the ring",
        cfg_.queue_index, st.reads_inline, st.reads_waited, st.reads_on_ring, st.read_bytes_on_ring,
        st.writes_inline, st.ops_on_ring);
}

bool QueueWorker::submit_io() {
    rescanning_ = false;
    if (const int r = io_->submit(); r < 0 && r != -EAGAIN && r != -EBUSY && r != -EINTR) {
        spdlog::error("queue {}: submitting to the ring failed: {}", cfg_.queue_index,
                      strerror(-r));
        mark_broken("wait failure");
    }
    return io_->completions_ready();
}

// The kick and control eventfds are read with plain system calls, not through the ring:
// a ring read of an eventfd costs a submission, a poll armed in the kernel and task work
// per kick, and Valgrind (3.19) holds its scheduler lock across io_uring_enter, so a thread
// sleeping there stalls every other thread of a daemon run under callgrind.
size_t QueueWorker::add_poll_fds(pollfd* all, size_t at) {
    poll_at_ = at;
    pollfd* fds = all + at;
    size_t n = 0;
    fds[n++] = {control_.get(), POLLIN, 0};
    // A broken queue only drains; a stopping one pops nothing, and must not read a kick
    // its successor (a dup of the same eventfd) is waiting for.
    polled_kick_ = !broken() && !stopping_.load(std::memory_order_acquire);
    if (polled_kick_) fds[n++] = {cfg_.kick.get(), POLLIN, 0};
    polled_ring_ = io_->outstanding() > 0;
    if (polled_ring_) fds[n++] = {io_->ring_fd(), POLLIN, 0};
    return n;
}

int QueueWorker::poll_timeout_ms(int64_t now_ms) const {
    // Bounded by the worker's next re-scan (see QueueWorkerConfig::lost_kick_rescan_ms): a
    // lost kick costs a delay, not the queue. Stopping, the worker keeps an eye on the clock
    // (give_up_on_stuck_requests).
    int timeout = -1;
    if (cfg_.lost_kick_rescan_ms != 0)
        timeout = int(std::clamp<int64_t>(rescan_at_ms_ - now_ms, 0, cfg_.lost_kick_rescan_ms));
    if (stopping_.load(std::memory_order_acquire) && (timeout < 0 || timeout > int(kStopPollMs)))
        timeout = int(kStopPollMs);
    return timeout;
}

void QueueWorker::take_poll_events(const pollfd* all, bool timed_out) {
    const pollfd* fds = all + poll_at_;
    rescanning_ = timed_out;
    const size_t n = 1 + (polled_kick_ ? 1 : 0) + (polled_ring_ ? 1 : 0);
    for (size_t i = 0; i < n; ++i)
        if (fds[i].revents) due_ = true;
    if (timed_out) due_ = true;
    if (fds[0].revents) drain_control();
    if (polled_kick_ && fds[1].revents) take_kick();
}

void QueueWorker::reap() {
    // A completion frees a slot: chains the worker left in the ring for want of one (with
    // the guest's kicks off) are popped on the next turn.
    io_->reap([this](const IoCompletion& c) {
        due_ = true;
        on_completion(c);
    });
}

void QueueWorker::drain_control() {
    uint64_t v;
    [[maybe_unused]] ssize_t n = ::read(control_.get(), &v, sizeof(v));
}

void QueueWorker::take_kick() {
    // RWF_NOWAIT: never block on a kick fd another reader drained after the poll, without
    // changing the flags of a file description the front-end shares.
    uint64_t v = 0;
    iovec iov{&v, sizeof(v)};
    const ssize_t n = ::preadv2(cfg_.kick.get(), &iov, 1, -1, RWF_NOWAIT);
    // An eventfd read is exactly 8 bytes. Anything else means the fd is not an eventfd:
    // a regular file reads 0 bytes at once, forever, and polling on that would spin this
    // thread at 100% CPU.
    if (n == static_cast<ssize_t>(sizeof(v))) return;
    if (n < 0 && errno == EAGAIN) return;  // nothing there after all: the scan costs nothing
    if (n < 0) {
        spdlog::error("queue {}: reading the kick eventfd failed: {}", cfg_.queue_index,
                      strerror(errno));
        mark_broken("kick eventfd unreadable");
    } else {
        spdlog::error("queue {}: the kick fd read {} bytes, not 8: not an eventfd",
                      cfg_.queue_index, n);
        mark_broken("kick fd is not an eventfd");
    }
}

void QueueWorker::on_completion(const IoCompletion& c) {
    if (!c.for_slot || c.slot >= slots_.size()) return;
    handler_->on_io_complete(*this, slots_[c.slot], c.cookie, c.result);
    publish_used();  // as in process_available: no reply waits for its batch
}

void QueueWorker::process_available() {
    auto translate = [this](uint64_t addr, uint64_t len) -> uint8_t* {
        return mem_->translate_gpa(addr, len);
    };
    uint32_t popped_this_turn = 0;
    for (;;) {
        dq_.disable_notifications();
        while (!free_slots_.empty()) {
            if (popped_this_turn == kMaxPopsPerTurn) {
                due_ = true;  // notifications stay off: the thread comes back without a kick
                return;
            }
            RequestSlot& slot = slots_[free_slots_.back()];
            auto popped = dq_.pop(translate, slot.segs, kMaxChainSegments, &slot.chain);
            if (!popped) {
                spdlog::error("queue {}: malformed descriptor chain at avail index {}: {}",
                              cfg_.queue_index, dq_.last_avail_idx(), strerror(popped.error()));
                mark_broken("malformed chain");
                return;
            }
            if (!*popped) break;
            free_slots_.pop_back();
            ++in_flight_;
            ++popped_this_turn;
            popped_ = true;
            next_avail_.store(dq_.last_avail_idx(), std::memory_order_release);
            slot.memory = mem_;
            handler_->handle(*this, slot);
            if (broken() || stopping_.load(std::memory_order_acquire)) return;
            // Publish each reply as soon as it exists: a guest waiting for it starts on it
            // (and refills the ring) while we serve the rest, instead of idling until the
            // whole batch is done. Event idx still limits the signals to one per guest
            // wake-up, so this costs a store and a fence per request, not a syscall.
            publish_used();
        }
        // Out of slots: completions will call us again; keep the guest from kicking.
        if (free_slots_.empty()) return;
        if (cfg_.poll_us != 0) {
            // The thread spins on the ring next: no kicks until it gives up (rearm_kicks).
            dq_.suppress_kicks();
            kicks_off_ = true;
            return;
        }
        if (!dq_.enable_notifications()) return;
    }
}

bool QueueWorker::spin_sees_work() const {
    if (poked_.load(std::memory_order_acquire) || stopping_.load(std::memory_order_acquire))
        return true;
    if (io_->outstanding() != 0 && io_->completions_ready()) return true;
    if (!kicks_off_) return false;
    const auto pending = dq_.pending();
    return !pending.ok() || *pending != 0;
}

void QueueWorker::begin_spin() {
    // A partner not scanned this turn still has its kicks on: its ring is watched too.
    if (kicks_off_ || broken() || stopping_.load(std::memory_order_acquire) ||
        !enabled_.load(std::memory_order_acquire))
        return;
    dq_.suppress_kicks();
    kicks_off_ = true;
}

bool QueueWorker::rearm_kicks() {
    if (!kicks_off_) return false;
    kicks_off_ = false;
    if (abandoned()) return false;  // the ring may be someone else's by now
    if (!dq_.enable_notifications()) return false;
    due_ = true;
    return true;
}

bool QueueWorker::others_waiting() const {
    if (in_flight_ > 1) return true;  // this request counts itself
    const auto pending = dq_.pending();
    return !pending.ok() || *pending != 0;
}

void QueueWorker::offload(RequestSlot& slot) {
    // The pool has room for every slot, so this only runs inline if the pool is missing.
    if (!pool_ || !pool_->submit(slot.index)) complete(slot, handler_->run_offloaded(slot));
}

void QueueWorker::wait_offloaded() {
    if (pool_) pool_->wait_idle();
}

void QueueWorker::take_offloaded() {
    if (!pool_) return;
    pool_->take_finished([this](uint32_t slot, uint32_t written) {
        complete(slots_[slot], written);
        publish_used();  // as in process_available: no reply waits for its batch
    });
}

void QueueWorker::publish_used() {
    if (abandoned()) return;  // the ring may be someone else's by now
    const bool wants_call = dq_.flush();
    // After the writes (elements, idx, and the flags or avail_event set since the last
    // publish): a page marked before it is written could be copied before the write.
    if (logging()) log_used_ring();
    if (wants_call) cfg_.call->signal();
}

const memory::DirtyLog* QueueWorker::current_log() {
    const uint64_t g = cfg_.dirty_log->generation();
    if (g != log_generation_) {
        log_generation_ = g;
        log_ = cfg_.dirty_log->get();
    }
    return log_.get();
}

void QueueWorker::log_chain_writes(const RequestSlot& slot) {
    const memory::DirtyLog* log = current_log();
    if (!log || !slot.memory) return;
    // The whole writable part, not just the reply's length: a failed READ may have filled
    // some of its buffers before the error, and an extra page costs a resend, a missed
    // one the data.
    const vfs::wire::Segment* w = slot.chain.writable();
    for (uint32_t i = 0; i < slot.chain.n_writable; ++i) {
        uint64_t gpa = 0;
        if (slot.memory->gpa_of(w[i].data, w[i].len, &gpa)) log->mark(gpa, w[i].len);
    }
    marked_since_signal_ = true;
}

void QueueWorker::log_used_ring() {
    const memory::DirtyLog* log = current_log();
    uint64_t gpa = 0;
    if (log && cfg_.used_log && cfg_.used_log->get(&gpa)) {
        log->mark(gpa, vfs::wire::used_ring_bytes(cfg_.size));
        marked_since_signal_ = true;
    }
    if (marked_since_signal_) {
        marked_since_signal_ = false;
        cfg_.dirty_log->log_call().signal();
    }
}

void QueueWorker::complete(RequestSlot& slot, uint32_t written) {
    if (abandoned()) return;
    // Every writer of this request's guest buffers (the reply writer, inline and io_uring
    // READs, a pool thread) is done by now: one place marks them all, before the used
    // entry is pushed.
    if (logging()) log_chain_writes(slot);
    // The handler promised never to report more than the chain's writable bytes; clamp so
    // a handler bug can never claim bytes the guest did not give us.
    const uint64_t cap = slot.chain.writable_bytes;
    dq_.push(slot.chain.head, written <= cap ? written : static_cast<uint32_t>(cap));
    slot.memory.reset();
    free_slots_.push_back(slot.index);
    --in_flight_;
}

void QueueWorker::mark_broken(const char* why) {
    if (broken_.exchange(true)) return;
    spdlog::error("queue {}: marked broken ({}); it serves nothing until restarted",
                  cfg_.queue_index, why);
    cfg_.err->signal();
}

}  // namespace vfs::host
