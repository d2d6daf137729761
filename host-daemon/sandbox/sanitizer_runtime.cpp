#include "sandbox/sanitizer_runtime.h"

#include <seccomp.h>
#include <spdlog/spdlog.h>

#include <atomic>

namespace vfs::host::sandbox {

namespace {

// clang-format off
constexpr int kSanitizerCalls[] = {
    // UBSan's vptr check (sanitizer_common's IsAccessibleMemoryRange: a pipe, written from
    // the address in question; glibc's pipe() makes pipe2, seen as syscall=293 in the
    // kernel's log when the sanitized daemon was killed without it).
    SCMP_SYS(pipe2),
    // A report's own calls (seen with --seccomp=trap while that false vptr report was
    // written): the executable's name (readlink of /proc/self/exe) and the module list
    // (open of /proc/self/maps), both raw calls of the runtime, and isatty (ioctl TCGETS)
    // for its colours. Without them a confined daemon is killed before its report is out.
    SCMP_SYS(readlink), SCMP_SYS(open), SCMP_SYS(ioctl),
};
// clang-format on

std::atomic<bool> g_confined{false};

}  // namespace

std::span<const int> sanitizer_runtime_calls() {
    if constexpr (kSanitizerBuild) return kSanitizerCalls;
    return {};
}

void note_confined(const char* how) {
    if constexpr (kSanitizerBuild) {
        if (!g_confined.exchange(true))
            spdlog::info("sanitizer build: no leak check at exit once confined ({})", how);
    }
}

}  // namespace vfs::host::sandbox

#if VFS_ASAN_BUILD
// LeakSanitizer asks this hook (weak in its runtime) when its exit check starts; its
// interface header says "a constant value", but it is read only then, so a flag set once
// at start-up is what it sees.
extern "C" __attribute__((visibility("default"))) int __lsan_is_turned_off() {
    return vfs::host::sandbox::g_confined.load() ? 1 : 0;
}
#endif
