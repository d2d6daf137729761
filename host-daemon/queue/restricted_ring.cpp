#include "queue/restricted_ring.h"

#include <errno.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <iterator>

namespace vfs::host {

namespace {

// Exactly what io_engine.cpp prepares: vectored data reads and writes, fsync/fdatasync,
// fallocate, the plain READ of an eventfd, and ASYNC_CANCEL (a stopping worker cancels
// ring I/O that would never end).
constexpr io_uring_op kEngineOps[] = {
    IORING_OP_READV,     IORING_OP_WRITEV, IORING_OP_FSYNC,
    IORING_OP_FALLOCATE, IORING_OP_READ,   IORING_OP_ASYNC_CANCEL,
};

// Bookworm's liburing 2.3 declares io_uring_register_restrictions and
// io_uring_enable_rings but its shared library does not export them: register directly.
int ring_register(io_uring* ring, unsigned op, void* arg, unsigned count) {
    const long r = ::syscall(__NR_io_uring_register, ring->ring_fd, op, arg, count);
    return r < 0 ? -errno : 0;
}

}  // namespace

int init_restricted_ring(unsigned entries, io_uring* ring) {
    if (const int r = io_uring_queue_init(entries, ring, IORING_SETUP_R_DISABLED); r < 0) return r;
    io_uring_restriction res[std::size(kEngineOps) + 1] = {};
    unsigned n = 0;
    for (const io_uring_op op : kEngineOps) {
        res[n].opcode = IORING_RESTRICTION_SQE_OP;
        res[n].sqe_op = static_cast<__u8>(op);
        ++n;
    }
    // io_uring_submit_and_wait_timeout waits with IORING_ENTER_EXT_ARG where the kernel
    // has it (5.11+); only older kernels need liburing's TIMEOUT SQE.
    if (!(ring->features & IORING_FEAT_EXT_ARG)) {
        res[n].opcode = IORING_RESTRICTION_SQE_OP;
        res[n].sqe_op = IORING_OP_TIMEOUT;
        ++n;
    }
    int r = ring_register(ring, IORING_REGISTER_RESTRICTIONS, res, n);
    if (r == 0) r = ring_register(ring, IORING_REGISTER_ENABLE_RINGS, nullptr, 0);
    if (r < 0) io_uring_queue_exit(ring);
    return r;
}

}  // namespace vfs::host
