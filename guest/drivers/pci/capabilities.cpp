// Capability-list walking (see capabilities.h).
#include "drivers/pci/capabilities.h"

#include <linux/pci_regs.h>

namespace vfs::guest::pci {
namespace {

constexpr uint8_t kFirstCapOffset = 0x40;  // just past the standard header
// More hops than entries fit in the space means the chain loops.
constexpr int kMaxHops = kMaxCapabilities;

// Follows the chain from pointer `ptr` until an entry with `id`.
wire::Result<uint8_t> walk_from(ConfigSpace& cfg, Bdf f, uint8_t ptr, uint8_t id) {
    for (int hops = 0; hops < kMaxHops; ++hops) {
        ptr &= 0xfc;  // the low two bits are reserved
        if (ptr == 0) return wire::Error{ENOENT};
        if (ptr < kFirstCapOffset) return wire::Error{EINVAL};
        if (cfg.read8(f, static_cast<uint16_t>(ptr + PCI_CAP_LIST_ID)) == id) return ptr;
        ptr = cfg.read8(f, static_cast<uint16_t>(ptr + PCI_CAP_LIST_NEXT));
    }
    return wire::Error{ELOOP};
}

}  // namespace

wire::Result<uint8_t> find_capability(ConfigSpace& cfg, Bdf f, uint8_t id) {
    if ((cfg.read16(f, PCI_STATUS) & PCI_STATUS_CAP_LIST) == 0) return wire::Error{ENOENT};
    const uint8_t type = cfg.read8(f, PCI_HEADER_TYPE) & 0x7f;
    if (type != PCI_HEADER_TYPE_NORMAL && type != PCI_HEADER_TYPE_BRIDGE)
        return wire::Error{ENOENT};  // CardBus keeps its list elsewhere; not supported
    return walk_from(cfg, f, cfg.read8(f, PCI_CAPABILITY_LIST), id);
}

wire::Result<uint8_t> next_capability(ConfigSpace& cfg, Bdf f, uint8_t after, uint8_t id) {
    if (after < kFirstCapOffset || (after & 3) != 0) return wire::Error{EINVAL};
    return walk_from(cfg, f, cfg.read8(f, static_cast<uint16_t>(after + PCI_CAP_LIST_NEXT)), id);
}

}  // namespace vfs::guest::pci
