// A simulated PCI configuration space for host tests: functions with 256 bytes of
// registers, BARs that answer the all-ones sizing protocol, and a capability-list
// builder. Reads of absent functions return all ones, like real hardware.
#pragma once

#include <linux/pci_regs.h>

#include <cstdint>
#include <cstring>
#include <map>
#include <tuple>
#include <vector>

#include "drivers/pci/config_space.h"

namespace vfs::guest::testing {

struct SimBar {
    enum Kind { kNone, kIo, kMem32, kMem64 } kind = kNone;
    bool prefetchable = false;
    uint64_t size = 0;
    uint64_t base = 0;
};

struct SimFunction {
    uint8_t regs[256] = {};
    SimBar bars[6];
    int bar_writes_while_decoding = 0;  // sizing while decode was on: a bug

    SimFunction(uint16_t vendor, uint16_t device, uint8_t header_type = 0) {
        put16(PCI_VENDOR_ID, vendor);
        put16(PCI_DEVICE_ID, device);
        regs[PCI_HEADER_TYPE] = header_type;
        put16(PCI_COMMAND, PCI_COMMAND_MEMORY | PCI_COMMAND_IO);
    }
    void put16(int off, uint16_t v) { std::memcpy(&regs[off], &v, 2); }
    void put32(int off, uint32_t v) { std::memcpy(&regs[off], &v, 4); }
    uint16_t get16(int off) const {
        uint16_t v;
        std::memcpy(&v, &regs[off], 2);
        return v;
    }

    // Adds a BAR (a 64-bit one also takes slot i+1) and programs its base.
    void set_bar(int i, SimBar b) {
        bars[i] = b;
        uint32_t lo = static_cast<uint32_t>(b.base);
        if (b.kind == SimBar::kIo) lo |= PCI_BASE_ADDRESS_SPACE_IO;
        if (b.kind == SimBar::kMem64) lo |= PCI_BASE_ADDRESS_MEM_TYPE_64;
        if (b.prefetchable) lo |= PCI_BASE_ADDRESS_MEM_PREFETCH;
        put32(PCI_BASE_ADDRESS_0 + 4 * i, lo);
        if (b.kind == SimBar::kMem64) put32(PCI_BASE_ADDRESS_0 + 4 * (i + 1), b.base >> 32);
    }

    // Appends a capability with `id` and `body` (bytes after id/next) at `off`, linking
    // it from the previous one (or from the capability pointer).
    void add_cap(uint8_t off, uint8_t id, const std::vector<uint8_t>& body = {}) {
        regs[PCI_STATUS] |= PCI_STATUS_CAP_LIST;
        if (last_cap_ == 0)
            regs[PCI_CAPABILITY_LIST] = off;
        else
            regs[last_cap_ + 1] = off;
        regs[off] = id;
        regs[off + 1] = 0;
        for (size_t i = 0; i < body.size(); ++i)
            regs[off + 2 + i] = body[i];
        last_cap_ = off;
    }

    void write32(uint16_t off, uint32_t v) {
        if (off >= PCI_BASE_ADDRESS_0 && off < PCI_BASE_ADDRESS_0 + 24) {
            if (get16(PCI_COMMAND) & (PCI_COMMAND_MEMORY | PCI_COMMAND_IO))
                ++bar_writes_while_decoding;
            write_bar((off - PCI_BASE_ADDRESS_0) / 4, v);
            return;
        }
        put32(off, v);
    }

  private:
    void write_bar(int slot, uint32_t v) {
        // Which BAR owns this slot, and is it the upper half of a 64-bit one?
        int i = slot;
        bool upper = false;
        if (slot > 0 && bars[slot - 1].kind == SimBar::kMem64) i = slot - 1, upper = true;
        const SimBar& b = bars[i];
        if (b.kind == SimBar::kNone) return put32(PCI_BASE_ADDRESS_0 + 4 * slot, 0);
        const uint64_t mask = ~(b.size - 1);
        uint32_t lo_flags = PCI_BASE_ADDRESS_SPACE_IO;
        if (b.kind != SimBar::kIo)
            lo_flags = (b.kind == SimBar::kMem64 ? PCI_BASE_ADDRESS_MEM_TYPE_64 : 0) |
                       (b.prefetchable ? PCI_BASE_ADDRESS_MEM_PREFETCH : 0);
        if (upper)
            return put32(PCI_BASE_ADDRESS_0 + 4 * slot, v & static_cast<uint32_t>(mask >> 32));
        const uint32_t low_mask =
            static_cast<uint32_t>(mask) & (b.kind == SimBar::kIo ? ~3u : ~15u);
        put32(PCI_BASE_ADDRESS_0 + 4 * slot, (v & low_mask) | lo_flags);
    }

    uint8_t last_cap_ = 0;
};

class SimConfigSpace : public pci::ConfigSpace {
  public:
    SimFunction& add(pci::Bdf f, SimFunction fn) {
        return fns_.insert_or_assign(key(f), fn).first->second;
    }
    SimFunction* find(pci::Bdf f) {
        auto it = fns_.find(key(f));
        return it == fns_.end() ? nullptr : &it->second;
    }

    uint8_t read8(pci::Bdf f, uint16_t off) override {
        return static_cast<uint8_t>(read32(f, off & ~3) >> (8 * (off & 3)));
    }
    uint16_t read16(pci::Bdf f, uint16_t off) override {
        return static_cast<uint16_t>(read32(f, off & ~3) >> (8 * (off & 2)));
    }
    uint32_t read32(pci::Bdf f, uint16_t off) override {
        ++reads;
        SimFunction* fn = find(f);
        if (!fn || off > 252) return 0xffffffffu;
        uint32_t v;
        std::memcpy(&v, &fn->regs[off & ~3], 4);
        return v;
    }
    void write16(pci::Bdf f, uint16_t off, uint16_t v) override {
        if (SimFunction* fn = find(f)) fn->put16(off, v);
    }
    void write32(pci::Bdf f, uint16_t off, uint32_t v) override {
        if (SimFunction* fn = find(f)) fn->write32(off, v);
    }

    long reads = 0;

  private:
    static std::tuple<int, int, int> key(pci::Bdf f) { return {f.bus, f.dev, f.fn}; }
    std::map<std::tuple<int, int, int>, SimFunction> fns_;
};

}  // namespace vfs::guest::testing
