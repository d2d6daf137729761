#include "cli/options.h"

#include <CLI/CLI.hpp>
#include <sstream>

namespace vfs::host::cli {

namespace {

// Applies virtiofsd's legacy "-o key=value,key,..." options we understand; returns an
// error message for anything else.
std::optional<std::string> apply_legacy(const std::string& list, Options& o) {
    std::stringstream ss(list);
    std::string item;
    while (std::getline(ss, item, ',')) {
        if (item.empty()) continue;
        const auto eq = item.find('=');
        const std::string key = item.substr(0, eq);
        const std::string value = eq == std::string::npos ? "" : item.substr(eq + 1);
        if (key == "source") {
            o.shared_dir = value;
        } else if (key == "log_level") {
            o.log_level = value;
        } else {
            return "unsupported -o option '" + item + "'";
        }
    }
    return std::nullopt;
}

}  // namespace

ParseResult parse_options(int argc, char** argv) {
    Options o;
    std::vector<std::string> legacy;
    std::string tag;
    CLI::App app{"virtiofsd-cxx: a vhost-user virtio-fs device backend (C++)", "virtiofsd-cxx"};
    app.option_defaults()->always_capture_default();

    app.add_option("--socket-path", o.socket_path,
                   "vhost-user socket path (created; a stale socket there is removed)");
    app.add_option("--fd", o.fd, "File descriptor of an already listening vhost-user socket")
        ->check(CLI::NonNegativeNumber);
    app.add_option("--shared-dir", o.shared_dir, "Shared directory path");
    app.add_option("--tag", tag,
                   "virtio-fs tag served through the device config space (offers the CONFIG "
                   "protocol feature; QEMU 7.1 to 8.0 crash on it, set the tag in QEMU instead)");
    app.add_option("--log-level", o.log_level,
                   "Log level: trace, debug, info, warn, error, critical, off");
    app.add_option("--thread-pool-size", o.thread_pool_size,
                   "Thread pool size (accepted for compatibility; each queue's worker does its "
                   "own I/O through io_uring)");
    app.add_option("--num-queues", o.num_queues,
                   "Queues offered to the front-end: one high-priority plus request queues")
        ->check(CLI::Range(2u, 256u));
    app.add_option("-o", legacy, "Compatibility options: source=PATH, log_level=LEVEL")
        ->allow_extra_args(false);

    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        ParseResult r;
        r.exit_status = app.exit(e);
        return r;
    }
    for (const auto& l : legacy) {
        if (auto err = apply_legacy(l, o)) {
            fprintf(stderr, "virtiofsd-cxx: %s\n", err->c_str());
            return ParseResult{std::nullopt, 1};
        }
    }
    if (!tag.empty()) o.tag = tag;
    if (o.socket_path.empty() == (o.fd < 0)) {
        fprintf(stderr, "virtiofsd-cxx: give exactly one of --socket-path and --fd\n");
        return ParseResult{std::nullopt, 1};
    }
    if (o.shared_dir.empty()) {
        fprintf(stderr, "virtiofsd-cxx: --shared-dir (or -o source=) is required\n");
        return ParseResult{std::nullopt, 1};
    }
    return ParseResult{std::move(o), 0};
}

FsOptions filesystem_options(const Options& o) {
    FsOptions f;
    f.shared_dir = o.shared_dir;
    return f;
}

}  // namespace vfs::host::cli
