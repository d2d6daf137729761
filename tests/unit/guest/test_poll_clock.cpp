// Host implementation of drivers/virtio_fs/poll_clock.h for the fake-device tests.
#include <sched.h>
#include <time.h>

#include "drivers/virtio_fs/poll_clock.h"

namespace vfs::guest::virtio_fs {

uint64_t poll_clock_ns() {
    timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000ull + static_cast<uint64_t>(ts.tv_nsec);
}

void poll_relax() {
    sched_yield();
}

}  // namespace vfs::guest::virtio_fs
