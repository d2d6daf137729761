// vfs-bench's command line.
#pragma once

#include <stdint.h>

#include <string>
#include <vector>

#include "backend_process.h"
#include "workload.h"

namespace vfs::bench {

struct BenchOptions {
    std::vector<BackendConfig> backends;
    std::vector<const WorkloadSpec*> workloads;
    std::vector<uint32_t> depths;
    double duration_s = 1.0;
    std::string dir;  // empty: a fresh temporary directory, removed afterwards
    std::string cache = "auto";
    std::string json_path;
    std::string markdown_path;
    uint32_t ours_request_queues = 1;  // as the peers and the Linux driver use
    bool verify_all = false;
    bool client_poll = false;  // --client-poll: spin on the used rings (fuse_pipeline.h)
    // Run each daemon under callgrind and report instructions and system calls per
    // operation (instruction_counter.h); rates are then the emulator's, not the daemon's.
    bool instructions = false;
    std::string valgrind = "valgrind";
    std::string callgrind_control = "callgrind_control";
    BackendPaths paths;
};

// Parses argv; on --help or an error prints to stdout/stderr and returns false with
// *exit_code set.
bool parse_options(int argc, char** argv, BenchOptions* out, int* exit_code);

}  // namespace vfs::bench
