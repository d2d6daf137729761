#include "vhost_user_client.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

namespace vfs::frontend {

Result<std::unique_ptr<VhostUserClient>> VhostUserClient::connect(const std::string& path,
                                                                  int timeout_ms) {
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (path.size() >= sizeof(addr.sun_path)) return Error{ENAMETOOLONG};
    memcpy(addr.sun_path, path.c_str(), path.size() + 1);
    for (int waited = 0;; waited += 20) {
        UniqueFd s(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
        if (!s.valid()) return Error{errno};
        if (::connect(s.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0)
            return std::make_unique<VhostUserClient>(std::move(s));
        if ((errno != ENOENT && errno != ECONNREFUSED) || waited >= timeout_ms) return Error{errno};
        ::usleep(20 * 1000);
    }
}

Status VhostUserClient::read_reply(uint32_t request, void* out, uint32_t size) {
    auto got = conn_.receive(msg_.get());
    if (!got) return Error{got.error()};
    if (!*got) return Error{ECONNRESET};
    const vu::Header& h = msg_->hdr;
    msg_->clear_fds();
    if (h.request != request || !(h.flags & vu::kFlagReply) || h.size != size) return Error{EPROTO};
    memcpy(out, msg_->payload, size);
    return {};
}

Status VhostUserClient::send(vu::Request req, const void* payload, uint32_t size, const int* fds,
                             uint32_t nfds) {
    vu::Header h{static_cast<uint32_t>(req), vu::kVersion, size};
    const bool ack = reply_ack_.load();
    if (ack) h.flags |= vu::kFlagNeedReply;
    std::lock_guard lock(mu_);
    if (Status s = conn_.send(h, payload, fds, nfds); !s) return s;
    if (!ack) return {};
    uint64_t answer = 0;
    if (Status s = read_reply(h.request, &answer, sizeof(answer)); !s) return s;
    if (answer != 0) return Error{EIO};
    return {};
}

Status VhostUserClient::call(vu::Request req, const void* payload, uint32_t size, void* reply,
                             uint32_t reply_size, const int* fds, uint32_t nfds) {
    vu::Header h{static_cast<uint32_t>(req), vu::kVersion, size};
    std::lock_guard lock(mu_);
    if (Status s = conn_.send(h, payload, fds, nfds); !s) return s;
    return read_reply(h.request, reply, reply_size);
}

Result<uint64_t> VhostUserClient::get_u64(vu::Request req) {
    uint64_t v = 0;
    if (Status s = call(req, nullptr, 0, &v, sizeof(v)); !s) return Error{s.error()};
    return v;
}

Result<vu::VringState> VhostUserClient::get_vring_base(uint32_t index) {
    vu::VringState in{index, 0}, out;
    if (Status s = call(vu::Request::kGetVringBase, &in, sizeof(in), &out, sizeof(out)); !s)
        return Error{s.error()};
    if (out.index != index) return Error{EPROTO};
    return out;
}

bool VhostUserClient::peer_closed(int timeout_ms) {
    pollfd p{conn_.fd(), POLLIN, 0};
    timespec start;
    clock_gettime(CLOCK_MONOTONIC, &start);
    for (;;) {
        if (::poll(&p, 1, timeout_ms) <= 0) return false;
        char buf[256];
        const ssize_t n = ::recv(conn_.fd(), buf, sizeof(buf), MSG_DONTWAIT);
        if (n == 0 || (n < 0 && errno == ECONNRESET)) return true;
        // Stray reply bytes (an ack sent before the close): keep reading.
        timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        const long ms =
            (now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000;
        if (ms >= timeout_ms) return false;
    }
}

}  // namespace vfs::frontend
