// The unikernel's attach_virtio_fs (see attach.h): every virtio-fs PCI function
// (1af4:105a), each over its own modern virtio-PCI transport.
#include <linux/virtio_ids.h>

#include "apps/common/args.h"
#include "apps/common/attach.h"
#include "drivers/pci/enumerate.h"
#include "drivers/pci/identity_mmio.h"
#include "drivers/pci/port_config_space.h"
#include "drivers/virtio/heap_dma.h"
#include "drivers/virtio/interrupt_platform_x86.h"
#include "drivers/virtio/virtio_pci_modern.h"
#include "drivers/virtio_fs/fs_device.h"
#include "kernel/console.h"
#include "lib/vfs/device_registry.h"

namespace vfs::guest::apps {
namespace {
constexpr uint16_t kVirtioVendor = 0x1af4;
constexpr uint16_t kVirtioFsDevice = 0x1040 + VIRTIO_ID_FS;
}  // namespace

int attach_virtio_fs(int argc, char** argv) {
    static pci::PortConfigSpace cfg;
    static pci::IdentityMmio mmio;
    static pci::DeviceList list;
    static virtio::HeapDma dma;
    pci::enumerate(cfg, list);

    virtio_fs::DeviceOptions opts;
    opts.max_request_queues = static_cast<uint32_t>(arg_u64(argc, argv, "queues", 16));
    opts.queue_size = static_cast<uint16_t>(arg_u64(argc, argv, "queue_size", 128));
    opts.slots = static_cast<uint32_t>(arg_u64(argc, argv, "slots", 32));
    opts.timeout_ns = arg_u64(argc, argv, "timeout_ms", opts.timeout_ns / 1000000) * 1000000;
    opts.rekick_after_ns =
        arg_u64(argc, argv, "rekick_ms", opts.rekick_after_ns / 1000000) * 1000000;
    if (!completion_option(argc, argv, &opts.interrupts)) return -EINVAL;
    int found = 0;
    for (size_t i = 0; i < list.count; ++i) {
        const pci::Device& d = list.devices[i];
        if (d.vendor_id != kVirtioVendor || d.device_id != kVirtioFsDevice) continue;
        // Probe-time allocations: one transport and one device per function, kept forever.
        auto* t = new virtio::VirtioPciModern(cfg, mmio, &virtio::x86_interrupt_platform());
        auto* dev = new virtio_fs::FsDevice;
        if (!t || !dev || !t->attach(d)) {
            kprintf("virtio-fs %02x:%02x.%x: attach failed\n", d.bdf.bus, d.bdf.dev, d.bdf.fn);
            continue;
        }
        if (auto s = dev->probe(*t, dma, opts); !s) {
            kprintf("virtio-fs %02x:%02x.%x: probe failed (errno %d)\n", d.bdf.bus, d.bdf.dev,
                    d.bdf.fn, s.error());
            continue;
        }
        if (auto s = vfslib::register_device(dev); !s) {
            kprintf("virtio-fs: tag \"%s\" not registered (errno %d)\n", dev->tag(), s.error());
            continue;
        }
        kprintf("virtio-fs %02x:%02x.%x: tag \"%s\", %u of %u request queues in use\n", d.bdf.bus,
                d.bdf.dev, d.bdf.fn, dev->tag(), dev->num_request_queues(),
                dev->device_request_queues());
        kprintf("virtio-fs %02x:%02x.%x: completion by %s\n", d.bdf.bus, d.bdf.dev, d.bdf.fn,
                dev->interrupt_driven() ? "MSI-X interrupt" : "polling");
        ++found;
    }
    return found;
}

}  // namespace vfs::guest::apps
