// One vhost-user stream socket: framing (header + payload) and fd passing with
// SCM_RIGHTS, for either side of the protocol (the daemon serves on it, the test frontend
// drives it).
//
// It knows nothing of what a request means: it only guarantees that a received Message
// has a complete header, a payload no larger than kMaxPayloadBytes that was read in full,
// and every fd that came with it owned by the Message (so an unused fd is always closed).
// It must never trust the header's size before bounding it, and never wait without bound
// for the rest of a message a front-end started: a hostile one that sends half a message
// must not hold the connection thread (nor SIGTERM, which that thread serves).
#pragma once

#include <stdint.h>

#include "util/unique_fd.h"
#include "vhost_user/messages.h"

namespace vfs::host::vhost_user {

// How long the rest of a message may take once its first byte arrived. Front-ends write a
// message in one go; one that stalls this long mid-message is broken or hostile.
inline constexpr int kRestOfMessageTimeoutMs = 2000;

struct Message {
    Header hdr;
    uint32_t nfds = 0;
    UniqueFd fds[kMaxFdsPerMessage];
    alignas(8) uint8_t payload[kMaxPayloadBytes];

    Request request() const { return static_cast<Request>(hdr.request); }
    // Drops every fd (closing them) before the buffer is reused.
    void clear_fds() {
        for (uint32_t i = 0; i < nfds; ++i)
            fds[i].reset();
        nfds = 0;
    }
};

class Connection {
  public:
    Connection() = default;
    explicit Connection(UniqueFd sock) : sock_(std::move(sock)) {}

    int fd() const { return sock_.get(); }
    bool valid() const { return sock_.valid(); }
    void close() { sock_.reset(); }

    // Receives one message into *msg. Returns false when the peer closed the socket
    // cleanly between messages; EPROTO for a truncated message, too many fds or an
    // oversized payload; ETIMEDOUT when the rest of a started message did not come within
    // rest_timeout_ms; ECANCELED when cancel_fd (a signalfd, say; -1 for none) became
    // readable meanwhile (it is not read); the socket's errno otherwise. It waits for the
    // first byte as long as it takes: the server polls before it calls.
    Result<bool> receive(Message* msg, int cancel_fd = -1,
                         int rest_timeout_ms = kRestOfMessageTimeoutMs);

    // Sends a header and payload, with fds attached to the first byte.
    Status send(const Header& hdr, const void* payload, const int* fds = nullptr,
                uint32_t nfds = 0);

    // Sends a reply to `request`: the REPLY flag set, payload of `size` bytes.
    Status send_reply(uint32_t request, const void* payload, uint32_t size);

  private:
    UniqueFd sock_;
};

}  // namespace vfs::host::vhost_user
