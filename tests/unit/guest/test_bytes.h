// Test data for the guest's write and DAX tests: bytes that change from offset to offset
// and from seed to seed, so a byte in the wrong place, or from another write, shows.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace vfs::guest::testing {

// An LCG's bytes: no period a page or a range would hide.
inline std::vector<uint8_t> lcg_bytes(uint64_t n, uint32_t seed) {
    std::vector<uint8_t> v(n);
    uint32_t x = seed * 2654435761u + 1;
    for (auto& b : v) {
        x = x * 1103515245u + 12345u;
        b = static_cast<uint8_t>(x >> 16);
    }
    return v;
}

// i * 131 + seed: cheap, and every byte of a short write distinct.
inline std::vector<uint8_t> ramp_bytes(size_t n, uint8_t seed) {
    std::vector<uint8_t> v(n);
    for (size_t i = 0; i < n; ++i)
        v[i] = static_cast<uint8_t>(i * 131u + seed);
    return v;
}

}  // namespace vfs::guest::testing
