// The virtio-fs device's half of DAX: its shared-memory window (shmid 0) and the
// DaxMapper that maps file ranges into it by BACKEND_SHMEM_MAP/UNMAP on the backend
// channel. It tracks what the front-end negotiated and whether the device runs (every
// ring it announces started: QEMU starts them all when the guest starts the device, and
// 11.1.3 crashes on a map sent before; it sends no DRIVER_OK status to go by).
//
// The connection thread feeds it (features, status, rings, the channel); queue workers
// map through it. Nothing the connection thread calls here waits for the front-end.
#pragma once

#include <stdint.h>

#include <atomic>
#include <memory>
#include <mutex>

#include "fuse/dax_mappings.h"
#include "util/unique_fd.h"
#include "vhost_user/backend_channel.h"

namespace vfs::host::virtio_fs {

class DaxChannel final : public DaxMapper {
  public:
    // num_queues: the rings the device announces; all must run before a map is sent.
    DaxChannel(uint64_t window_size, uint32_t num_queues)
        : window_size_(window_size), num_queues_(static_cast<int>(num_queues)) {}

    uint64_t window_size() const { return window_size_; }
    // GET_SHMEM_CONFIG: the front-end sized its window.
    void window_asked() { window_asked_.store(true); }
    void set_channel(UniqueFd channel);
    void set_protocol_features(uint64_t acked) { acked_.store(acked); }
    // A ring started: maps are sent again (ends cancel_waits()).
    void ring_started();
    void ring_stopped() { rings_.fetch_sub(1); }
    // Frees a worker waiting for the front-end's answer (before its ring is stopped), and
    // refuses new maps until a ring starts again.
    void cancel_waits();

    bool negotiated() const override;
    bool ready() const override;
    vfs::wire::Status map(int fd, uint64_t foffset, uint64_t moffset, uint64_t len,
                          bool writable) override;
    vfs::wire::Status unmap(uint64_t moffset, uint64_t len) override;

  private:
    std::shared_ptr<vhost_user::BackendChannel> channel() const;

    const uint64_t window_size_;
    const int num_queues_;
    std::atomic<bool> window_asked_{false};
    std::atomic<uint64_t> acked_{0};
    std::atomic<int> rings_{0};
    std::atomic<bool> stopping_{false};
    mutable std::mutex mu_;  // guards channel_ (only swapped, never held while waiting)
    std::shared_ptr<vhost_user::BackendChannel> channel_;
};

}  // namespace vfs::host::virtio_fs
