// The unikernel's Mmio: maps BARs into the identity map with the requested caching
// (on demand, also above 4 GiB) and accesses them with volatile loads and stores.
#pragma once

#include "drivers/pci/mmio.h"

namespace vfs::guest::pci {

class IdentityMmio final : public Mmio {
  public:
    wire::Result<uintptr_t> map(uint64_t phys, uint64_t size, MapCaching caching) override;
    uint8_t read8(uintptr_t a) override { return *reinterpret_cast<volatile uint8_t*>(a); }
    uint16_t read16(uintptr_t a) override { return *reinterpret_cast<volatile uint16_t*>(a); }
    uint32_t read32(uintptr_t a) override { return *reinterpret_cast<volatile uint32_t*>(a); }
    void write8(uintptr_t a, uint8_t v) override { *reinterpret_cast<volatile uint8_t*>(a) = v; }
    void write16(uintptr_t a, uint16_t v) override { *reinterpret_cast<volatile uint16_t*>(a) = v; }
    void write32(uintptr_t a, uint32_t v) override { *reinterpret_cast<volatile uint32_t*>(a) = v; }
};

}  // namespace vfs::guest::pci
