// Locates the structures of a modern virtio-PCI device (virtio 1.x, 4.1.4) from its
// vendor-specific (0x09) capabilities: common configuration, notifications (with
// notify_off_multiplier), ISR status, device configuration, and shared-memory regions
// (type 8, virtio_pci_cap64, keyed by id). Of several capabilities of one type the first
// usable one wins; one naming a reserved BAR number, a missing or I/O BAR, or a range
// outside its BAR is skipped with a log line. The device is rejected if common, notify
// or ISR has no usable capability.
#pragma once

#include <stdint.h>

#include "drivers/pci/config_space.h"
#include "drivers/pci/device.h"
#include "vfs/wire/result.h"

namespace vfs::guest::virtio {

// One structure: `length` bytes at `offset` into BAR `bar`.
struct BarRegion {
    bool present = false;
    uint8_t bar = 0;
    uint64_t offset = 0;
    uint64_t length = 0;
};

struct ShmRegion {
    uint8_t id = 0;
    BarRegion region;
};

struct VirtioPciLayout {
    static constexpr int kMaxShm = 4;
    BarRegion common;
    BarRegion notify;
    uint32_t notify_off_multiplier = 0;
    BarRegion isr;
    BarRegion device;  // optional: not every device type has configuration
    ShmRegion shm[kMaxShm];
    int shm_count = 0;
};

// EINVAL if a required structure has no usable capability (logged), or the capability
// list itself is broken (ELOOP/EINVAL from the walk).
wire::Result<VirtioPciLayout> find_virtio_layout(pci::ConfigSpace& cfg, const pci::Device& dev);

// Whether a notify_off_multiplier is acceptable: 0 (one address for all queues) or a
// power of two of at least 2, so that queues' 16-bit notification slots never overlap
// (the spec's "even power of 2").
bool valid_notify_multiplier(uint32_t m);

}  // namespace vfs::guest::virtio
