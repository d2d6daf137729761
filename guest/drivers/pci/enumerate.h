// Finds every PCI function reachable from bus 0: all 32 devices of a bus, functions 1-7
// of multi-function devices, and the buses behind PCI-to-PCI bridges (PCIe root ports on
// q35), with BARs sized. Bus numbers are taken as firmware (SeaBIOS) assigned them.
#pragma once

#include <stddef.h>

#include "drivers/pci/config_space.h"
#include "drivers/pci/device.h"
#include "vfs/wire/result.h"

namespace vfs::guest::pci {

struct DeviceList {
    static constexpr size_t kCapacity = 64;
    Device devices[kCapacity];
    size_t count = 0;
    bool truncated = false;  // more functions existed than fit
};

// Scans from bus 0 into `out`. Never loops: each bus is visited at most once.
void enumerate(ConfigSpace& cfg, DeviceList& out);

// Reads identity and sizes the BARs of one present function. Memory and I/O decoding is
// switched off while sizing and restored after.
wire::Result<Device> probe_function(ConfigSpace& cfg, Bdf bdf);

// Sets the command register bits a driver needs: memory space (and I/O space if the
// device has I/O BARs) and bus mastering for DMA.
void enable_device(ConfigSpace& cfg, const Device& dev);

}  // namespace vfs::guest::pci
