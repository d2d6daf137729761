/* Entry stubs for CPU exceptions 0-31: each pushes a dummy error code where the CPU does
 * not push one, then its vector, saves the general registers and calls
 * exception_dispatch(frame) (idt.cpp), which reports and stops; it never returns. */

    .text
    .code64

.macro STUB_NOERR vec
    .global exception_stub_\vec
exception_stub_\vec:
    pushq $0
    pushq $\vec
    jmp exception_common
.endm

.macro STUB_ERR vec
    .global exception_stub_\vec
exception_stub_\vec:
    pushq $\vec
    jmp exception_common
.endm

exception_common:
    push %rax
    push %rbx
    push %rcx
    push %rdx
    push %rsi
    push %rdi
    push %rbp
    push %r8
    push %r9
    push %r10
    push %r11
    push %r12
    push %r13
    push %r14
    push %r15
    mov %rsp, %rdi
    and $~0xf, %rsp
    call exception_dispatch
1:  cli
    hlt
    jmp 1b

/* Vectors with a CPU-pushed error code: 8, 10-14, 17, 21, 29, 30. */
STUB_NOERR 0
STUB_NOERR 1
STUB_NOERR 2
STUB_NOERR 3
STUB_NOERR 4
STUB_NOERR 5
STUB_NOERR 6
STUB_NOERR 7
STUB_ERR 8
STUB_NOERR 9
STUB_ERR 10
STUB_ERR 11
STUB_ERR 12
STUB_ERR 13
STUB_ERR 14
STUB_NOERR 15
STUB_NOERR 16
STUB_ERR 17
STUB_NOERR 18
STUB_NOERR 19
STUB_NOERR 20
STUB_ERR 21
STUB_NOERR 22
STUB_NOERR 23
STUB_NOERR 24
STUB_NOERR 25
STUB_NOERR 26
STUB_NOERR 27
STUB_NOERR 28
STUB_ERR 29
STUB_ERR 30
STUB_NOERR 31

    .section .rodata
    .balign 8
    .global exception_stub_table
exception_stub_table:
    .irp vec, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
    .quad exception_stub_\vec
    .endr
