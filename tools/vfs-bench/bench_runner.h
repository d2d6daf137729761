// Runs the matrix: every backend in turn over every workload and queue depth, on the same
// shared directory, restarting a backend whose session broke so one bad cell does not
// take the rest of its column with it.
#pragma once

#include <string>
#include <vector>

#include "bench_options.h"
#include "cell_result.h"
#include "share_layout.h"

namespace vfs::bench {

// workdir holds the sockets and daemon logs; share is the prepared shared directory.
std::vector<CellResult> run_matrix(const BenchOptions& opts, const ShareLayout& share,
                                   const std::string& workdir);

}  // namespace vfs::bench
