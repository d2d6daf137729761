// MSI-X (PCI 3.0, 6.8.2): the capability parsed and checked against the function's BARs
// (table and pending-bit array each inside a memory BAR), and the table programmed.
// The capability lives in configuration space and the table in a BAR, both the device's:
// a table size, BAR index or offset that does not fit is refused, never followed. Runs
// over the ConfigSpace and Mmio seams, so it is unit-tested against simulated BARs.
#pragma once

#include <stdint.h>

#include "drivers/pci/config_space.h"
#include "drivers/pci/device.h"
#include "drivers/pci/mmio.h"
#include "vfs/wire/result.h"

namespace vfs::guest::pci {

struct MsixInfo {
    uint8_t cap = 0;          // capability offset in configuration space
    uint16_t table_size = 0;  // entries (control word's field + 1)
    uint8_t table_bar = 0;
    uint64_t table_offset = 0;  // into table_bar
    uint8_t pba_bar = 0;
    uint64_t pba_offset = 0;
};

// One MSI message: where the device writes and what (x86: 0xFEE00000 | APIC id << 12,
// data = vector, edge, fixed delivery).
struct MsiMessage {
    uint64_t address = 0;
    uint32_t data = 0;
};

// The function's MSI-X capability. ENOENT if it has none; EINVAL (logged) if the table or
// the PBA names a BAR that is missing, not memory, or too small for it.
wire::Result<MsixInfo> find_msix(ConfigSpace& cfg, const Device& dev);

// Maps the table and drives one function's MSI-X.
class MsixTable {
  public:
    MsixTable(ConfigSpace& cfg, Mmio& mmio) : cfg_(cfg), mmio_(mmio) {}

    // Maps the table (uncached), enables MSI-X with the function masked and masks every
    // entry, so nothing fires before an entry is programmed.
    wire::Status enable(const Device& dev, const MsixInfo& info);
    // Writes entry `entry`'s message and unmasks it; ERANGE past the table.
    wire::Status program(uint16_t entry, const MsiMessage& m);
    // Clears the function mask: programmed, unmasked entries may now fire.
    void unmask_function();
    // MSI-X off again (the device falls back to INTx, which nobody routes here).
    void disable();

    uint16_t size() const { return info_.table_size; }
    bool enabled() const { return table_ != 0; }

  private:
    uint16_t control();
    void set_control(uint16_t v);
    uintptr_t entry_address(uint16_t entry, uint32_t field) const {
        return table_ + uintptr_t{entry} * 16 + field;
    }

    ConfigSpace& cfg_;
    Mmio& mmio_;
    Bdf bdf_;
    MsixInfo info_;
    uintptr_t table_ = 0;
};

}  // namespace vfs::guest::pci
