// One queue worker's io_uring, and the data operations that run on it: read, write,
// fsync/fdatasync and fallocate between a granted file (fs/data_file.h) and guest buffers
// (iovecs pointing into guest memory: no bounce buffer).
//
// Policy: a buffered read first copies what the page cache holds (RWF_NOWAIT never
// blocks, and it saves a ring round trip); only the part that would wait for the disk goes
// to the ring, unless nothing else waits on the queue (`alone`): then a blocking preadv
// reads it, as a guest reading synchronously gains nothing from the ring and would pay
// its round trip and a wake-up per miss (0.87x Rust's qd 1 random reads from the disk,
// docs/benchmarks.md "session 7"). Buffered writes up to kInlineWriteMax are copied inline: most
// filesystems cannot do them without blocking (RWF_NOWAIT gives EOPNOTSUPP: ext4), so io_uring
// would punt each to a kernel worker thread, a context switch per write. Larger buffered writes are
// copied inline too when nothing else waits on the queue (`alone`: a guest writing synchronously,
// as a Linux guest's write(2) does, gains nothing from the ring and pays two thread hand-offs per
// write, which cost most where CPUs are scarce: 0.66x on 256 KiB writes in a TCG guest,
// docs/benchmarks.md "session 6"); with others waiting they go on the ring, so they overlap each
// other and the rest. O_DIRECT I/O, fsync and fallocate always go on the ring, so the worker never
// waits on a device while other requests queue. With the ring full, an operation runs inline: same
// result, later.
//
// The worker's own loop (its eventfd reads and its wait) shares the ring. For each request
// slot the engine keeps, preallocated, the iovecs of the slot's operation and the file
// grant that keeps its fd open until the completion. Only the worker thread touches it.
#pragma once

#include <liburing.h>
#include <stdint.h>
#include <sys/uio.h>

#include <memory>

#include "fs/data_file.h"
#include "queue/request_handler.h"
#include "vfs/wire/result.h"

namespace vfs::host {

// What became of a data operation: finished now, or queued on the ring (its result then
// arrives as an IoCompletion for the slot and cookie it was started with).
class IoOutcome {
  public:
    static IoOutcome done(int32_t result) { return IoOutcome(false, result); }
    static IoOutcome queued() { return IoOutcome(true, 0); }
    bool is_queued() const { return queued_; }
    // Bytes moved (a read's may be short at the end of the file), or -errno.
    int32_t result() const { return result_; }

  private:
    IoOutcome(bool queued, int32_t result) : queued_(queued), result_(result) {}
    bool queued_;
    int32_t result_;
};

struct IoCompletion {
    bool for_slot = false;  // false: one of the worker's own eventfd reads
    uint32_t slot = 0;      // RequestSlot::index, when for_slot
    uint32_t cookie = 0;
    // For a data operation, the whole operation's: a read's includes the bytes it got
    // inline before the ring took the remainder.
    int32_t result = 0;
};

struct IoStats {
    uint64_t reads_inline = 0;        // wholly from the page cache, or up to the end of file
    uint64_t reads_on_ring = 0;       // with some part left for the ring
    uint64_t reads_waited = 0;        // a part not cached, read inline as the queue was idle
    uint64_t read_bytes_on_ring = 0;  // what those asked of the ring: remainders only
    uint64_t writes_inline = 0;
    uint64_t ops_on_ring = 0;  // data operations of any kind queued on the ring
};

class IoEngine {
  public:
    static constexpr uint32_t kInlineWriteMax = 128u << 10;

    // A ring of ring_entries SQEs, and per-operation state for slot_count request slots.
    static vfs::wire::Result<std::unique_ptr<IoEngine>> create(unsigned ring_entries,
                                                               uint32_t slot_count);
    ~IoEngine();
    IoEngine(const IoEngine&) = delete;
    IoEngine& operator=(const IoEngine&) = delete;

    // The slot's kMaxChainSegments iovecs: a read or write describes its guest buffers
    // here, then passes how many it filled.
    iovec* iovecs(const RequestSlot& slot);

