// The kernel's first C++ code, called by boot.S in long mode: brings up serial, the IDT,
// the heap (from the PVH memory map) and the clock, runs static constructors, then the
// app, and reports its result through isa-debug-exit.
#include "arch/x86_64/clock.h"
#include "arch/x86_64/debug_exit.h"
#include "arch/x86_64/idt.h"
#include "arch/x86_64/pvh_start_info.h"
#include "arch/x86_64/serial.h"
#include "kernel/app.h"
#include "kernel/boot_info.h"
#include "kernel/cmdline.h"
#include "kernel/console.h"
#include "kernel/heap.h"
#include "kernel/panic.h"

extern "C" {
extern char __image_start[], __image_end[];
using InitFn = void (*)();
extern InitFn __init_array_start[], __init_array_end[];
}

namespace vfs::guest {
namespace {

// constinit: filled before static constructors run, so it must not have one.
constinit BootInfo g_boot_info{};
constexpr int kMaxArgs = 32;

void read_start_info(uint64_t paddr) {
    const auto* si = reinterpret_cast<const pvh::StartInfo*>(paddr);
    if (!si || si->magic != pvh::kStartInfoMagic) panic("bad PVH start info at %#lx", paddr);
    if (si->cmdline_paddr) {
        const char* s = reinterpret_cast<const char*>(si->cmdline_paddr);
        size_t i = 0;
        for (; s[i] && i + 1 < BootInfo::kCmdlineMax; ++i)
            g_boot_info.cmdline[i] = s[i];
        g_boot_info.cmdline[i] = '\0';
    }
    if (si->version < 1 || si->memmap_paddr == 0) panic("PVH start info has no memory map");
    const auto* mm = reinterpret_cast<const pvh::MemmapEntry*>(si->memmap_paddr);
    for (uint32_t i = 0; i < si->memmap_entries; ++i) {
        if (mm[i].type != pvh::kMemmapTypeRam) continue;
        g_boot_info.ram_total += mm[i].size;
        if (g_boot_info.ram_count < BootInfo::kMaxRam)
            g_boot_info.ram[g_boot_info.ram_count++] = RamRange{mm[i].addr, mm[i].size};
    }
}

}  // namespace

const BootInfo& boot_info() {
    return g_boot_info;
}

}  // namespace vfs::guest

extern "C" [[noreturn]] void kernel_start(uint64_t start_info_paddr) {
    using namespace vfs::guest;
    serial::init();
    idt::init();
    read_start_info(start_info_paddr);
    // Everything below the image end is firmware, boot data or the image itself.
    heap_init(g_boot_info.ram, g_boot_info.ram_count, reinterpret_cast<uint64_t>(__image_end));
    clock::calibrate();
    for (InitFn* f = __init_array_start; f != __init_array_end; ++f)
        (*f)();

    kprintf("virtiofs-cxx unikernel: image %lu KiB, RAM %lu MiB, heap %lu MiB free, TSC %lu MHz\n",
            static_cast<unsigned long>(__image_end - __image_start) >> 10,
            static_cast<unsigned long>(g_boot_info.ram_total >> 20),
            static_cast<unsigned long>(heap_free_bytes() >> 20),
            static_cast<unsigned long>(clock::tsc_hz() / 1000000));
    kprintf("cmdline: \"%s\"\n", g_boot_info.cmdline);

    static char cmdline_copy[BootInfo::kCmdlineMax];
    __builtin_memcpy(cmdline_copy, g_boot_info.cmdline, sizeof(cmdline_copy));
    char* argv[kMaxArgs + 1] = {};
    const int argc = split_cmdline(cmdline_copy, argv, kMaxArgs);
    const int rc = app_main(argc, argv);
    kprintf("app exited with %d: %s\n", rc, rc == 0 ? "PASS" : "FAIL");
    exit_qemu(rc == 0 ? ExitCode::kPass : ExitCode::kFail);
}
