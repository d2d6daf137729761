// virtiofsd-cxx in-process over a SlowLookupFs: the daemon's own parts (passthrough,
// FUSE server, virtio-fs device, vhost-user backend and server) with LOOKUPs of one name
// slowed, serving one front-end on a unix socket from a thread of this process. For the
// thread-pool test (tests/integration/thread_pool_test.cpp) and benchmark (vfs-pool-bench).
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <thread>

#include "fs/fs_options.h"
#include "fuse/fuse_server.h"
#include "slow_lookup_fs.h"
#include "util/unique_fd.h"
#include "vhost_user/backend.h"
#include "vhost_user/server.h"
#include "virtio_fs/virtio_fs_device.h"

namespace vfs::slowfs {

struct SlowedDaemonConfig {
    std::string shared_dir;
    std::string socket_path;
    std::string slow_name = "slow";
    std::chrono::milliseconds delay{20};
    bool gated = false;  // see SlowLookupFs
    unsigned thread_pool_size = 0;
    uint32_t num_queues = 2;
};

class SlowedDaemon {
  public:
    // Listening on cfg.socket_path when it returns.
    static vfs::wire::Result<std::unique_ptr<SlowedDaemon>> start(const SlowedDaemonConfig& cfg);
    // Ends serving (the front-end should have disconnected) and joins the thread.
    ~SlowedDaemon();

    SlowLookupFs& fs() { return *fs_; }

  private:
    SlowedDaemon() = default;

    vfs::host::FsOptions opts_;
    SlowLookupFs* fs_ = nullptr;  // owned by fs_owner_
    std::unique_ptr<vfs::host::Filesystem> fs_owner_;
    std::unique_ptr<vfs::host::FuseServer> server_;
    std::unique_ptr<vfs::host::virtio_fs::VirtioFsDevice> device_;
    std::unique_ptr<vfs::host::vhost_user::Backend> backend_;
    vfs::host::vhost_user::Server listener_;
    vfs::host::UniqueFd stop_;  // eventfd: readable ends serve_one
    std::thread thread_;
};

}  // namespace vfs::slowfs
