// The hosted build has no virtio-9p transport (tools/frontend speaks vhost-user only):
// attach_virtio_9p finds nothing, so apps fall back to their virtio-fs devices.
#include "apps/common/attach.h"

namespace vfs::guest::apps {

int attach_virtio_9p(int, char**) {
    return 0;
}

}  // namespace vfs::guest::apps
