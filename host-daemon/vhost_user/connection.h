// One vhost-user stream socket: framing (header + payload) and fd passing with
// SCM_RIGHTS, for either side of the protocol (the daemon serves on it, the test frontend
// drives it).
//
// It knows nothing of what a request means: it only guarantees that a received Message
// has a complete header, a payload no larger than kMaxPayloadBytes that was read in full,
// and every fd that came with it owned by the Message (so an unused fd is always closed).
// It must never trust the header's size before bounding it.
#pragma once

#include <stdint.h>

#include "util/unique_fd.h"
#include "vhost_user/messages.h"

namespace vfs::host::vhost_user {

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
    // oversized payload; the socket's errno otherwise.
    Result<bool> receive(Message* msg);

    // Sends a header and payload, with fds attached to the first byte.
    Status send(const Header& hdr, const void* payload, const int* fds = nullptr,
                uint32_t nfds = 0);

    // Sends a reply to `request`: the REPLY flag set, payload of `size` bytes.
    Status send_reply(uint32_t request, const void* payload, uint32_t size);

  private:
    UniqueFd sock_;
};

}  // namespace vfs::host::vhost_user
