#include "backend_process.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

namespace vfs::bench {

namespace {

std::string run_and_capture(const std::string& cmd, int* rc) {
    FILE* p = ::popen(cmd.c_str(), "r");
    if (!p) {
        *rc = -1;
        return {};
    }
    std::string out;
    char buf[4096];
    while (fgets(buf, sizeof(buf), p))
        out += buf;
    *rc = ::pclose(p);
    while (!out.empty() && (out.back() == '\n' || out.back() == ' '))
        out.pop_back();
    return out;
}

// Our daemon's CLI grows while other work lands: pass --cache only once it takes it.
bool ours_accepts_cache(const std::string& path) {
    int rc = 0;
    const std::string help = run_and_capture("'" + path + "' --help 2>&1", &rc);
    return help.find("--cache") != std::string::npos;
}

std::string rust_path(const BackendPaths& paths) {
    if (!paths.rust.empty()) return paths.rust;
    int rc = 0;
    const std::string out = run_and_capture("bash '" + paths.peers_script + "' 2>/dev/null", &rc);
    if (rc != 0 || out.empty() || ::access(out.c_str(), X_OK) != 0) return {};
    return out;
}

}  // namespace

bool parse_backend(const std::string& name, BackendConfig* out) {
    if (name == "ours") {
        out->kind = BackendKind::kOurs;
    } else if (name.rfind("ours-poll", 0) == 0 && name.size() > 9 &&
               name.find_first_not_of("0123456789", 9) == std::string::npos) {
        out->kind = BackendKind::kOurs;  // ours-pollN: ours with --poll-us=N
        out->extra_args.push_back("--poll-us=" + name.substr(9));
    } else if (name == "rust") {
        out->kind = BackendKind::kRust;
    } else if (name == "qemu-c") {
        out->kind = BackendKind::kQemuC;
    } else if (name == "native") {
        out->kind = BackendKind::kNative;
    } else {
        return false;
    }
    out->name = name;
    return true;
}

std::string BackendProcess::start(const BackendConfig& cfg, const BackendPaths& paths,
                                  const std::string& socket, const std::string& share,
                                  const std::string& log_path, const InstructionCounter* counter) {
    std::vector<std::string> argv;
    switch (cfg.kind) {
        case BackendKind::kOurs:
            if (::access(paths.ours.c_str(), X_OK) != 0) return "not found: " + paths.ours;
            argv = {paths.ours, "--socket-path=" + socket, "--shared-dir=" + share,
                    "--thread-pool-size=0",
                    "--num-queues=" + std::to_string(1 + cfg.request_queues),
                    // Unconfined, as the peers run here: the table compares data paths,
                    // and Valgrind (--instructions) cannot follow a pivot_root'ed daemon.
                    "--sandbox=none", "--seccomp=none", "--log-level=error"};
            if (ours_accepts_cache(paths.ours)) argv.push_back("--cache=" + cfg.cache);
            break;
        case BackendKind::kRust: {
            const std::string p = rust_path(paths);
            if (p.empty()) return "the peers script found no Rust virtiofsd";
            argv = {p,
                    "--socket-path=" + socket,
                    "--shared-dir=" + share,
                    "--cache=" + cfg.cache,
                    "--thread-pool-size=0",
                    "--sandbox=none",
                    "--seccomp=none",
                    "--log-level=error"};
            break;
        }
        case BackendKind::kQemuC:
            if (::access(paths.qemu_c.c_str(), X_OK) != 0) return "not found: " + paths.qemu_c;
            // C virtiofsd spells cache=never "none". Its chroot sandbox costs nothing per
            // request; the default namespace one needs more privileges than a CI box has.
            argv = {paths.qemu_c,
                    "--socket-path=" + socket,
                    "-o",
                    "source=" + share,
                    "-o",
                    "cache=" + (cfg.cache == "never" ? std::string("none") : cfg.cache),
                    "-o",
                    "sandbox=chroot",
                    "-o",
                    "log_level=err",
                    "--thread-pool-size=0"};
            break;
        case BackendKind::kNative:
            return "native starts no daemon";
    }

    argv.insert(argv.end(), cfg.extra_args.begin(), cfg.extra_args.end());
    if (counter) argv = counter->wrap(argv, cfg.name);
    // Valgrind takes seconds to start a daemon; natively it is milliseconds.
    const int listen_timeout_ms = counter ? 120000 : 10000;

    ::unlink(socket.c_str());
    log_path_ = log_path;
    pid_ = ::fork();
    if (pid_ < 0) return "fork failed";
    if (pid_ == 0) {
        const int fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
        if (fd >= 0) {
            ::dup2(fd, 1);
            ::dup2(fd, 2);
        }
        if (!cfg.join_cgroup_procs.empty()) {
            const int cg = ::open(cfg.join_cgroup_procs.c_str(), O_WRONLY | O_CLOEXEC);
            const std::string pid = std::to_string(::getpid());
            if (cg < 0 || ::write(cg, pid.data(), pid.size()) != static_cast<ssize_t>(pid.size())) {
                dprintf(2, "vfs-bench: cannot join the cgroup %s: %s\n",
                        cfg.join_cgroup_procs.c_str(), strerror(errno));
                ::_exit(126);
            }
            ::close(cg);
        }
        std::vector<char*> args;
        for (auto& a : argv)
            args.push_back(a.data());
        args.push_back(nullptr);
        ::execvp(args[0], args.data());
        ::_exit(127);
    }
    for (int waited = 0; waited < listen_timeout_ms; waited += 10) {
        struct stat st;
        if (::stat(socket.c_str(), &st) == 0 && S_ISSOCK(st.st_mode)) return {};
        int status = 0;
        if (::waitpid(pid_, &status, WNOHANG) == pid_) {
            pid_ = -1;
            return "exited before listening:\n" + log_tail();
        }
        ::usleep(10 * 1000);
    }
    stop();
    return "did not listen within " + std::to_string(listen_timeout_ms / 1000) + " s:\n" +
           log_tail();
}

void BackendProcess::stop() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGTERM);
    for (int waited = 0; waited < 5000; waited += 10) {
        int status = 0;
        if (::waitpid(pid_, &status, WNOHANG) == pid_) {
            pid_ = -1;
            return;
        }
        ::usleep(10 * 1000);
    }
    ::kill(pid_, SIGKILL);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
}

std::string BackendProcess::log_tail() const {
    std::ifstream f(log_path_);
    std::stringstream ss;
    ss << f.rdbuf();
    std::string s = ss.str();
    return s.size() > 2000 ? s.substr(s.size() - 2000) : s;
}

}  // namespace vfs::bench
