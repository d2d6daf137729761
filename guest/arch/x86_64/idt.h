// The interrupt descriptor table: CPU exceptions print vector, error code, RIP and CR2 on
// the console and end the VM with ExitCode::kException. No device interrupts yet
// (completions are polled).
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

}  // namespace vfs::guest::idt
