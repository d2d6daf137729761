// kprintf onto the COM1 serial port.
#include "kernel/console.h"

#include "arch/x86_64/serial.h"
#include "kernel/format.h"
#include "kernel/log.h"

namespace vfs::guest {
namespace {
void serial_sink(void*, const char* s, size_t n) {
    serial::write(s, n);
}
}  // namespace

void vkprintf(const char* fmt, va_list ap) {
    vformat(serial_sink, nullptr, fmt, ap);
}

void kprintf(const char* fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vkprintf(fmt, ap);
    va_end(ap);
}

// The guest's implementation of the portable driver log (kernel/log.h).
void log(const char* fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vkprintf(fmt, ap);
    va_end(ap);
    serial::put_char('\n');
}

}  // namespace vfs::guest
