#include "vhost_user/connection.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>

namespace vfs::host::vhost_user {

namespace {

int64_t now_ms() {
    timespec t{};
    ::clock_gettime(CLOCK_MONOTONIC, &t);
    return int64_t{t.tv_sec} * 1000 + t.tv_nsec / 1000000;
}

// Reads exactly len bytes (the rest of a message) by deadline_ms (CLOCK_MONOTONIC);
// EPROTO if the peer hangs up midway, ETIMEDOUT past the deadline, ECANCELED as soon as
// cancel_fd is readable.
Status read_full(int fd, uint8_t* buf, size_t len, int cancel_fd, int64_t deadline_ms) {
    while (len > 0) {
        const int64_t left = deadline_ms - now_ms();
        if (left <= 0) return Error{ETIMEDOUT};
        pollfd p[2] = {{fd, POLLIN, 0}, {cancel_fd, POLLIN, 0}};
        const int ready = ::poll(p, cancel_fd >= 0 ? 2 : 1, static_cast<int>(left));
        if (ready < 0) {
            if (errno == EINTR) continue;
            return Error{errno};
        }
        if (cancel_fd >= 0 && (p[1].revents & POLLIN)) return Error{ECANCELED};
        if (ready == 0) continue;  // the deadline check above ends it
        const ssize_t n = ::recv(fd, buf, len, MSG_DONTWAIT);
        if (n < 0) {
            if (errno == EINTR || errno == EAGAIN) continue;
            return Error{errno};
        }
        if (n == 0) return Error{EPROTO};
        buf += n;
        len -= static_cast<size_t>(n);
    }
    return {};
}

}  // namespace

Result<bool> Connection::receive(Message* msg, int cancel_fd, int rest_timeout_ms) {
    msg->clear_fds();
    msg->hdr = Header{};
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * kMaxFdsPerMessage)];
    iovec iov{&msg->hdr, sizeof(Header)};
    msghdr mh{};
    mh.msg_iov = &iov;
    mh.msg_iovlen = 1;
    mh.msg_control = control;
    mh.msg_controllen = sizeof(control);

    ssize_t n;
    do {
        n = ::recvmsg(sock_.get(), &mh, MSG_CMSG_CLOEXEC);
    } while (n < 0 && errno == EINTR);
    if (n < 0) return Error{errno};
    if (n == 0) return false;
    const int64_t deadline = now_ms() + rest_timeout_ms;

    // Take ownership of every fd first, so all of them close on any error below.
    bool too_many = (mh.msg_flags & MSG_CTRUNC) != 0;
    for (cmsghdr* c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
        if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
        const size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        for (size_t i = 0; i < count; ++i) {
            int fd;
            memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
            if (msg->nfds < kMaxFdsPerMessage) {
                msg->fds[msg->nfds++].reset(fd);
            } else {
                ::close(fd);
                too_many = true;
            }
        }
    }
    if (too_many) return Error{EPROTO};

    if (static_cast<size_t>(n) < sizeof(Header)) {
        auto* h = reinterpret_cast<uint8_t*>(&msg->hdr);
        if (Status s = read_full(sock_.get(), h + n, sizeof(Header) - n, cancel_fd, deadline); !s)
            return Error{s.error()};
    }
    if (msg->hdr.size > kMaxPayloadBytes) return Error{EPROTO};
    if (Status s = read_full(sock_.get(), msg->payload, msg->hdr.size, cancel_fd, deadline); !s)
        return Error{s.error()};
    return true;
}

Status Connection::send(const Header& hdr, const void* payload, const int* fds, uint32_t nfds) {
    if (nfds > kMaxFdsPerMessage || hdr.size > kMaxPayloadBytes) return Error{EINVAL};
    iovec iov[2] = {{const_cast<Header*>(&hdr), sizeof(Header)},
                    {const_cast<void*>(payload), hdr.size}};
    msghdr mh{};
    mh.msg_iov = iov;
    mh.msg_iovlen = hdr.size ? 2 : 1;
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * kMaxFdsPerMessage)];
    if (nfds > 0) {
        mh.msg_control = control;
        mh.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
        cmsghdr* c = CMSG_FIRSTHDR(&mh);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
        memcpy(CMSG_DATA(c), fds, sizeof(int) * nfds);
    }
    const size_t total = sizeof(Header) + hdr.size;
    ssize_t n;
    do {
        n = ::sendmsg(sock_.get(), &mh, MSG_NOSIGNAL);
    } while (n < 0 && errno == EINTR);
    if (n < 0) return Error{errno};
    // Stream sockets of this size do not split a write in practice; treat it as an error
    // rather than resending with the fds attached twice.
    if (static_cast<size_t>(n) != total) return Error{EPROTO};
    return {};
}

Status Connection::send_reply(uint32_t request, const void* payload, uint32_t size) {
    Header h{request, kVersion | kFlagReply, size};
    return send(h, payload);
}

}  // namespace vfs::host::vhost_user
