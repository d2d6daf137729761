#include "sandbox/sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include <optional>
#include <string>
#include <utility>

#include "sandbox/sanitizer_runtime.h"
#include "util/proc_self_fd.h"
#include "util/unique_fd.h"

namespace vfs::host::sandbox {

namespace {

std::string failed(const std::string& step) {
    return "--sandbox: " + step + ": " + strerror(errno);
}

bool write_file(const char* path, const std::string& text) {
    UniqueFd fd(::open(path, O_WRONLY | O_CLOEXEC));
    return fd.valid() &&
           ::write(fd.get(), text.data(), text.size()) == static_cast<ssize_t>(text.size());
}

// The caller's ids, mapped to themselves: files keep their owners, and the daemon is
// just the caller inside (virtiofsd does the same without --uid-map/--gid-map).
std::optional<std::string> map_own_ids(uid_t uid, gid_t gid) {
    // An unprivileged process may write gid_map only after giving up setgroups(2).
    if (!write_file("/proc/self/setgroups", "deny\n")) return failed("deny setgroups");
    if (!write_file("/proc/self/uid_map", std::to_string(uid) + " " + std::to_string(uid) + " 1\n"))
        return failed("write uid_map");
    if (!write_file("/proc/self/gid_map", std::to_string(gid) + " " + std::to_string(gid) + " 1\n"))
        return failed("write gid_map");
    return std::nullopt;
}

bool maps_inside(const std::vector<IdMapRange>& ranges, uint32_t id) {
    for (const auto& r : ranges)
        if (id >= r.inside && id - r.inside < r.count) return true;
    return false;
}
bool maps_outside(const std::vector<IdMapRange>& ranges, uint32_t id) {
    for (const auto& r : ranges)
        if (id >= r.outside && id - r.outside < r.count) return true;
    return false;
}

// The daemon needs an identity inside: namespace root if the maps give one, else its own.
std::optional<std::string> check_maps_hold_the_daemon(const IdMaps& m, uid_t uid, gid_t gid) {
    const bool uid_ok = m.uid.empty() || maps_inside(m.uid, 0) || maps_outside(m.uid, uid);
    const bool gid_ok = m.gid.empty() || maps_inside(m.gid, 0) || maps_outside(m.gid, gid);
    if (uid_ok && gid_ok) return std::nullopt;
    return std::string(uid_ok ? "--gid-map" : "--uid-map") +
           ": the maps give the daemon no id inside the namespace: map namespace id 0 (the "
           "daemon then runs as it), or the daemon's own host id " +
           std::to_string(uid_ok ? gid : uid);
}

// A process forked before the user namespace is made, so that it stays in the host's: it
// writes the namespace's maps once told to, and reports how that went.
class MapWriter {
  public:
    static std::variant<MapWriter, std::string> start(const IdMaps& maps, uid_t uid, gid_t gid) {
        int go[2], result[2];
        if (::pipe2(go, O_CLOEXEC) != 0) return failed("pipe");
        if (::pipe2(result, O_CLOEXEC) != 0) {
            ::close(go[0]);
            ::close(go[1]);
            return failed("pipe");
        }
        fflush(nullptr);
        const pid_t pid = ::fork();
        if (pid < 0) return failed("fork the id map writer");
        if (pid == 0) {
            ::close(go[1]);
            ::close(result[0]);
            char byte;
            if (::read(go[0], &byte, 1) != 1) ::_exit(0);  // the namespace was never made
            const auto err = write_id_maps(::getppid(), maps, uid, gid);
            const std::string msg = err ? *err : "";
            [[maybe_unused]] const ssize_t n = ::write(result[1], msg.data(), msg.size());
            ::_exit(0);
        }
        ::close(go[0]);
        ::close(result[1]);
        return MapWriter(pid, go[1], result[0]);
    }

    // Called once the caller is in its new user namespace.
    std::optional<std::string> write_maps() {
        if (::write(go_.get(), "g", 1) != 1) return failed("start the id map writer");
        go_.reset();
        std::string msg;
        char buf[512];
        ssize_t n;
        while ((n = ::read(result_.get(), buf, sizeof(buf))) > 0 || (n < 0 && errno == EINTR))
            if (n > 0) msg.append(buf, static_cast<size_t>(n));
        reap();
        if (!msg.empty()) return "--uid-map/--gid-map: " + msg;
        return std::nullopt;
    }

    ~MapWriter() {
        go_.reset();  // EOF: a writer never started exits
        reap();
    }
    MapWriter(MapWriter&& o) noexcept
        : pid_(std::exchange(o.pid_, -1)), go_(std::move(o.go_)), result_(std::move(o.result_)) {}
    MapWriter& operator=(MapWriter&&) = delete;

