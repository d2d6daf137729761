// A DaxWindow over plain memory for the DAX manager's tests: SETUPMAPPING copies the file
// range into the window, REMOVEMAPPING copies a writable range back (as the host page
// cache would have it) and poisons the window; host_write() is a write on the host, seen
// through every mapping of it. It checks what a daemon and QEMU check
// (alignment, bounds, whole-mapping unmaps, batch size) and what only a stub can: that
// no byte of a read-only mapping was changed.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <vector>

#include "lib/ukfuse/dax_manager.h"

namespace vfs::guest::testing {

class StubDaxWindow final : public ukfuse::DaxWindow {
  public:
    explicit StubDaxWindow(uint64_t size) : mem_(size, kPoison), slots_(size / kRange) {}

    std::vector<uint8_t>& file(uint64_t nodeid) { return files_[nodeid]; }

    uint8_t* base() override { return mem_.data(); }
    uint64_t size() const override { return mem_.size(); }

    wire::Status map(uint64_t nodeid, uint64_t fh, uint64_t foffset, uint64_t len, uint64_t moffset,
                     bool write) override {
        ++map_calls;
        if (fail_map_errno) return wire::Error{fail_map_errno};
        if (write && refuse_write_errno) {
            // As the daemon: whatever was mapped there is taken out before the refusal.
            if (moffset / kRange < slots_.size()) slots_[moffset / kRange] = Slot{};
            return wire::Error{refuse_write_errno};
        }
        EXPECT_EQ(fh, expected_fh);
        EXPECT_EQ(foffset % kRange, 0u);
        EXPECT_EQ(moffset % kRange, 0u);
        EXPECT_TRUE(len > 0 && len <= kRange && len % 4096 == 0) << len;
        auto& f = files_[nodeid];
        // As QEMU 11.1: the file must hold the whole mapped range.
        EXPECT_LE(foffset + len, f.size()) << "a mapping past the end of the file";
        if (moffset % kRange || len > kRange || moffset + len > mem_.size())
            return wire::Error{EINVAL};
        Slot& s = slots_[moffset / kRange];
        if (s.used) {
            // Replacing a mapping: only the same range again, writable or longer.
            EXPECT_TRUE(s.nodeid == nodeid && s.foffset == foffset &&
                        ((write && !s.write) || len > s.len));
            if (write && !s.write) ++upgrades;
            std::memcpy(&mem_[moffset + s.len], &f[foffset + s.len], len - s.len);
            s.write = s.write || write;
            s.len = len;
            return {};
        }
        s = Slot{true, nodeid, foffset, write, len};
        // Byte loops here cost minutes in the sanitizer build: copy whole spans.
        const uint64_t in_file = foffset < f.size() ? std::min(kRange, f.size() - foffset) : 0;
        if (in_file) std::memcpy(&mem_[moffset], &f[foffset], in_file);
        std::memset(&mem_[moffset + in_file], 0, kRange - in_file);
        return {};
    }

    wire::Status unmap(uint64_t nodeid, const fuse_removemapping_one* r, uint32_t count) override {
        ++unmap_calls;
        batch_sizes.push_back(count);
        EXPECT_GE(count, 1u);
        EXPECT_LE(count, ukfuse::kMaxRemoveMappingBatch);
        for (uint32_t k = 0; k < count; ++k) {
            EXPECT_EQ(r[k].moffset % kRange, 0u);
            if (r[k].moffset / kRange >= slots_.size()) return wire::Error{EINVAL};
            Slot& s = slots_[r[k].moffset / kRange];
            EXPECT_TRUE(s.used) << "REMOVEMAPPING of a range never mapped";
            if (!s.used) return wire::Error{EINVAL};
            EXPECT_EQ(s.nodeid, nodeid);
            EXPECT_EQ(r[k].len, s.len) << "REMOVEMAPPING must name the whole mapping";
            auto& f = files_[s.nodeid];
            const uint64_t in_file =
                s.foffset < f.size() ? std::min(s.len, f.size() - s.foffset) : 0;
            if (s.write && in_file)
                std::memcpy(&f[s.foffset], &mem_[r[k].moffset], in_file);
            else if (in_file && std::memcmp(&f[s.foffset], &mem_[r[k].moffset], in_file))
                ++ro_violations;
            std::memset(&mem_[r[k].moffset], kPoison, kRange);
            s = Slot{};
        }
        return {};
    }

    // A write on the host (a FUSE WRITE, another writer): the file grows as pwrite grows
    // it, and every mapping of the bytes written shows them at once (the window maps the
    // host's page cache).
    void host_write(uint64_t nodeid, uint64_t off, const void* buf, uint64_t len) {
        auto& f = files_[nodeid];
        if (f.size() < off + len) f.resize(off + len);
        std::memcpy(&f[off], buf, len);
        for (uint64_t i = 0; i < slots_.size(); ++i) {
            const Slot& s = slots_[i];
            if (!s.used || s.nodeid != nodeid) continue;
            const uint64_t lo = std::max(off, s.foffset);
            const uint64_t hi = std::min(off + len, s.foffset + s.len);
            if (lo < hi)
                std::memcpy(&mem_[i * kRange + (lo - s.foffset)],
                            static_cast<const uint8_t*>(buf) + (lo - off), hi - lo);
        }
    }

    uint32_t mapped_slots() const {
        uint32_t n = 0;
        for (const Slot& s : slots_)
            n += s.used;
        return n;
    }

    static constexpr uint64_t kRange = ukfuse::kDaxRangeSize;
    static constexpr uint8_t kPoison = 0xee;
    uint64_t expected_fh = 7;
    int fail_map_errno = 0, refuse_write_errno = 0;
    uint64_t map_calls = 0, unmap_calls = 0, upgrades = 0, ro_violations = 0;
    std::vector<uint32_t> batch_sizes;

  private:
    struct Slot {
        bool used = false;
        uint64_t nodeid = 0, foffset = 0;
        bool write = false;
        uint64_t len = 0;
    };
    std::vector<uint8_t> mem_;
    std::vector<Slot> slots_;
    std::map<uint64_t, std::vector<uint8_t>> files_;
};

}  // namespace vfs::guest::testing
