// The bench app's parameters, from the kernel command line (key=value). Defaults are the
// thesis's matrix: buffers 2^4..2^20, file counts 2^1..2^17, bytes per run buffer x 8192,
// 3 repetitions for reads and writes, 6 for file operations. sizes=none or counts=none
// runs none of those points.
#pragma once

#include <stdint.h>

namespace vfs::guest::bench {

inline constexpr int kMaxPoints = 32;

struct Params {
    const char* tag = "myfs";
    const char* mount = "/share";
    const char* machine = "unknown";  // stated in the JSON, as the runner passes it
    const char* qemu = "unknown";
    uint64_t sizes[kMaxPoints] = {};
    int n_sizes = 0;
    uint64_t counts[kMaxPoints] = {};
    int n_counts = 0;
    uint32_t reps = 3;
    uint32_t file_reps = 6;
    uint64_t multiplier = 8192;  // bytes per run = buffer x multiplier / scale
    uint64_t scale = 1;          // divisor for TCG, stated in the JSON
    uint64_t fixed_bytes = 0;    // nonzero: bytes per run = fixed_bytes / scale at every
                                 // buffer size (the thesis's DAX and native method)
    uint64_t budget_ms = 0;      // 0: no limit; else start no new point after this
    // dax=never (or 0, the default): the FUSE path, the mount's DAX off; dax=mapped: DAX,
    // every range of the file mapped before the clock (as the thesis measured);
    // dax=lazy: DAX with the window emptied before the clock, so SETUPMAPPING (and, when
    // the file outgrows the window, eviction) happens inside the timed region. With DAX,
    // a write run's file is sized before the clock (ftruncate), so writes stay in place.
    // dax=grow: as lazy, but a sequential write run's file is emptied (ftruncate to 0)
    // instead, so every write extends the file, as into a new file.
    enum class Dax { kNever, kMapped, kLazy, kGrow } dax = Dax::kNever;
    bool write_behind = false;             // write_behind=1: the mount option of that name
    const char* first_byte = "hello.txt";  // below the mount: timed as the first byte read
    // getattr=N: a "getattr" point of N fstat calls on first_byte's file, one at a time
    // (queue depth 1; each a FUSE GETATTR when the daemon's attr timeout is 0,
    // --cache=never). 0: none.
    uint64_t getattrs = 0;
};

// "a,b,c" into out (at most kMaxPoints); the defaults when absent or malformed.
int parse_list(const char* s, uint64_t* out);
Params parse_params(int argc, char** argv);

}  // namespace vfs::guest::bench
