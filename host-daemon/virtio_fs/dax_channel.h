// The virtio-fs device's half of DAX: its shared-memory window (shmid 0) and the
// DaxMapper that maps file ranges into it by BACKEND_SHMEM_MAP/UNMAP on the backend
// channel. It tracks what the front-end negotiated and whether the device runs, since
// QEMU 11.1.3 crashes on a map sent before the guest started the device.
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
    explicit DaxChannel(uint64_t window_size) : window_size_(window_size) {}

    uint64_t window_size() const { return window_size_; }
    // GET_SHMEM_CONFIG: the front-end sized its window.
    void window_asked() { window_asked_.store(true); }
    void set_channel(UniqueFd channel);
    void set_protocol_features(uint64_t acked) { acked_.store(acked); }
    void set_status(uint8_t status);
    void ring_started() { rings_.fetch_add(1); }
    void ring_stopped() { rings_.fetch_sub(1); }
    // Frees a worker waiting for the front-end's answer (before its ring is stopped).
    void cancel_waits();
    // Device reset: the driver starts over.
    void reset();

    bool negotiated() const override;
    bool ready() const override;
    vfs::wire::Status map(int fd, uint64_t foffset, uint64_t moffset, uint64_t len,
                          bool writable) override;
    vfs::wire::Status unmap(uint64_t moffset, uint64_t len) override;

  private:
    std::shared_ptr<vhost_user::BackendChannel> channel() const;

    const uint64_t window_size_;
    std::atomic<bool> window_asked_{false};
    std::atomic<uint64_t> acked_{0};
    std::atomic<int> rings_{0};
    std::atomic<bool> status_seen_{false};
    std::atomic<uint8_t> status_{0};
    mutable std::mutex mu_;  // guards channel_ (only swapped, never held while waiting)
    std::shared_ptr<vhost_user::BackendChannel> channel_;
};

}  // namespace vfs::host::virtio_fs
