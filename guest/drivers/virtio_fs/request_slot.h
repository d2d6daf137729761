// One preallocated request slot of a virtio-fs device: the device-visible buffers for a
// request's head (in header, args, names) and its reply's head (out header, reply
// struct), plus where the request stands. Slots are made once at probe time so the
// request path never allocates. User data never goes through a slot: it is referenced
// in place by its own descriptors.
#pragma once

#include <stdint.h>

namespace vfs::guest::virtio_fs {

enum class SlotState : uint8_t {
    kFree,      // in the pool
    kHeld,      // acquired by a caller, not yet submitted
    kInFlight,  // on a queue, owned by the device
    kDone,      // the device returned it; used_len is valid
    kLost,      // timed out: the device may still write into it, so it is never reused
};

struct RequestSlot {
    uint8_t* request = nullptr;     // device-readable, kRequestCap bytes
    uint8_t* reply_head = nullptr;  // device-writable, kReplyHeadCap bytes
    uint32_t used_len = 0;          // bytes the device wrote (kDone)
    uint16_t queue = 0;             // the queue it was submitted on
    uint16_t index = 0;             // position in the device's slot array
    SlotState state = SlotState::kFree;
    bool free_on_completion = false;  // hiprio requests: nobody waits for them
    int error = 0;                    // set when the queue broke under the request
};

}  // namespace vfs::guest::virtio_fs
