// The daemon's command line: virtiofsd's flag names, parsed with CLI11 into one Options
// struct that the rest of the daemon reads. Each flag's help text is its documentation.
//
// Parsing only: it must never open files, sockets or start anything, so tests can parse
// freely. Exceptions from CLI11 stop here; callers get an Options or an exit status.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "fs/fs_options.h"

namespace vfs::host::cli {

struct Options {
    std::string socket_path;         // --socket-path
    int fd = -1;                     // --fd: an inherited listening socket
    std::string shared_dir;          // --shared-dir, or -o source=
    std::optional<std::string> tag;  // --tag: offers CONFIG (the virtio-fs tag)
    std::string log_level = "info";  // --log-level
    unsigned thread_pool_size = 0;   // --thread-pool-size (accepted; queue workers own I/O)
    unsigned num_queues = 65;        // queues offered: hiprio + request queues
};

// Either options to run with, or the status to exit with (help printed: 0; error: 1).
struct ParseResult {
    std::optional<Options> options;
    int exit_status = 0;
};

ParseResult parse_options(int argc, char** argv);

// What the filesystem layer needs from the command line.
FsOptions filesystem_options(const Options& o);

}  // namespace vfs::host::cli
