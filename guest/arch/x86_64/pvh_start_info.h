// The x86 HVM direct boot ABI (PVH) start-of-day structures that QEMU hands us in %ebx.
// Layout from Xen's public arch-x86/hvm/start_info.h (no uapi header carries it on the
// build host); only version-1 fields we read are named.
#pragma once

#include <stdint.h>

namespace vfs::guest::pvh {

inline constexpr uint32_t kStartInfoMagic = 0x336ec578;
inline constexpr uint32_t kMemmapTypeRam = 1;

struct StartInfo {
    uint32_t magic;
    uint32_t version;  // 0: fields up to rsdp_paddr; 1: adds the memory map
    uint32_t flags;
    uint32_t nr_modules;
    uint64_t modlist_paddr;
    uint64_t cmdline_paddr;  // NUL-terminated, 0 if none
    uint64_t rsdp_paddr;
    uint64_t memmap_paddr;
    uint32_t memmap_entries;
    uint32_t reserved;
};
static_assert(sizeof(StartInfo) == 56);

struct MemmapEntry {
    uint64_t addr;
    uint64_t size;
    uint32_t type;  // E820 numbering: 1 = RAM
    uint32_t reserved;
};
static_assert(sizeof(MemmapEntry) == 24);

}  // namespace vfs::guest::pvh
