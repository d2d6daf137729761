// The virtio feature bits every side negotiates (virtio 1.x, 6), as masks: the one
// definition the daemon, the test frontend and the guest driver take them from. The bit
// numbers are the kernel's own (<linux/virtio_config.h>, <linux/virtio_ring.h>).
#pragma once

#include <linux/virtio_config.h>
#include <stdint.h>

#include "vfs/wire/virtqueue_layout.h"  // <linux/virtio_ring.h> without its legacy C

namespace vfs::wire::virtio_feature {

inline constexpr uint64_t kRingIndirectDesc = 1ull << VIRTIO_RING_F_INDIRECT_DESC;
inline constexpr uint64_t kRingEventIdx = 1ull << VIRTIO_RING_F_EVENT_IDX;
inline constexpr uint64_t kVersion1 = 1ull << VIRTIO_F_VERSION_1;

}  // namespace vfs::wire::virtio_feature
