#include "virtio_fs/dax_channel.h"

#include <errno.h>

#include <spdlog/spdlog.h>

namespace vfs::host::virtio_fs {

namespace pf = vhost_user::protocol_feature;

void DaxChannel::set_channel(UniqueFd channel) {
    auto next = std::make_shared<vhost_user::BackendChannel>(std::move(channel));
    if (stopping_.load()) next->cancel();  // a ring is stopping: so is the new channel
    std::shared_ptr<vhost_user::BackendChannel> old;
    {
        std::lock_guard lock(mu_);
        old = std::exchange(channel_, std::move(next));
    }
    if (old) old->cancel();
}

void DaxChannel::ring_started() {
    stopping_.store(false);
    rings_.fetch_add(1);
    if (auto c = channel()) c->resume();
}

void DaxChannel::cancel_waits() {
    stopping_.store(true);
    if (auto c = channel()) c->cancel();
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
    return negotiated() && rings_.load() == num_queues_ && !stopping_.load();
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
