// Page-table edits after boot: boot.S identity-maps [0, 4 GiB) write-back with 2 MiB
// pages; device BARs are (re)mapped here, identity too, with the caching they need —
// uncached for registers, write-back for a shared-memory window — anywhere in the
// 48-bit physical space (QEMU q35 may place 64-bit BARs above 4 GiB).
#pragma once

#include <stdint.h>

#include "vfs/wire/result.h"

namespace vfs::guest::paging {

enum class Caching {
    kWriteBack,  // RAM, DAX/shared-memory windows
    kUncached,   // device registers: every access reaches the device, in order
};

// Identity-maps [phys, phys + size) with the given caching: 2 MiB pages for the aligned
// parts (a DAX window), 4 KiB pages elsewhere, splitting 2 MiB boot pages where the
// range starts or ends inside one. New tables come from the kernel heap.
wire::Status map_identity(uint64_t phys, uint64_t size, Caching caching);

}  // namespace vfs::guest::paging
