// Small wrappers for the privileged x86_64 instructions the kernel needs.
#pragma once

#include <stdint.h>

namespace vfs::guest::x86 {

inline uint64_t rdtsc() {
    uint32_t lo, hi;
    __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
    return (static_cast<uint64_t>(hi) << 32) | lo;
}

inline uint64_t read_cr2() {
    uint64_t v;
    __asm__ volatile("mov %%cr2, %0" : "=r"(v));
    return v;
}

inline uint64_t read_cr3() {
    uint64_t v;
    __asm__ volatile("mov %%cr3, %0" : "=r"(v));
    return v;
}

inline void invlpg(uint64_t addr) {
    __asm__ volatile("invlpg (%0)" ::"r"(addr) : "memory");
}

inline void pause() {
    __asm__ volatile("pause");
}

inline uint64_t rdmsr(uint32_t msr) {
    uint32_t lo, hi;
    __asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
    return (static_cast<uint64_t>(hi) << 32) | lo;
}

// Interrupts are off wherever the kernel runs; this is the one window they are on:
// `sti` takes effect after the next instruction, so an interrupt pending (or arriving)
// when the CPU reaches `hlt` wakes it instead of being taken before it and missed.
inline void sti_hlt_cli() {
    __asm__ volatile("sti; hlt; cli" ::: "memory");
}

[[noreturn]] inline void halt_forever() {
    for (;;)
        __asm__ volatile("cli; hlt");
}

struct CpuidResult {
    uint32_t eax, ebx, ecx, edx;
};
inline CpuidResult cpuid(uint32_t leaf) {
    CpuidResult r;
    __asm__ volatile("cpuid"
                     : "=a"(r.eax), "=b"(r.ebx), "=c"(r.ecx), "=d"(r.edx)
                     : "a"(leaf), "c"(0));
    return r;
}

}  // namespace vfs::guest::x86
