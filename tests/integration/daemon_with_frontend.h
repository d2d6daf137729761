// Our daemon binary on a share with --num-queues=2, and a connected, set-up Frontend
// (no INIT yet): the start the frontend-driven integration tests of the binary share.
#pragma once

#include <gtest/gtest.h>

#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "daemon_process.h"
#include "frontend.h"

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

}  // namespace vfs::test
