// virtiofsd-cxx: parse the command line, set up logging and signals, serve one vhost-user
// front-end, exit. Wiring only; each piece lives in its own layer.
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/stat.h>

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "cli/options.h"
#include "fs/passthrough_fs.h"
#include "fs/read_only_fs.h"
#include "fuse/fuse_server.h"
#include "vhost_user/backend.h"
#include "vhost_user/server.h"

using namespace vfs::host;

namespace {

void setup_logging(const std::string& level) {
    auto logger = spdlog::stderr_color_mt("virtiofsd-cxx");
    spdlog::set_default_logger(logger);
    spdlog::set_pattern("[%Y-%m-%dT%H:%M:%S.%eZ %^%l%$ virtiofsd-cxx] %v",
                        spdlog::pattern_time_type::utc);
    spdlog::set_level(spdlog::level::from_str(level));
    spdlog::flush_on(spdlog::level::trace);
}

// Blocks SIGTERM/SIGINT in every thread (workers inherit the mask) and returns a signalfd
// the connection loop polls, so shutdown happens at a point where state is consistent.
int block_signals() {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, nullptr);
    signal(SIGPIPE, SIG_IGN);
    return signalfd(-1, &set, SFD_CLOEXEC);
}

}  // namespace

int main(int argc, char** argv) {
    auto parsed = cli::parse_options(argc, argv);
    if (!parsed.options) return parsed.exit_status;
    const cli::Options& opt = *parsed.options;
    setup_logging(opt.log_level);

    struct stat st;
    if (::stat(opt.shared_dir.c_str(), &st) < 0 || !S_ISDIR(st.st_mode)) {
        spdlog::error("shared directory {} is not a directory", opt.shared_dir);
        return 1;
    }
    const int sfd = block_signals();
    if (sfd < 0) {
        spdlog::error("signalfd: {}", strerror(errno));
        return 1;
    }

    const FsOptions fs_opts = cli::filesystem_options(opt);
    auto passthrough = PassthroughFs::create(fs_opts);
    if (!passthrough) {
        spdlog::error("cannot serve {}: {}", opt.shared_dir, strerror(passthrough.error()));
        return 1;
    }
    std::unique_ptr<Filesystem> fs = std::move(*passthrough);
    if (fs_opts.readonly) fs = std::make_unique<ReadOnlyFs>(std::move(fs));
    FuseServer handler(*fs, fs_opts);
    vhost_user::BackendConfig bc;
    bc.max_queues = opt.num_queues;
    bc.tag = opt.tag;
    bc.handler = &handler;
    vhost_user::Backend backend(bc);

    vhost_user::Server server;
    if (opt.fd >= 0) {
        server = vhost_user::Server::adopt_listener(opt.fd);
    } else {
        auto s = vhost_user::Server::listen_on_path(opt.socket_path);
        if (!s) {
            spdlog::error("cannot listen on {}: {}", opt.socket_path, strerror(s.error()));
            return 1;
        }
        server = std::move(*s);
    }
    auto outcome = server.serve_one(backend, sfd);
    if (!outcome) {
        spdlog::error("serving failed: {}", strerror(outcome.error()));
        return 1;
    }
    return *outcome == vhost_user::ServeOutcome::kProtocolError ? 1 : 0;
}
