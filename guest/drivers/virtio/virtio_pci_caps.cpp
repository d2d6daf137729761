// Vendor-capability parsing for modern virtio-PCI (see virtio_pci_caps.h).
#include "drivers/virtio/virtio_pci_caps.h"

#include <linux/pci_regs.h>
#include <linux/virtio_pci.h>
#include <stddef.h>

#include "drivers/pci/capabilities.h"
#include "kernel/log.h"
#include "vfs/wire/checked.h"

namespace vfs::guest::virtio {
namespace {

constexpr uint8_t kMaxBarNumber = 5;  // 0x0-0x5 name BARs; the rest are reserved

uint32_t read_le32(pci::ConfigSpace& cfg, pci::Bdf f, uint8_t cap, size_t field) {
    return cfg.read32(f, static_cast<uint16_t>(cap + field));
}

const char* type_name(uint8_t t) {
    switch (t) {
        case VIRTIO_PCI_CAP_COMMON_CFG:
            return "common";
        case VIRTIO_PCI_CAP_NOTIFY_CFG:
            return "notify";
        case VIRTIO_PCI_CAP_ISR_CFG:
            return "isr";
        case VIRTIO_PCI_CAP_DEVICE_CFG:
            return "device";
        case VIRTIO_PCI_CAP_PCI_CFG:
            return "pci-cfg";
        case VIRTIO_PCI_CAP_SHARED_MEMORY_CFG:
            return "shared-memory";
        default:
            return "unknown";
    }
}

// Smallest length that makes each structure usable.
uint64_t min_length(uint8_t type) {
    switch (type) {
        case VIRTIO_PCI_CAP_COMMON_CFG:
            return sizeof(virtio_pci_common_cfg);
        case VIRTIO_PCI_CAP_NOTIFY_CFG:
            return 2;  // one 16-bit queue index
        case VIRTIO_PCI_CAP_ISR_CFG:
            return 1;
        default:
            return 0;
    }
}

struct Parser {
    pci::ConfigSpace& cfg;
    const pci::Device& dev;
    VirtioPciLayout layout;

    void skip(uint8_t cap, uint8_t type, const char* why) {
        log("virtio-pci %02x:%02x.%x: ignoring %s capability at %#x: %s", dev.bdf.bus, dev.bdf.dev,
            dev.bdf.fn, type_name(type), cap, why);
    }

    // Reads and validates the BAR/offset/length of the capability at `cap`.
    bool read_region(uint8_t cap, uint8_t type, uint8_t cap_len, BarRegion* out) {
        const pci::Bdf f = dev.bdf;
        const uint8_t bar =
            cfg.read8(f, static_cast<uint16_t>(cap + offsetof(virtio_pci_cap, bar)));
        uint64_t offset = read_le32(cfg, f, cap, offsetof(virtio_pci_cap, offset));
        uint64_t length = read_le32(cfg, f, cap, offsetof(virtio_pci_cap, length));
        if (type == VIRTIO_PCI_CAP_SHARED_MEMORY_CFG) {
            if (cap_len < sizeof(virtio_pci_cap64))
                return skip(cap, type, "too short for cap64"), false;
            offset |= uint64_t{read_le32(cfg, f, cap, offsetof(virtio_pci_cap64, offset_hi))} << 32;
            length |= uint64_t{read_le32(cfg, f, cap, offsetof(virtio_pci_cap64, length_hi))} << 32;
        }
        if (bar > kMaxBarNumber) return skip(cap, type, "reserved BAR number"), false;
        const pci::Bar& b = dev.bars[bar];
        if (!b.is_memory() || b.size == 0) return skip(cap, type, "BAR is not a memory BAR"), false;
        if (b.base == 0) return skip(cap, type, "BAR is not assigned"), false;
        if (length < min_length(type)) return skip(cap, type, "structure too short"), false;
        if (!wire::range_within(offset, length, 0, b.size))
            return skip(cap, type, "range outside its BAR"), false;
        *out = BarRegion{true, bar, offset, length};
        return true;
    }

