// Our daemon binary on a share with --num-queues=2, and a connected, set-up Frontend
// (no INIT yet): the start the frontend-driven integration tests of the binary share;
// and one request's round trip, as they make it.
#pragma once

#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "daemon_process.h"
#include "frontend.h"
#include "raw_fuse.h"

namespace vfs::test {

// Fatal gtest failures on any step: callers check HasFatalFailure() before going on.
inline void spawn_daemon_and_connect(DaemonProcess& daemon, const std::string& socket,
                                     const std::string& share, const std::string& log_path,
                                     const std::vector<std::string>& extra,
                                     std::unique_ptr<frontend::Frontend>* fe) {
    std::vector<std::string> argv{VFS_DAEMON_PATH, "--socket-path=" + socket,
                                  "--shared-dir=" + share, "--num-queues=2"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    ASSERT_TRUE(daemon.spawn(argv, log_path));
    ASSERT_TRUE(daemon.wait_for_socket(socket)) << daemon.log();
    frontend::FrontendOptions o;
    o.num_queues = 2;
    auto f = frontend::Frontend::connect(socket, o);
    ASSERT_TRUE(f) << strerror(f.error());
    *fe = std::move(*f);
    ASSERT_TRUE((*fe)->setup()) << daemon.log();
}

// The end the same tests share: the front-end gone, the daemon given 5 s to exit as it
// does when its front-end leaves (then SIGTERM), and the test's directory removed.
inline void disconnect_and_stop(std::unique_ptr<frontend::Frontend>& fe, DaemonProcess& daemon,
                                const std::string& dir) {
    fe.reset();
    (void)daemon.wait_exit(5000);
    daemon.terminate();
    if (!dir.empty()) std::filesystem::remove_all(dir);
}

// req on queue q, waited for: the reply (empty if none came); with `want`, its error (0 or
// -errno) is checked against it.
inline std::vector<uint8_t> call_daemon(frontend::Frontend& fe, const DaemonProcess& daemon,
                                        uint32_t q, const std::vector<uint8_t>& req,
                                        uint32_t reply_cap,
                                        std::optional<int> want = std::nullopt) {
    auto r = fe.request(q, req, reply_cap);
    EXPECT_TRUE(r) << strerror(r.error()) << "\n" << daemon.log();
    if (!r) return {};
    if (want) {
        EXPECT_EQ(vfs::slowfs::reply_header(*r).error, *want) << daemon.log();
    }
    return *r;
}

}  // namespace vfs::test