    // Each needs a grant for its own DataAccess (EBADF otherwise) and takes the grant,
    // keeping the file open until the operation is over.
    // `alone`: no other request waits on the queue (QueueContext::others_waiting()), so a
    // buffered read's uncached part is read inline, and a buffered write of any size is
    // copied inline.
    IoOutcome read(const RequestSlot& slot, uint32_t cookie, DataFile file, uint64_t offset,
                   uint32_t iov_count, bool alone = false);
    IoOutcome write(const RequestSlot& slot, uint32_t cookie, DataFile file, uint64_t offset,
                    uint32_t iov_count, bool alone = false);
    // The write the engine does inline, for a thread other than the worker's (the queue's
    // thread pool takes the writes the worker would block on): bytes written, or -errno.
    // Touches no engine state.
    static int32_t write_now(const DataFile& file, const iovec* iov, uint32_t iov_count,
                             uint64_t offset);
    IoOutcome fsync(const RequestSlot& slot, uint32_t cookie, DataFile file, bool datasync);
    IoOutcome fallocate(const RequestSlot& slot, uint32_t cookie, DataFile file, uint32_t mode,
                        uint64_t offset, uint64_t length);

    // The worker's loop. An 8-byte read of one of its eventfds, completed with
    // for_slot == false; false if the ring had no free SQE.
    bool read_eventfd(int fd, uint64_t* value, uint32_t cookie);
    // Cancels every operation on the ring, the worker's own reads included (they complete
    // with -ECANCELED); the cancellation's own completion carries cookie, for_slot false.
    void cancel_all(uint32_t cookie);
    // Submits what is queued and waits for a completion, at most timeout_ms (0: no limit).
    // 0, or -errno (-ETIME: the time ran out).
    int submit_and_wait(uint32_t timeout_ms);
    // Submits what is queued without waiting (no system call if nothing is): 0 or -errno.
    int submit();
    // Operations submitted or queued whose completion has not been reaped yet: while there
    // are any, a worker sleeping elsewhere (poll) must watch ring_fd() for POLLIN.
    uint32_t outstanding() const { return outstanding_; }
    bool completions_ready() const { return io_uring_cq_ready(&ring_) > 0; }
    int ring_fd() const { return ring_.ring_fd; }
    // Calls on_completion(const IoCompletion&) for every completion there is.
    template <class F>
    void reap(F&& on_completion);

    const IoStats& stats() const { return stats_; }

  private:
    struct SlotIo;
    IoEngine() = default;
    io_uring_sqe* sqe(uint32_t slot_plus_one, uint32_t cookie);
    // Hands the grant to the slot until the completion; the operation is then queued.
    IoOutcome queued(const RequestSlot& slot, DataFile file, uint32_t done_inline);
    // The whole operation's result from the ring's part of it; drops the grant.
    int32_t finish(uint32_t slot, int32_t ring_result);

    io_uring ring_{};
    bool ring_ready_ = false;
    uint32_t slot_count_ = 0;
    std::unique_ptr<SlotIo[]> slots_;
    IoStats stats_;
    uint32_t outstanding_ = 0;
};

template <class F>
void IoEngine::reap(F&& on_completion) {
    io_uring_cqe* cqe;
    unsigned head;
    unsigned seen = 0;
    io_uring_for_each_cqe(&ring_, head, cqe) {
        ++seen;
        // user_data: the slot index + 1 in the high half (0: the worker's own reads), the
        // cookie in the low half.
        const uint64_t data = io_uring_cqe_get_data64(cqe);
        const auto slot_plus_one = static_cast<uint32_t>(data >> 32);
        IoCompletion c;
        c.cookie = static_cast<uint32_t>(data);
        c.result = cqe->res;
        if (slot_plus_one != 0) {
            if (slot_plus_one > slot_count_) continue;  // never tagged by us
            c.for_slot = true;
            c.slot = slot_plus_one - 1;
            c.result = finish(c.slot, cqe->res);
        }
        on_completion(c);
    }
    io_uring_cq_advance(&ring_, seen);
    outstanding_ -= seen < outstanding_ ? seen : outstanding_;
}

}  // namespace vfs::host
