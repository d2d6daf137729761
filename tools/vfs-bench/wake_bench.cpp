// vfs-wake-bench: what one queue worker wake-up costs, by the way the worker waits for the
// kick (issue 14, item 1). A driver thread writes a "kick" eventfd and blocks reading a
// "call" eventfd; the worker thread waits for the kick and writes the call, as the daemon
// does for a qd 1 request with no work in between. Two ways to wait are compared:
//   uring: an io_uring read of the kick eventfd, re-armed and waited for (with a timeout)
//          in one io_uring_enter (the queue worker before this tool);
//   poll:  poll(2) on the kick eventfd, then a non-blocking read (the queue worker now).
// Besides wall-clock time per round trip it prints the CPU time each thread spent per
// round trip (CLOCK_THREAD_CPUTIME_ID: user and kernel), which other load on the machine
// disturbs far less than the wall clock. Rounds alternate between the two; medians shown.
#include <errno.h>
#include <liburing.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <thread>
#include <vector>

namespace {

uint64_t now_ns(clockid_t c) {
    timespec t;
    clock_gettime(c, &t);
    return uint64_t(t.tv_sec) * 1000000000ull + uint64_t(t.tv_nsec);
}

void signal(int fd) {
    const uint64_t one = 1;
    [[maybe_unused]] ssize_t n = ::write(fd, &one, sizeof(one));
}

enum class Wait { kUring, kPoll };

// Both wait with the daemon's default lost-kick re-scan timeout, as the worker does.
constexpr int kRescanMs = 100;

// The worker: n wake-ups, each answered with a call. Returns its CPU time.
uint64_t worker(Wait how, int kick, int call, uint32_t n) {
    const uint64_t cpu0 = now_ns(CLOCK_THREAD_CPUTIME_ID);
    if (how == Wait::kUring) {
        io_uring ring;
        if (io_uring_queue_init(8, &ring, 0) < 0) abort();
        uint64_t buf = 0;
        for (uint32_t i = 0; i < n; ++i) {
            io_uring_sqe* s = io_uring_get_sqe(&ring);
            io_uring_prep_read(s, kick, &buf, sizeof(buf), 0);
            __kernel_timespec rescan{0, kRescanMs * 1000000ll};
            io_uring_cqe* cqe = nullptr;
            io_uring_submit_and_wait_timeout(&ring, &cqe, 1, &rescan, nullptr);
            unsigned head, seen = 0;
            io_uring_for_each_cqe(&ring, head, cqe) {
                ++seen;
            }
            io_uring_cq_advance(&ring, seen);
            signal(call);
        }
        io_uring_queue_exit(&ring);
    } else {
        for (uint32_t i = 0; i < n;) {
            pollfd p{kick, POLLIN, 0};
            if (::poll(&p, 1, kRescanMs) != 1) continue;
            uint64_t v;
            iovec iov{&v, sizeof(v)};
            if (::preadv2(kick, &iov, 1, -1, RWF_NOWAIT) != sizeof(v)) continue;
            signal(call);
            ++i;
        }
    }
    return now_ns(CLOCK_THREAD_CPUTIME_ID) - cpu0;
}

struct Round {
    double wall_ns, worker_cpu_ns, driver_cpu_ns;  // per round trip
};

Round run_round(Wait how, uint32_t n) {
    const int kick = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    const int call = ::eventfd(0, EFD_CLOEXEC);  // the driver blocks on it
    uint64_t worker_cpu = 0;
    std::thread t([&] { worker_cpu = worker(how, kick, call, n); });
    const uint64_t cpu0 = now_ns(CLOCK_THREAD_CPUTIME_ID);
    const uint64_t t0 = now_ns(CLOCK_MONOTONIC);
    for (uint32_t i = 0; i < n; ++i) {
        signal(kick);
        uint64_t v;
        [[maybe_unused]] ssize_t r = ::read(call, &v, sizeof(v));
    }
    const uint64_t wall = now_ns(CLOCK_MONOTONIC) - t0;
    const uint64_t driver_cpu = now_ns(CLOCK_THREAD_CPUTIME_ID) - cpu0;
    t.join();
    ::close(kick);
    ::close(call);
    return {double(wall) / n, double(worker_cpu) / n, double(driver_cpu) / n};
}

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
    const uint32_t n = argc > 1 ? uint32_t(strtoul(argv[1], nullptr, 10)) : 20000;
    const int rounds = argc > 2 ? atoi(argv[2]) : 7;
    std::vector<double> wall[2], wcpu[2], dcpu[2];
    for (int r = 0; r < rounds; ++r) {
        for (int k = 0; k < 2; ++k) {
            const Round x = run_round(k == 0 ? Wait::kUring : Wait::kPoll, n);
            wall[k].push_back(x.wall_ns);
            wcpu[k].push_back(x.worker_cpu_ns);
            dcpu[k].push_back(x.driver_cpu_ns);
        }
    }
    printf("%d rounds of %u round trips, medians per round trip (ns)\n", rounds, n);
    printf("%-6s %10s %12s %12s %12s\n", "wait", "wall", "worker cpu", "driver cpu", "total cpu");
    const char* names[2] = {"uring", "poll"};
    for (int k = 0; k < 2; ++k)
        printf("%-6s %10.0f %12.0f %12.0f %12.0f\n", names[k], median(wall[k]), median(wcpu[k]),
               median(dcpu[k]), median(wcpu[k]) + median(dcpu[k]));
    return 0;
}
