// The seam between the vhost-user protocol and the device behind it (virtio-fs today):
// what the protocol layer asks a device (queues, features, config space) and tells it
// (a ring started, stopped, enabled; the device reset; the backend channel arrived).
//
// The protocol layer owns everything the front-end says: feature negotiation, the memory
// table, each ring's size, addresses, base and eventfds. It validates all of it and hands
// a device only a ring it has checked (every ring inside guest memory). The device owns
// what serves the rings (threads, request handlers) and never sees a vhost-user message.
// Like rust-vmm's VhostUserBackend trait or libvhost-user's VuDevIface.
//
// Only the connection thread calls a Device. The device must outlive the Backend that
// calls it, and a ring's call/err notifiers stay valid until stop_queue() returns.
#pragma once

#include <errno.h>
#include <stdint.h>

#include <memory>
#include <span>

#include "memory/dirty_log.h"
#include "memory/guest_memory.h"
#include "memory/window_files.h"
#include "util/event_notifier.h"
#include "util/unique_fd.h"
#include "vfs/wire/result.h"
#include "vfs/wire/virtqueue_device.h"
#include "vhost_user/device_state.h"
#include "vhost_user/messages.h"

namespace vfs::host::vhost_user {

// A ring the front-end has started: everything a device needs to serve it.
struct QueueSetup {
    uint32_t index = 0;
    uint32_t size = 0;
    // Host pointers into ring_memory; the protocol layer checked each ring lies inside it.
    vfs::wire::DeviceQueue::Rings rings;
    // Keeps the mappings the rings live in alive while the ring is served.
    std::shared_ptr<const memory::MemoryMap> ring_memory;
    uint16_t base = 0;      // the available index to resume from
    uint64_t features = 0;  // the virtio features the front-end acked
    bool enabled = false;   // a disabled ring keeps its kicks but pops nothing
    UniqueFd kick;          // the device's own dup of the kick eventfd
    EventNotifier* call = nullptr;
    EventNotifier* err = nullptr;
    // The current guest memory; the protocol layer replaces its snapshot on every update.
    memory::MemoryHandle* memory = nullptr;
    // The migration's dirty log (VHOST_F_LOG_ALL) and where this ring's used ring is
    // logged; both outlive stop_queue(). A device that offers VHOST_F_LOG_ALL marks every
    // page it writes while dirty_log->active().
    memory::DirtyLogHandle* dirty_log = nullptr;
    const memory::UsedRingLog* used_log = nullptr;
};

class Device {
  public:
    virtual ~Device() = default;

    // Queues reported by GET_QUEUE_NUM, and the highest ring index plus one.
    virtual uint32_t num_queues() const = 0;
    // The virtio features offered (ring and device bits, and VHOST_F_LOG_ALL when the
    // device logs its writes, with LOG_SHMFD in protocol_features(); the protocol layer
    // adds VHOST_USER_F_PROTOCOL_FEATURES).
    virtual uint64_t features() const = 0;
    // Protocol features that depend on the device (CONFIG when it has a config space);
    // the protocol layer offers its own on top.
    virtual uint64_t protocol_features() const { return 0; }

    // Fills out with config space bytes [offset, offset + out.size()); the protocol layer
    // bounded the range to 256 bytes. Bytes past the device's config read as zero.
    virtual vfs::wire::Status read_config(uint32_t offset, std::span<uint8_t> out) const = 0;
    // SET_CONFIG; refused unless a device has writable config fields.
    virtual vfs::wire::Status write_config(uint32_t offset, std::span<const uint8_t> data) {
        (void)offset;
        (void)data;
        return vfs::wire::Error{EPERM};
    }

    // Serve a started ring. An error leaves the ring stopped (the front-end is told).
    virtual vfs::wire::Status start_queue(QueueSetup setup) = 0;
    // Stop serving a started ring, finishing requests in flight first; returns the next
    // available index to resume from.
    virtual uint16_t stop_queue(uint32_t index) = 0;
    // SET_VRING_ENABLE on a started ring.
    virtual void enable_queue(uint32_t index, bool enabled) = 0;
    // RESET_DEVICE / RESET_OWNER, after every ring was stopped.
    virtual void reset() {}
    // The backend channel (SET_BACKEND_REQ_FD): a socket for requests to the front-end,
    // such as DAX map and unmap. A new one replaces the old.
    virtual void set_backend_channel(UniqueFd channel) { (void)channel; }

    // Shared memory (protocol feature SHMEM, which a device offers through
    // protocol_features()): the size of each region by shmid, for GET_SHMEM_CONFIG.
    virtual std::span<const uint64_t> shmem_regions() const { return {}; }
    // Files the device has mapped into its shared memory: the front-end reports each
    // mapping as a memory region, which the protocol layer then records without mapping.
    virtual memory::WindowFiles* window_files() const { return nullptr; }
    // What the front-end acked (SET_PROTOCOL_FEATURES), for devices whose behaviour
    // depends on it.
    virtual void set_protocol_features(uint64_t acked) { (void)acked; }
    // Migration of the back-end's state (protocol feature DEVICE_STATE, which a device
    // offers through protocol_features()): nullptr when the device has none to move.
    virtual DeviceStateHandler* device_state() { return nullptr; }
};

}  // namespace vfs::host::vhost_user
