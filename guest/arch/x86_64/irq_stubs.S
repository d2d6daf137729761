/* Entry stubs for the device and timer vectors (interrupts.cpp). They are only ever
 * taken inside `sti; hlt` (IF=0 everywhere else), so they do the least: count, EOI
 * through the xAPIC's mapped EOI register, return. No C, so no SSE state to save. */

    .text
    .code64

.macro IRQ_STUB name, counter
    .global \name
\name:
    push %rax
    lock incq \counter(%rip)
    mov lapic_eoi_register(%rip), %rax
    movl $0, (%rax)
    pop %rax
    iretq
.endm

IRQ_STUB irq_completion_stub, irq_completion_count
IRQ_STUB irq_timer_stub, irq_timer_count

/* Spurious vector: no EOI (Intel SDM 10.9). */
    .global irq_spurious_stub
irq_spurious_stub:
    iretq

    .bss
    .balign 8
    .global irq_completion_count, irq_timer_count, lapic_eoi_register
irq_completion_count: .quad 0
irq_timer_count: .quad 0
lapic_eoi_register: .quad 0
