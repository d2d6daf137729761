/* PVH entry: QEMU (`-kernel`) finds XEN_ELFNOTE_PHYS32_ENTRY below, loads the ELF at its
 * physical addresses and jumps to pvh_entry32 in flat 32-bit protected mode with paging
 * off, interrupts off, no stack, and %ebx = physical address of struct hvm_start_info.
 * This file clears .bss, switches to long mode over a static identity map of the first
 * 4 GiB (2 MiB pages, write-back; paging.cpp refines it for device registers), enables SSE
 * (the toolchain lets gcc emit SSE for copies) and calls kernel_start(start_info). */

#define XEN_ELFNOTE_PHYS32_ENTRY 18
#define PAGE_PRESENT_WRITABLE 0x03
#define PAGE_LARGE 0x80
#define MSR_EFER 0xC0000080
#define EFER_LME (1 << 8)
#define CR4_PAE (1 << 5)
#define CR4_OSFXSR (1 << 9)
#define CR4_OSXMMEXCPT (1 << 10)
#define CR0_PE 0x1
#define CR0_MP 0x2
#define CR0_EM 0x4
#define CR0_PG 0x80000000
#define GDT_CODE64 0x08
#define GDT_DATA 0x10

/* The note is 4-byte aligned in its own PT_NOTE segment: QEMU pads the name to the
 * segment's alignment. The descriptor is 8 bytes (upper half zero) so a reader taking
 * either 4 or 8 bytes gets the same entry address. */
    .section .note.pvh, "a", @note
    .balign 4
    .long 4                         /* namesz: "Xen\0" */
    .long 8                         /* descsz */
    .long XEN_ELFNOTE_PHYS32_ENTRY
    .asciz "Xen"
    .balign 4
    .quad pvh_entry32

    .section .text.boot, "ax"
    .code32
    .global pvh_entry32
pvh_entry32:
    cli
    cld
    /* Timestamp first so boot-to-ready times include all of our own start-up. */
    rdtsc
    mov %eax, %esi
    mov %edx, %ebp
    /* Zero .bss (the boot stack lives there too, unused so far). */
    mov $__bss_start, %edi
    mov $__bss_end, %ecx
    sub %edi, %ecx
    xor %eax, %eax
    rep stosb
    mov %esi, boot_tsc
    mov %ebp, boot_tsc + 4
    mov $boot_stack_top, %esp

    mov $boot_pml4, %eax
    mov %eax, %cr3
    mov %cr4, %eax
    or $CR4_PAE, %eax
    mov %eax, %cr4
    mov $MSR_EFER, %ecx
    rdmsr
    or $EFER_LME, %eax
    wrmsr
    mov %cr0, %eax
    or $(CR0_PG | CR0_PE), %eax
    mov %eax, %cr0
    lgdt boot_gdt_descriptor
    ljmp $GDT_CODE64, $long_mode_entry

    .code64
long_mode_entry:
    mov $GDT_DATA, %ax
    mov %ax, %ds
    mov %ax, %es
    mov %ax, %ss
    mov %ax, %fs
    mov %ax, %gs
    lea boot_stack_top(%rip), %rsp
    mov %cr0, %rax
    and $~CR0_EM, %rax
    or $CR0_MP, %rax
    mov %rax, %cr0
    mov %cr4, %rax
    or $(CR4_OSFXSR | CR4_OSXMMEXCPT), %rax
    mov %rax, %cr4
    xor %ebp, %ebp
    mov %ebx, %edi                  /* hvm_start_info paddr, zero-extended */
    call kernel_start
1:  hlt
    jmp 1b

    .section .rodata.boot, "a"
    .balign 16
boot_gdt:
    .quad 0
    .quad 0x00AF9A000000FFFF        /* 0x08: 64-bit code, DPL 0 */
    .quad 0x00CF92000000FFFF        /* 0x10: data, DPL 0 */
boot_gdt_end:
boot_gdt_descriptor:
    .word boot_gdt_end - boot_gdt - 1
    .quad boot_gdt

/* Identity map of [0, 4 GiB): one PML4 entry, one PDPT with four entries, four page
 * directories of 2 MiB pages. paging.cpp adds tables for anything above. */
    .section .data.page_tables, "aw"
    .balign 4096
    .global boot_pml4
boot_pml4:
    .quad boot_pdpt + PAGE_PRESENT_WRITABLE
    .fill 511, 8, 0
boot_pdpt:
    .quad boot_pd + PAGE_PRESENT_WRITABLE
    .quad boot_pd + 0x1000 + PAGE_PRESENT_WRITABLE
    .quad boot_pd + 0x2000 + PAGE_PRESENT_WRITABLE
    .quad boot_pd + 0x3000 + PAGE_PRESENT_WRITABLE
    .fill 508, 8, 0
boot_pd:
    .set page, 0
    .rept 2048
    .quad (page << 21) | PAGE_LARGE | PAGE_PRESENT_WRITABLE
    .set page, page + 1
    .endr

    .section .bss.boot, "aw", @nobits
    .balign 16
    .global boot_tsc
boot_tsc:
    .skip 8
    .balign 16
boot_stack:
    .skip 65536
boot_stack_top:
