// Links every common/ header into a freestanding image with no libc: an undefined
// reference to anything hosted fails this build step.
#include "vfs/wire/all.h"

extern "C" void* memcpy(void* d, const void* s, unsigned long n) {
    auto* dp = static_cast<unsigned char*>(d);
    auto* sp = static_cast<const unsigned char*>(s);
    while (n--)
        *dp++ = *sp++;
    return d;
}
extern "C" void* memset(void* d, int c, unsigned long n) {
    auto* dp = static_cast<unsigned char*>(d);
    while (n--)
        *dp++ = static_cast<unsigned char>(c);
    return d;
}

extern "C" [[noreturn]] void vfs_check_entry() {
    vfs::wire::freestanding_selfcheck();
    for (;;)
        __asm__ volatile("hlt");
}
