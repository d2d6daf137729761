// One FUSE_INIT round trip on a request queue: proves the rings, the notify address and
// the daemon's view of guest memory all work after DRIVER_OK (a failed vhost-user start
// is otherwise invisible to the guest). Not a FUSE client: lib/ukfuse is.
#pragma once

#include <stdint.h>

#include "drivers/virtio/transport.h"
#include "drivers/virtio/virtqueue.h"

namespace vfs::guest {

struct FuseInitReply {
    uint32_t major = 0;
    uint32_t minor = 0;
    uint32_t max_write = 0;
};

// ETIMEDOUT if no reply within timeout_ms; EPROTO for a malformed reply; the daemon's
// errno if it answered with an error.
wire::Result<FuseInitReply> fuse_init_roundtrip(virtio::Virtqueue& q, virtio::DmaMemory& dma,
                                                uint64_t timeout_ms);

}  // namespace vfs::guest
