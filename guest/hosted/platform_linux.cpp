// What the guest libraries need from "the kernel" when they run as a Linux program:
// the console (stdout), and the poll clock (CLOCK_MONOTONIC; sched_yield lets the daemon,
// another process on the same cores, make progress while the driver spins).
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <time.h>

#include "drivers/virtio_fs/poll_clock.h"
#include "kernel/console.h"

namespace vfs::guest {

void vkprintf(const char* fmt, va_list ap) {
    vprintf(fmt, ap);
    fflush(stdout);
}

void kprintf(const char* fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vkprintf(fmt, ap);
    va_end(ap);
}

namespace virtio_fs {

uint64_t poll_clock_ns() {
    timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000ull + static_cast<uint64_t>(ts.tv_nsec);
}

void poll_relax() {
    sched_yield();
}

}  // namespace virtio_fs
}  // namespace vfs::guest
