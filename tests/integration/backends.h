// How to start each vhost-user-fs backend the integration tests meet: ours, Debian's Rust
// virtiofsd (fetched by the peers script) and QEMU 7.2's C virtiofsd. Test-only.
#pragma once

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <string>
#include <vector>

namespace vfs::test {

enum class BackendKind { kOurs, kRust, kC };

inline const char* backend_name(BackendKind k) {
    switch (k) {
        case BackendKind::kOurs:
            return "virtiofsd_cxx";
        case BackendKind::kRust:
            return "rust_virtiofsd";
        case BackendKind::kC:
            return "qemu_c_virtiofsd";
    }
    return "?";
}

// Runs the peers script once per process; empty if it failed (no network, ...).
inline std::string rust_virtiofsd_path() {
    static std::string cached = [] {
        std::string cmd = std::string("bash ") + VFS_PEERS_SCRIPT + " 2>/dev/null";
        FILE* p = ::popen(cmd.c_str(), "r");
        if (!p) return std::string();
        char buf[4096] = {};
        std::string out;
        while (fgets(buf, sizeof(buf), p))
            out += buf;
        const int rc = ::pclose(p);
        while (!out.empty() && (out.back() == '\n' || out.back() == ' '))
            out.pop_back();
        if (rc != 0 || out.empty() || ::access(out.c_str(), X_OK) != 0) return std::string();
        return out;
    }();
    return cached;
}

// Under CI (CI=true) a peer that cannot be had fails its test; elsewhere it skips.
inline bool peers_required() {
    const char* ci = ::getenv("CI");
    return ci && std::string(ci) == "true";
}

inline constexpr const char* kCVirtiofsd = "/usr/lib/qemu/virtiofsd";

// argv for kind, or empty if that backend is not available here.
inline std::vector<std::string> backend_argv(BackendKind kind, const std::string& socket,
                                             const std::string& dir) {
    switch (kind) {
        case BackendKind::kOurs:
            return {VFS_DAEMON_PATH, "--socket-path=" + socket, "--shared-dir=" + dir,
                    "--log-level=debug", "--num-queues=4"};
        case BackendKind::kRust: {
            const std::string p = rust_virtiofsd_path();
            if (p.empty()) return {};
            return {p,
                    "--socket-path=" + socket,
                    "--shared-dir=" + dir,
                    "--sandbox=none",
                    "--seccomp=none",
                    "--log-level=debug"};
        }
        case BackendKind::kC:
            if (::access(kCVirtiofsd, X_OK) != 0) return {};
            return {
                kCVirtiofsd, "--socket-path=" + socket, "-o", "source=" + dir, "-o", "cache=auto",
                "-o",        "sandbox=chroot",          "-d"};
    }
    return {};
}

// Request queues each backend serves (Rust and C virtiofsd: one).
inline uint32_t backend_request_queues(BackendKind kind) {
    return kind == BackendKind::kOurs ? 3 : 1;
}

}  // namespace vfs::test
