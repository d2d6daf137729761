// Bus walk and BAR sizing (see enumerate.h).
#include "drivers/pci/enumerate.h"

#include <linux/pci_regs.h>

namespace vfs::guest::pci {
namespace {

constexpr uint16_t kNoVendor = 0xffff;
constexpr int kBusCount = 256;

bool present(ConfigSpace& cfg, Bdf f) {
    return cfg.read16(f, PCI_VENDOR_ID) != kNoVendor;
}

// Sizes BAR `i` (and its upper half for a 64-bit BAR); returns the slots it used.
int size_bar(ConfigSpace& cfg, Bdf f, int i, int nbars, Bar* bar) {
    const uint16_t off = static_cast<uint16_t>(PCI_BASE_ADDRESS_0 + 4 * i);
    const uint32_t orig = cfg.read32(f, off);
    cfg.write32(f, off, 0xffffffffu);
    const uint32_t mask = cfg.read32(f, off);
    cfg.write32(f, off, orig);
    if (mask == 0 || mask == 0xffffffffu) return 1;  // unimplemented (or absent)

    if (orig & PCI_BASE_ADDRESS_SPACE_IO) {
        bar->kind = BarKind::kIo;
        bar->base = orig & PCI_BASE_ADDRESS_IO_MASK;
        bar->size = bar_size_from_mask(mask | 0xffff0000u, true);  // 16-bit I/O decoders
        return 1;
    }
    bar->prefetchable = (orig & PCI_BASE_ADDRESS_MEM_PREFETCH) != 0;
    const uint32_t type = orig & PCI_BASE_ADDRESS_MEM_TYPE_MASK;
    if (type == PCI_BASE_ADDRESS_MEM_TYPE_64 && i + 1 < nbars) {
        const uint16_t hi_off = static_cast<uint16_t>(off + 4);
        const uint32_t orig_hi = cfg.read32(f, hi_off);
        cfg.write32(f, hi_off, 0xffffffffu);
        const uint32_t mask_hi = cfg.read32(f, hi_off);
        cfg.write32(f, hi_off, orig_hi);
        bar->kind = BarKind::kMem64;
        bar->base = (uint64_t{orig_hi} << 32) | (orig & PCI_BASE_ADDRESS_MEM_MASK);
        bar->size = bar_size_from_mask((uint64_t{mask_hi} << 32) | mask, false);
        return 2;
    }
    bar->kind = BarKind::kMem32;
    bar->base = orig & PCI_BASE_ADDRESS_MEM_MASK;
    bar->size = bar_size_from_mask(uint64_t{0xffffffff00000000ull} | mask, false);
    return 1;
}

struct Walker {
    ConfigSpace& cfg;
    DeviceList& out;
    bool visited[kBusCount] = {};

    void add(const Device& d) {
        if (out.count == DeviceList::kCapacity) {
            out.truncated = true;
            return;
        }
        out.devices[out.count++] = d;
    }

    void scan_function(Bdf f) {
        auto d = probe_function(cfg, f);
        if (!d) return;
        add(*d);
        if (d->header_type == PCI_HEADER_TYPE_BRIDGE && d->secondary_bus != 0)
            scan_bus(d->secondary_bus);
    }

    void scan_bus(uint8_t bus) {
        if (visited[bus]) return;  // a misconfigured bridge must not make us loop
        visited[bus] = true;
        for (uint8_t dev = 0; dev < 32; ++dev) {
            const Bdf f0{bus, dev, 0};
            if (!present(cfg, f0)) continue;
            scan_function(f0);
            if ((cfg.read8(f0, PCI_HEADER_TYPE) & 0x80) == 0) continue;
            for (uint8_t fn = 1; fn < 8; ++fn) {
                const Bdf f{bus, dev, fn};
                if (present(cfg, f)) scan_function(f);
            }
        }
    }
};

}  // namespace

uint64_t bar_size_from_mask(uint64_t readback, bool io) {
    const uint64_t addr_bits = readback & (io ? ~uint64_t{0x3} : ~uint64_t{0xf});
    if (addr_bits == 0) return 0;
    return addr_bits & (~addr_bits + 1);  // lowest writable address bit
}

wire::Result<Device> probe_function(ConfigSpace& cfg, Bdf f) {
    if (!present(cfg, f)) return wire::Error{ENODEV};
    Device d;
    d.bdf = f;
    d.vendor_id = cfg.read16(f, PCI_VENDOR_ID);
    d.device_id = cfg.read16(f, PCI_DEVICE_ID);
    d.revision = cfg.read8(f, PCI_REVISION_ID);
    d.prog_if = cfg.read8(f, PCI_CLASS_PROG);
    d.subclass = cfg.read8(f, PCI_CLASS_DEVICE);
    d.class_code = cfg.read8(f, PCI_CLASS_DEVICE + 1);
    d.header_type = cfg.read8(f, PCI_HEADER_TYPE) & 0x7f;

    int nbars = 0;
    if (d.header_type == PCI_HEADER_TYPE_NORMAL)
        nbars = 6;
    else if (d.header_type == PCI_HEADER_TYPE_BRIDGE)
        nbars = 2;
    if (d.header_type == PCI_HEADER_TYPE_BRIDGE) d.secondary_bus = cfg.read8(f, PCI_SECONDARY_BUS);

    const uint16_t cmd = cfg.read16(f, PCI_COMMAND);
    cfg.write16(f, PCI_COMMAND, cmd & ~(PCI_COMMAND_IO | PCI_COMMAND_MEMORY));
    for (int i = 0; i < nbars;)
        i += size_bar(cfg, f, i, nbars, &d.bars[i]);
    cfg.write16(f, PCI_COMMAND, cmd);
    return d;
}

void enable_device(ConfigSpace& cfg, const Device& dev) {
    uint16_t cmd = cfg.read16(dev.bdf, PCI_COMMAND);
    cmd |= PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER;
    for (const Bar& b : dev.bars) {
        if (b.kind == BarKind::kIo) cmd |= PCI_COMMAND_IO;
    }
    cfg.write16(dev.bdf, PCI_COMMAND, cmd);
}

void enumerate(ConfigSpace& cfg, DeviceList& out) {
    out.count = 0;
    out.truncated = false;
    Walker w{cfg, out};
    w.scan_bus(0);
}

}  // namespace vfs::guest::pci
