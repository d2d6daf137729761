// An eventfd the front-end gave us (a vring's call or err fd) that the connection thread
// may replace while a queue worker signals it.
//
// QEMU swaps call fds on a running ring (interrupt masking), so the swap and the signal
// share a lock; the worker takes it only to signal: it publishes each used entry as soon
// as the reply is written and signals when the ring's event index (or flags) ask for it.
// It must never write to an fd after the swap has closed it.
#pragma once

#include <stdint.h>
#include <unistd.h>

#include <mutex>

#include "util/unique_fd.h"

namespace vfs::host {

class EventNotifier {
  public:
    void set(UniqueFd fd) {
        std::lock_guard<std::mutex> lock(mu_);
        fd_ = std::move(fd);
    }
    void clear() { set(UniqueFd()); }
    bool valid() const {
        std::lock_guard<std::mutex> lock(mu_);
        return fd_.valid();
    }
    // Adds one to the eventfd; a missing fd (the front-end asked for none) is not an error.
    void signal() {
        std::lock_guard<std::mutex> lock(mu_);
        if (!fd_.valid()) return;
        const uint64_t one = 1;
        // EAGAIN means the counter is saturated: the peer is already notified.
        [[maybe_unused]] ssize_t n = ::write(fd_.get(), &one, sizeof(one));
    }

  private:
    mutable std::mutex mu_;
    UniqueFd fd_;
};

}  // namespace vfs::host
