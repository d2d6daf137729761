// The daemon's command line: virtiofsd's flag names (Rust virtiofsd 1.13 and QEMU 7.2's C
// virtiofsd, including the legacy "-o a,b=c" form), parsed with CLI11 into one Options
// struct that the rest of the daemon reads. Each flag's help text is its documentation.
//
// Parsing only: it never opens files or sockets or starts anything, so tests can parse
// freely. Exceptions from CLI11 stop here; callers get an Options or an exit status and
// a message. Flags whose feature is not built yet are recognised and refused here, by
// name, so nothing the user asked for is silently dropped.
#pragma once

#include <spdlog/common.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "cli/option_values.h"
#include "fs/fs_options.h"
#include "migration/migration_options.h"

namespace vfs::host::cli {

struct Options {
    // Where the front-end connects: exactly one of socket_path and fd.
    std::string socket_path;                  // --socket-path, --socket (deprecated)
    int fd = -1;                              // --fd: an inherited listening socket
    std::optional<std::string> socket_group;  // --socket-group: chgrp the socket to it

    // What is served and how. fs.shared_dir comes from --shared-dir or -o source=.
    // filesystem_options() turns this into what the filesystem layer runs with.
    FsOptions fs;
    std::optional<std::string> tag;  // --tag: offers CONFIG (the virtio-fs tag)
    unsigned num_queues = 65;        // queues offered: hiprio + request queues
    unsigned thread_pool_size = 0;   // --thread-pool-size, -o max_idle_threads (no pool)
    uint32_t poll_us = 0;            // --poll-us: spin on the rings before sleeping (0: off)
    bool hiprio_own_thread = false;  // --hiprio-thread=own: queue 0 gets a thread of its own
    uint64_t dax_window = 0;         // --dax-window: DAX window bytes; 0 = no DAX
    migration::Options migration;    // --migration-mode, -on-error, -verify-handles, -confirm-paths

    // Labels and xattr names: parse_options() puts them in fs.
    bool security_label = false;          // --security-label, -o security_label
    std::optional<std::string> xattrmap;  // --xattrmap, -o xattrmap=

    // Id mapping: cli/id_options.h checks them and puts the translation in fs.ids.
    std::vector<std::string> uid_map;        // --uid-map
    std::vector<std::string> gid_map;        // --gid-map
    std::vector<std::string> translate_uid;  // --translate-uid
    std::vector<std::string> translate_gid;  // --translate-gid

    // Confinement (sandbox/): virtiofsd's defaults.
    Sandbox sandbox = Sandbox::kNamespace;  // --sandbox, -o sandbox=
    bool sandbox_given = false;
    Seccomp seccomp = Seccomp::kKill;  // --seccomp
    bool seccomp_given = false;
    std::optional<std::string> modcaps;  // --modcaps, -o modcaps=: checked by parse_options

    // The process.
    spdlog::level::level_enum log_level = spdlog::level::info;  // --log-level, -d, -o debug
    bool syslog = false;                                        // --syslog
    bool daemonize = false;                                     // --daemonize (implies syslog)
    bool print_capabilities = false;                            // --print-capabilities
    std::optional<uint64_t> rlimit_nofile;  // unset: min(1000000, fs.nr_open); 0: leave
};

// Either options to run with, or the status to exit with and why (help printed: 0).
struct ParseResult {
    std::optional<Options> options;
    int exit_status = 0;
    std::string error;  // for stderr when exit_status != 0
    // Things the user should hear about once logging is up (defaults that differ from
    // virtiofsd's, deprecated spellings, flags accepted without effect).
    std::vector<std::string> warnings;
};

ParseResult parse_options(int argc, const char* const* argv);

// What the filesystem layer needs from the command line, with the implications between
// flags applied (posix_acl implies xattr; cache=never turns READDIRPLUS off).
FsOptions filesystem_options(const Options& o);

}  // namespace vfs::host::cli
