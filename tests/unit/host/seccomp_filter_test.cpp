// The seccomp filter in a forked child: a call on the list runs, one outside it kills the
// process (kill, the default), or fails with ENOSYS after a SIGSYS that names it (trap).
#include "sandbox/seccomp_filter.h"

#include <errno.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <string>
#include <utility>

#include "sandbox/sanitizer_runtime.h"

namespace vfs::host::sandbox {
namespace {

// Runs body in a child under the filter; returns its wait status. The child's stderr
// goes to err_fd.
template <typename Body>
int run_filtered(SeccompAction action, int err_fd, Body body) {
    const pid_t pid = ::fork();
    if (pid == 0) {
        ::dup2(err_fd, STDERR_FILENO);
        if (install_seccomp_filter({action, false})) ::_exit(90);
        ::_exit(body());
    }
    int status = 0;
    ::waitpid(pid, &status, 0);
    return status;
}

class SeccompFilter : public ::testing::Test {
  protected:
    void SetUp() override { ASSERT_EQ(::pipe2(err_, O_CLOEXEC), 0); }
    void TearDown() override {
        ::close(err_[0]);
        ::close(err_[1]);
    }
    std::string child_stderr() {
        ::close(err_[1]);
        err_[1] = ::open("/dev/null", O_WRONLY | O_CLOEXEC);
        std::string out;
        char buf[256];
        for (ssize_t n; (n = ::read(err_[0], buf, sizeof(buf))) > 0;)
            out.append(buf, static_cast<size_t>(n));
        return out;
    }
    int err_[2] = {-1, -1};
};

TEST_F(SeccompFilter, AListedCallRuns) {
    const int st = run_filtered(SeccompAction::kKill, err_[1],
                                [] { return ::syscall(SYS_getpid) > 0 ? 0 : 1; });
    ASSERT_TRUE(WIFEXITED(st)) << "status " << st;
    EXPECT_EQ(WEXITSTATUS(st), 0);
}

TEST_F(SeccompFilter, KillEndsTheProcessOnACallOutsideTheList) {
    // getppid is nothing the daemon calls once it serves.
    const int st = run_filtered(SeccompAction::kKill, err_[1], [] {
        ::syscall(SYS_getppid);
        return 0;
    });
    ASSERT_TRUE(WIFSIGNALED(st)) << "status " << st;
    EXPECT_EQ(WTERMSIG(st), SIGSYS);
}

TEST_F(SeccompFilter, TrapNamesTheCallAndAnswersEnosys) {
    const int st = run_filtered(SeccompAction::kTrap, err_[1], [] {
        const long r = ::syscall(SYS_getppid);
        return r == -1 && errno == ENOSYS ? 0 : 1;
    });
    ASSERT_TRUE(WIFEXITED(st)) << "status " << st;
    EXPECT_EQ(WEXITSTATUS(st), 0);
    EXPECT_NE(child_stderr().find("system call " + std::to_string(SYS_getppid) + " is not allowed"),
              std::string::npos);
}

TEST_F(SeccompFilter, NoneInstallsNothing) {
    const int st = run_filtered(SeccompAction::kNone, err_[1],
                                [] { return ::syscall(SYS_getppid) > 0 ? 0 : 1; });
    ASSERT_TRUE(WIFEXITED(st));
    EXPECT_EQ(WEXITSTATUS(st), 0);
}

// The sanitizer runtimes' calls (sandbox/sanitizer_runtime.h: pipe2 for UBSan's vptr
// check, readlink/open/ioctl for a report) are on the list in sanitizer builds only: a
// release daemon's list is its own calls, and each of these kills.
TEST_F(SeccompFilter, SanitizerCallsAreAllowedInSanitizerBuildsOnly) {
    EXPECT_EQ(sanitizer_runtime_calls().size(), kSanitizerBuild ? 4u : 0u);
    const std::pair<const char*, long (*)()> calls[] = {
        {"pipe2",
         [] {
             int fds[2];
             return ::syscall(SYS_pipe2, fds, O_CLOEXEC);
         }},
        {"readlink",
         [] {
             char buf[64];
             return ::syscall(SYS_readlink, "/proc/self/exe", buf, sizeof(buf));
         }},
        {"open", [] { return ::syscall(SYS_open, "/dev/null", O_RDONLY | O_CLOEXEC); }},
        {"ioctl",
         [] {
             termios t;
             return ::syscall(SYS_ioctl, STDERR_FILENO, TCGETS, &t);
         }},
    };
    for (const auto& [name, call] : calls) {
        const int st = run_filtered(SeccompAction::kKill, err_[1], [call = call] {
            call();  // its result does not matter: only whether the filter let it run
            return 0;
        });
        if (kSanitizerBuild) {
            EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0) << name << ": status " << st;
        } else {
            EXPECT_TRUE(WIFSIGNALED(st) && WTERMSIG(st) == SIGSYS) << name << ": status " << st;
        }
    }
}

}  // namespace
}  // namespace vfs::host::sandbox
