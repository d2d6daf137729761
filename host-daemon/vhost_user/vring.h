// What the front-end has told us about one virtqueue (size, ring addresses, base index,
// eventfds, enable state) and whether the device is serving it.
//
// Plain state, owned and changed only by the connection thread; the device gets its own
// copies when the ring starts. The call and err notifiers are the exception: the device
// signals them while the connection may swap their fds, so they lock; and so is used_log,
// which logging changes on a running ring (SET_VRING_ADDR with VHOST_VRING_F_LOG).
#pragma once

#include <stdint.h>

#include "memory/dirty_log.h"
#include "util/event_notifier.h"
#include "util/unique_fd.h"
#include "vhost_user/messages.h"

namespace vfs::host::vhost_user {

struct Vring {
    uint32_t num = 0;
    VringAddr addr;
    bool addr_set = false;
    uint16_t base = 0;
    bool enabled = false;
    bool started = false;  // the device serves it (Device::start_queue succeeded)
    UniqueFd kick;
    EventNotifier call;
    EventNotifier err;
    memory::UsedRingLog used_log;
};

}  // namespace vfs::host::vhost_user
