// panic() and VFS_ASSERT for states the kernel cannot continue from: print the reason on
// serial and end the VM with ExitCode::kPanic.
#pragma once

namespace vfs::guest {

[[noreturn]] void panic(const char* fmt, ...) __attribute__((format(printf, 1, 2)));

}  // namespace vfs::guest

#define VFS_ASSERT(cond)                                                                     \
    do {                                                                                     \
        if (!(cond))                                                                         \
            ::vfs::guest::panic("assertion failed: %s at %s:%d", #cond, __FILE__, __LINE__); \
    } while (0)
