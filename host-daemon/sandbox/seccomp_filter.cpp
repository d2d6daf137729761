// The daemon's system calls, in one list. Its origin: the calls the code makes (each group
// names where), then runs of the tests that start the binary (integration, the Linux
// guest e2e, libvirt, sshfs, unikernel), which run the daemon with the default
// --seccomp=kill: the kernel logs each call killed (dmesg: type=1326 ... syscall=N), and
// --seccomp=trap names it on stderr. A call missing here is a test failure. Only the calls
// made after the filter is installed matter: the sandbox, the capability drop and
// start-up (mount, pivot_root, capset, bind, ...) come before it and are absent on purpose.
#include "sandbox/seccomp_filter.h"

#include <errno.h>
#include <seccomp.h>
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>
#include <ucontext.h>
#include <unistd.h>

#include <cstdlib>
#include <iterator>
#include <memory>

#include "sandbox/sanitizer_runtime.h"

namespace vfs::host::sandbox {

namespace {

// Grouped a line per kind of call, not one call per line:
// clang-format off
constexpr int kAllowed[] = {
    // Memory and threads (glibc, libstdc++, one worker thread per queue; guest memory
    // regions are mmap'ed from the front-end's fds and unmapped at reset).
    SCMP_SYS(brk), SCMP_SYS(mmap), SCMP_SYS(munmap), SCMP_SYS(mprotect), SCMP_SYS(madvise),
    SCMP_SYS(mremap), SCMP_SYS(clone), SCMP_SYS(clone3), SCMP_SYS(set_robust_list),
    SCMP_SYS(rseq), SCMP_SYS(futex), SCMP_SYS(exit), SCMP_SYS(exit_group),
    SCMP_SYS(sched_yield), SCMP_SYS(sched_getaffinity), SCMP_SYS(gettid), SCMP_SYS(getpid),
    SCMP_SYS(getrandom),
    // Who we are (fs/passthrough_fs.cpp: switch fsuid/fsgid only when root).
    SCMP_SYS(getuid), SCMP_SYS(geteuid), SCMP_SYS(getgid), SCMP_SYS(getegid),
    // Signals: the signalfd of SIGTERM/SIGINT, abort() (rt_sigprocmask, tgkill), the
    // handler return of --seccomp=trap's SIGSYS, and the kernel's restart of a wait a
    // stop signal interrupted (SIGSTOP/SIGCONT, a debugger: restart_syscall).
    SCMP_SYS(rt_sigprocmask), SCMP_SYS(rt_sigaction), SCMP_SYS(rt_sigreturn),
    SCMP_SYS(sigaltstack), SCMP_SYS(tgkill), SCMP_SYS(restart_syscall),
    // Time (vDSO first; these when the vDSO falls back), and timed waits.
    SCMP_SYS(clock_gettime), SCMP_SYS(gettimeofday), SCMP_SYS(clock_nanosleep),
    SCMP_SYS(nanosleep),
    // The vhost-user connection (vhost_user/server.cpp, connection.cpp): wait on it and
    // the signalfd, accept one front-end, messages with fds (recv() is recvfrom), and the
    // accepted socket's send timeout (a front-end that never reads its replies).
    SCMP_SYS(poll), SCMP_SYS(ppoll), SCMP_SYS(accept4), SCMP_SYS(recvmsg), SCMP_SYS(sendmsg),
    SCMP_SYS(recvfrom), SCMP_SYS(sendto), SCMP_SYS(setsockopt),
    // fds of every kind: eventfd reads/writes (kicks, calls), the log on stderr, fd-type
    // checks through /proc/self/fd (readlinkat), the socket file (sandbox none: unlink).
    SCMP_SYS(read), SCMP_SYS(write), SCMP_SYS(readv), SCMP_SYS(writev), SCMP_SYS(close),
    SCMP_SYS(dup), SCMP_SYS(fcntl), SCMP_SYS(eventfd2), SCMP_SYS(unlink),
    // io_uring (queue/io_engine.cpp): the rings are created when a queue starts; their
    // operations are restricted by the ring itself (queue/restricted_ring.cpp).
    SCMP_SYS(io_uring_setup), SCMP_SYS(io_uring_enter), SCMP_SYS(io_uring_register),
    // The passthrough (fs/passthrough_fs.cpp): lookups, attributes, and reopens.
    SCMP_SYS(openat), SCMP_SYS(openat2), SCMP_SYS(newfstatat), SCMP_SYS(fstat), SCMP_SYS(statx),
    SCMP_SYS(fstatfs), SCMP_SYS(readlinkat), SCMP_SYS(getdents64), SCMP_SYS(lseek),
    SCMP_SYS(umask),
    // ... namespace changes the guest asks for.
    SCMP_SYS(mkdirat), SCMP_SYS(mknodat), SCMP_SYS(symlinkat), SCMP_SYS(linkat),
    SCMP_SYS(unlinkat), SCMP_SYS(renameat), SCMP_SYS(renameat2),
    // ... attributes and data outside the ring: SETATTR, inline reads and writes (RWF_NOWAIT
    // preadv2, small pwritev), COPY_FILE_RANGE, LSEEK, SYNCFS, fallocate/fsync fallbacks.
    SCMP_SYS(fchmod), SCMP_SYS(fchmodat), SCMP_SYS(fchown), SCMP_SYS(fchownat),
    SCMP_SYS(utimensat), SCMP_SYS(ftruncate), SCMP_SYS(fallocate), SCMP_SYS(fsync),
    SCMP_SYS(fdatasync), SCMP_SYS(syncfs), SCMP_SYS(pread64), SCMP_SYS(preadv),
    SCMP_SYS(preadv2), SCMP_SYS(pwrite64), SCMP_SYS(pwritev), SCMP_SYS(pwritev2),
    SCMP_SYS(copy_file_range),
    // ... extended attributes (--xattr, --posix-acl): by fd, or through /proc/self/fd for
    // inodes that are O_PATH fds.
    SCMP_SYS(fgetxattr), SCMP_SYS(fsetxattr), SCMP_SYS(flistxattr), SCMP_SYS(fremovexattr),
    SCMP_SYS(getxattr), SCMP_SYS(setxattr), SCMP_SYS(listxattr), SCMP_SYS(removexattr),
    // ... requests run with the guest's fsuid/fsgid (fs/credentials.cpp).
    SCMP_SYS(setfsuid), SCMP_SYS(setfsgid),
    // ... locks (-o posix_lock, flock: OFD locks through fcntl, flock).
    SCMP_SYS(flock),
    // ... inodes by file handle (--inode-file-handles, fs/file_handles.cpp).
    SCMP_SYS(name_to_handle_at), SCMP_SYS(open_by_handle_at),
};
// clang-format on

// With --syslog: glibc's syslog() sends with send() (sendto, allowed above) and re-opens
// /dev/log when a send fails.
constexpr int kSyslog[] = {SCMP_SYS(socket), SCMP_SYS(connect)};

// --seccomp=trap: name the call by number (formatted by hand: only async-signal-safe
// calls here) and let it fail with ENOSYS, so one run shows every call missing.
void on_sigsys(int, siginfo_t* info, void* context) {
    static constexpr char kHead[] = "virtiofsd-cxx: seccomp: system call ";
    static constexpr char kTail[] = " is not allowed\n";
    char line[sizeof(kHead) + sizeof(kTail) + 12];
    size_t n = sizeof(kHead) - 1;
    memcpy(line, kHead, n);
    char digits[12];
    size_t d = 0;
    for (unsigned v = static_cast<unsigned>(info->si_syscall); d == 0 || v > 0; v /= 10)
        digits[d++] = static_cast<char>('0' + v % 10);
    while (d > 0)
        line[n++] = digits[--d];
    memcpy(line + n, kTail, sizeof(kTail) - 1);
    n += sizeof(kTail) - 1;
    [[maybe_unused]] const ssize_t w = ::write(STDERR_FILENO, line, n);
    static_cast<ucontext_t*>(context)->uc_mcontext.gregs[REG_RAX] = -ENOSYS;
}

struct ContextFree {
    void operator()(scmp_filter_ctx ctx) const { seccomp_release(ctx); }
};

}  // namespace

std::optional<std::string> install_seccomp_filter(const SeccompOptions& opts) {
    uint32_t deny = SCMP_ACT_KILL_PROCESS;
    if (opts.action == SeccompAction::kNone) return std::nullopt;
    if (opts.action == SeccompAction::kLog) deny = SCMP_ACT_LOG;
    if (opts.action == SeccompAction::kTrap) {
        struct sigaction sa {};
        sa.sa_sigaction = on_sigsys;
        sa.sa_flags = SA_SIGINFO;
        if (sigaction(SIGSYS, &sa, nullptr) != 0)
            return std::string("--seccomp=trap: sigaction: ") + strerror(errno);
        deny = SCMP_ACT_TRAP;
    }
    std::unique_ptr<void, ContextFree> ctx(seccomp_init(deny));
    if (!ctx) return "--seccomp: cannot create a filter";
    // Every thread, including those already running, gets the same filter.
    if (seccomp_attr_set(ctx.get(), SCMP_FLTATR_CTL_TSYNC, 1) != 0)
        return "--seccomp: the kernel cannot apply a filter to every thread";
    auto allow = [&](int nr) -> std::optional<std::string> {
        const int r = seccomp_rule_add(ctx.get(), SCMP_ACT_ALLOW, nr, 0);
        if (r == 0) return std::nullopt;
        char* name = seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, nr);
        std::string msg =
            std::string("--seccomp: cannot allow ") + (name ? name : "?") + ": " + strerror(-r);
        free(name);
        return msg;
    };
    for (const int nr : kAllowed) {
        if (auto err = allow(nr)) return err;
    }
    if (opts.syslog) {
        for (const int nr : kSyslog) {
            if (auto err = allow(nr)) return err;
        }
    }
    // Sanitizer builds only (empty otherwise): the runtimes' own calls.
    for (const int nr : sanitizer_runtime_calls()) {
        if (auto err = allow(nr)) return err;
    }
    note_confined("--seccomp");  // before the load: a first log line makes calls (isatty)
    if (const int r = seccomp_load(ctx.get()); r != 0)
        return std::string("--seccomp: cannot load the filter: ") + strerror(-r);
    return std::nullopt;
}

}  // namespace vfs::host::sandbox