  private:
    MapWriter(pid_t pid, int go, int result) : pid_(pid), go_(go), result_(result) {}
    void reap() {
        if (pid_ <= 0) return;
        while (::waitpid(pid_, nullptr, 0) < 0 && errno == EINTR) {
        }
        pid_ = -1;
    }
    pid_t pid_;
    UniqueFd go_;
    UniqueFd result_;
};

// With maps of its own, the daemon becomes the namespace's root where that is mapped
// (gid first: after the uid change the right to change it may be gone), and drops the
// host's supplementary groups, which would still open group-owned host files.
std::optional<std::string> take_mapped_identity(const IdMaps& m) {
    if (maps_inside(m.gid, 0) && ::setresgid(0, 0, 0) != 0) return failed("become gid 0 inside");
    (void)::setgroups(0, nullptr);  // refused after a "deny" (newgidmap): nothing to drop then
    if (maps_inside(m.uid, 0) && ::setresuid(0, 0, 0) != 0) return failed("become uid 0 inside");
    return std::nullopt;
}

// A fresh /proc of the new pid namespace, then its /proc/self/fd bound over /proc itself:
// the fd handed to util/proc_self_fd.h reaches this process's fds and nothing above them
// (no /proc/1/root, no other process).
std::variant<int, std::string> open_proc_self_fd() {
    if (::mount("proc", "/proc", "proc", MS_NODEV | MS_NOEXEC | MS_NOSUID | MS_RELATIME, nullptr) !=
        0)
        return failed("mount a new /proc");
    if (::mount("/proc/self/fd", "/proc", nullptr, MS_BIND, nullptr) != 0)
        return failed("bind /proc/self/fd onto /proc");
    const int fd = ::open("/proc", O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return failed("open /proc/self/fd");
    return fd;
}

// Inside the new mount namespace: the share becomes "/", and the host's tree is gone.
std::optional<std::string> pivot_into(const std::string& dir) {
    // Nothing done here may propagate back to the host's mount namespace.
    if (::mount(nullptr, "/", nullptr, MS_SLAVE | MS_REC, nullptr) != 0)
        return failed("make / a slave mount");
    auto proc = open_proc_self_fd();
    if (auto* err = std::get_if<std::string>(&proc)) return *err;
    use_proc_self_fd(std::get<int>(proc));
    // pivot_root needs a mount point as the new root.
    if (::mount(dir.c_str(), dir.c_str(), nullptr, MS_BIND | MS_REC, nullptr) != 0)
        return failed("bind-mount " + dir + " onto itself");
    UniqueFd old_root(::open("/", O_DIRECTORY | O_RDONLY | O_CLOEXEC));
    UniqueFd new_root(::open(dir.c_str(), O_DIRECTORY | O_RDONLY | O_CLOEXEC));
    if (!old_root.valid() || !new_root.valid()) return failed("open the old and new roots");
    if (::fchdir(new_root.get()) != 0) return failed("enter " + dir);
    // pivot_root(".", "."): the old root ends up stacked on the new one, at "/".
    if (::syscall(SYS_pivot_root, ".", ".") != 0) return failed("pivot_root");
    if (::fchdir(old_root.get()) != 0) return failed("enter the old root");
    if (::mount(nullptr, ".", nullptr, MS_SLAVE | MS_REC, nullptr) != 0)
        return failed("make the old root a slave mount");
    if (::umount2(".", MNT_DETACH) != 0) return failed("detach the old root");
    if (::fchdir(new_root.get()) != 0 || ::chdir("/") != 0) return failed("enter the new root");
    return std::nullopt;
}

// The parent of a namespace sandbox: it stays in the host's namespaces, passes the
// signals that stop a daemon on to the child, removes the socket file once the child has
// its front-end (or is gone), and ends as the child ended.
[[noreturn]] void wait_for_child(pid_t child, int accepted_fd, const std::string& socket_path) {
    sigset_t set;
    sigemptyset(&set);
    for (const int sig : {SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGCHLD})
        sigaddset(&set, sig);
    pthread_sigmask(SIG_BLOCK, &set, nullptr);
    UniqueFd sfd(::signalfd(-1, &set, SFD_CLOEXEC));
    bool socket_removed = socket_path.empty();
    for (;;) {
        int status = 0;
        const pid_t done = ::waitpid(child, &status, WNOHANG);
        if (done == child) {
            if (!socket_removed) ::unlink(socket_path.c_str());
            if (WIFEXITED(status)) ::_exit(WEXITSTATUS(status));
            // Killed: end the same way, so whoever waits for us sees the signal.
            const int sig = WTERMSIG(status);
            ::signal(sig, SIG_DFL);
            sigset_t one;
            sigemptyset(&one);
            sigaddset(&one, sig);
            pthread_sigmask(SIG_UNBLOCK, &one, nullptr);
            ::kill(::getpid(), sig);
            ::_exit(128 + sig);
        }
        pollfd p[2] = {{sfd.get(), POLLIN, 0}, {socket_removed ? -1 : accepted_fd, POLLIN, 0}};
        if (::poll(p, 2, -1) < 0 && errno != EINTR) ::_exit(1);
        if (p[1].revents) {
            // A byte (accepted) or EOF (the child is gone): the socket file is done with.
            ::unlink(socket_path.c_str());
            socket_removed = true;
        }
        if (p[0].revents & POLLIN) {
            signalfd_siginfo si{};
            if (::read(sfd.get(), &si, sizeof(si)) == sizeof(si) && si.ssi_signo != SIGCHLD)
                ::kill(child, static_cast<int>(si.ssi_signo));
        }
    }
}

std::variant<Confined, std::string> enter_namespace(const std::string& dir, const Request& req) {
    const uid_t uid = ::geteuid();
    const gid_t gid = ::getegid();
    const IdMaps& maps = req.id_maps;
    std::optional<MapWriter> writer;
    if (!maps.empty()) {
        if (auto err = check_maps_hold_the_daemon(maps, uid, gid)) return *err;
        auto w = MapWriter::start(maps, uid, gid);
        if (auto* err = std::get_if<std::string>(&w)) return *err;
        writer.emplace(std::move(std::get<MapWriter>(w)));
    }
    // The pid namespace applies to children only, so it is made here and the child forked
    // into it. Unprivileged, the user namespace must come with it (it owns the others).
    const bool new_user = uid != 0 || writer;
    if (::unshare(CLONE_NEWPID | (new_user ? CLONE_NEWUSER : 0)) != 0)
        return failed(!new_user ? "unshare the pid namespace"
                                : "unshare user and pid namespaces (unprivileged user "
                                  "namespaces may be disabled; run as root or pass "
                                  "--sandbox=none)");
    if (writer) {
        if (auto err = writer->write_maps()) return *err;
        writer.reset();
    }
    int pipe_fds[2];
    if (::pipe2(pipe_fds, O_CLOEXEC) != 0) return failed("pipe");
    fflush(nullptr);
    const pid_t child = ::fork();
    if (child < 0) return failed("fork");
    if (child > 0) {
        ::close(pipe_fds[1]);
        if (req.listener_fd >= 0) ::close(req.listener_fd);
        wait_for_child(child, pipe_fds[0], req.socket_path);
    }
    ::close(pipe_fds[0]);
    // The parent's death (even SIGKILL) stops us too. Inside a new pid namespace getppid()
    // is 0, so the race with a parent already gone cannot be checked that way; the pipe
    // would show it, but a lost daemon still ends when its front-end goes.
    ::prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (!maps.empty()) {
        if (auto err = take_mapped_identity(maps)) return *err;
    } else if (uid != 0) {
        if (auto err = map_own_ids(uid, gid)) return *err;
    }
    // The mount namespace is the child's alone: pivot_root would move the parent too.
    if (::unshare(CLONE_NEWNS | CLONE_NEWNET) != 0)
        return failed("unshare mount and network namespaces");
    if (auto err = pivot_into(dir)) return *err;
    return Confined{"/", pipe_fds[1]};
}

std::variant<Confined, std::string> enter_chroot(const std::string& dir) {
    if (::geteuid() != 0) {
        errno = EPERM;
        return failed("chroot needs root (use --sandbox=namespace unprivileged)");
    }
    const int proc = ::open("/proc/self/fd", O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (proc < 0) return failed("open /proc/self/fd");
    use_proc_self_fd(proc);
    if (::chroot(dir.c_str()) != 0) return failed("chroot " + dir);
    if (::chdir("/") != 0) return failed("enter the new root");
    return Confined{"/", -1};
}

}  // namespace

std::variant<Confined, std::string> enter(const Request& req) {
    if (req.mode == Mode::kNone) return Confined{req.shared_dir, -1};
    char real[PATH_MAX];
    if (!::realpath(req.shared_dir.c_str(), real)) return failed("resolve " + req.shared_dir);
    auto confined = req.mode == Mode::kChroot ? enter_chroot(real) : enter_namespace(real, req);
    if (std::holds_alternative<Confined>(confined))
        note_confined(req.mode == Mode::kChroot ? "--sandbox=chroot" : "--sandbox=namespace");
    return confined;
}

}  // namespace vfs::host::sandbox
