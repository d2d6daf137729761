// What the front-end has told us about one virtqueue (size, ring addresses, base index,
// eventfds, enable state) and the worker serving it while the ring is started.
//
// Plain state, owned and changed only by the connection thread; the worker gets its own
// copies when the ring starts. The call and err notifiers are the exception: the worker
// signals them while the connection may swap their fds, so they lock.
#pragma once

#include <stdint.h>

#include <memory>

#include "queue/event_notifier.h"
#include "queue/queue_worker.h"
#include "util/unique_fd.h"
#include "vhost_user/messages.h"

namespace vfs::host::vhost_user {

struct Vring {
    uint32_t num = 0;
    VringAddr addr;
    bool addr_set = false;
    uint16_t base = 0;
    bool enabled = false;
    UniqueFd kick;
    EventNotifier call;
    EventNotifier err;
    std::unique_ptr<QueueWorker> worker;  // non-null while the ring is started

    bool started() const { return worker != nullptr; }
};

}  // namespace vfs::host::vhost_user
