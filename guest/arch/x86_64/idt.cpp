// Builds and loads the IDT for exceptions 0-31 and reports any exception that arrives.
#include "arch/x86_64/idt.h"

#include "arch/x86_64/cpu.h"
#include "arch/x86_64/debug_exit.h"
#include "kernel/console.h"

extern "C" const uint64_t exception_stub_table[32];

namespace vfs::guest::idt {
namespace {

struct [[gnu::packed]] Gate {
    uint16_t offset_low;
    uint16_t selector;
    uint8_t ist;
    uint8_t type_attr;
    uint16_t offset_mid;
    uint32_t offset_high;
    uint32_t zero;
};
static_assert(sizeof(Gate) == 16);

struct [[gnu::packed]] IdtPointer {
    uint16_t limit;
    uint64_t base;
};

constexpr uint16_t kKernelCodeSelector = 0x08;  // boot.S GDT
constexpr uint8_t kInterruptGatePresent = 0x8e;

alignas(16) Gate g_idt[256];

const char* exception_name(uint64_t v) {
    static const char* const kNames[] = {"divide error",
                                         "debug",
                                         "NMI",
                                         "breakpoint",
                                         "overflow",
                                         "bound range",
                                         "invalid opcode",
                                         "device not available",
                                         "double fault",
                                         "coprocessor overrun",
                                         "invalid TSS",
                                         "segment not present",
                                         "stack fault",
                                         "general protection",
                                         "page fault",
                                         "reserved",
                                         "x87 FP",
                                         "alignment check",
                                         "machine check",
                                         "SIMD FP",
                                         "virtualization",
                                         "control protection"};
    return v < sizeof(kNames) / sizeof(kNames[0]) ? kNames[v] : "reserved";
}

Gate gate_for(uint64_t addr) {
    return Gate{static_cast<uint16_t>(addr),
                kKernelCodeSelector,
                0,
                kInterruptGatePresent,
                static_cast<uint16_t>(addr >> 16),
                static_cast<uint32_t>(addr >> 32),
                0};
}

}  // namespace

void init() {
    for (int v = 0; v < 32; ++v)
        g_idt[v] = gate_for(exception_stub_table[v]);
    const IdtPointer ptr{sizeof(g_idt) - 1, reinterpret_cast<uint64_t>(&g_idt[0])};
    __asm__ volatile("lidt %0" ::"m"(ptr));
}

void set_gate(uint8_t v, uint64_t handler) {
    if (v >= 32) g_idt[v] = gate_for(handler);
}

}  // namespace vfs::guest::idt

extern "C" [[noreturn]] void exception_dispatch(const vfs::guest::idt::ExceptionFrame* f) {
    using vfs::guest::kprintf;
    kprintf("\n*** CPU exception %lu (%s) error=%#lx rip=%#lx cr2=%#lx\n", f->vector,
            vfs::guest::idt::exception_name(f->vector), f->error_code, f->rip,
            vfs::guest::x86::read_cr2());
    kprintf("    rsp=%#lx rflags=%#lx rax=%#lx rbx=%#lx rcx=%#lx rdx=%#lx\n", f->rsp, f->rflags,
            f->rax, f->rbx, f->rcx, f->rdx);
    kprintf("    rsi=%#lx rdi=%#lx rbp=%#lx\n", f->rsi, f->rdi, f->rbp);
    vfs::guest::exit_qemu(vfs::guest::ExitCode::kException);
}
