#include "vhost_user/server.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include "vhost_user/connection.h"

namespace vfs::host::vhost_user {

Result<Server> Server::listen_on_path(const std::string& path) {
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (path.empty() || path.size() >= sizeof(addr.sun_path)) return Error{ENAMETOOLONG};
    memcpy(addr.sun_path, path.c_str(), path.size() + 1);
    UniqueFd s(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!s.valid()) return Error{errno};
    // A socket file left by a previous run would make bind fail.
    if (::unlink(path.c_str()) < 0 && errno != ENOENT) return Error{errno};
    if (::bind(s.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) < 0) return Error{errno};
    if (::listen(s.get(), 1) < 0) return Error{errno};
    Server srv;
    srv.listener_ = std::move(s);
    srv.path_ = path;
    return srv;
}

Server Server::adopt_listener(int fd) {
    Server srv;
    srv.listener_.reset(fd);
    return srv;
}

Server::~Server() {
    remove_path();
}

void Server::remove_path() {
    if (remove_path_) {
        remove_path_();
        remove_path_ = nullptr;
    } else if (!path_.empty()) {
        ::unlink(path_.c_str());
    }
    path_.clear();
}

namespace {

// How long a reply may wait for room in the socket: a front-end that stops reading its
// replies would otherwise hold the connection thread in sendmsg, and SIGTERM with it.
constexpr int kSendTimeoutMs = 5000;

void take_signal(int signal_fd) {
    signalfd_siginfo si{};
    [[maybe_unused]] ssize_t r = ::read(signal_fd, &si, sizeof(si));
    spdlog::info("received signal {}, shutting down", si.ssi_signo);
}

// Waits until fd is readable or the signalfd fires; true if fd is ready.
Result<bool> wait_readable(int fd, int signal_fd) {
    pollfd p[2] = {{fd, POLLIN, 0}, {signal_fd, POLLIN, 0}};
    for (;;) {
        const int n = ::poll(p, signal_fd >= 0 ? 2 : 1, -1);
        if (n < 0) {
            if (errno == EINTR) continue;
            return Error{errno};
        }
        if (signal_fd >= 0 && (p[1].revents & POLLIN)) {
            take_signal(signal_fd);
            return false;
        }
        if (p[0].revents) return true;
    }
}

}  // namespace

Result<ServeOutcome> Server::serve_one(Backend& backend, int signal_fd) {
    spdlog::info("Waiting for vhost-user socket connection...");
    auto ready = wait_readable(listener_.get(), signal_fd);
    if (!ready) return Error{ready.error()};
    if (!*ready) return ServeOutcome::kSignalled;
    UniqueFd conn_fd(::accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC));
    if (!conn_fd.valid()) return Error{errno};
    // One front-end only: nobody else may connect while this one is served.
    listener_.reset();
    remove_path();
    spdlog::info("Client connected, servicing requests");

    Connection conn(std::move(conn_fd));
    return serve_connection(backend, conn, signal_fd);
}

Result<ServeOutcome> serve_connection(Backend& backend, Connection& conn, int signal_fd) {
    // The buffer for one message (4 KiB payload and fds); reused for every message.
    auto msg = std::make_unique<Message>();
    const timeval send_timeout{kSendTimeoutMs / 1000, (kSendTimeoutMs % 1000) * 1000};
    if (::setsockopt(conn.fd(), SOL_SOCKET, SO_SNDTIMEO, &send_timeout, sizeof(send_timeout)) < 0)
        spdlog::warn("vhost-user: cannot bound reply sends: {}", strerror(errno));
    for (;;) {
        auto r = wait_readable(conn.fd(), signal_fd);
        if (!r) {
            backend.stop_all();
            return Error{r.error()};
        }
        if (!*r) {
            backend.stop_all();
            return ServeOutcome::kSignalled;
        }
        auto got = conn.receive(msg.get(), signal_fd);
        if (!got && got.error() == ECANCELED) {  // a signal came while a message was due
            take_signal(signal_fd);
            conn.close();
            backend.stop_all();
            return ServeOutcome::kSignalled;
        }
        if (!got) {
            spdlog::error("vhost-user: receiving a message failed: {}; closing the connection",
                          strerror(got.error()));
            conn.close();
            backend.stop_all();
            return ServeOutcome::kProtocolError;
        }
        if (!*got) {
            spdlog::info("Client disconnected, shutting down");
            backend.stop_all();
            return ServeOutcome::kFrontendDisconnected;
        }
        if (Status s = backend.handle(conn, *msg); !s) {
            spdlog::error("vhost-user: closing the connection after {}",
                          request_name(msg->hdr.request));
            msg->clear_fds();
            conn.close();
            backend.stop_all();
            return ServeOutcome::kProtocolError;
        }
    }
}

}  // namespace vfs::host::vhost_user
