#include "frontend_queue.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <chrono>

namespace vfs::frontend {

using vfs::wire::DriverBuffer;

namespace {

int64_t now_ms() {
    timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return int64_t{t.tv_sec} * 1000 + t.tv_nsec / 1000000;
}

}  // namespace

Result<std::unique_ptr<FrontendQueue>> FrontendQueue::create(GuestRam& ram, uint32_t index,
                                                             uint32_t size) {
    if (!vfs::wire::valid_queue_size(size)) return Error{EINVAL};
    std::unique_ptr<FrontendQueue> q(new FrontendQueue());
    q->ram_ = &ram;
    q->index_ = index;
    q->size_ = size;
    const auto layout = vfs::wire::split_ring_layout(size);
    auto mem = ram.allocate(layout.total_bytes);
    if (!mem) return Error{mem.error()};
    q->ring_mem_ = *mem;
    q->rings_.desc = reinterpret_cast<vring_desc*>(mem->ptr + layout.desc_offset);
    q->rings_.avail = reinterpret_cast<vring_avail*>(mem->ptr + layout.avail_offset);
    q->rings_.used = reinterpret_cast<vring_used*>(mem->ptr + layout.used_offset);
    q->slots_.resize(size);
    auto fds = QueueNotifiers::create();
    if (!fds) return Error{fds.error()};
    q->fds_ = std::move(*fds);
    return q;
}

RingPlacement FrontendQueue::placement() const {
    auto gpa = [this](const void* p) {
        return ring_mem_.gpa +
               static_cast<uint64_t>(static_cast<const uint8_t*>(p) - ring_mem_.ptr);
    };
    return RingPlacement{size_, gpa(rings_.desc), gpa(rings_.avail), gpa(rings_.used)};
}

FrontendQueue::~FrontendQueue() {
    if (ram_) ram_->release(ring_mem_);
}

Status FrontendQueue::reset_rings(bool event_idx) {
    std::lock_guard<std::mutex> lock(mu_);
    memset(ring_mem_.ptr, 0, ring_mem_.len);
    done_.clear();
    failed_ = false;
    vfs::wire::DriverQueue::Rings r{rings_.desc, rings_.avail, rings_.used};
    return dq_.init(size_, r, slots_.data(), event_idx);
}

void FrontendQueue::kick() {
    const uint64_t one = 1;
    [[maybe_unused]] ssize_t n = ::write(fds_.kick(), &one, sizeof(one));
}

Status FrontendQueue::submit(const DriverBuffer* out, uint32_t n_out, const DriverBuffer* in,
                             uint32_t n_in, uint64_t token) {
    bool need_kick;
    {
        std::lock_guard<std::mutex> lock(mu_);
        if (failed_) return Error{EPROTO};
        auto head = dq_.add(out, n_out, in, n_in, token);
        if (!head) return Error{head.error()};
        dq_.publish();
        need_kick = dq_.kick_needed();
    }
    if (need_kick) kick();
    return {};
}

Status FrontendQueue::reap_locked() {
    while (dq_.has_used()) {
        auto c = dq_.reclaim();
        if (!c) {
            failed_ = true;
            return Error{c.error()};
        }
        done_[c->token] = c->len;
    }
    return {};
}

Result<uint32_t> FrontendQueue::wait(uint64_t token, int timeout_ms) {
    const int64_t deadline = now_ms() + timeout_ms;
    for (;;) {
        {
            std::lock_guard<std::mutex> lock(mu_);
            if (failed_) return Error{EPROTO};
            if (Status s = reap_locked(); !s) return Error{s.error()};
            auto it = done_.find(token);
            if (it != done_.end()) {
                const uint32_t len = it->second;
                done_.erase(it);
                return len;
            }
        }
        const int64_t left = deadline - now_ms();
        if (left <= 0) return Error{ETIMEDOUT};
        const int slice = left < 5 ? static_cast<int>(left) : 5;
        std::unique_lock<std::mutex> lock(mu_);
        if (polling_) {
            // Another waiter sleeps on the call eventfd and wakes us when it has reaped:
            // two pollers would race for the count, and the loser would sleep out its
            // slice with its reply already there.
            reaped_.wait_for(lock, std::chrono::milliseconds(slice));
            continue;
        }
        polling_ = true;
        lock.unlock();
        pollfd p{fds_.call(), POLLIN, 0};
        if (::poll(&p, 1, slice) > 0) (void)fds_.take_calls();
        lock.lock();
        polling_ = false;
        if (Status s = reap_locked(); !s) return Error{s.error()};
        reaped_.notify_all();
    }
}

void FrontendQueue::disable_interrupts() {
    std::lock_guard<std::mutex> lock(mu_);
    dq_.disable_interrupts();
}

Result<uint32_t> FrontendQueue::take_used(vfs::wire::DriverCompletion* out, uint32_t max) {
    std::lock_guard<std::mutex> lock(mu_);
    if (failed_) return Error{EPROTO};
    uint32_t n = 0;
    // Chains an earlier wait() reaped but nobody claimed come first.
    for (auto it = done_.begin(); it != done_.end() && n < max; it = done_.erase(it))
        out[n++] = vfs::wire::DriverCompletion{it->first, it->second};
    while (n < max && dq_.has_used()) {
        auto c = dq_.reclaim();
        if (!c) {
            failed_ = true;
            return Error{c.error()};
        }
        out[n++] = *c;
    }
    return n;
}

bool FrontendQueue::wait_error(int timeout_ms) {
    pollfd p{fds_.err(), POLLIN, 0};
    if (::poll(&p, 1, timeout_ms) <= 0) return false;
    uint64_t v;
    return ::read(fds_.err(), &v, sizeof(v)) == sizeof(v);
}

Status FrontendQueue::inject_raw(const vring_desc* descs, uint32_t n, uint16_t head) {
    if (n > size_) return Error{EINVAL};
    {
        std::lock_guard<std::mutex> lock(mu_);
        memcpy(rings_.desc, descs, n * sizeof(vring_desc));
        const uint16_t idx = rings_.avail->idx;
        rings_.avail->ring[idx & (size_ - 1)] = head;
        vfs::wire::store_release(&rings_.avail->idx, static_cast<uint16_t>(idx + 1));
    }
    kick();
    return {};
}

Status FrontendQueue::inject_avail_idx(uint16_t idx) {
    vfs::wire::store_release(&rings_.avail->idx, idx);
    kick();
    return {};
}

}  // namespace vfs::frontend
