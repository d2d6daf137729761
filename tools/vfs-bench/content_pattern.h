// The bytes every benchmark file holds: a pure function of (seed, offset), so a reader can
// check any range it gets back without reading the file again, and a file left over from
// another run (another seed) never passes for this one.
#pragma once

#include <stdint.h>
#include <string.h>

namespace vfs::bench {

// splitmix64: cheap, and every 8-byte word differs from its neighbours.
inline uint64_t pattern_word(uint64_t seed, uint64_t word_index) {
    uint64_t z = seed * 0x9e3779b97f4a7c15ull + word_index + 1;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

// Fills buf with the pattern of [offset, offset + len). offset and len are multiples of 8.
inline void fill_pattern(uint8_t* buf, uint64_t seed, uint64_t offset, uint64_t len) {
    for (uint64_t i = 0; i < len; i += 8) {
        const uint64_t w = pattern_word(seed, (offset + i) / 8);
        memcpy(buf + i, &w, 8);
    }
}

// Whether each 4 KiB block of data (read from `offset`) starts with its pattern word: a
// cheap check, done on every reply, that catches short, shifted, stale or zeroed data.
inline bool block_stamps_match(const uint8_t* data, uint64_t seed, uint64_t offset, uint64_t len) {
    for (uint64_t i = 0; i < len; i += 4096) {
        const uint64_t w = pattern_word(seed, (offset + i) / 8);
        if (memcmp(data + i, &w, 8) != 0) return false;
    }
    return true;
}

}  // namespace vfs::bench
