#include "virtio_fs/virtio_fs_device.h"

#include <errno.h>
#include <linux/virtio_fs.h>
#include <string.h>

#include <algorithm>

#include <spdlog/spdlog.h>

namespace vfs::host::virtio_fs {

VirtioFsDevice::VirtioFsDevice(DeviceConfig config)
    : cfg_(std::move(config)), workers_(cfg_.num_queues) {
    if (cfg_.dax_channel) shmem_sizes_[0] = cfg_.dax_channel->window_size();
}

VirtioFsDevice::~VirtioFsDevice() {
    for (uint32_t i = 0; i < cfg_.num_queues; ++i)
        stop_queue(i);
    // A thread still stuck holds its worker: that one is left to the process's exit.
    for (auto& w : abandoned_)
        if (!w->finished()) (void)w.release();
}

uint64_t VirtioFsDevice::protocol_features() const {
    uint64_t f = cfg_.tag ? vhost_user::protocol_feature::kConfig : 0;
    // A DAX window is offered only when asked for: without one, nothing changes for
    // vhost-user-fs-pci, which has no window.
    if (shmem_sizes_[0] != 0) f |= vhost_user::protocol_feature::kShmem;
    if (cfg_.device_state) f |= vhost_user::protocol_feature::kDeviceState;
    // The dirty log (with VHOST_F_LOG_ALL in kOfferedFeatures) comes through a shared fd.
    return f | vhost_user::protocol_feature::kLogShmfd;
}

std::span<const uint64_t> VirtioFsDevice::shmem_regions() const {
    if (shmem_sizes_[0] == 0) return {};
    cfg_.dax_channel->window_asked();
    return shmem_sizes_;
}

void VirtioFsDevice::set_protocol_features(uint64_t acked) {
    if (cfg_.dax_channel) cfg_.dax_channel->set_protocol_features(acked);
}

void VirtioFsDevice::reset() {
    if (cfg_.dax_mappings) cfg_.dax_mappings->drop_all("device reset");
}

vfs::wire::Status VirtioFsDevice::read_config(uint32_t offset, std::span<uint8_t> out) const {
    if (!cfg_.tag) return vfs::wire::Error{EINVAL};  // no config space without a tag
    virtio_fs_config fs{};
    const size_t n = std::min(cfg_.tag->size(), sizeof(fs.tag));
    __builtin_memcpy(fs.tag, cfg_.tag->data(), n);
    fs.num_request_queues = cfg_.num_queues - 1;
    const auto* bytes = reinterpret_cast<const uint8_t*>(&fs);
    for (size_t i = 0; i < out.size(); ++i) {
        const size_t at = size_t{offset} + i;
        out[i] = at < sizeof(fs) ? bytes[at] : 0;
    }
    return {};
}

vfs::wire::Status VirtioFsDevice::start_queue(vhost_user::QueueSetup q) {
    if (q.index >= cfg_.num_queues || workers_[q.index]) return vfs::wire::Error{EINVAL};
    QueueWorkerConfig c;
    c.queue_index = q.index;
    c.size = q.size;
    c.rings = q.rings;
    c.ring_memory = std::move(q.ring_memory);
    c.base = q.base;
    c.event_idx = (q.features & vfs::wire::virtio_feature::kRingEventIdx) != 0;
    c.enabled = q.enabled;
    c.kick = std::move(q.kick);
    c.call = q.call;
    c.err = q.err;
    c.memory = q.memory;
    c.dirty_log = q.dirty_log;
    c.used_log = q.used_log;
    c.handler = cfg_.handler;
    c.thread_pool_size = q.index == 0 ? 0 : cfg_.thread_pool_size;
    c.poll_us = cfg_.poll_us;
    // The high-priority queue and the first request queue share a thread
    // (queue/queue_thread.h): whichever starts second joins the other's.
    if (cfg_.share_hiprio_thread && q.index <= 1 && cfg_.num_queues > 1)
        c.share_thread_with = workers_[1 - q.index].get();
    auto w = QueueWorker::start(std::move(c));
    if (!w) {
        spdlog::error("virtio-fs: queue {}: cannot start its worker: {}", q.index,
                      strerror(w.error()));
        return vfs::wire::Error{w.error()};
    }
    workers_[q.index] = std::move(*w);
    if (cfg_.dax_channel) cfg_.dax_channel->ring_started();
    if (cfg_.window_files) cfg_.window_files->resume_waits();
    return {};
}

uint16_t VirtioFsDevice::stop_queue(uint32_t index) {
    if (index >= cfg_.num_queues || !workers_[index]) return 0;
    // A worker waiting for the front-end's answer to a map would hold the stop up, and
    // QEMU may not answer while it waits for this stop.
    if (cfg_.dax_channel) cfg_.dax_channel->cancel_waits();
    // Nor can a worker waiting for the front-end's report of a mapping (ADD_MEM_REG) get it
    // while this thread is here.
    if (cfg_.window_files) cfg_.window_files->cancel_waits();
    const uint16_t next = workers_[index]->stop();
    // A worker stuck in a syscall cannot be freed under its thread: kept aside until that
    // thread is done (queue/queue_worker.h), deleted at a later stop.
    if (workers_[index]->abandoned()) abandoned_.push_back(std::move(workers_[index]));
    workers_[index].reset();
    if (cfg_.dax_channel) cfg_.dax_channel->ring_stopped();
    if (cfg_.dax_mappings) cfg_.dax_mappings->drop_all("ring stopped");
    std::erase_if(abandoned_, [](const std::unique_ptr<QueueWorker>& w) { return w->finished(); });
    return next;
}

void VirtioFsDevice::enable_queue(uint32_t index, bool enabled) {
    if (index < cfg_.num_queues && workers_[index]) workers_[index]->set_enabled(enabled);
}

void VirtioFsDevice::set_backend_channel(UniqueFd channel) {
    has_backend_channel_ = channel.valid();
    // Without a window nothing is sent on it, but it stays open: the front-end would
    // see a closed channel as a backend gone wrong.
    if (cfg_.dax_channel) {
        cfg_.dax_channel->set_channel(std::move(channel));
    } else {
        backend_channel_ = std::move(channel);
    }
    spdlog::info("virtio-fs: backend channel received");
}

}  // namespace vfs::host::virtio_fs
