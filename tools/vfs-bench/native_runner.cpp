#include "native_runner.h"

#include <latch>
#include <memory>
#include <thread>
#include <vector>

#include "monotonic_clock.h"

namespace vfs::bench {

uint32_t native_threads(uint32_t depth) {
    const uint32_t cores = std::thread::hardware_concurrency();
    return depth < cores || cores == 0 ? depth : cores;
}

RunResult run_native(NativeWorkload& w, uint32_t threads, double seconds, uint32_t scratch_bytes,
                     Verification& v) {
    struct PerThread {
        std::unique_ptr<uint8_t[]> scratch;
        std::vector<uint64_t> latencies;
        Verification verify;
        uint64_t last = 0;
    };
    std::vector<PerThread> per(threads);
    std::latch ready(threads + 1);
    uint64_t start = 0, deadline = 0;
    std::vector<std::thread> pool;
    for (uint32_t t = 0; t < threads; ++t) {
        per[t].scratch.reset(new uint8_t[scratch_bytes]);
        per[t].latencies.reserve(1 << 20);
        pool.emplace_back([&, t] {
            PerThread& me = per[t];
            ready.arrive_and_wait();  // start and deadline are set before the latch opens
            for (;;) {
                const uint64_t t0 = now_ns();
                if (t0 >= deadline) break;
                if (!w.op(t, me.scratch.get(), me.verify)) break;
                me.last = now_ns();
                me.latencies.push_back(me.last - t0);
            }
        });
    }
    start = now_ns();
    deadline = start + static_cast<uint64_t>(seconds * 1e9);
    ready.arrive_and_wait();
    for (auto& th : pool)
        th.join();

    RunResult r;
    uint64_t last = start;
    for (PerThread& p : per) {
        r.ops += p.latencies.size();
        r.latencies_ns.insert(r.latencies_ns.end(), p.latencies.begin(), p.latencies.end());
        if (p.last > last) last = p.last;
        v.ops_checked += p.verify.ops_checked;
        v.bytes_checked += p.verify.bytes_checked;
        if (p.verify.failures > 0) {
            if (v.failures == 0) v.first_failure = p.verify.first_failure;
            v.failures += p.verify.failures;
        }
    }
    r.seconds = static_cast<double>(last - start) / 1e9;
    return r;
}

}  // namespace vfs::bench
