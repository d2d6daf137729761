// The front-end's side of the backend request channel (SET_BACKEND_REQ_FD): a socketpair
// whose other end goes to the backend, and a thread that receives the backend's requests,
// records them, and answers NEED_REPLY with what a hook returns.
//
// Frontend's hook serves DAX map/unmap in its window (FrontendOptions::shmem, dax_window.h);
// without a window every request is recorded and refused (a non-zero reply). The
// listener never executes anything itself. An after-reply hook runs once the reply is
// sent, with the message's fds still open: QEMU reports a new mapping as guest memory
// (ADD_MEM_REG) after it has answered the map.
#pragma once

#include <stdint.h>

#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "util/unique_fd.h"
#include "vhost_user/connection.h"

namespace vfs::frontend {

using vfs::host::UniqueFd;
using vfs::wire::Result;

struct RecordedBackendRequest {
    vfs::host::vhost_user::Header hdr;
    std::vector<uint8_t> payload;
    uint32_t nfds = 0;
};

class BackendChannel {
  public:
    // Returns the u64 reply for a request; non-zero means failure to the backend. fds are
    // the message's (owned by it; dup what you keep).
    using Hook = std::function<uint64_t(const vfs::host::vhost_user::Message&)>;
    // Called with the request and the hook's result after the reply (if asked) is sent.
    using AfterReply = std::function<void(const vfs::host::vhost_user::Message&, uint64_t)>;

    // Creates the socketpair and starts the listener. backend_end() goes to the backend.
    static Result<std::unique_ptr<BackendChannel>> create(Hook hook = nullptr,
                                                          AfterReply after = nullptr);
    ~BackendChannel();

    int backend_end() const { return backend_end_.get(); }
    // Drops our copy of the backend's end once it has been sent.
    void close_backend_end() { backend_end_.reset(); }

    std::vector<RecordedBackendRequest> recorded() const;

  private:
    BackendChannel() = default;
    void run();

    UniqueFd backend_end_;
    vfs::host::vhost_user::Connection ours_;
    Hook hook_;
    AfterReply after_;
    mutable std::mutex mu_;
    std::vector<RecordedBackendRequest> recorded_;
    std::thread thread_;
};

}  // namespace vfs::frontend
