// A simulated modern virtio-PCI device for host tests: configuration space with vendor
// capabilities (built per test) and BAR 4 holding common configuration, ISR, device
// configuration and notification areas, with the common-configuration register
// semantics of virtio 1.x, 4.1.4.3 (feature selects, status, queue select, ...).
#pragma once

#include <linux/virtio_config.h>
#include <linux/virtio_pci.h>

#include <cstddef>
#include <cstring>
#include <vector>

#include "drivers/pci/mmio.h"
#include "sim_config_space.h"

namespace vfs::guest::testing {

inline constexpr pci::Bdf kVirtioBdf{0, 4, 0};
inline constexpr uint64_t kBar4Base = 0xfe000000;
inline constexpr uint64_t kBar4Size = 0x4000;
inline constexpr uint32_t kCommonOff = 0x0, kIsrOff = 0x1000, kDeviceOff = 0x2000,
                          kNotifyOff = 0x3000;
// BAR 1 holds the MSI-X table (at 0) and pending-bit array (at 0x800), as QEMU's.
inline constexpr uint64_t kBar1Base = 0xfebd0000;
inline constexpr uint64_t kBar1Size = 0x1000;
inline constexpr uint32_t kMsixPbaOff = 0x800;
inline constexpr uint8_t kMsixCapOff = 0x90;  // after add_standard_caps()'s

// Body bytes of an MSI-X capability (control word, table and PBA offset/BIR).
inline std::vector<uint8_t> msix_cap(uint16_t table_size, uint8_t table_bar, uint32_t table_off,
                                     uint8_t pba_bar, uint32_t pba_off) {
    std::vector<uint8_t> b(10, 0);
    const uint16_t control = static_cast<uint16_t>(table_size - 1);
    const uint32_t table = table_off | table_bar, pba = pba_off | pba_bar;
    std::memcpy(&b[0], &control, 2);
    std::memcpy(&b[2], &table, 4);
    std::memcpy(&b[6], &pba, 4);
    return b;
}

// Body bytes (after id/next) of a virtio_pci_cap / notify / cap64 capability.
inline std::vector<uint8_t> virtio_cap(uint8_t type, uint8_t bar, uint32_t offset, uint32_t length,
                                       uint8_t id = 0, size_t total_len = sizeof(virtio_pci_cap)) {
    std::vector<uint8_t> b(total_len - 2, 0);
    b[0] = static_cast<uint8_t>(total_len);  // cap_len
    b[1] = type;
    b[2] = bar;
    b[3] = id;
    std::memcpy(&b[6], &offset, 4);
    std::memcpy(&b[10], &length, 4);
    return b;
}
inline std::vector<uint8_t> notify_cap(uint8_t bar, uint32_t offset, uint32_t length,
                                       uint32_t mult) {
    auto b = virtio_cap(VIRTIO_PCI_CAP_NOTIFY_CFG, bar, offset, length, 0,
                        sizeof(virtio_pci_notify_cap));
    std::memcpy(&b[14], &mult, 4);
    return b;
}
inline std::vector<uint8_t> shm_cap(uint8_t bar, uint64_t offset, uint64_t length, uint8_t id) {
    auto b = virtio_cap(VIRTIO_PCI_CAP_SHARED_MEMORY_CFG, bar, static_cast<uint32_t>(offset),
                        static_cast<uint32_t>(length), id, sizeof(virtio_pci_cap64));
    const uint32_t oh = offset >> 32, lh = length >> 32;
    std::memcpy(&b[14], &oh, 4);
    std::memcpy(&b[18], &lh, 4);
    return b;
}

struct SimQueue {
    uint16_t max_size = 0;
    uint16_t size = 0;
    uint16_t enable = 0;
    uint16_t notify_off = 0;
    uint16_t msix_vector = VIRTIO_MSI_NO_VECTOR;
    uint32_t desc[2] = {}, avail[2] = {}, used[2] = {};
    uint64_t desc_addr() const { return desc[0] | uint64_t{desc[1]} << 32; }
    uint64_t avail_addr() const { return avail[0] | uint64_t{avail[1]} << 32; }
    uint64_t used_addr() const { return used[0] | uint64_t{used[1]} << 32; }
};

class SimVirtioDevice : public pci::Mmio {
  public:
    SimConfigSpace cfg;
    SimFunction* fn = nullptr;

