// The virtio-fs device behind the vhost-user protocol: its features, its config space (the
// tag and the number of request queues), and one QueueWorker per started ring, each
// handing requests to the FUSE server; the high-priority queue's worker runs on the first
// request queue's thread (DeviceConfig::share_hiprio_thread).
//
// It owns the queue threads; the protocol layer owns everything the front-end said. Only
// the connection thread calls it (vhost_user::Device), and it must outlive the Backend.
#pragma once

#include <stdint.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "queue/queue_worker.h"
#include "queue/request_handler.h"
#include "util/unique_fd.h"
#include "vfs/wire/virtio_features.h"
#include "vhost_user/device.h"
#include "vhost_user/messages.h"
#include "virtio_fs/dax_channel.h"

namespace vfs::host::virtio_fs {

struct DeviceConfig {
    // Queues reported by GET_QUEUE_NUM: the high-priority queue plus request queues.
    uint32_t num_queues = 65;
    // The virtio-fs tag; when set, CONFIG is offered and GET_CONFIG serves the tag.
    std::optional<std::string> tag;
    RequestHandler* handler = nullptr;
    // DAX (--dax-window): the window and its mapper, the mapping table (dropped when a
    // ring stops or the device resets) and the files mapped. All null without a window.
    DaxChannel* dax_channel = nullptr;
    DaxMappings* dax_mappings = nullptr;
    memory::WindowFiles* window_files = nullptr;
    // --thread-pool-size: threads per request queue for blocking requests (0: none). The
    // high-priority queue (0) gets none: FORGET and INTERRUPT never block.
    unsigned thread_pool_size = 0;
    // --poll-us: each queue thread spins this long on its rings before sleeping (0: never).
    uint32_t poll_us = 0;
    // The high-priority queue (0) is served by the first request queue's (1) thread, as
    // Rust virtiofsd serves both from one: at queue depth 1 a LOOKUP and its FORGET then
    // wake one thread, not two. Queues 2 and up, when a front-end starts them, have a
    // thread each. FORGET, BATCH_FORGET and INTERRUPT never block and are never offloaded,
    // so they add little to that thread; a request on queue 1 that blocks the thread
    // (no --thread-pool-size, a slow file system) delays the FORGETs behind it, which the
    // guest does not wait for. False: a thread per queue (tests).
    bool share_hiprio_thread = true;
    // Migration (DEVICE_STATE offered when set): saves and loads the back-end's state.
    vhost_user::DeviceStateHandler* device_state = nullptr;
};

// Virtio features offered: the ring features the queue workers implement, and
// VHOST_F_LOG_ALL: the workers mark every page they write while a migration logs.
inline constexpr uint64_t kOfferedFeatures =
    vfs::wire::virtio_feature::kVersion1 | vfs::wire::virtio_feature::kRingIndirectDesc |
    vfs::wire::virtio_feature::kRingEventIdx | vhost_user::feature::kLogAll;

class VirtioFsDevice final : public vhost_user::Device {
  public:
    explicit VirtioFsDevice(DeviceConfig config);
    ~VirtioFsDevice() override;
    VirtioFsDevice(const VirtioFsDevice&) = delete;
    VirtioFsDevice& operator=(const VirtioFsDevice&) = delete;

    uint32_t num_queues() const override { return cfg_.num_queues; }
    uint64_t features() const override { return kOfferedFeatures; }
    uint64_t protocol_features() const override;
    vfs::wire::Status read_config(uint32_t offset, std::span<uint8_t> out) const override;
    vfs::wire::Status start_queue(vhost_user::QueueSetup setup) override;
    uint16_t stop_queue(uint32_t index) override;
    void enable_queue(uint32_t index, bool enabled) override;
    void set_backend_channel(UniqueFd channel) override;
    void reset() override;
    std::span<const uint64_t> shmem_regions() const override;
    memory::WindowFiles* window_files() const override { return cfg_.window_files; }
    void set_protocol_features(uint64_t acked) override;
    vhost_user::DeviceStateHandler* device_state() override { return cfg_.device_state; }

    // Whether the front-end gave a backend channel (SET_BACKEND_REQ_FD).
    bool has_backend_channel() const { return has_backend_channel_; }

  private:
    DeviceConfig cfg_;
    std::vector<std::unique_ptr<QueueWorker>> workers_;    // non-null while a ring is served
    std::vector<std::unique_ptr<QueueWorker>> abandoned_;  // stuck threads, not yet done
    uint64_t shmem_sizes_[1] = {0};                        // region 0: the DAX window
    bool has_backend_channel_ = false;
    UniqueFd backend_channel_;  // kept open when there is no DAX channel to own it
};

}  // namespace vfs::host::virtio_fs
