// virtiofsd-cxx: parse the command line, set up logging and signals, serve one vhost-user
// front-end, exit. Wiring only; each piece lives in its own layer.
#include <errno.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/stat.h>

#include <spdlog/spdlog.h>

#include <sstream>
#include <string>
#include <variant>

#include "cli/capabilities.h"
#include "cli/id_options.h"
#include "cli/logging.h"
#include "cli/options.h"
#include "cli/process_setup.h"
#include "fs/passthrough_fs.h"
#include "fs/read_only_fs.h"
#include "fuse/fuse_server.h"
#include "migration/state_transfer.h"
#include "sandbox/capabilities.h"
#include "sandbox/sandbox.h"
#include "sandbox/seccomp_filter.h"
#include "vhost_user/backend.h"
#include "vhost_user/server.h"
#include "virtio_fs/virtio_fs_device.h"

using namespace vfs::host;

namespace {

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

// Applies --rlimit-nofile; false when the daemon should not start.
bool apply_open_file_limit(const cli::Options& opt) {
    auto outcome = cli::set_open_file_limit(opt.rlimit_nofile);
    if (const auto* err = std::get_if<std::string>(&outcome)) {
        spdlog::error("{}", *err);
        return false;
    }
    const auto& limit = std::get<cli::OpenFileLimit>(outcome);
    if (limit.warning) spdlog::warn("{}", *limit.warning);
    spdlog::debug("open file limit: {}", limit.limit);
    return true;
}

sandbox::Mode sandbox_mode(cli::Sandbox s) {
    switch (s) {
        case cli::Sandbox::kNamespace:
            return sandbox::Mode::kNamespace;
        case cli::Sandbox::kChroot:
            return sandbox::Mode::kChroot;
        case cli::Sandbox::kNone:
            break;
    }
    return sandbox::Mode::kNone;
}

sandbox::SeccompAction seccomp_action(cli::Seccomp s) {
    switch (s) {
        case cli::Seccomp::kKill:
            return sandbox::SeccompAction::kKill;
        case cli::Seccomp::kLog:
            return sandbox::SeccompAction::kLog;
        case cli::Seccomp::kTrap:
            return sandbox::SeccompAction::kTrap;
        case cli::Seccomp::kNone:
            break;
    }
    return sandbox::SeccompAction::kNone;
}

// The capabilities, then the system calls: what is left once the share is open. Both
// before any thread starts (capabilities are per thread).
bool drop_privileges(const cli::Options& opt, bool file_handles) {
    std::vector<sandbox::CapabilityChange> changes;
    if (opt.modcaps) {
        auto parsed = sandbox::parse_modcaps(*opt.modcaps);  // checked by parse_options
        if (auto* c = std::get_if<std::vector<sandbox::CapabilityChange>>(&parsed))
            changes = std::move(*c);
    }
    if (auto err = sandbox::keep_only(sandbox::kept_capabilities(file_handles, changes))) {
        spdlog::error("{}", *err);
        return false;
    }
    // --daemonize logs to syslog too.
    if (auto err = sandbox::install_seccomp_filter(
            {seccomp_action(opt.seccomp), opt.syslog || opt.daemonize})) {
        spdlog::error("{}", *err);
        return false;
    }
    return true;
}

}  // namespace

