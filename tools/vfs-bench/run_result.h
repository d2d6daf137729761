// What one timed run produced, whoever drove it (FusePipeline or NativeRunner).
#pragma once

#include <stdint.h>

#include <string>
#include <vector>

namespace vfs::bench {

struct RunResult {
    uint64_t ops = 0;
    double seconds = 0;                  // first start to last completion
    std::vector<uint64_t> latencies_ns;  // one per completed operation
    std::string error;                   // empty if the run went through
};

}  // namespace vfs::bench
