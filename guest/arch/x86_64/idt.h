// The interrupt descriptor table: CPU exceptions print vector, error code, RIP and CR2 on
// the console and end the VM with ExitCode::kException. Device and timer vectors get
// their gates from interrupts.cpp (set_gate).
#pragma once

#include <stdint.h>

namespace vfs::guest::idt {

// Register state saved by exception_stubs.S, lowest address first.
struct ExceptionFrame {
    uint64_t r15, r14, r13, r12, r11, r10, r9, r8, rbp, rdi, rsi, rdx, rcx, rbx, rax;
    uint64_t vector, error_code;
    uint64_t rip, cs, rflags, rsp, ss;  // pushed by the CPU
};

void init();
// Points vector `v` (32-255) at an interrupt-gate entry stub.
void set_gate(uint8_t v, uint64_t handler);

}  // namespace vfs::guest::idt
