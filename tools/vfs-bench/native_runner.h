// The native-syscall reference: the same operations done directly on the shared
// directory. A queue depth of N becomes min(N, cores) threads: synchronous syscalls on
// cached data are CPU-bound, so more threads than cores would only add context switches
// to the reference.
#pragma once

#include <stdint.h>

#include "run_result.h"
#include "workload.h"

namespace vfs::bench {

uint32_t native_threads(uint32_t depth);

// Runs w on `threads` threads for `seconds`; each thread's verification is merged into v.
RunResult run_native(NativeWorkload& w, uint32_t threads, double seconds, uint32_t scratch_bytes,
                     Verification& v);

}  // namespace vfs::bench
