// PCI configuration mechanism #1: an address dword at port 0xCF8, data at 0xCFC-0xCFF.
// Works on QEMU's i440FX (`-machine pc`) and Q35 for the first 256 bytes of each function.
#pragma once

#include "drivers/pci/config_space.h"

namespace vfs::guest::pci {

class PortConfigSpace final : public ConfigSpace {
  public:
    uint8_t read8(Bdf f, uint16_t off) override;
    uint16_t read16(Bdf f, uint16_t off) override;
    uint32_t read32(Bdf f, uint16_t off) override;
    void write16(Bdf f, uint16_t off, uint16_t v) override;
    void write32(Bdf f, uint16_t off, uint32_t v) override;
};

}  // namespace vfs::guest::pci
