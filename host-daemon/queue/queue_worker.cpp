#include "queue/queue_worker.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>

#include <algorithm>

#include <spdlog/spdlog.h>

namespace vfs::host {

namespace {

// The worker's own eventfd reads on the engine's ring.
constexpr uint32_t kKickCookie = 1;
constexpr uint32_t kControlCookie = 2;
constexpr unsigned kUringEntries = 256;

}  // namespace

vfs::wire::Result<std::unique_ptr<QueueWorker>> QueueWorker::start(QueueWorkerConfig config) {
    if (!config.memory || !config.handler || !config.call || !config.err || !config.kick.valid())
        return vfs::wire::Error{EINVAL};
    std::unique_ptr<QueueWorker> w(new QueueWorker(std::move(config)));
    if (auto s = w->dq_.init(w->cfg_.size, w->cfg_.rings, w->cfg_.event_idx, w->cfg_.base); !s)
        return vfs::wire::Error{s.error()};
    const int efd = ::eventfd(0, EFD_CLOEXEC);
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
    w->thread_ = std::thread([raw = w.get()] { raw->run(); });
    return w;
}

QueueWorker::QueueWorker(QueueWorkerConfig config) : cfg_(std::move(config)) {}

QueueWorker::~QueueWorker() {
    if (thread_.joinable()) stop();
}

void QueueWorker::wake() {
    const uint64_t one = 1;
    [[maybe_unused]] ssize_t n = ::write(control_.get(), &one, sizeof(one));
}

void QueueWorker::set_enabled(bool enabled) {
    enabled_.store(enabled, std::memory_order_release);
    wake();
}

uint16_t QueueWorker::stop() {
    stopping_.store(true, std::memory_order_release);
    wake();
    if (thread_.joinable()) thread_.join();
    return dq_.last_avail_idx();
}

void QueueWorker::refresh_memory() {
    const uint64_t g = cfg_.memory->generation();
    if (g == mem_generation_) return;
    mem_generation_ = g;
    mem_ = cfg_.memory->get();
}

void QueueWorker::run() {
    kick_armed_ = io_->read_eventfd(cfg_.kick.get(), &kick_buf_, kKickCookie);
    control_armed_ = io_->read_eventfd(control_.get(), &control_buf_, kControlCookie);
    for (;;) {
        // A read that found no free SQE is armed now, before the worker sleeps on it.
        if (!kick_armed_ && !broken())
            kick_armed_ = io_->read_eventfd(cfg_.kick.get(), &kick_buf_, kKickCookie);
        if (!control_armed_)
            control_armed_ = io_->read_eventfd(control_.get(), &control_buf_, kControlCookie);
        const bool stopping = stopping_.load(std::memory_order_acquire);
        refresh_memory();
        take_offloaded();
        if (!stopping && enabled_.load(std::memory_order_acquire) && !broken()) {
            const uint16_t before = dq_.last_avail_idx();
            process_available();
            if (rescanning_ && dq_.last_avail_idx() != before) ++lost_kicks_;
        }
        publish_used();
        if (stopping && in_flight_ == 0) break;

        // Bounded by lost_kick_rescan_ms (see QueueWorkerConfig): a lost kick costs a
        // delay, not the queue.
        const int r = io_->submit_and_wait(cfg_.lost_kick_rescan_ms);
        rescanning_ = r == -ETIME;
        if (r < 0 && r != -EINTR && r != -EAGAIN && r != -EBUSY && r != -ETIME) {
            spdlog::error("queue {}: io_uring wait failed: {}", cfg_.queue_index, strerror(-r));
            mark_broken("io_uring failure");
            if (in_flight_ == 0) {
                // Nothing more can arrive; wait for stop() without spinning.
                while (!stopping_.load(std::memory_order_acquire)) {
                    uint64_t v;
                    [[maybe_unused]] ssize_t n = ::read(control_.get(), &v, sizeof(v));
                }
                break;
            }
        }
        io_->reap([this](const IoCompletion& c) { on_completion(c); });
    }
    // The reads still pending on the kick and control eventfds are cancelled when the
    // engine's ring is torn down in the destructor.
    publish_used();
    if (lost_kicks_ != 0)
        spdlog::info("queue {}: {} time(s) the re-scan found requests no kick announced",
                     cfg_.queue_index, lost_kicks_);
    const IoStats& st = io_->stats();
    spdlog::debug(
        "queue {}: reads {} inline, {} with {} bytes left for the ring; writes {} "
        "inline; {} data operations on the ring",
        cfg_.queue_index, st.reads_inline, st.reads_on_ring, st.read_bytes_on_ring,
        st.writes_inline, st.ops_on_ring);
}

void QueueWorker::on_completion(const IoCompletion& c) {
    if (c.for_slot) {
        if (c.slot >= slots_.size()) return;
        handler_->on_io_complete(*this, slots_[c.slot], c.cookie, c.result);
        publish_used();  // as in process_available: no reply waits for its batch
        return;
    }
    if (c.cookie == kKickCookie) {
        kick_armed_ = false;
        // An eventfd read is exactly 8 bytes. Anything else means the fd is not an eventfd:
        // a regular file reads 0 bytes at once, forever, and re-arming on that would spin
        // this thread at 100% CPU.
        if (c.result == static_cast<int>(sizeof(kick_buf_))) {
            kick_armed_ = io_->read_eventfd(cfg_.kick.get(), &kick_buf_, kKickCookie);
        } else if (c.result < 0) {
            spdlog::error("queue {}: reading the kick eventfd failed: {}", cfg_.queue_index,
                          strerror(-c.result));
            mark_broken("kick eventfd unreadable");
        } else {
            spdlog::error("queue {}: the kick fd read {} bytes, not 8: not an eventfd",
                          cfg_.queue_index, c.result);
            mark_broken("kick fd is not an eventfd");
        }
    } else if (c.cookie == kControlCookie) {
        control_armed_ = io_->read_eventfd(control_.get(), &control_buf_, kControlCookie);
    }
}

void QueueWorker::process_available() {
    auto translate = [this](uint64_t addr, uint64_t len) -> uint8_t* {
        return mem_->translate_gpa(addr, len);
    };
    for (;;) {
        dq_.disable_notifications();
        while (!free_slots_.empty()) {
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
            slot.memory = mem_;
            handler_->handle(*this, slot);
            if (broken()) return;
            // Publish each reply as soon as it exists: a guest waiting for it starts on it
            // (and refills the ring) while we serve the rest, instead of idling until the
            // whole batch is done. Event idx still limits the signals to one per guest
            // wake-up, so this costs a store and a fence per request, not a syscall.
            publish_used();
        }
        // Out of slots: completions will call us again; keep the guest from kicking.
        if (free_slots_.empty()) return;
        if (!dq_.enable_notifications()) return;
    }
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
    if (dq_.flush()) cfg_.call->signal();
}

void QueueWorker::complete(RequestSlot& slot, uint32_t written) {
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
