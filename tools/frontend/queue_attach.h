// What attaching one queue to a vhost-user backend takes and gives: where the driver put
// the rings (guest-physical), and the three eventfds the backend is handed. Shared by the
// frontend's own queues (frontend_queue.h) and by drivers that bring their own rings (the
// hosted guest build), so the SET_VRING_* sequence exists once (Frontend::attach_queue).
#pragma once

#include <stdint.h>

#include "util/unique_fd.h"
#include "vfs/wire/result.h"
#include "vfs/wire/virtqueue_driver.h"

namespace vfs::frontend {

// A queue's three parts in guest memory, as SET_VRING_NUM and SET_VRING_ADDR need them.
struct RingPlacement {
    uint32_t size = 0;
    uint64_t desc = 0;
    uint64_t avail = 0;
    uint64_t used = 0;
};

// kick: we write it to notify the backend; call and err: the backend writes them.
// Non-blocking, so a reader can drain one without waiting.
class QueueNotifiers {
  public:
    static vfs::wire::Result<QueueNotifiers> create();
    int kick() const { return kick_.get(); }
    int call() const { return call_.get(); }
    int err() const { return err_.get(); }
    // Drains the call eventfd: how many times the backend signalled since the last drain.
    uint64_t take_calls() const;

  private:
    vfs::host::UniqueFd kick_, call_, err_;
};

// An attached queue: its rings as this process sees them.
using AttachedRings = vfs::wire::DriverQueue::Rings;

}  // namespace vfs::frontend
