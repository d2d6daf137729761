// What the kernel learned at boot from the PVH start info, copied out of the low memory
// the loader left it in.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "kernel/heap.h"

namespace vfs::guest {

struct BootInfo {
    static constexpr size_t kMaxRam = 32;
    static constexpr size_t kCmdlineMax = 1024;
    RamRange ram[kMaxRam] = {};
    size_t ram_count = 0;
    uint64_t ram_total = 0;
    char cmdline[kCmdlineMax] = {};
};

const BootInfo& boot_info();

}  // namespace vfs::guest
