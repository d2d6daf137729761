#include "bench_runner.h"

#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <memory>
#include <optional>

#include "fuse_pipeline.h"
#include "instruction_counter.h"
#include "native_runner.h"

namespace vfs::bench {

namespace {

constexpr uint32_t kMaxDepth = 64;

void print_progress(const CellResult& c) {
    if (!c.ran) {
        fprintf(stderr, "  %-8s %-16s qd%-3u  not run: %s\n", c.backend.c_str(), c.workload.c_str(),
                c.qd, c.error.c_str());
        return;
    }
    fprintf(stderr,
            "  %-8s %-16s qd%-3u  %10.0f ops/s %9.1f MiB/s  p50 %8.1f us  p99 %8.1f us  cpu "
            "%.1f+%.1f us/op  %s%s\n",
            c.backend.c_str(), c.workload.c_str(), c.qd, c.ops_per_s, c.mib_per_s, c.p50_us,
            c.p99_us, c.daemon_cpu_us_per_op, c.client_cpu_us_per_op,
            c.good() ? "verified" : "NOT VERIFIED: ",
            c.good() ? "" : (c.error.empty() ? c.verify.first_failure : c.error).c_str());
}

CellResult blank_cell(const BackendConfig& b, const WorkloadSpec& w, uint32_t qd) {
    CellResult c;
    c.backend = b.name;
    c.workload = w.name;
    c.qd = qd;
    return c;
}

// A seed no earlier run used, so files left behind never pass for this run's data.
uint64_t fresh_seed() {
    timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    return uint64_t(t.tv_sec) * 1000003ull ^ uint64_t(t.tv_nsec);
}

class DaemonSession {
  public:
    DaemonSession(const BenchOptions& o, const BackendConfig& b, const ShareLayout& share,
                  const std::string& workdir, const InstructionCounter* counter)
        : o_(o), b_(b), share_(share), workdir_(workdir), counter_(counter) {}

    // Starts (or restarts) the daemon and connects; an empty string on success.
    std::string open() {
        pipe_.reset();
        proc_.stop();
        const std::string socket = workdir_ + "/" + b_.name + ".sock";
        std::string err = proc_.start(b_, o_.paths, socket, share_.root,
                                      workdir_ + "/" + b_.name + ".log", counter_);
        if (!err.empty()) return err;
        PipelineOptions po;
        po.request_queues = b_.request_queues;
        po.max_depth = kMaxDepth;
        po.max_reply_data = 1u << 20;
        po.client_poll = o_.client_poll;
        auto p = FusePipeline::connect(socket, po);
        if (!p) return std::string("vhost-user set-up failed: ") + strerror(p.error());
        if (Status s = (*p)->init(); !s)
            return std::string("FUSE_INIT failed: ") + strerror(s.error());
        pipe_ = std::move(*p);
        return {};
    }

    FusePipeline* pipe() { return pipe_.get(); }
    pid_t pid() const { return proc_.pid(); }
    std::string log_tail() const { return proc_.log_tail(); }

    void close() {
        pipe_.reset();
        proc_.stop();
    }

