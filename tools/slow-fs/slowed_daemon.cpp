#include "slowed_daemon.h"

#include <errno.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "fs/passthrough_fs.h"

namespace vfs::slowfs {

vfs::wire::Result<std::unique_ptr<SlowedDaemon>> SlowedDaemon::start(
    const SlowedDaemonConfig& cfg) {
    std::unique_ptr<SlowedDaemon> d(new SlowedDaemon());
    d->opts_.shared_dir = cfg.shared_dir;
    d->opts_.cache = vfs::host::CacheMode::kNever;
    auto pfs = vfs::host::PassthroughFs::create(d->opts_);
    if (!pfs) return vfs::wire::Error{pfs.error()};
    auto slow =
        std::make_unique<SlowLookupFs>(std::move(*pfs), cfg.slow_name, cfg.delay, cfg.gated);
    d->fs_ = slow.get();
    d->fs_owner_ = std::move(slow);
    d->server_ = std::make_unique<vfs::host::FuseServer>(*d->fs_owner_, d->opts_);
    vfs::host::virtio_fs::DeviceConfig dc;
    dc.num_queues = cfg.num_queues;
    dc.handler = d->server_.get();
    dc.thread_pool_size = cfg.thread_pool_size;
    d->device_ = std::make_unique<vfs::host::virtio_fs::VirtioFsDevice>(dc);
    d->backend_ = std::make_unique<vfs::host::vhost_user::Backend>(*d->device_);
    auto l = vfs::host::vhost_user::Server::listen_on_path(cfg.socket_path);
    if (!l) return vfs::wire::Error{l.error()};
    d->listener_ = std::move(*l);
    d->stop_.reset(::eventfd(0, EFD_CLOEXEC));
    if (!d->stop_.valid()) return vfs::wire::Error{errno};
    d->thread_ = std::thread(
        [raw = d.get()] { (void)raw->listener_.serve_one(*raw->backend_, raw->stop_.get()); });
    return d;
}

SlowedDaemon::~SlowedDaemon() {
    const uint64_t one = 1;
    [[maybe_unused]] ssize_t n = ::write(stop_.get(), &one, sizeof(one));
    if (fs_) fs_->release();  // a gated LOOKUP must not hold up the queue's stop
    if (thread_.joinable()) thread_.join();
}

}  // namespace vfs::slowfs
