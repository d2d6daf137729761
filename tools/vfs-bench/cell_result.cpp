#include "cell_result.h"

#include <algorithm>

namespace vfs::bench {

namespace {

// Nearest-rank percentile of sorted values, in microseconds.
double percentile_us(const std::vector<uint64_t>& sorted, double p) {
    if (sorted.empty()) return 0;
    size_t rank = static_cast<size_t>(p * static_cast<double>(sorted.size()));
    if (rank >= sorted.size()) rank = sorted.size() - 1;
    return static_cast<double>(sorted[rank]) / 1000.0;
}

}  // namespace

void summarize(RunResult& r, uint32_t block_bytes, CellResult* cell) {
    cell->ops = r.ops;
    cell->seconds = r.seconds;
    if (!r.error.empty() && cell->error.empty()) cell->error = r.error;
    if (r.seconds > 0) {
        cell->ops_per_s = static_cast<double>(r.ops) / r.seconds;
        cell->mib_per_s = cell->ops_per_s * block_bytes / (1024.0 * 1024.0);
    }
    std::sort(r.latencies_ns.begin(), r.latencies_ns.end());
    cell->p50_us = percentile_us(r.latencies_ns, 0.50);
    cell->p99_us = percentile_us(r.latencies_ns, 0.99);
}

}  // namespace vfs::bench
