// Sanitizer builds (-DVFS_SANITIZE=ON, or any AddressSanitizer build): what the sanitizer
// runtimes need for the daemon to run under its default confinement. In a release build
// kSanitizerBuild is false, sanitizer_runtime_calls() is empty, and nothing here changes
// the daemon.
//
// - UBSan's vptr check writes a vtable's first bytes into a pipe it makes (pipe2) to learn
//   whether that memory is mapped; without pipe2 the daemon is killed (--seccomp=kill) or
//   reports a false "invalid vptr" (trap, log). A report itself reads the executable's
//   name and module list and asks isatty. seccomp_filter.cpp allows
//   sanitizer_runtime_calls() in these builds.
// - LeakSanitizer's exit check cannot work confined: it reads /proc/self/task (absent in
//   the namespace and chroot sandboxes' root) and ptrace-attaches to every thread (not on
//   the seccomp list, and not added: a debugger's powers in a serving daemon). Once
//   confined, note_confined() turns that check off (__lsan_is_turned_off); run the daemon
//   with --sandbox=none --seccomp=none to have its leaks checked.
#pragma once

#include <span>

// GCC says __SANITIZE_ADDRESS__, clang __has_feature(address_sanitizer).
#if defined(__SANITIZE_ADDRESS__)
#define VFS_ASAN_BUILD 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define VFS_ASAN_BUILD 1
#endif
#endif
#ifndef VFS_ASAN_BUILD
#define VFS_ASAN_BUILD 0
#endif

namespace vfs::host::sandbox {

inline constexpr bool kSanitizerBuild = VFS_ASAN_BUILD;

// The system calls the sanitizer runtimes make once the daemon serves that the daemon's
// own code never makes (empty in a release build).
std::span<const int> sanitizer_runtime_calls();

// The process is now confined (a sandbox entered, or a seccomp filter installed): in a
// sanitizer build, LeakSanitizer's exit check is skipped from now on. No-op otherwise.
void note_confined(const char* how);

}  // namespace vfs::host::sandbox
