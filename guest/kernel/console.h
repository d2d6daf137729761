// Kernel console output (serial). Drivers that also build on the host log through
// kernel/log.h instead, which maps to this in the guest.
#pragma once

#include <stdarg.h>

namespace vfs::guest {

void kprintf(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
void vkprintf(const char* fmt, va_list ap);

}  // namespace vfs::guest
