// Fatal error reporting.
#include "kernel/panic.h"

#include "arch/x86_64/debug_exit.h"
#include "kernel/console.h"

namespace vfs::guest {

void panic(const char* fmt, ...) {
    kprintf("\n*** PANIC: ");
    va_list ap;
    va_start(ap, fmt);
    vkprintf(fmt, ap);
    va_end(ap);
    kprintf("\n");
    exit_qemu(ExitCode::kPanic);
}

}  // namespace vfs::guest