  private:
    const BenchOptions& o_;
    const BackendConfig& b_;
    const ShareLayout& share_;
    std::string workdir_;
    const InstructionCounter* counter_;
    BackendProcess proc_;
    std::unique_ptr<FusePipeline> pipe_;
};

// Where --instructions counts a cell: the daemon's pid and the counter.
// CPU seconds a process has used (user + system, all threads); -1 if unreadable.
double process_cpu_s(pid_t pid) {
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/stat", static_cast<int>(pid));
    FILE* f = fopen(path, "r");
    if (!f) return -1;
    char buf[1024];
    const size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = 0;
    const char* p = strrchr(buf, ')');  // the name may hold spaces
    unsigned long utime = 0, stime = 0;
    if (!p ||
        sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &utime, &stime) != 2)
        return -1;
    return double(utime + stime) / double(sysconf(_SC_CLK_TCK));
}

double self_cpu_s() {
    rusage u{};
    getrusage(RUSAGE_SELF, &u);
    return double(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
           double(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

struct CountedDaemon {
    const InstructionCounter* counter = nullptr;
    pid_t pid = -1;
};

void run_fuse_cell(FusePipeline& f, const BenchOptions& o, const WorkloadSpec& w,
                   const CellContext& ctx, const CountedDaemon& daemon, CellResult* c) {
    if (w.block_bytes > 0 && w.reply_bytes == 0 && f.max_write() < w.block_bytes) {
        c->error = "backend's max_write " + std::to_string(f.max_write()) + " < block size";
        return;
    }
    auto wl = make_fuse_workload(w, ctx);
    if (Status s = wl->setup(f); !s) {
        c->error = std::string("set-up failed: ") + strerror(s.error());
        return;
    }
    if (daemon.counter) {
        if (std::string err = daemon.counter->zero(daemon.pid); !err.empty()) {
            c->error = err;
            return;
        }
    }
    const double daemon_cpu0 = process_cpu_s(daemon.pid), client_cpu0 = self_cpu_s();
    RunResult r = f.run(*wl, ctx.depth, o.duration_s);
    const double daemon_cpu1 = process_cpu_s(daemon.pid), client_cpu1 = self_cpu_s();
    c->ran = true;
    if (r.ops > 0 && daemon_cpu0 >= 0 && daemon_cpu1 >= 0) {
        c->daemon_cpu_us_per_op = (daemon_cpu1 - daemon_cpu0) * 1e6 / double(r.ops);
        c->client_cpu_us_per_op = (client_cpu1 - client_cpu0) * 1e6 / double(r.ops);
    }
    if (daemon.counter && r.error.empty()) {
        InstructionCounts n;
        if (std::string err = daemon.counter->dump(daemon.pid, c->backend, &n); !err.empty()) {
            c->error = err;
        } else if (r.ops > 0) {
            c->counted = true;
            c->instructions_per_op = n.instructions / static_cast<double>(r.ops);
            c->syscalls_per_op = n.syscalls / static_cast<double>(r.ops);
        }
    }
    if (r.error.empty()) {
        if (Status s = wl->teardown(f); !s)
            c->error = std::string("teardown failed: ") + strerror(s.error());
    }
    summarize(r, w.block_bytes, c);
    c->verify = wl->verification();
}

void run_native_cell(const BenchOptions& o, const WorkloadSpec& w, CellContext ctx, CellResult* c) {
    ctx.depth = native_threads(c->qd);
    c->queues_or_threads = ctx.depth;
    auto wl = make_native_workload(w, ctx);
    if (Status s = wl->setup(); !s) {
        c->error = std::string("set-up failed: ") + strerror(s.error());
        return;
    }
    const uint32_t scratch = w.reply_bytes > (64u << 10) ? w.reply_bytes : (64u << 10);
    RunResult r = run_native(*wl, ctx.depth, o.duration_s, scratch, c->verify);
    c->ran = true;
    if (Status s = wl->teardown(c->verify); !s)
        c->error = std::string("teardown failed: ") + strerror(s.error());
    summarize(r, w.block_bytes, c);
}

}  // namespace

std::vector<CellResult> run_matrix(const BenchOptions& o, const ShareLayout& share,
                                   const std::string& workdir) {
    std::vector<CellResult> cells;
    uint64_t seed = fresh_seed();
    std::optional<InstructionCounter> counter;
    if (o.instructions) counter.emplace(o.valgrind, o.callgrind_control, workdir);
    for (const BackendConfig& b : o.backends) {
        fprintf(stderr, "== %s\n", b.name.c_str());
        DaemonSession session(o, b, share, workdir, counter ? &*counter : nullptr);
        std::string down;  // why this backend cannot run, if it cannot
        if (b.kind != BackendKind::kNative) down = session.open();
        if (!down.empty()) {
            fprintf(stderr, "\n*** %s IS NOT AVAILABLE: %s ***\n\n", b.name.c_str(), down.c_str());
        }
        for (const WorkloadSpec* w : o.workloads) {
            for (uint32_t qd : o.depths) {
                CellResult c = blank_cell(b, *w, qd);
                CellContext ctx;
                ctx.share = &share;
                ctx.backend = b.name;
                ctx.depth = qd;
                ctx.seed = ++seed;
                ctx.verify_all = o.verify_all;
                if (!down.empty()) {
                    c.error = down;
                } else if (b.kind == BackendKind::kNative) {
                    run_native_cell(o, *w, ctx, &c);
                } else {
                    c.queues_or_threads = qd < b.request_queues ? qd : b.request_queues;
                    run_fuse_cell(*session.pipe(), o, *w, ctx,
                                  {counter ? &*counter : nullptr, session.pid()}, &c);
                    if (!c.error.empty()) {
                        // The session may hold requests the backend never answered: start over.
                        c.error += "\n" + session.log_tail();
                        down = session.open();
                    }
                }
                print_progress(c);
                cells.push_back(std::move(c));
            }
        }
        session.close();
    }
    return cells;
}

}  // namespace vfs::bench
