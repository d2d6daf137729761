#include "queue/io_engine.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include <climits>

#include "queue/restricted_ring.h"

namespace vfs::host {

namespace {

bool fits_off_t(uint64_t v) {
    return v <= static_cast<uint64_t>(INT64_MAX);
}

uint64_t total_len(const iovec* iov, uint32_t n) {
    uint64_t sum = 0;
    for (uint32_t i = 0; i < n; ++i)
        sum += iov[i].iov_len;
    return sum;
}

// The iovecs still to fill after a short transfer: drops the ones done, trims the one
// the transfer stopped inside (in place: they are the slot's own).
struct IovCursor {
    iovec* iov;
    uint32_t count;

    void advance(size_t n) {
        while (n > 0 && count > 0) {
            if (n < iov->iov_len) {
                iov->iov_base = static_cast<uint8_t*>(iov->iov_base) + n;
                iov->iov_len -= n;
                return;
            }
            n -= iov->iov_len;
            ++iov;
            --count;
        }
    }
};

int32_t syscall_result(ssize_t r) {
    return r < 0 ? -errno : static_cast<int32_t>(r);
}

// What a read got: `got` bytes before `r` (the result of reading the rest). An error
// after some bytes is a short read, as read(2) reports it; the next read finds the error.
int32_t read_result(uint64_t got, int32_t r) {
    if (r < 0) return got > 0 ? static_cast<int32_t>(got) : r;
    return static_cast<int32_t>(got + static_cast<uint64_t>(r));
}

}  // namespace

struct IoEngine::SlotIo {
    iovec iov[kMaxChainSegments];
    DataFile file;             // held while the operation is on the ring
    uint32_t done_inline = 0;  // bytes a read got inline before the ring took the rest
};

vfs::wire::Result<std::unique_ptr<IoEngine>> IoEngine::create(unsigned ring_entries,
                                                              uint32_t slot_count) {
    std::unique_ptr<IoEngine> e(new IoEngine());
    if (const int r = init_restricted_ring(ring_entries, &e->ring_); r < 0)
        return vfs::wire::Error{-r};
    e->ring_ready_ = true;
    e->slot_count_ = slot_count;
    e->slots_.reset(new SlotIo[slot_count]);
    return e;
}

IoEngine::~IoEngine() {
    // Pending reads on the worker's eventfds are cancelled with the ring.
    if (ring_ready_) io_uring_queue_exit(&ring_);
}

iovec* IoEngine::iovecs(const RequestSlot& slot) {
    return slots_[slot.index].iov;
}

io_uring_sqe* IoEngine::sqe(uint32_t slot_plus_one, uint32_t cookie) {
    io_uring_sqe* s = io_uring_get_sqe(&ring_);
    if (!s) {
        io_uring_submit(&ring_);
        s = io_uring_get_sqe(&ring_);
    }
    if (!s) return nullptr;
    io_uring_sqe_set_data64(s, (uint64_t{slot_plus_one} << 32) | cookie);
    ++outstanding_;
    return s;
}

IoOutcome IoEngine::queued(const RequestSlot& slot, DataFile file, uint32_t done_inline) {
    SlotIo& s = slots_[slot.index];
    s.file = std::move(file);
    s.done_inline = done_inline;
    ++stats_.ops_on_ring;
    return IoOutcome::queued();
}

int32_t IoEngine::finish(uint32_t slot, int32_t ring_result) {
    SlotIo& s = slots_[slot];
    s.file = DataFile();
    const uint32_t got = s.done_inline;
    s.done_inline = 0;
    return read_result(got, ring_result);
}

IoOutcome IoEngine::read(const RequestSlot& slot, uint32_t cookie, DataFile file, uint64_t offset,
                         uint32_t iov_count, bool alone) {
    if (!file.allows(DataAccess::kRead)) return IoOutcome::done(-EBADF);
    if (slot.index >= slot_count_ || iov_count > kMaxChainSegments || !fits_off_t(offset))
        return IoOutcome::done(-EINVAL);
    IovCursor rest{slots_[slot.index].iov, iov_count};
    const uint64_t size = total_len(rest.iov, rest.count);
    if (size > INT32_MAX || !fits_off_t(offset + size)) return IoOutcome::done(-EINVAL);
    if (size == 0) return IoOutcome::done(0);
    const int fd = file.fd();
    uint64_t got = 0;
    // O_DIRECT reads always wait for the device: straight to the ring. Otherwise take what
    // the page cache holds. A short result is a range cached only in part, or the end of
    // the file; trying the rest tells which (0 at the end, EAGAIN where the cache ends),
    // so only what is really missing goes to the ring.
    if (!file.direct()) {
        for (;;) {
            const ssize_t n = preadv2(fd, rest.iov, static_cast<int>(rest.count),
                                      static_cast<off_t>(offset + got), RWF_NOWAIT);
            if (n > 0) {
                got += static_cast<uint64_t>(n);
                rest.advance(static_cast<size_t>(n));
                if (got < size) continue;
            }
            if (n >= 0) {
                ++stats_.reads_inline;
                return IoOutcome::done(static_cast<int32_t>(got));
            }
            if (errno != EAGAIN && errno != EOPNOTSUPP)
                return IoOutcome::done(read_result(got, -errno));
            if (!alone) break;  // would wait, with others queued: the ring
            ++stats_.reads_waited;
            const ssize_t w = preadv(fd, rest.iov, static_cast<int>(rest.count),
                                     static_cast<off_t>(offset + got));
            return IoOutcome::done(read_result(got, syscall_result(w)));
        }
    }
    io_uring_sqe* s = sqe(slot.index + 1, cookie);
    if (!s) {
        const ssize_t n =
            preadv(fd, rest.iov, static_cast<int>(rest.count), static_cast<off_t>(offset + got));
        return IoOutcome::done(read_result(got, syscall_result(n)));
    }
    io_uring_prep_readv(s, fd, rest.iov, rest.count, offset + got);
    ++stats_.reads_on_ring;
    stats_.read_bytes_on_ring += size - got;
    return queued(slot, std::move(file), static_cast<uint32_t>(got));
}

IoOutcome IoEngine::write(const RequestSlot& slot, uint32_t cookie, DataFile file, uint64_t offset,
                          uint32_t iov_count, bool alone) {
    if (!file.allows(DataAccess::kWrite)) return IoOutcome::done(-EBADF);
    if (slot.index >= slot_count_ || iov_count > kMaxChainSegments || !fits_off_t(offset))
        return IoOutcome::done(-EINVAL);
    const iovec* iov = slots_[slot.index].iov;
    const uint64_t size = total_len(iov, iov_count);
    if (size > INT32_MAX) return IoOutcome::done(-EINVAL);
    if (size == 0) return IoOutcome::done(0);
    const int fd = file.fd();
    const auto inline_write = [&] {
        return IoOutcome::done(syscall_result(
            pwritev(fd, iov, static_cast<int>(iov_count), static_cast<off_t>(offset))));
    };
    if (!file.direct() && (size <= kInlineWriteMax || alone)) {
        ++stats_.writes_inline;
        return inline_write();
    }
    io_uring_sqe* s = sqe(slot.index + 1, cookie);
    if (!s) return inline_write();
    io_uring_prep_writev(s, fd, iov, iov_count, offset);
    return queued(slot, std::move(file), 0);
}

int32_t IoEngine::write_now(const DataFile& file, const iovec* iov, uint32_t iov_count,
                            uint64_t offset) {
    if (!file.allows(DataAccess::kWrite)) return -EBADF;
    if (iov_count > kMaxChainSegments || !fits_off_t(offset)) return -EINVAL;
    const uint64_t size = total_len(iov, iov_count);
    if (size > INT32_MAX || !fits_off_t(offset + size)) return -EINVAL;
    if (size == 0) return 0;
    return syscall_result(
        pwritev(file.fd(), iov, static_cast<int>(iov_count), static_cast<off_t>(offset)));
}

IoOutcome IoEngine::fsync(const RequestSlot& slot, uint32_t cookie, DataFile file, bool datasync) {
    if (!file.allows(DataAccess::kSync)) return IoOutcome::done(-EBADF);
    if (slot.index >= slot_count_) return IoOutcome::done(-EINVAL);
    io_uring_sqe* s = sqe(slot.index + 1, cookie);
    if (!s) {
        const int r = datasync ? ::fdatasync(file.fd()) : ::fsync(file.fd());
        return IoOutcome::done(r < 0 ? -errno : 0);
    }
    io_uring_prep_fsync(s, file.fd(), datasync ? IORING_FSYNC_DATASYNC : 0);
    return queued(slot, std::move(file), 0);
}

IoOutcome IoEngine::fallocate(const RequestSlot& slot, uint32_t cookie, DataFile file,
                              uint32_t mode, uint64_t offset, uint64_t length) {
    if (!file.allows(DataAccess::kAllocate)) return IoOutcome::done(-EBADF);
    if (slot.index >= slot_count_ || !fits_off_t(offset) || !fits_off_t(length))
        return IoOutcome::done(-EINVAL);
    io_uring_sqe* s = sqe(slot.index + 1, cookie);
    if (!s) {
        const int r = ::fallocate(file.fd(), static_cast<int>(mode), static_cast<off_t>(offset),
                                  static_cast<off_t>(length));
        return IoOutcome::done(r < 0 ? -errno : 0);
    }
    io_uring_prep_fallocate(s, file.fd(), static_cast<int>(mode), offset, length);
    return queued(slot, std::move(file), 0);
}

int IoEngine::submit() {
    if (io_uring_sq_ready(&ring_) == 0) return 0;
    const int r = io_uring_submit(&ring_);
    return r < 0 ? r : 0;
}

bool IoEngine::read_eventfd(int fd, uint64_t* value, uint32_t cookie) {
    io_uring_sqe* s = sqe(0, cookie);
    if (!s) return false;
    io_uring_prep_read(s, fd, value, sizeof(*value), 0);
    return true;
}

void IoEngine::cancel_all(uint32_t cookie) {
    io_uring_sqe* s = sqe(0, cookie);
    if (!s) return;
    io_uring_prep_cancel64(s, 0, IORING_ASYNC_CANCEL_ANY);
    io_uring_sqe_set_data64(s, cookie);
}

int IoEngine::submit_and_wait(uint32_t timeout_ms) {
    if (timeout_ms == 0) {
        const int r = io_uring_submit_and_wait(&ring_, 1);
        return r < 0 ? r : 0;
    }
    __kernel_timespec t{timeout_ms / 1000, static_cast<long long>(timeout_ms % 1000) * 1000000};
    io_uring_cqe* first = nullptr;
    const int r = io_uring_submit_and_wait_timeout(&ring_, &first, 1, &t, nullptr);
    return r < 0 ? r : 0;
}

}  // namespace vfs::host
