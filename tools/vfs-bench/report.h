// Turns the cells into what people read: a side-by-side table (throughput with ratios
// "ours / backend", then p50/p99 latency), as aligned text or Markdown, and JSON.
#pragma once

#include <stdio.h>

#include <string>
#include <vector>

#include "bench_options.h"
#include "cell_result.h"

namespace vfs::bench {

// Which text form the tables take.
enum class TableStyle { kText, kMarkdown };

void print_tables(const std::vector<CellResult>& cells, const BenchOptions& o, TableStyle style,
                  FILE* out);

// false if the file cannot be written.
bool write_json(const std::vector<CellResult>& cells, const BenchOptions& o,
                const std::string& path);

}  // namespace vfs::bench
