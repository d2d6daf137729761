#include "virtio_fs/dax_channel.h"

#include <errno.h>
#include <linux/virtio_config.h>

#include <spdlog/spdlog.h>

namespace vfs::host::virtio_fs {

namespace pf = vhost_user::protocol_feature;

void DaxChannel::set_channel(UniqueFd channel) {
    auto next = std::make_shared<vhost_user::BackendChannel>(std::move(channel));
    std::shared_ptr<vhost_user::BackendChannel> old;
    {
        std::lock_guard lock(mu_);
        old = std::exchange(channel_, std::move(next));
    }
    if (old) old->cancel();
}

void DaxChannel::set_status(uint8_t status) {
    status_.store(status);
    status_seen_.store(true);
}

void DaxChannel::cancel_waits() {
    if (auto c = channel()) c->cancel();
}

void DaxChannel::reset() {
    status_seen_.store(false);
    status_.store(0);
}

std::shared_ptr<vhost_user::BackendChannel> DaxChannel::channel() const {
    std::lock_guard lock(mu_);
    return channel_;
}

bool DaxChannel::negotiated() const {
    constexpr uint64_t kNeeded = pf::kShmem | pf::kBackendReq | pf::kBackendSendFd | pf::kReplyAck;
    return window_size_ != 0 && (acked_.load() & kNeeded) == kNeeded && window_asked_.load() &&
           channel() != nullptr;
}

bool DaxChannel::ready() const {
    // A started ring: QEMU starts the rings only once the guest has set DRIVER_OK. The
    // status byte cannot be the test: QEMU 11.1.3's vhost-user-test-device-pci sends
    // SET_STATUS with FEATURES_OK alone and never DRIVER_OK (vhost_user_dev_start skips a
    // device whose vq_index_end is unset), so waiting for it would refuse every map.
    return negotiated() && rings_.load() > 0;
}

vfs::wire::Status DaxChannel::map(int fd, uint64_t foffset, uint64_t moffset, uint64_t len,
                                  bool writable) {
    auto c = channel();
    if (!c) return vfs::wire::Error{EIO};
    vhost_user::ShmemMap m;
    m.shmid = 0;
    m.fd_offset = foffset;
    m.shm_offset = moffset;
    m.len = len;
    m.flags = writable ? vhost_user::kShmemMapFlagWrite : 0;
    return c->shmem_map(m, fd);
}

vfs::wire::Status DaxChannel::unmap(uint64_t moffset, uint64_t len) {
    auto c = channel();
    if (!c) return vfs::wire::Error{EIO};
    vhost_user::ShmemMap m;
    m.shmid = 0;
    m.shm_offset = moffset;
    m.len = len;
    return c->shmem_unmap(m);
}

}  // namespace vfs::host::virtio_fs
