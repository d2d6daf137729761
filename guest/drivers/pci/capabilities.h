// Generic walk of a function's PCI capability list (vendor-specific 0x09 for virtio,
// MSI-X 0x11, PCIe 0x10, ...). The list lives in configuration space, which a device
// controls: a chain that loops, points into the header or out of range is reported as
// an error instead of being followed forever.
#pragma once

#include <stdint.h>

#include "drivers/pci/config_space.h"
#include "vfs/wire/result.h"

namespace vfs::guest::pci {

// Most capabilities [0x40, 0x100) can hold (4 bytes each). A caller iterating with
// next_capability() must stop after this many: a looping chain makes every single call
// succeed.
inline constexpr int kMaxCapabilities = (256 - 0x40) / 4;

// Offset of the first capability with `id`. ENOENT if the function has none (no list, or
// no such entry); ELOOP if the chain is longer than the space could hold; EINVAL if a
// pointer leads into the standard header or past the end.
wire::Result<uint8_t> find_capability(ConfigSpace& cfg, Bdf f, uint8_t id);

// Offset of the next capability with `id` after the one at `after`; errors as above.
wire::Result<uint8_t> next_capability(ConfigSpace& cfg, Bdf f, uint8_t after, uint8_t id);

}  // namespace vfs::guest::pci
