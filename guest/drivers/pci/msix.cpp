// MSI-X capability parsing and table programming (see msix.h).
#include "drivers/pci/msix.h"

#include <linux/pci_regs.h>

#include "drivers/pci/capabilities.h"
#include "kernel/log.h"
#include "vfs/wire/checked.h"

namespace vfs::guest::pci {
namespace {

constexpr uint64_t kEntryBytes = PCI_MSIX_ENTRY_SIZE;

// Whether [offset, offset + len) lies in memory BAR `bar` of dev.
bool fits_in_bar(const Device& dev, uint8_t bar, uint64_t offset, uint64_t len) {
    if (bar >= kMaxBars) return false;  // BIR 6 and 7 are reserved
    const Bar& b = dev.bars[bar];
    if (!b.is_memory() || b.base == 0 || b.size == 0) return false;
    return wire::range_within(offset, len, 0, b.size);
}

void log_msix(const Device& dev, const char* what) {
    log("msix %02x:%02x.%x: %s", dev.bdf.bus, dev.bdf.dev, dev.bdf.fn, what);
}

}  // namespace

wire::Result<MsixInfo> find_msix(ConfigSpace& cfg, const Device& dev) {
    auto cap = find_capability(cfg, dev.bdf, PCI_CAP_ID_MSIX);
    if (!cap) return wire::Error{cap.error()};
    MsixInfo m;
    m.cap = *cap;
    m.table_size =
        static_cast<uint16_t>((cfg.read16(dev.bdf, static_cast<uint16_t>(m.cap + PCI_MSIX_FLAGS)) &
                               PCI_MSIX_FLAGS_QSIZE) +
                              1);
    const uint32_t table = cfg.read32(dev.bdf, static_cast<uint16_t>(m.cap + PCI_MSIX_TABLE));
    const uint32_t pba = cfg.read32(dev.bdf, static_cast<uint16_t>(m.cap + PCI_MSIX_PBA));
    m.table_bar = table & PCI_MSIX_TABLE_BIR;
    m.table_offset = table & PCI_MSIX_TABLE_OFFSET;
    m.pba_bar = pba & PCI_MSIX_PBA_BIR;
    m.pba_offset = pba & PCI_MSIX_PBA_OFFSET;
    // One pending bit per entry, in whole qwords.
    const uint64_t pba_bytes = (uint64_t{m.table_size} + 63) / 64 * 8;
    if (!fits_in_bar(dev, m.table_bar, m.table_offset, m.table_size * kEntryBytes)) {
        log_msix(dev, "table outside a memory BAR: ignored");
        return wire::Error{EINVAL};
    }
    if (!fits_in_bar(dev, m.pba_bar, m.pba_offset, pba_bytes)) {
        log_msix(dev, "pending-bit array outside a memory BAR: ignored");
        return wire::Error{EINVAL};
    }
    return m;
}

uint16_t MsixTable::control() {
    return cfg_.read16(bdf_, static_cast<uint16_t>(info_.cap + PCI_MSIX_FLAGS));
}

void MsixTable::set_control(uint16_t v) {
    cfg_.write16(bdf_, static_cast<uint16_t>(info_.cap + PCI_MSIX_FLAGS), v);
}

wire::Status MsixTable::enable(const Device& dev, const MsixInfo& info) {
    if (table_ != 0) return wire::Error{EBUSY};
    uint64_t phys = 0;
    if (!wire::checked_add(dev.bars[info.table_bar].base, info.table_offset, &phys))
        return wire::Error{ERANGE};
    auto t = mmio_.map(phys, info.table_size * kEntryBytes, MapCaching::kUncached);
    if (!t) return wire::Error{t.error()};
    bdf_ = dev.bdf;
    info_ = info;
    table_ = *t;
    // The read-only table-size bits are written back as read: only the two flags change.
    set_control(static_cast<uint16_t>(control() | PCI_MSIX_FLAGS_MASKALL | PCI_MSIX_FLAGS_ENABLE));
    for (uint16_t e = 0; e < info_.table_size; ++e)
        mmio_.write32(entry_address(e, PCI_MSIX_ENTRY_VECTOR_CTRL), PCI_MSIX_ENTRY_CTRL_MASKBIT);
    return {};
}

wire::Status MsixTable::program(uint16_t entry, const MsiMessage& m) {
    if (table_ == 0) return wire::Error{ENODEV};
    if (entry >= info_.table_size) return wire::Error{ERANGE};
    // Masked while the message changes, so the device never sends half of it.
    mmio_.write32(entry_address(entry, PCI_MSIX_ENTRY_VECTOR_CTRL), PCI_MSIX_ENTRY_CTRL_MASKBIT);
    mmio_.write32(entry_address(entry, PCI_MSIX_ENTRY_LOWER_ADDR),
                  static_cast<uint32_t>(m.address));
    mmio_.write32(entry_address(entry, PCI_MSIX_ENTRY_UPPER_ADDR),
                  static_cast<uint32_t>(m.address >> 32));
    mmio_.write32(entry_address(entry, PCI_MSIX_ENTRY_DATA), m.data);
    mmio_.write32(entry_address(entry, PCI_MSIX_ENTRY_VECTOR_CTRL), 0);
    return {};
}

void MsixTable::unmask_function() {
    if (table_ != 0) set_control(static_cast<uint16_t>(control() & ~PCI_MSIX_FLAGS_MASKALL));
}

void MsixTable::disable() {
    if (table_ == 0) return;
    set_control(
        static_cast<uint16_t>(control() & ~(PCI_MSIX_FLAGS_ENABLE | PCI_MSIX_FLAGS_MASKALL)));
    table_ = 0;
}

}  // namespace vfs::guest::pci
