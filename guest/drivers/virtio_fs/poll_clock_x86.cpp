// The unikernel's poll clock (see poll_clock.h).
#include "drivers/virtio_fs/poll_clock.h"

#include "arch/x86_64/clock.h"
#include "arch/x86_64/cpu.h"

namespace vfs::guest::virtio_fs {

uint64_t poll_clock_ns() {
    return clock::now_ns();
}

void poll_relax() {
    x86::pause();
}

}  // namespace vfs::guest::virtio_fs
