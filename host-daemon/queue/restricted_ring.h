// io_uring operations run in the kernel on the ring's behalf and bypass seccomp: a
// compromised worker could otherwise OPENAT or CONNECT through its ring whatever its
// syscall filter says. So every ring the daemon creates starts disabled, is restricted to
// the opcodes the I/O engine submits (and to no register operation), and only then is
// enabled; after that the restrictions cannot be changed.
#pragma once

#include <liburing.h>

namespace vfs::host {

// io_uring_queue_init with the restriction applied; 0 or -errno, as liburing returns.
int init_restricted_ring(unsigned entries, io_uring* ring);

}  // namespace vfs::host