    uint64_t features = (1ull << VIRTIO_F_VERSION_1) | (1ull << 29) | (1ull << 28);
    bool accept_features_ok = true;
    int generation_changes = 0;  // bump config_generation on this many reads
    std::vector<SimQueue> queues;
    std::vector<uint8_t> device_config;
    // MSI-X: vectors below this are accepted (QEMU's msix_vector_use); queue vectors can
    // be refused outright.
    uint16_t msix_vectors = 0;
    bool refuse_queue_vectors = false;
    uint16_t msix_config = VIRTIO_MSI_NO_VECTOR;
    uint32_t msix_table[kBar1Size / 4] = {};  // BAR 1 as dwords
    // What the driver did.
    uint64_t driver_features = 0;
    uint8_t status = 0;
    std::vector<uint8_t> status_writes;
    std::vector<std::pair<uint64_t, uint16_t>> notifies;
    struct MapCall {
        uint64_t phys, size;
        pci::MapCaching caching;
    };
    std::vector<MapCall> maps;

    SimVirtioDevice() {
        fn = &cfg.add(kVirtioBdf, SimFunction(0x1af4, 0x105a));
        fn->put16(PCI_COMMAND, 0);
        fn->set_bar(4, {SimBar::kMem64, true, kBar4Size, kBar4Base});
        queues.resize(3);
        for (uint16_t i = 0; i < 3; ++i)
            queues[i] = SimQueue{128, 128, 0, i};
        device_config.assign(40, 0);
    }

    // An MSI-X capability at kMsixCapOff with `vectors` entries in BAR 1 (as QEMU's virtio-pci).
    void add_msix(uint16_t vectors) {
        msix_vectors = vectors;
        fn->set_bar(1, {SimBar::kMem32, false, kBar1Size, kBar1Base});
        fn->add_cap(kMsixCapOff, PCI_CAP_ID_MSIX, msix_cap(vectors, 1, 0, 1, kMsixPbaOff));
    }
    uint32_t msix_entry(uint16_t e, uint32_t field) const {
        return msix_table[(e * 16 + field) / 4];
    }

    // The capability list QEMU presents, with a given notify multiplier.
    void add_standard_caps(uint32_t multiplier = 4) {
        fn->add_cap(0x40, PCI_CAP_ID_VNDR,
                    virtio_cap(VIRTIO_PCI_CAP_COMMON_CFG, 4, kCommonOff, 0x1000));
        fn->add_cap(0x50, PCI_CAP_ID_VNDR, virtio_cap(VIRTIO_PCI_CAP_ISR_CFG, 4, kIsrOff, 0x1000));
        fn->add_cap(0x60, PCI_CAP_ID_VNDR,
                    virtio_cap(VIRTIO_PCI_CAP_DEVICE_CFG, 4, kDeviceOff, 0x1000));
        fn->add_cap(0x70, PCI_CAP_ID_VNDR, notify_cap(4, kNotifyOff, 0x1000, multiplier));
    }

    wire::Result<uintptr_t> map(uint64_t phys, uint64_t size, pci::MapCaching c) override {
        maps.push_back({phys, size, c});
        return static_cast<uintptr_t>(phys);
    }
    uint8_t read8(uintptr_t a) override { return static_cast<uint8_t>(read(a, 1)); }
    uint16_t read16(uintptr_t a) override { return static_cast<uint16_t>(read(a, 2)); }
    uint32_t read32(uintptr_t a) override { return read(a, 4); }
    void write8(uintptr_t a, uint8_t v) override { write(a, 1, v); }
    void write16(uintptr_t a, uint16_t v) override { write(a, 2, v); }
    void write32(uintptr_t a, uint32_t v) override { write(a, 4, v); }

    SimQueue& selected() { return queues.at(queue_select_); }

