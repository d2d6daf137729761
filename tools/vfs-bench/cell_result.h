// One cell of the benchmark matrix (backend x workload x queue depth) as reported.
#pragma once

#include <stdint.h>

#include <string>

#include "run_result.h"
#include "workload.h"

namespace vfs::bench {

struct CellResult {
    std::string backend;
    std::string workload;
    uint32_t qd = 0;
    uint32_t queues_or_threads = 0;  // request queues used (FUSE) or threads (native)
    bool ran = false;                // false: skipped or failed before timing
    uint64_t ops = 0;
    double seconds = 0;
    double ops_per_s = 0;
    double mib_per_s = 0;  // 0 for metadata workloads
    double p50_us = 0;
    double p99_us = 0;
    // --instructions: the daemon's cost per operation, from callgrind.
    bool counted = false;
    double instructions_per_op = 0;  // user space, every daemon thread
    double syscalls_per_op = 0;
    // CPU time per operation (us) over the timed run: the daemon's (all its threads, from
    // /proc/PID/stat, 10 ms ticks) and the client's (getrusage); -1 where not measured.
    double daemon_cpu_us_per_op = -1;
    double client_cpu_us_per_op = -1;
    Verification verify;
    std::string error;  // why it did not run, or what went wrong in it

    bool good() const { return ran && error.empty() && verify.ok(); }
};

// Fills the throughput and latency fields from a run (sorts r.latencies_ns).
void summarize(RunResult& r, uint32_t block_bytes, CellResult* cell);

}  // namespace vfs::bench
