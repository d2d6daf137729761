// The backends vfs-bench compares and how each is started: ours (virtiofsd-cxx), Debian's
// Rust virtiofsd (fetched by the peers script), QEMU 7.2's C virtiofsd, all with the same
// cache mode and no thread pool, each serving the same shared directory. "native" is the
// syscall reference and starts nothing.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "instruction_counter.h"

namespace vfs::bench {

enum class BackendKind { kOurs, kRust, kQemuC, kNative };

struct BackendPaths {
    std::string ours;          // virtiofsd-cxx
    std::string peers_script;  // prints the Rust virtiofsd wrapper's path
    std::string rust;          // if set, used instead of the peers script
    std::string qemu_c = "/usr/lib/qemu/virtiofsd";
};

struct BackendConfig {
    BackendKind kind = BackendKind::kOurs;
    std::string name;  // ours, rust, qemu-c, native
    std::string cache = "auto";
    uint32_t request_queues = 1;          // what the benchmark will use (ours serves several)
    std::vector<std::string> extra_args;  // appended to the daemon's command line
    // If set, the child writes its pid here (a cgroup's cgroup.procs) before exec, so the
    // daemon and all it starts run in that cgroup; start() fails if it cannot.
    std::string join_cgroup_procs;
};

// Parses a --backends item; false if unknown.
bool parse_backend(const std::string& name, BackendConfig* out);

// A backend daemon started as a child, its output in a log file.
class BackendProcess {
  public:
    BackendProcess() = default;
    BackendProcess(const BackendProcess&) = delete;
    BackendProcess& operator=(const BackendProcess&) = delete;
    ~BackendProcess() { stop(); }

    // Starts cfg serving share on socket, under counter's callgrind if counter is set. An
    // empty string on success, else why not (the binary is missing, the peers script
    // failed, it died before listening).
    std::string start(const BackendConfig& cfg, const BackendPaths& paths,
                      const std::string& socket, const std::string& share,
                      const std::string& log_path, const InstructionCounter* counter = nullptr);
    // SIGTERM, then SIGKILL if it lingers; reaps it.
    void stop();
    std::string log_tail() const;
    pid_t pid() const { return pid_; }

  private:
    pid_t pid_ = -1;
    std::string log_path_;
};

}  // namespace vfs::bench
