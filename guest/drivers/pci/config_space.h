// Access to PCI configuration space, behind an interface so the scan and capability code
// runs unchanged in the unikernel (mechanism #1 ports, port_config_space.h) and in host
// unit tests (a simulated configuration space). Register names come from
// <linux/pci_regs.h>.
#pragma once

#include <stdint.h>

namespace vfs::guest::pci {

// Bus/device/function address of one PCI function.
struct Bdf {
    uint8_t bus = 0;
    uint8_t dev = 0;  // 0-31
    uint8_t fn = 0;   // 0-7
    bool operator==(const Bdf&) const = default;
};

// Offsets are within the function's 256-byte legacy configuration space and naturally
// aligned for the access width. A read of an absent function returns all ones.
class ConfigSpace {
  public:
    virtual uint8_t read8(Bdf f, uint16_t off) = 0;
    virtual uint16_t read16(Bdf f, uint16_t off) = 0;
    virtual uint32_t read32(Bdf f, uint16_t off) = 0;
    virtual void write16(Bdf f, uint16_t off, uint16_t v) = 0;
    virtual void write32(Bdf f, uint16_t off, uint32_t v) = 0;

  protected:
    ~ConfigSpace() = default;
};

}  // namespace vfs::guest::pci
