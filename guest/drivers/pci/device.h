// What the enumerator records about each PCI function: identity, class, header type
// and sized BARs.
#pragma once

#include <stdint.h>

#include "drivers/pci/config_space.h"

namespace vfs::guest::pci {

enum class BarKind : uint8_t { kNone, kIo, kMem32, kMem64 };

struct Bar {
    BarKind kind = BarKind::kNone;
    bool prefetchable = false;
    uint64_t base = 0;  // bus/physical address as firmware assigned it (0: unassigned)
    uint64_t size = 0;
    bool is_memory() const { return kind == BarKind::kMem32 || kind == BarKind::kMem64; }
};

inline constexpr int kMaxBars = 6;

struct Device {
    Bdf bdf;
    uint16_t vendor_id = 0;
    uint16_t device_id = 0;
    uint8_t class_code = 0;
    uint8_t subclass = 0;
    uint8_t prog_if = 0;
    uint8_t revision = 0;
    uint8_t header_type = 0;    // without the multi-function bit
    uint8_t secondary_bus = 0;  // bridges only
    Bar bars[kMaxBars];         // a 64-bit BAR occupies its slot; the next slot stays kNone
};

// BAR sizing: the size a BAR decodes from the value read back after writing all ones
// (low half for 32-bit BARs), with its type bits masked off. 0 for an unimplemented BAR.
uint64_t bar_size_from_mask(uint64_t readback, bool io);

}  // namespace vfs::guest::pci
