// Modern virtio-PCI transport (see virtio_pci_modern.h). Field offsets are those of the
// kernel's struct virtio_pci_common_cfg; 64-bit values are accessed as two 32-bit halves
// because the spec does not require devices to accept 64-bit accesses.
#include "drivers/virtio/virtio_pci_modern.h"

#include <linux/virtio_config.h>
#include <linux/virtio_pci.h>
#include <stddef.h>

#include "drivers/pci/enumerate.h"
#include "kernel/log.h"
#include "vfs/wire/checked.h"

namespace vfs::guest::virtio {
namespace {

#define COMMON(field) static_cast<uintptr_t>(offsetof(virtio_pci_common_cfg, field))

constexpr int kResetPolls = 1000000;
constexpr int kConfigRetries = 100;
constexpr uint64_t kVersion1 = 1ull << VIRTIO_F_VERSION_1;
constexpr uint16_t kVector = 0;  // the one MSI-X table entry used

}  // namespace

void VirtioPciModern::log_error(const char* what, int err) {
    log("virtio-pci %02x:%02x.%x: %s (errno %d)", dev_.bdf.bus, dev_.bdf.dev, dev_.bdf.fn, what,
        err);
}

wire::Result<uintptr_t> VirtioPciModern::map_region(const BarRegion& r, pci::MapCaching caching) {
    const pci::Bar& bar = dev_.bars[r.bar];
    uint64_t phys = 0;
    if (!wire::checked_add(bar.base, r.offset, &phys)) return wire::Error{ERANGE};
    return mmio_.map(phys, r.length, caching);
}

wire::Status VirtioPciModern::attach(const pci::Device& dev) {
    dev_ = dev;
    auto layout = find_virtio_layout(cfg_, dev);
    if (!layout) return wire::Error{layout.error()};
    layout_ = *layout;
    pci::enable_device(cfg_, dev);
    const struct {
        const BarRegion& r;
        uintptr_t* out;
    } regions[] = {{layout_.common, &common_},
                   {layout_.notify, &notify_},
                   {layout_.isr, &isr_},
                   {layout_.device, &device_}};
    for (const auto& reg : regions) {
        if (!reg.r.present) continue;
        auto m = map_region(reg.r, pci::MapCaching::kUncached);
        if (!m) {
            log_error("cannot map a BAR region", m.error());
            return wire::Error{m.error()};
        }
        *reg.out = *m;
    }
    attached_ = true;
    return {};
}

uint8_t VirtioPciModern::status() {
    return mmio_.read8(common_ + COMMON(device_status));
}

void VirtioPciModern::add_status(uint8_t bits) {
    mmio_.write8(common_ + COMMON(device_status), static_cast<uint8_t>(status() | bits));
}

void VirtioPciModern::reset() {
    if (!attached_) return;
    mmio_.write8(common_ + COMMON(device_status), 0);
    // Virtio 1.x, 4.1.4.3.2: the reset is complete when the status reads back 0.
    for (int i = 0; i < kResetPolls && status() != 0; ++i) {
    }
    for (uintptr_t& a : notify_addr_)
        a = 0;
}

void VirtioPciModern::set_failed() {
    if (attached_) add_status(VIRTIO_CONFIG_S_FAILED);
}

wire::Result<uint64_t> VirtioPciModern::negotiate_features(uint64_t wanted) {
    if (!attached_) return wire::Error{ENODEV};
    reset();
    if (status() != 0) {
        log_error("device did not finish reset", EIO);
        return wire::Error{EIO};
    }
    add_status(VIRTIO_CONFIG_S_ACKNOWLEDGE);
    add_status(VIRTIO_CONFIG_S_DRIVER);

    uint64_t offered = 0;
    for (uint32_t half = 0; half < 2; ++half) {
        mmio_.write32(common_ + COMMON(device_feature_select), half);
        offered |= uint64_t{mmio_.read32(common_ + COMMON(device_feature))} << (32 * half);
    }
    if ((offered & kVersion1) == 0) {
        log_error("device does not offer VIRTIO_F_VERSION_1 (legacy only)", EOPNOTSUPP);
        set_failed();
        return wire::Error{EOPNOTSUPP};
    }
    const uint64_t accepted = offered & (wanted | kVersion1);
    for (uint32_t half = 0; half < 2; ++half) {
        mmio_.write32(common_ + COMMON(guest_feature_select), half);
        mmio_.write32(common_ + COMMON(guest_feature),
                      static_cast<uint32_t>(accepted >> (32 * half)));
    }
    add_status(VIRTIO_CONFIG_S_FEATURES_OK);
    if ((status() & VIRTIO_CONFIG_S_FEATURES_OK) == 0) {
        log_error("device refused our feature set (FEATURES_OK cleared)", EOPNOTSUPP);
        set_failed();
        return wire::Error{EOPNOTSUPP};
    }
    return accepted;
}

wire::Status VirtioPciModern::read_device_config(uint32_t offset, void* out, uint32_t len) {
    if (!layout_.device.present) return wire::Error{ENOENT};
    if (!wire::range_within(offset, len, 0, layout_.device.length)) return wire::Error{ERANGE};
    auto* dst = static_cast<uint8_t*>(out);
    for (int attempt = 0; attempt < kConfigRetries; ++attempt) {
        const uint8_t before = mmio_.read8(common_ + COMMON(config_generation));
        copy_device_config(offset, dst, len);
        if (mmio_.read8(common_ + COMMON(config_generation)) == before) return {};
    }
    log_error("device configuration never stable (config_generation keeps changing)", EAGAIN);
    return wire::Error{EAGAIN};
}

// Reads each aligned dword or word with one access of that width, so fields are read
// with their natural width (virtio 1.x, 4.1.3.1) when the caller asks for whole fields.
void VirtioPciModern::copy_device_config(uint32_t offset, uint8_t* dst, uint32_t len) {
    for (uint32_t i = 0; i < len;) {
        const uintptr_t a = device_ + offset + i;
        if ((a & 3) == 0 && len - i >= 4) {
            const uint32_t v = mmio_.read32(a);
            __builtin_memcpy(dst + i, &v, 4);
            i += 4;
        } else if ((a & 1) == 0 && len - i >= 2) {
            const uint16_t v = mmio_.read16(a);
            __builtin_memcpy(dst + i, &v, 2);
            i += 2;
        } else {
            dst[i++] = mmio_.read8(a);
        }
    }
}

uint16_t VirtioPciModern::num_queues() {
    return mmio_.read16(common_ + COMMON(num_queues));
}

wire::Result<uint16_t> VirtioPciModern::queue_size(uint16_t index, uint16_t requested) {
    if (index >= num_queues() || index >= kMaxQueues) return wire::Error{ENOENT};
    mmio_.write16(common_ + COMMON(queue_select), index);
    const uint16_t max = mmio_.read16(common_ + COMMON(queue_size));
    if (max == 0) return wire::Error{ENOENT};  // queue not available
    uint16_t n = requested < max ? requested : max;
    if (n == 0) return wire::Error{EINVAL};
    while (!wire::is_power_of_two(n))
        n &= static_cast<uint16_t>(n - 1);  // round down
    return n;
}

wire::Status VirtioPciModern::enable_queue(uint16_t index, uint16_t size, const QueueAddresses& a) {
    auto max = queue_size(index, size);
    if (!max) return wire::Error{max.error()};
    if (*max != size) return wire::Error{EINVAL};
    // queue_size() left the queue selected.
    const uint64_t off = mmio_.read16(common_ + COMMON(queue_notify_off));
    uint64_t slot = 0;
    if (!wire::checked_mul<uint64_t>(off, layout_.notify_off_multiplier, &slot) ||
        !wire::range_within(slot, 2, 0, layout_.notify.length)) {
        log_error("queue notify address lies outside the notify capability", ERANGE);
        return wire::Error{ERANGE};
    }
    mmio_.write16(common_ + COMMON(queue_size), size);
    const struct {
        uintptr_t lo, hi;
        uint64_t v;
    } addrs[] = {{COMMON(queue_desc_lo), COMMON(queue_desc_hi), a.desc},
                 {COMMON(queue_avail_lo), COMMON(queue_avail_hi), a.driver},
                 {COMMON(queue_used_lo), COMMON(queue_used_hi), a.device}};
    for (const auto& f : addrs) {
        mmio_.write32(common_ + f.lo, static_cast<uint32_t>(f.v));
        mmio_.write32(common_ + f.hi, static_cast<uint32_t>(f.v >> 32));
    }
    if (irq_on_) {
        // Virtio 1.x, 4.1.4.3: a device that cannot use the vector reads back NO_VECTOR.
        mmio_.write16(common_ + COMMON(queue_msix_vector), kVector);
        const uint16_t got = mmio_.read16(common_ + COMMON(queue_msix_vector));
        if (got != kVector) {
            log("virtio-pci %02x:%02x.%x: device refused MSI-X vector %u for queue %u (read "
                "back %#x): completion by polling",
                dev_.bdf.bus, dev_.bdf.dev, dev_.bdf.fn, kVector, index, got);
            irq_on_ = false;
        }
    }
    mmio_.write16(common_ + COMMON(queue_enable), 1);
    notify_addr_[index] = notify_ + slot;
    return {};
}

void VirtioPciModern::notify(uint16_t index) {
    if (index < kMaxQueues && notify_addr_[index] != 0) mmio_.write16(notify_addr_[index], index);
}

wire::Status VirtioPciModern::driver_ok() {
    add_status(VIRTIO_CONFIG_S_DRIVER_OK);
    const uint8_t s = status();
    if (s & VIRTIO_CONFIG_S_NEEDS_RESET) {
        log_error("device needs reset after DRIVER_OK", EIO);
        set_failed();
        return wire::Error{EIO};
    }
    return {};
}

uint8_t VirtioPciModern::read_isr() {
    return mmio_.read8(isr_);
}

wire::Result<SharedMemoryRegion> VirtioPciModern::shared_memory(uint8_t id) {
    for (int i = 0; i < layout_.shm_count; ++i) {
        if (layout_.shm[i].id != id) continue;
        const BarRegion& r = layout_.shm[i].region;
        auto m = map_region(r, pci::MapCaching::kWriteBack);
        if (!m) return wire::Error{m.error()};
        return SharedMemoryRegion{dev_.bars[r.bar].base + r.offset, *m, r.length};
    }
    return wire::Error{ENOENT};
}

wire::Status VirtioPciModern::use_interrupts() {
    if (!attached_) return wire::Error{ENODEV};
    if (msix_.enabled()) {
        if (irq_on_) return {};
        return wire::Error{EIO};
    }
    if (!irq_) {
        log_error("no interrupt platform: completion by polling", EOPNOTSUPP);
        return wire::Error{EOPNOTSUPP};
    }
    auto info = pci::find_msix(cfg_, dev_);
    if (!info) {
        log_error("no usable MSI-X capability: completion by polling", EOPNOTSUPP);
        return wire::Error{EOPNOTSUPP};
    }
    auto msg = irq_->completion_message();
    if (!msg) {
        log_error("the CPU cannot take device interrupts: completion by polling", msg.error());
        return wire::Error{msg.error()};
    }
    if (wire::Status s = msix_.enable(dev_, *info); !s) {
        log_error("cannot map the MSI-X table: completion by polling", s.error());
        return s;
    }
    if (wire::Status s = msix_.program(kVector, *msg); !s) {
        msix_.disable();
        return s;
    }
    msix_.unmask_function();
    mmio_.write16(common_ + COMMON(msix_config), kVector);
    const uint16_t got = mmio_.read16(common_ + COMMON(msix_config));
    if (got != kVector) {
        log("virtio-pci %02x:%02x.%x: device refused MSI-X vector %u for its configuration "
            "(read back %#x): completion by polling",
            dev_.bdf.bus, dev_.bdf.dev, dev_.bdf.fn, kVector, got);
        msix_.disable();
        return wire::Error{EIO};
    }
    irq_on_ = true;
    return {};
}

void VirtioPciModern::wait_for_interrupt(uint64_t max_ns) {
    if (irq_on_) irq_->sleep(max_ns);
}

}  // namespace vfs::guest::virtio