    void consider(uint8_t cap) {
        const pci::Bdf f = dev.bdf;
        const uint8_t cap_len =
            cfg.read8(f, static_cast<uint16_t>(cap + offsetof(virtio_pci_cap, cap_len)));
        const uint8_t type =
            cfg.read8(f, static_cast<uint16_t>(cap + offsetof(virtio_pci_cap, cfg_type)));
        if (cap_len < sizeof(virtio_pci_cap)) return skip(cap, type, "capability too short");
        BarRegion* slot = nullptr;
        switch (type) {
            case VIRTIO_PCI_CAP_COMMON_CFG:
                slot = &layout.common;
                break;
            case VIRTIO_PCI_CAP_NOTIFY_CFG:
                slot = &layout.notify;
                break;
            case VIRTIO_PCI_CAP_ISR_CFG:
                slot = &layout.isr;
                break;
            case VIRTIO_PCI_CAP_DEVICE_CFG:
                slot = &layout.device;
                break;
            case VIRTIO_PCI_CAP_SHARED_MEMORY_CFG:
                return consider_shm(cap, cap_len);
            default:
                return;  // PCI_CFG access window and unknown types: not needed
        }
        if (slot->present) return;  // the first usable one wins
        BarRegion r;
        if (!read_region(cap, type, cap_len, &r)) return;
        if (type == VIRTIO_PCI_CAP_NOTIFY_CFG) {
            if (cap_len < sizeof(virtio_pci_notify_cap))
                return skip(cap, type, "too short for notify_off_multiplier");
            const uint32_t m =
                read_le32(cfg, f, cap, offsetof(virtio_pci_notify_cap, notify_off_multiplier));
            if (!valid_notify_multiplier(m)) return skip(cap, type, "bad notify_off_multiplier");
            layout.notify_off_multiplier = m;
        }
        *slot = r;
    }

    void consider_shm(uint8_t cap, uint8_t cap_len) {
        const uint8_t id =
            cfg.read8(dev.bdf, static_cast<uint16_t>(cap + offsetof(virtio_pci_cap, id)));
        for (int i = 0; i < layout.shm_count; ++i) {
            if (layout.shm[i].id == id) return;
        }
        if (layout.shm_count == VirtioPciLayout::kMaxShm)
            return skip(cap, VIRTIO_PCI_CAP_SHARED_MEMORY_CFG, "too many regions");
        BarRegion r;
        if (!read_region(cap, VIRTIO_PCI_CAP_SHARED_MEMORY_CFG, cap_len, &r)) return;
        layout.shm[layout.shm_count++] = ShmRegion{id, r};
    }
};

}  // namespace

bool valid_notify_multiplier(uint32_t m) {
    return m == 0 || (m >= 2 && wire::is_power_of_two(m));
}

wire::Result<VirtioPciLayout> find_virtio_layout(pci::ConfigSpace& cfg, const pci::Device& dev) {
    Parser p{cfg, dev, {}};
    auto cap = pci::find_capability(cfg, dev.bdf, PCI_CAP_ID_VNDR);
    for (int seen = 0; cap; ++seen) {
        if (seen == pci::kMaxCapabilities) {
            cap = wire::Error{ELOOP};
            break;
        }
        p.consider(*cap);
        cap = pci::next_capability(cfg, dev.bdf, *cap, PCI_CAP_ID_VNDR);
    }
    if (cap.error() != ENOENT) {
        log("virtio-pci %02x:%02x.%x: broken capability list (errno %d)", dev.bdf.bus, dev.bdf.dev,
            dev.bdf.fn, cap.error());
        return wire::Error{cap.error()};
    }
    const struct {
        const BarRegion& r;
        const char* name;
    } required[] = {
        {p.layout.common, "common"}, {p.layout.notify, "notify"}, {p.layout.isr, "isr"}};
    for (const auto& req : required) {
        if (!req.r.present) {
            log("virtio-pci %02x:%02x.%x: rejected: no usable %s configuration capability",
                dev.bdf.bus, dev.bdf.dev, dev.bdf.fn, req.name);
            return wire::Error{EINVAL};
        }
    }
    return p.layout;
}

}  // namespace vfs::guest::virtio
