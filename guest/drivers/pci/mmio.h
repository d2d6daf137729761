// Access to device memory (BAR contents), behind an interface so the virtio-pci code
// runs unchanged in the unikernel (page-table mapping plus volatile loads and stores,
// identity_mmio.h) and in host unit tests (simulated BARs).
#pragma once

#include <stdint.h>

#include "vfs/wire/result.h"

namespace vfs::guest::pci {

enum class MapCaching {
    kUncached,   // registers: side effects, strict ordering
    kWriteBack,  // memory-like windows (virtio shared memory / DAX)
};

class Mmio {
  public:
    // Makes [phys, phys + size) accessible and returns the address to use for it.
    virtual wire::Result<uintptr_t> map(uint64_t phys, uint64_t size, MapCaching caching) = 0;

    virtual uint8_t read8(uintptr_t addr) = 0;
    virtual uint16_t read16(uintptr_t addr) = 0;
    virtual uint32_t read32(uintptr_t addr) = 0;
    virtual void write8(uintptr_t addr, uint8_t v) = 0;
    virtual void write16(uintptr_t addr, uint16_t v) = 0;
    virtual void write32(uintptr_t addr, uint32_t v) = 0;

  protected:
    ~Mmio() = default;
};

}  // namespace vfs::guest::pci
