// The two things a polling driver needs from its platform: a monotonic clock for
// deadlines and a way to let the device make progress while it spins. The unikernel uses
// the TSC and `pause`; the hosted build uses clock_gettime and sched_yield (the device
// is another process on the same cores there). Never blocks for long, never allocates.
#pragma once

#include <stdint.h>

namespace vfs::guest::virtio_fs {

uint64_t poll_clock_ns();
void poll_relax();

}  // namespace vfs::guest::virtio_fs