int main(int argc, char** argv) {
    auto parsed = cli::parse_options(argc, argv);
    if (!parsed.options) {
        std::istringstream lines(parsed.error);
        for (std::string line; std::getline(lines, line);)
            fprintf(stderr, "virtiofsd-cxx: %s\n", line.c_str());
        return parsed.exit_status;
    }
    const cli::Options& opt = *parsed.options;
    if (opt.print_capabilities) {
        fputs(cli::vhost_user_capabilities_json().c_str(), stdout);
        return 0;
    }
    // With --daemonize, start-up errors still reach the terminal; syslog takes over once
    // the daemon has detached.
    cli::setup_logging(opt.log_level, opt.syslog);
    for (const auto& warning : parsed.warnings)
        spdlog::warn("{}", warning);

    struct stat st;
    if (::stat(opt.fs.shared_dir.c_str(), &st) < 0 || !S_ISDIR(st.st_mode)) {
        spdlog::error("shared directory {} is not a directory", opt.fs.shared_dir);
        return 1;
    }
    if (!apply_open_file_limit(opt)) return 1;
    const int sfd = block_signals();
    if (sfd < 0) {
        spdlog::error("signalfd: {}", strerror(errno));
        return 1;
    }

    // Requests run with the guest's fsuid/fsgid; the daemon's own supplementary groups
    // (root's) would otherwise widen every such check on the host. Dropped before any
    // thread starts, since setgroups applies to the whole process.
    if (geteuid() == 0 && setgroups(0, nullptr) != 0)
        spdlog::warn("cannot drop supplementary groups: {}", strerror(errno));

    vhost_user::Server server;
    if (opt.fd >= 0) {
        server = vhost_user::Server::adopt_listener(opt.fd);
    } else {
        // The socket is created owner-only (or owner and --socket-group): whoever connects
        // drives the device and so reads and writes the shared directory. Setting the mode
        // by umask, not chmod afterwards, leaves no window where others could connect.
        const mode_t saved_umask = ::umask(opt.socket_group ? 0007 : 0077);
        auto s = vhost_user::Server::listen_on_path(opt.socket_path);
        ::umask(saved_umask);
        if (!s) {
            spdlog::error("cannot listen on {}: {}", opt.socket_path, strerror(s.error()));
            return 1;
        }
        server = std::move(*s);
        if (opt.socket_group) {
            if (auto err = cli::give_socket_to_group(opt.socket_path, *opt.socket_group)) {
                spdlog::error("{}", *err);
                return 1;
            }
        }
    }
    // Detach only now: whoever started us may connect as soon as we are gone.
    if (opt.daemonize) {
        if (auto err = cli::detach_into_background()) {
            spdlog::error("{}", *err);
            return 1;
        }
        cli::setup_logging(opt.log_level, true);
    }

    // Confine the process before it opens anything of the share: from here on the share
    // is "/" (namespace, chroot) and the host's tree is out of reach.
    sandbox::Request sandbox_request;
    sandbox_request.mode = sandbox_mode(opt.sandbox);
    sandbox_request.shared_dir = opt.fs.shared_dir;
    sandbox_request.listener_fd = server.listener_fd();
    sandbox_request.id_maps = cli::sandbox_id_maps(opt);
    if (opt.fd < 0) sandbox_request.socket_path = opt.socket_path;
    auto confined = sandbox::enter(sandbox_request);
    if (const auto* err = std::get_if<std::string>(&confined)) {
        spdlog::error("{}", *err);
        return 1;
    }
    const auto& inside = std::get<sandbox::Confined>(confined);
    if (sandbox_request.mode != sandbox::Mode::kNone) {
        // The socket's path means nothing inside (or, in a chroot, names a file of the
        // share): only the namespace's parent, outside, may remove it.
        const int accepted_fd = inside.accepted_fd;
        server.set_path_remover([accepted_fd] {
            if (accepted_fd < 0) return;
            [[maybe_unused]] const ssize_t n = ::write(accepted_fd, "a", 1);
            ::close(accepted_fd);
        });
    }

    FsOptions fs_opts = cli::filesystem_options(opt);
    fs_opts.shared_dir = inside.root;
    auto passthrough = PassthroughFs::create(fs_opts);
    if (!passthrough) {
        if (fs_opts.inode_file_handles == InodeFileHandles::kMandatory &&
            passthrough.error() == EOPNOTSUPP) {
            spdlog::error(
                "cannot serve {} with --inode-file-handles=mandatory: its file system has no "
                "file handles that outlive the kernel's inode cache (none at all, or FUSE such "
                "as sshfs, whose handles go stale with ESTALE once an inode is evicted); use "
                "--inode-file-handles=never or prefer",
                opt.fs.shared_dir);
            return 1;
        }
        spdlog::error("cannot serve {}: {}", opt.fs.shared_dir, strerror(passthrough.error()));
        return 1;
    }
    if (fs_opts.inode_file_handles == InodeFileHandles::kPrefer &&
        !(*passthrough)->uses_file_handles())
        spdlog::info(
            "--inode-file-handles=prefer: file handles are not usable on {} (no "
            "handles, no CAP_DAC_READ_SEARCH, or FUSE); inodes are held by O_PATH fds",
            opt.fs.shared_dir);
    // DAX, with --dax-window: the window's mapper, the files mapped and the mapping table
    // (made before the system calls are filtered: its tail pages are a memfd).
    memory::WindowFiles window_files;
    virtio_fs::DaxChannel dax_channel(opt.dax_window, opt.num_queues);
    std::unique_ptr<DaxMappings> dax;
    if (opt.dax_window != 0)
        dax = std::make_unique<DaxMappings>(opt.dax_window, dax_channel, window_files);
    if (!drop_privileges(opt, (*passthrough)->uses_file_handles())) return 1;
    PassthroughFs& passthrough_fs = **passthrough;  // migration saves and restores its tables
    std::unique_ptr<Filesystem> fs = std::move(*passthrough);
    if (fs_opts.readonly) fs = std::make_unique<ReadOnlyFs>(std::move(fs));
    if (dax) {
        spdlog::info(
            "DAX window: {} bytes ({} MiB), shared-memory region 0; with QEMU 11.1: -device "
            "vhost-user-test-device-pci,chardev=CHR,virtio-id=26,num_vqs={},config_size=40",
            opt.dax_window, opt.dax_window >> 20, opt.num_queues);
    }
    FuseServer handler(*fs, fs_opts, dax.get());
    virtio_fs::DeviceConfig dc;
    dc.num_queues = opt.num_queues;
    dc.tag = opt.tag;
    dc.handler = &handler;
    if (dax) {
        dc.dax_channel = &dax_channel;
        dc.dax_mappings = dax.get();
        dc.window_files = &window_files;
    }
    dc.thread_pool_size = opt.thread_pool_size;
    dc.poll_us = opt.poll_us;
    if (opt.poll_us != 0)
        spdlog::info("queue threads spin up to {} us on their rings before sleeping (--poll-us)",
                     opt.poll_us);
    dc.share_hiprio_thread = !opt.hiprio_own_thread;
    // Migration: DEVICE_STATE is offered except with a DAX window, whose mappings live in
    // the front-end and are not part of the state.
    migration::StateTransfer state_transfer(passthrough_fs, handler.session(), opt.migration);
    if (!dax) dc.device_state = &state_transfer;
    virtio_fs::VirtioFsDevice device(dc);  // declared before the backend, so it outlives it
    vhost_user::Backend backend(device);

    auto outcome = server.serve_one(backend, sfd);
    if (!outcome) {
        spdlog::error("serving failed: {}", strerror(outcome.error()));
        return 1;
    }
    return *outcome == vhost_user::ServeOutcome::kProtocolError ? 1 : 0;
}
