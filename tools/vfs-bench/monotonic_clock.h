// The one clock every measurement uses.
#pragma once

#include <stdint.h>
#include <time.h>

namespace vfs::bench {

inline uint64_t now_ns() {
    timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return uint64_t(t.tv_sec) * 1000000000ull + uint64_t(t.tv_nsec);
}

}  // namespace vfs::bench
