// Start-up steps on the process itself that the command line asks for: the open-file
// limit, the socket's group, detaching into the background. Each returns an error
// message instead of exiting, so main decides what to log and how to stop.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <variant>

namespace vfs::host::cli {

struct OpenFileLimit {
    uint64_t limit = 0;                  // the soft limit now in force
    std::optional<std::string> warning;  // set when the hard limit capped the request
};

// The limit used when --rlimit-nofile is not given: min(1000000, /proc/sys/fs/nr_open).
uint64_t default_open_file_limit();

// Sets RLIMIT_NOFILE to `requested` (or the default when unset); 0 leaves it unchanged.
// Like virtiofsd, a request the hard limit forbids falls back to the hard limit with a
// warning rather than failing: the daemon still works with fewer descriptors.
std::variant<OpenFileLimit, std::string> set_open_file_limit(std::optional<uint64_t> requested);

// Gives the socket file at `path` to `group` (a name, or a number) with mode 0770, so the
// group's members (e.g. the user QEMU runs as) can connect.
std::optional<std::string> give_socket_to_group(const std::string& path, const std::string& group);

// daemon(3): fork, let the parent exit 0, start a new session, point stdio at /dev/null.
std::optional<std::string> detach_into_background();

}  // namespace vfs::host::cli
