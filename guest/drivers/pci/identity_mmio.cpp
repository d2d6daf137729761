// BAR mapping through the kernel page tables (see identity_mmio.h).
#include "drivers/pci/identity_mmio.h"

#include "arch/x86_64/paging.h"

namespace vfs::guest::pci {

wire::Result<uintptr_t> IdentityMmio::map(uint64_t phys, uint64_t size, MapCaching caching) {
    const auto c =
        caching == MapCaching::kUncached ? paging::Caching::kUncached : paging::Caching::kWriteBack;
    wire::Status s = paging::map_identity(phys, size, c);
    if (!s) return wire::Error{s.error()};
    return static_cast<uintptr_t>(phys);
}

}  // namespace vfs::guest::pci
