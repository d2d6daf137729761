// Starts a vhost-user-fs backend (ours or a peer) as a child process for integration
// tests, with its stderr in a log file, and reaps it. Test-only; never used by the daemon.
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

namespace vfs::test {

// A whole file (a /proc file of the daemon, a canary) as text; empty if it cannot be read.
inline std::string read_text(const std::string& path) {
    std::ifstream f(path);
    std::stringstream s;
    s << f.rdbuf();
    return s.str();
}

class DaemonProcess {
  public:
    DaemonProcess() = default;
    DaemonProcess(const DaemonProcess&) = delete;
    DaemonProcess& operator=(const DaemonProcess&) = delete;
    ~DaemonProcess() { kill_now(); }

    // Spawns argv with stdout and stderr appended to log_path. False if fork fails.
    bool spawn(const std::vector<std::string>& argv, const std::string& log_path) {
        log_path_ = log_path;
        pid_ = ::fork();
        if (pid_ < 0) return false;
        if (pid_ == 0) {
            const int fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
            if (fd >= 0) {
                ::dup2(fd, 1);
                ::dup2(fd, 2);
            }
            std::vector<char*> args;
            for (const auto& a : argv)
                args.push_back(const_cast<char*>(a.c_str()));
            args.push_back(nullptr);
            ::execv(args[0], args.data());
            ::_exit(127);
        }
        return true;
    }

    pid_t pid() const { return pid_; }

    // The process that serves in the namespace sandbox: the child of the one started (pid 1
    // of its own pid namespace); 0 if none shows within 2 s.
    pid_t sandboxed_child() const {
        const std::string children =
            "/proc/" + std::to_string(pid_) + "/task/" + std::to_string(pid_) + "/children";
        for (int i = 0; i < 200; ++i) {
            std::istringstream in(read_text(children));
            pid_t child = 0;
            if (in >> child) return child;
            ::usleep(10 * 1000);
        }
        return 0;
    }

    // Waits for path to exist (the daemon is listening) or the child to die.
    bool wait_for_socket(const std::string& path, int timeout_ms = 10000) {
        for (int waited = 0; waited < timeout_ms; waited += 20) {
            struct stat st;
            if (::stat(path.c_str(), &st) == 0 && S_ISSOCK(st.st_mode)) return true;
            if (exited()) return false;
            ::usleep(20 * 1000);
        }
        return false;
    }

    // True once the child has exited (and records its status).
    bool exited() {
        if (status_) return true;
        if (pid_ <= 0) return false;
        int st = 0;
        if (::waitpid(pid_, &st, WNOHANG) == pid_) {
            status_ = st;
            return true;
        }
        return false;
    }

    // The wait status once the child exits within timeout_ms.
    std::optional<int> wait_exit(int timeout_ms) {
        for (int waited = 0; waited <= timeout_ms; waited += 10) {
            if (exited()) return status_;
            ::usleep(10 * 1000);
        }
        return std::nullopt;
    }

    // SIGTERM, then SIGKILL if it lingers.
    std::optional<int> terminate(int timeout_ms = 5000) {
        if (pid_ <= 0 || exited()) return status_;
        ::kill(pid_, SIGTERM);
        if (auto st = wait_exit(timeout_ms)) return st;
        kill_now();
        return std::nullopt;
    }

    std::string log() const { return read_text(log_path_); }

  private:
    void kill_now() {
        if (pid_ > 0 && !exited()) {
            ::kill(pid_, SIGKILL);
            int st = 0;
            ::waitpid(pid_, &st, 0);
            status_ = st;
        }
    }

    pid_t pid_ = -1;
    std::optional<int> status_;
    std::string log_path_;
};

// A fresh temporary directory (removed by the caller's TearDown, if wanted).
inline std::string make_temp_dir(const char* prefix) {
    std::string tmpl = std::string("/tmp/") + prefix + "-XXXXXX";
    char* d = ::mkdtemp(tmpl.data());
    return d ? std::string(d) : std::string();
}

}  // namespace vfs::test
