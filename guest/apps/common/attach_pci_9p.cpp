// The unikernel's attach_virtio_9p (see attach.h): every modern virtio-9p PCI function
// (1af4:1049), each over its own virtio-PCI transport.
#include <linux/virtio_ids.h>

#include "apps/common/args.h"
#include "apps/common/attach.h"
#include "drivers/pci/enumerate.h"
#include "drivers/pci/identity_mmio.h"
#include "drivers/pci/port_config_space.h"
#include "drivers/virtio/heap_dma.h"
#include "drivers/virtio/virtio_pci_modern.h"
#include "drivers/virtio_9p/p9_device.h"
#include "kernel/console.h"
#include "lib/vfs/backend_9p.h"

namespace vfs::guest::apps {
namespace {
constexpr uint16_t kVirtioVendor = 0x1af4;
constexpr uint16_t kVirtio9pDevice = 0x1040 + VIRTIO_ID_9P;
}  // namespace

int attach_virtio_9p(int argc, char** argv) {
    static pci::PortConfigSpace cfg;
    static pci::IdentityMmio mmio;
    static pci::DeviceList list;
    static virtio::HeapDma dma;
    pci::enumerate(cfg, list);

    virtio_9p::P9DeviceOptions opts;
    opts.timeout_ns = arg_u64(argc, argv, "timeout_ms", opts.timeout_ns / 1000000) * 1000000;
    opts.rekick_after_ns =
        arg_u64(argc, argv, "rekick_ms", opts.rekick_after_ns / 1000000) * 1000000;
    int found = 0;
    for (size_t i = 0; i < list.count; ++i) {
        const pci::Device& d = list.devices[i];
        if (d.vendor_id != kVirtioVendor || d.device_id != kVirtio9pDevice) continue;
        auto* t = new virtio::VirtioPciModern(cfg, mmio);
        auto* dev = new virtio_9p::P9Device;
        if (!t || !dev || !t->attach(d)) {
            kprintf("virtio-9p %02x:%02x.%x: attach failed\n", d.bdf.bus, d.bdf.dev, d.bdf.fn);
            continue;
        }
        if (auto s = dev->probe(*t, dma, opts); !s) {
            kprintf("virtio-9p %02x:%02x.%x: probe failed (errno %d)\n", d.bdf.bus, d.bdf.dev,
                    d.bdf.fn, s.error());
            continue;
        }
        if (auto s = vfslib::register_p9_device(dev); !s) {
            kprintf("virtio-9p: tag \"%s\" not registered (errno %d)\n", dev->tag(), s.error());
            continue;
        }
        kprintf("virtio-9p %02x:%02x.%x: tag \"%s\"\n", d.bdf.bus, d.bdf.dev, d.bdf.fn, dev->tag());
        ++found;
    }
    return found;
}

}  // namespace vfs::guest::apps
