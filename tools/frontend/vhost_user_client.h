// The front-end end of a vhost-user socket: sends requests as QEMU does (fds attached,
// NEED_REPLY when REPLY_ACK is negotiated) and reads the replies it expects.
//
// It checks every reply against the request it answers (request number, REPLY flag,
// size), so a misbehaving backend is an error, never a misread. It keeps no device state
// beyond whether REPLY_ACK is on. Requests from several threads (the caller's, and the
// backend channel's listener reporting a DAX mapping as QEMU does) go one at a time, each
// with its reply.
#pragma once

#include <stdint.h>

#include <atomic>
#include <memory>
#include <mutex>
#include <string>

#include "vhost_user/connection.h"
#include "vhost_user/messages.h"

namespace vfs::frontend {

namespace vu = vfs::host::vhost_user;
using vfs::host::UniqueFd;
using vfs::wire::Error;
using vfs::wire::Result;
using vfs::wire::Status;

class VhostUserClient {
  public:
    // Connects to a backend's listening socket, retrying until timeout_ms (a just-started
    // daemon may not be listening yet).
    static Result<std::unique_ptr<VhostUserClient>> connect(const std::string& path,
                                                            int timeout_ms = 5000);
    explicit VhostUserClient(UniqueFd sock) : conn_(std::move(sock)), msg_(new vu::Message) {}

    // Ask for a REPLY_ACK on every request without a reply of its own.
    void set_reply_ack(bool on) { reply_ack_ = on; }

    // A request without a reply of its own (waits for the ack if REPLY_ACK is on).
    Status send(vu::Request req, const void* payload = nullptr, uint32_t size = 0,
                const int* fds = nullptr, uint32_t nfds = 0);
    template <class T>
    Status send_obj(vu::Request req, const T& v, const int* fds = nullptr, uint32_t nfds = 0) {
        return send(req, &v, sizeof(T), fds, nfds);
    }

    // A request answered with a u64 (GET_FEATURES, GET_QUEUE_NUM, ...).
    Result<uint64_t> get_u64(vu::Request req);
    // GET_VRING_BASE: stops the ring, returns its next available index.
    Result<vu::VringState> get_vring_base(uint32_t index);
    // Sends a request (with fds, if any) and reads a reply of exactly reply_size bytes
    // into reply.
    Status call(vu::Request req, const void* payload, uint32_t size, void* reply,
                uint32_t reply_size, const int* fds = nullptr, uint32_t nfds = 0);

    // Raw access for hostile tests: send anything, then see whether the peer hung up.
    vu::Connection& connection() { return conn_; }
    // True if the backend closed the socket within timeout_ms.
    bool peer_closed(int timeout_ms);

  private:
    Status read_reply(uint32_t request, void* out, uint32_t size);

    std::mutex mu_;  // a request and its reply
    vu::Connection conn_;
    std::unique_ptr<vu::Message> msg_;
    std::atomic<bool> reply_ack_{false};
};

}  // namespace vfs::frontend
