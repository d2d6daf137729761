// The back-end's side of the backend request channel (SET_BACKEND_REQ_FD): requests the
// device sends to the front-end, today the shared-memory map and unmap of DAX.
//
// A request is sent with NEED_REPLY and waits for the front-end's u64 answer (REPLY_ACK
// must be negotiated), one request at a time. Only queue workers send, never the
// connection thread: QEMU acks a map and then sends ADD_MEM_REG, which the connection
// thread must be free to answer; and QEMU's main loop may be waiting on the connection
// thread (GET_VRING_BASE), so cancel() lets the connection thread free a waiting worker
// before it stops that worker's ring. A cancel holds until resume() (a ring starts
// again): every request waiting or sent meanwhile fails, since the worker whose ring is
// stopping may be any of them (one queued behind another's wait, or one just past the
// ready check). A reply that was given up on is owed: it is read and dropped before the
// next request's, so the channel stays in step.
#pragma once

#include <stdint.h>

#include <atomic>
#include <mutex>

#include "util/unique_fd.h"
#include "vhost_user/connection.h"
#include "vhost_user/messages.h"

namespace vfs::host::vhost_user {

class BackendChannel {
  public:
    // How long a request waits for its answer before it fails with ETIMEDOUT.
    static constexpr int kReplyTimeoutMs = 10000;

    explicit BackendChannel(UniqueFd sock);
    ~BackendChannel() = default;
    BackendChannel(const BackendChannel&) = delete;
    BackendChannel& operator=(const BackendChannel&) = delete;

    // BACKEND_SHMEM_MAP with fd; the front-end's refusal is EIO, a channel failure its errno.
    Status shmem_map(const ShmemMap& m, int fd);
    // BACKEND_SHMEM_UNMAP.
    Status shmem_unmap(const ShmemMap& m);

    // Makes every request waiting for its answer fail now with ECANCELED, and every one
    // sent until resume() fail at once without being sent. Any thread.
    void cancel();
    // Ends a cancel: requests are sent again. The connection thread, when a ring starts.
    void resume();
    bool cancelled() const { return cancelled_.load(std::memory_order_acquire); }

  private:
    Status request(BackendRequest req, const ShmemMap& m, const int* fds, uint32_t nfds);
    // Waits for one reply to `req`; drops the owed replies that come first.
    Status await_reply(uint32_t req);

    std::mutex mu_;  // one request at a time; never taken by the connection thread
    Connection conn_;
    UniqueFd cancel_;  // an eventfd, readable while cancelled_ (read only by resume())
    std::atomic<bool> cancelled_{false};
    uint32_t owed_ = 0;
    bool broken_ = false;  // a malformed reply or a closed socket: nothing more is sent
};

}  // namespace vfs::host::vhost_user