  private:
    uint32_t read(uintptr_t a, int width) {
        if (a >= kBar1Base && a < kBar1Base + kBar1Size) return msix_table[(a - kBar1Base) / 4];
        const uint64_t off = a - kBar4Base;
        if (off >= kDeviceOff && off < kDeviceOff + 0x1000) {
            uint32_t v = 0;
            const uint64_t i = off - kDeviceOff;
            if (i + width <= device_config.size()) std::memcpy(&v, &device_config[i], width);
            return v;
        }
        if (off == kIsrOff) return 1;
        switch (off - kCommonOff) {
            case offsetof(virtio_pci_common_cfg, device_feature):
                return dev_feature_select_ < 2
                           ? static_cast<uint32_t>(features >> (32 * dev_feature_select_))
                           : 0;
            case offsetof(virtio_pci_common_cfg, num_queues):
                return static_cast<uint32_t>(queues.size());
            case offsetof(virtio_pci_common_cfg, device_status):
                return status;
            case offsetof(virtio_pci_common_cfg, config_generation):
                if (generation_changes > 0) --generation_changes, ++generation_;
                return generation_;
            case offsetof(virtio_pci_common_cfg, queue_size):
                return queue_select_ < queues.size() ? selected().max_size : 0;
            case offsetof(virtio_pci_common_cfg, queue_notify_off):
                return queue_select_ < queues.size() ? selected().notify_off : 0;
            case offsetof(virtio_pci_common_cfg, queue_enable):
                return queue_select_ < queues.size() ? selected().enable : 0;
            case offsetof(virtio_pci_common_cfg, msix_config):
                return msix_config;
            case offsetof(virtio_pci_common_cfg, queue_msix_vector):
                return queue_select_ < queues.size() ? selected().msix_vector : 0;
            default:
                return 0;
        }
    }

    void write(uintptr_t a, int width, uint32_t v) {
        (void)width;
        if (a >= kBar1Base && a < kBar1Base + kBar1Size) {
            msix_table[(a - kBar1Base) / 4] = v;
            return;
        }
        const uint64_t off = a - kBar4Base;
        if (off >= kNotifyOff && off < kNotifyOff + 0x1000) {
            notifies.emplace_back(off - kNotifyOff, static_cast<uint16_t>(v));
            return;
        }
        switch (off - kCommonOff) {
            case offsetof(virtio_pci_common_cfg, device_feature_select):
                dev_feature_select_ = v;
                break;
            case offsetof(virtio_pci_common_cfg, guest_feature_select):
                drv_feature_select_ = v;
                break;
            case offsetof(virtio_pci_common_cfg, guest_feature):
                if (drv_feature_select_ < 2) {
                    const int sh = 32 * static_cast<int>(drv_feature_select_);
                    driver_features =
                        (driver_features & ~(0xffffffffull << sh)) | (uint64_t{v} << sh);
                }
                break;
            case offsetof(virtio_pci_common_cfg, device_status): {
                status_writes.push_back(static_cast<uint8_t>(v));
                uint8_t s = static_cast<uint8_t>(v);
                if (s == 0) {
                    driver_features = 0;
                    for (auto& q : queues)
                        q.enable = 0;
                }
                if ((s & VIRTIO_CONFIG_S_FEATURES_OK) &&
                    (!accept_features_ok || (driver_features & ~features) != 0))
                    s &= ~VIRTIO_CONFIG_S_FEATURES_OK;
                status = s;
                break;
            }
            case offsetof(virtio_pci_common_cfg, queue_select):
                queue_select_ = v;
                break;
            case offsetof(virtio_pci_common_cfg, queue_size):
                selected().size = static_cast<uint16_t>(v);
                break;
            case offsetof(virtio_pci_common_cfg, queue_enable):
                selected().enable = static_cast<uint16_t>(v);
                break;
            case offsetof(virtio_pci_common_cfg, msix_config):
                msix_config = v < msix_vectors ? static_cast<uint16_t>(v) : VIRTIO_MSI_NO_VECTOR;
                break;
            case offsetof(virtio_pci_common_cfg, queue_msix_vector):
                selected().msix_vector = v < msix_vectors && !refuse_queue_vectors
                                             ? static_cast<uint16_t>(v)
                                             : VIRTIO_MSI_NO_VECTOR;
                break;
            case offsetof(virtio_pci_common_cfg, queue_desc_lo):
                selected().desc[0] = v;
                break;
            case offsetof(virtio_pci_common_cfg, queue_desc_hi):
                selected().desc[1] = v;
                break;
            case offsetof(virtio_pci_common_cfg, queue_avail_lo):
                selected().avail[0] = v;
                break;
            case offsetof(virtio_pci_common_cfg, queue_avail_hi):
                selected().avail[1] = v;
                break;
            case offsetof(virtio_pci_common_cfg, queue_used_lo):
                selected().used[0] = v;
                break;
            case offsetof(virtio_pci_common_cfg, queue_used_hi):
                selected().used[1] = v;
                break;
            default:
                break;
        }
    }

    uint32_t dev_feature_select_ = 0, drv_feature_select_ = 0, queue_select_ = 0;
    uint8_t generation_ = 0;
};

}  // namespace vfs::guest::testing
