// The daemon's listening side: a unix socket at --socket-path (a stale one unlinked) or an
// inherited listening fd (--fd), one front-end at a time, served until it goes away.
//
// It owns the event loop of the connection thread: poll on the socket and on a signalfd,
// receive, hand to the Backend, close when the Backend says the connection cannot go on
// (a malformed message, a refusal the front-end cannot be told of). It never retries a broken
// connection and never serves a second front-end: like virtiofsd, the process ends when
// its front-end does.
#pragma once

#include <functional>
#include <string>

#include "util/unique_fd.h"
#include "vhost_user/backend.h"
#include "vhost_user/connection.h"

namespace vfs::host::vhost_user {

// How serving ended, which becomes the process's exit status.
enum class ServeOutcome {
    kFrontendDisconnected,  // exit 0, as virtiofsd does
    kSignalled,             // SIGTERM/SIGINT: exit 0
    kProtocolError,         // a malformed or unanswerable message closed it: exit 1
};

// Serves one connected front-end until it disconnects, the Backend says the connection
// cannot go on (conn is closed then), or signal_fd (a signalfd; -1 for none) becomes
// readable. Every started ring is stopped before it returns.
Result<ServeOutcome> serve_connection(Backend& backend, Connection& conn, int signal_fd);

class Server {
  public:
    // Binds and listens on path, unlinking a stale socket first.
    static Result<Server> listen_on_path(const std::string& path);
    // Adopts an already listening socket (--fd).
    static Server adopt_listener(int fd);

    Server() = default;
    Server(Server&&) = default;
    Server& operator=(Server&&) = default;
    ~Server();

    // Accepts one front-end and serves it until it disconnects, a message ends it, or
    // signal_fd (a signalfd) becomes readable.
    Result<ServeOutcome> serve_one(Backend& backend, int signal_fd);

    // Inside a sandbox the socket's path is out of reach: `remove` (run once, at accept or
    // destruction) removes it instead, from outside.
    void set_path_remover(std::function<void()> remove) { remove_path_ = std::move(remove); }

    // The listening socket (for a sandbox's parent to close its copy).
    int listener_fd() const { return listener_.get(); }

  private:
    void remove_path();

    UniqueFd listener_;
    std::string path_;  // unlinked on destruction if we created it
    std::function<void()> remove_path_;
};

}  // namespace vfs::host::vhost_user
