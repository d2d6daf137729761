#include "cli/process_setup.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <fstream>
#include <vector>

#include "util/unique_fd.h"

namespace vfs::host::cli {

namespace {

std::string errno_text(int err) {
    return strerror(err);
}

std::optional<gid_t> group_id(const std::string& group) {
    const long hint = sysconf(_SC_GETGR_R_SIZE_MAX);
    std::vector<char> buf(hint > 0 ? static_cast<size_t>(hint) : 16384);
    struct group entry;
    struct group* found = nullptr;
    // Groups with many members need a bigger buffer than the hint.
    while (getgrnam_r(group.c_str(), &entry, buf.data(), buf.size(), &found) == ERANGE &&
           buf.size() < (1u << 24)) {
        buf.resize(buf.size() * 2);
    }
    if (found) return found->gr_gid;
    // Not a known name: a number names the group directly (as chgrp accepts).
    gid_t gid = 0;
    const auto [end, ec] = std::from_chars(group.data(), group.data() + group.size(), gid);
    if (ec == std::errc{} && end == group.data() + group.size() && !group.empty()) return gid;
    return std::nullopt;
}

}  // namespace

uint64_t default_open_file_limit() {
    constexpr uint64_t kCap = 1000000;
    std::ifstream nr_open("/proc/sys/fs/nr_open");
    uint64_t kernel_max = 0;
    if (nr_open >> kernel_max && kernel_max > 0) return std::min(kCap, kernel_max);
    return kCap;
}

std::variant<OpenFileLimit, std::string> set_open_file_limit(std::optional<uint64_t> requested) {
    rlimit current{};
    if (getrlimit(RLIMIT_NOFILE, &current) < 0) return "getrlimit: " + errno_text(errno);
    const uint64_t wanted = requested.value_or(default_open_file_limit());
    if (wanted == 0) return OpenFileLimit{current.rlim_cur, std::nullopt};

    rlimit limit{wanted, wanted};
    if (setrlimit(RLIMIT_NOFILE, &limit) == 0) return OpenFileLimit{wanted, std::nullopt};
    // Raising the hard limit needs CAP_SYS_RESOURCE; without it use what we may have.
    if (errno != EPERM || current.rlim_max >= wanted) {
        return "cannot set the open file limit to " + std::to_string(wanted) + ": " +
               errno_text(errno);
    }
    limit = {current.rlim_max, current.rlim_max};
    if (setrlimit(RLIMIT_NOFILE, &limit) < 0) {
        return "cannot set the open file limit to the hard limit " +
               std::to_string(current.rlim_max) + ": " + errno_text(errno);
    }
    return OpenFileLimit{current.rlim_max,
                         "cannot raise the open file limit to " + std::to_string(wanted) +
                             "; using the hard limit " + std::to_string(current.rlim_max) +
                             " instead (raise it with ulimit -Hn, or pass --rlimit-nofile)"};
}

std::optional<std::string> give_socket_to_group(const std::string& path, const std::string& group) {
    const auto gid = group_id(group);
    if (!gid) return "--socket-group: no group named " + group;
    // Through an O_PATH descriptor of the path itself, never following a symlink, and
    // only if that is a socket: whoever can write the socket's folder may have swapped
    // something else in since bind(). The mode (0770, which connecting needs) was set by
    // the umask at bind(), so nothing is changed by path.
    UniqueFd node(::open(path.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
    struct stat st {};
    if (!node.valid() || fstat(node.get(), &st) < 0) {
        return "--socket-group: cannot open " + path + ": " + errno_text(errno);
    }
    if (!S_ISSOCK(st.st_mode)) return "--socket-group: " + path + " is no longer a socket";
    if (fchownat(node.get(), "", static_cast<uid_t>(-1), *gid, AT_EMPTY_PATH) < 0) {
        return "--socket-group: cannot give " + path + " to group " + group + ": " +
               errno_text(errno);
    }
    return std::nullopt;
}

std::optional<std::string> detach_into_background() {
    // nochdir=1: --shared-dir and --socket-path may be relative, and the socket file is
    // unlinked by path at exit.
    if (daemon(1, 0) < 0) return "--daemonize: " + errno_text(errno);
    return std::nullopt;
}

}  // namespace vfs::host::cli
