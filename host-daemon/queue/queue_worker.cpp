#include "queue/queue_worker.h"

#include <errno.h>
#include <string.h>
#include <sys/eventfd.h>

#include <algorithm>

#include <spdlog/spdlog.h>

namespace vfs::host {

namespace {

// user_data of an SQE: the slot index + 1 in the high half (0 = the worker's own reads),
// the handler's cookie in the low half.
constexpr uint32_t kKickCookie = 1;
constexpr uint32_t kControlCookie = 2;
constexpr unsigned kUringEntries = 256;

uint64_t tag(uint32_t slot_plus_one, uint32_t cookie) {
    return (uint64_t{slot_plus_one} << 32) | cookie;
}

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
    if (const int r = io_uring_queue_init(kUringEntries, &w->ring_, 0); r < 0)
        return vfs::wire::Error{-r};
    w->ring_ready_ = true;

    // Every request slot and its segment array up front: nothing is allocated per request.
    // Bounded by kMaxInFlightPerQueue, not the ring size, which the front-end picks.
    const uint32_t n = std::min(w->cfg_.size, kMaxInFlightPerQueue);
    w->seg_storage_.reset(new vfs::wire::Segment[size_t{n} * kMaxChainSegments]);
    w->slots_.resize(n);
    w->free_slots_.reserve(n);
    for (uint32_t i = 0; i < n; ++i) {
        w->slots_[i].index = i;
        w->slots_[i].segs = &w->seg_storage_[size_t{i} * kMaxChainSegments];
        w->free_slots_.push_back(n - 1 - i);
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
    if (ring_ready_) io_uring_queue_exit(&ring_);
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

bool QueueWorker::arm_read(int fd, uint64_t* buf, uint32_t cookie) {
    io_uring_sqe* sqe = io_uring_get_sqe(&ring_);
    if (!sqe) {
        io_uring_submit(&ring_);
        sqe = io_uring_get_sqe(&ring_);
    }
    if (!sqe) return false;  // the loop tries again on its next turn
    io_uring_prep_read(sqe, fd, buf, sizeof(*buf), 0);
    io_uring_sqe_set_data64(sqe, tag(0, cookie));
    return true;
}

void QueueWorker::refresh_memory() {
    const uint64_t g = cfg_.memory->generation();
    if (g == mem_generation_) return;
    mem_generation_ = g;
    mem_ = cfg_.memory->get();
}

void QueueWorker::run() {
    kick_armed_ = arm_read(cfg_.kick.get(), &kick_buf_, kKickCookie);
    control_armed_ = arm_read(control_.get(), &control_buf_, kControlCookie);
    for (;;) {
        // A read that found no free SQE is armed now, before the worker sleeps on it.
        if (!kick_armed_ && !broken())
            kick_armed_ = arm_read(cfg_.kick.get(), &kick_buf_, kKickCookie);
        if (!control_armed_)
            control_armed_ = arm_read(control_.get(), &control_buf_, kControlCookie);
        const bool stopping = stopping_.load(std::memory_order_acquire);
        refresh_memory();
        if (!stopping && enabled_.load(std::memory_order_acquire) && !broken()) {
            const uint16_t before = dq_.last_avail_idx();
            process_available();
            if (rescanning_ && dq_.last_avail_idx() != before) ++lost_kicks_;
        }
        publish_used();
        if (stopping && in_flight_ == 0) break;

        // Bounded by lost_kick_rescan_ms (see QueueWorkerConfig): a lost kick costs a
        // delay, not the queue.
        const uint32_t ms = cfg_.lost_kick_rescan_ms;
        __kernel_timespec rescan{ms / 1000, static_cast<long long>(ms % 1000) * 1000000};
        io_uring_cqe* first = nullptr;
        const int r = ms == 0
                          ? io_uring_submit_and_wait(&ring_, 1)
                          : io_uring_submit_and_wait_timeout(&ring_, &first, 1, &rescan, nullptr);
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
        io_uring_cqe* cqe;
        unsigned head;
        unsigned seen = 0;
        io_uring_for_each_cqe(&ring_, head, cqe) {
            ++seen;
            const uint64_t data = io_uring_cqe_get_data64(cqe);
            const uint32_t slot_plus_one = static_cast<uint32_t>(data >> 32);
            const uint32_t cookie = static_cast<uint32_t>(data);
            if (slot_plus_one == 0) {
                if (cookie == kKickCookie) {
                    kick_armed_ = false;
                    // An eventfd read is exactly 8 bytes. Anything else means the fd is not
                    // an eventfd: a regular file reads 0 bytes at once, forever, and
                    // re-arming on that would spin this thread at 100% CPU.
                    if (cqe->res == static_cast<int>(sizeof(kick_buf_))) {
                        kick_armed_ = arm_read(cfg_.kick.get(), &kick_buf_, kKickCookie);
                    } else if (cqe->res < 0) {
                        spdlog::error("queue {}: reading the kick eventfd failed: {}",
                                      cfg_.queue_index, strerror(-cqe->res));
                        mark_broken("kick eventfd unreadable");
                    } else {
                        spdlog::error("queue {}: the kick fd read {} bytes, not 8: not an eventfd",
                                      cfg_.queue_index, cqe->res);
                        mark_broken("kick fd is not an eventfd");
                    }
                } else if (cookie == kControlCookie) {
                    control_armed_ = arm_read(control_.get(), &control_buf_, kControlCookie);
                }
                continue;
            }
            if (slot_plus_one > slots_.size()) continue;  // never tagged by us
            cfg_.handler->on_io_complete(*this, slots_[slot_plus_one - 1], cookie, cqe->res);
            publish_used();  // as in process_available: no reply waits for its batch
        }
        io_uring_cq_advance(&ring_, seen);
    }
    // The reads still pending on the kick and control eventfds are cancelled when the
    // ring is torn down in the destructor.
    publish_used();
    if (lost_kicks_ != 0)
        spdlog::info("queue {}: {} time(s) the re-scan found requests no kick announced",
                     cfg_.queue_index, lost_kicks_);
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
            cfg_.handler->handle(*this, slot);
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

io_uring_sqe* QueueWorker::get_sqe(RequestSlot& slot, uint32_t cookie) {
    io_uring_sqe* sqe = io_uring_get_sqe(&ring_);
    if (!sqe) {
        io_uring_submit(&ring_);
        sqe = io_uring_get_sqe(&ring_);
    }
    if (sqe) io_uring_sqe_set_data64(sqe, tag(slot.index + 1, cookie));
    return sqe;
}

void QueueWorker::mark_broken(const char* why) {
    if (broken_.exchange(true)) return;
    spdlog::error("queue {}: marked broken ({}); it serves nothing until restarted",
                  cfg_.queue_index, why);
    cfg_.err->signal();
}

}  // namespace vfs::host
