// Back-end state for migration (protocol feature DEVICE_STATE): what the protocol layer
// asks of a device that can save its internal state and load it on another back-end.
// The front-end hands a pipe end with SET_DEVICE_STATE_FD, reads or writes it to EOF,
// then asks CHECK_DEVICE_STATE whether the back-end's side went well.
#pragma once

#include <stdint.h>

#include "util/unique_fd.h"
#include "vfs/wire/result.h"

namespace vfs::host::vhost_user {

enum class StateDirection : uint32_t { kSave = 0, kLoad = 1 };
inline constexpr uint32_t kStatePhaseStopped = 0;  // the only phase the spec defines

class DeviceStateHandler {
  public:
    virtual ~DeviceStateHandler() = default;
    // Starts writing (save) or reading (load) the state on fd, without waiting on it:
    // the front-end only reads or writes the other end once this has been answered.
    virtual vfs::wire::Status begin_transfer(StateDirection dir, UniqueFd fd) = 0;
    // Waits for the transfer begun last and says whether it (and, on load, applying the
    // state) succeeded. EINVAL if none was begun.
    virtual vfs::wire::Status finish_transfer() = 0;
};

}  // namespace vfs::host::vhost_user
