// The dirty-page log of a live migration (vhost-user VHOST_F_LOG_ALL with LOG_SHMFD): the
// front-end's bitmap, one bit per 4 KiB page of guest-physical address, which the daemon
// sets for every page it writes while the front-end copies RAM to the destination.
//
// DirtyLog is one mapped bitmap (SET_LOG_BASE's fd, size and offset), immutable once made
// but for its bits; DirtyLogHandle is what the connection thread changes (a new log
// replaces the old, LOG_ALL acked or not) and the queue workers read. A worker that is
// not logging pays one relaxed load per check (active()); while logging it keeps its own
// reference to the current log, picked up when the generation changes, so a replaced log
// is unmapped only once no worker can still mark it.
//
// Bits are set with an atomic OR on their byte (the front-end clears them with atomic
// exchanges of 64-bit words as it syncs), after the write they record: a page marked
// before it is written could be copied between the mark and the write. Anything past the
// end of the bitmap is not marked (the front-end sized it to cover its memory table; a
// ring's log address may lie elsewhere) and is counted.
#pragma once

#include <stdint.h>

#include <atomic>
#include <memory>
#include <mutex>

#include "util/event_notifier.h"
#include "util/unique_fd.h"
#include "vfs/wire/result.h"

namespace vfs::host::memory {

using vfs::wire::Error;
using vfs::wire::Result;

inline constexpr uint64_t kLogPageBytes = 4096;  // VHOST_LOG_PAGE
// The largest bitmap accepted: 1 GiB covers 32 TiB of guest-physical space.
inline constexpr uint64_t kMaxLogBytes = 1ull << 30;

class DirtyLog {
  public:
    // Maps [offset, offset + size) of fd shared and writable. EINVAL for a size of 0 or
    // above kMaxLogBytes, a range that wraps, an fd that is not a regular file (memfd,
    // tmpfs, hugetlbfs) or one shorter than the range; fstat's or mmap's errno otherwise.
    static Result<std::shared_ptr<const DirtyLog>> map(int fd, uint64_t size, uint64_t offset);
    // A log over caller memory (tests): bits[0 .. size) must outlive it.
    static std::shared_ptr<const DirtyLog> over(uint8_t* bits, uint64_t size);
    ~DirtyLog();
    DirtyLog(const DirtyLog&) = delete;
    DirtyLog& operator=(const DirtyLog&) = delete;

    uint64_t size() const { return size_; }
    // Guest-physical bytes the bitmap covers, from address 0.
    uint64_t covered_bytes() const { return size_ * 8 * kLogPageBytes; }
    // Marks every page [gpa, gpa + len) touches; pages past the bitmap are left out and
    // counted. len 0 marks nothing.
    void mark(uint64_t gpa, uint64_t len) const;
    // Pages a mark() could not record (past the bitmap).
    uint64_t pages_out_of_range() const { return out_of_range_.load(std::memory_order_relaxed); }

  private:
    DirtyLog(uint8_t* bits, uint64_t size, void* map_base, uint64_t map_len)
        : bits_(bits), size_(size), map_base_(map_base), map_len_(map_len) {}

    uint8_t* bits_;
    uint64_t size_;
    void* map_base_;
    uint64_t map_len_;
    mutable std::atomic<uint64_t> out_of_range_{0};
};

// The log as the connection thread sets it up, shared with the queue workers.
class DirtyLogHandle {
  public:
    // Workers mark only while this is true: LOG_ALL acked and a log mapped.
    bool active() const { return active_.load(std::memory_order_relaxed); }
    // The current log (nullptr: none); a worker takes it again when generation() moves.
    std::shared_ptr<const DirtyLog> get() const {
        std::lock_guard<std::mutex> lock(mu_);
        return log_;
    }
    uint64_t generation() const { return generation_.load(std::memory_order_acquire); }

    // SET_LOG_BASE: a new log replaces the old one (nullptr drops it).
    void set_log(std::shared_ptr<const DirtyLog> log) {
        std::lock_guard<std::mutex> lock(mu_);
        log_ = std::move(log);
        generation_.fetch_add(1, std::memory_order_release);
        update_active();
    }
    // SET_FEATURES: whether VHOST_F_LOG_ALL is acked.
    void set_logging(bool on) {
        std::lock_guard<std::mutex> lock(mu_);
        logging_ = on;
        update_active();
    }
    bool logging() const {
        std::lock_guard<std::mutex> lock(mu_);
        return logging_;
    }
    // SET_LOG_FD: the eventfd signalled after marks (optional; QEMU sends none).
    EventNotifier& log_call() { return log_call_; }
    const EventNotifier& log_call() const { return log_call_; }

  private:
    void update_active() { active_.store(logging_ && log_ != nullptr, std::memory_order_release); }

    mutable std::mutex mu_;
    std::shared_ptr<const DirtyLog> log_;
    bool logging_ = false;
    std::atomic<bool> active_{false};
    std::atomic<uint64_t> generation_{0};
    EventNotifier log_call_;
};

// Where a started ring's used ring is logged (SET_VRING_ADDR's VHOST_VRING_F_LOG and
// log_guest_addr), which the front-end changes on a running ring when logging starts and
// stops. Written by the connection thread, read by the ring's worker.
class UsedRingLog {
  public:
    void set(bool enabled, uint64_t log_guest_addr) {
        gpa_.store(log_guest_addr, std::memory_order_relaxed);
        enabled_.store(enabled, std::memory_order_release);
    }
    // False when the used ring is not to be logged; else its guest-physical address.
    bool get(uint64_t* gpa) const {
        if (!enabled_.load(std::memory_order_acquire)) return false;
        *gpa = gpa_.load(std::memory_order_relaxed);
        return true;
    }

  private:
    std::atomic<bool> enabled_{false};
    std::atomic<uint64_t> gpa_{0};
};

}  // namespace vfs::host::memory
