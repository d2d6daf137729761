// vfs-bigread-bench: random 4 KiB reads over a file 4x larger than the reader's page-cache
// share (issue 14, item 4, last row). The machine's RAM is far bigger than its free disk,
// so the share is made small instead: each reader (a daemon, or the native pread
// reference) runs in a fresh cgroup v1 memory cgroup with memory.limit_in_bytes =
// --memory-limit. Page cache is charged to the cgroup of the task that reads it in and a
// cgroup at its limit reclaims its own pages, so at most the limit's worth of the file is
// ever cached for that reader: uniform random reads over a file 4x the limit miss at
// least 3 times in 4.
//
// Per round, per backend: the machine's page cache is dropped (so no page of the file is
// cached and charged elsewhere, where it would be a hit), a cgroup is made, the daemon is
// started inside it (or a child that does the preads), and each queue depth runs in turn.
// Printed and in the JSON, per cell: MiB/s, IOPS, latency, the reader's device reads
// (/proc/PID/io read_bytes) per byte asked for, the cgroup's page cache and the reader's
// RSS. The cgroup is removed afterwards, checked; if it cannot be made the run fails.
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "backend_process.h"
#include "content_pattern.h"
#include "fuse_pipeline.h"
#include "fuse_setup_calls.h"
#include "memory_cgroup.h"
#include "monotonic_clock.h"

using namespace vfs::bench;

namespace {

constexpr const char* kBigFile = "big.dat";
constexpr uint64_t kSeed = 0xb16f11e5eedull;  // fixed: a kept --dir's file is reused
constexpr uint32_t kBlock = 4096;
constexpr uint64_t kFullCheckEvery = 8;

struct Options {
    std::string backends = "ours,rust,native";
    uint32_t limit_mib = 1024;
    uint32_t file_mib = 0;  // 0: 4 x limit_mib
    std::string depths = "1,16";
    double duration_s = 10;
    uint32_t rounds = 3;
    std::string dir;
    std::string cgroup_parent;
    std::string cache = "never";
    std::string json;
    BackendPaths paths;
    std::vector<uint32_t> qds;
    uint64_t file_bytes() const { return uint64_t{file_mib} << 20; }
};

// One (backend, round, qd) measurement. Plain data: the native child sends it through a
// pipe as bytes.
struct Cell {
    char backend[16] = {};
    uint32_t round = 0, qd = 0;
    uint64_t ops = 0;
    double seconds = 0, p50_us = 0, p99_us = 0;
    uint64_t device_read_bytes = 0;  // the reader's /proc/PID/io read_bytes during the cell
    uint64_t cg_cache_bytes = 0;     // memory.stat "cache" after the cell
    uint64_t cg_rss_bytes = 0;       // memory.stat "rss" after the cell
    uint64_t cg_max_usage_bytes = 0;
    uint64_t cg_failcnt = 0;      // times the cgroup hit its limit (reclaim ran)
    uint64_t reader_rss_kib = 0;  // VmRSS of the daemon (or the native child)
    uint64_t checked = 0, failures = 0;
    char error[512] = {};

    double iops() const { return seconds > 0 ? static_cast<double>(ops) / seconds : 0; }
    double mib_s() const { return iops() * kBlock / (1 << 20); }
    // Device bytes read per byte asked for: ~1 - hit ratio when no readahead is added.
    double device_per_requested() const {
        return ops ? static_cast<double>(device_read_bytes) / (static_cast<double>(ops) * kBlock)
                   : 0;
    }
    void set_error(const std::string& e) { snprintf(error, sizeof error, "%s", e.c_str()); }
};

uint64_t xorshift(uint64_t* s) {
    uint64_t x = *s;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return *s = x;
}

uint64_t stream_seed(uint32_t round, uint32_t stream) {
    return 0x9e3779b97f4a7c15ull * (stream + 1) + 0x632be59bd9b4e019ull * round;
}

// Checks one 4 KiB read: length and the block's first pattern word always, every byte one
// read in kFullCheckEvery.
bool check_block(const uint8_t* data, uint64_t len, uint64_t off, uint64_t index, uint8_t* expect,
                 uint64_t* checked, std::string* why) {
    ++*checked;
    if (len != kBlock) {
        *why = "short read: " + std::to_string(len) + " bytes at " + std::to_string(off);
        return false;
    }
    if (!block_stamps_match(data, kSeed, off, kBlock)) {
        *why = "wrong data at offset " + std::to_string(off);
        return false;
    }
    if (index % kFullCheckEvery == 0) {
        fill_pattern(expect, kSeed, off, kBlock);
        if (memcmp(data, expect, kBlock) != 0) {
            *why = "wrong data inside the block at " + std::to_string(off);
            return false;
        }
    }
    return true;
}

uint64_t proc_io_read_bytes(pid_t pid) {
    std::ifstream f("/proc/" + std::to_string(pid) + "/io");
    std::string key;
    uint64_t v = 0;
    while (f >> key >> v)
        if (key == "read_bytes:") return v;
    return 0;
}

uint64_t vm_rss_kib(pid_t pid) {
    std::ifstream f("/proc/" + std::to_string(pid) + "/status");
    for (std::string line; std::getline(f, line);)
        if (line.rfind("VmRSS:", 0) == 0) return strtoull(line.c_str() + 6, nullptr, 10);
    return 0;
}

// Whether pid's memory cgroup is the one at path (its /proc/PID/cgroup line ends so).
bool in_cgroup(pid_t pid, const std::string& path) {
    std::ifstream f("/proc/" + std::to_string(pid) + "/cgroup");
    const std::string leaf = path.substr(path.rfind('/'));
    for (std::string line; std::getline(f, line);)
        if (line.find(":memory:") != std::string::npos)
            return line.size() >= leaf.size() &&
                   line.compare(line.size() - leaf.size(), leaf.size(), leaf) == 0;
    return false;
}

void fill_cgroup_figures(const MemoryCgroup& cg, Cell* c) {
    auto st = cg.stat();
    c->cg_cache_bytes = st["cache"];
    c->cg_rss_bytes = st["rss"];
    c->cg_max_usage_bytes = cg.read_number("memory.max_usage_in_bytes");
    c->cg_failcnt = cg.read_number("memory.failcnt");
}

double percentile_us(std::vector<uint64_t>& v, double q) {
    if (v.empty()) return 0;
    std::sort(v.begin(), v.end());
    return static_cast<double>(v[static_cast<size_t>(q * static_cast<double>(v.size() - 1))]) / 1e3;
}

// Makes (or, if it is already there with the right size and content, reuses) the file.
std::string prepare_file(const std::string& path, uint64_t bytes) {
    struct stat st;
    if (::stat(path.c_str(), &st) == 0 && static_cast<uint64_t>(st.st_size) == bytes) {
        const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
        std::vector<uint8_t> got(kBlock), want(kBlock);
        bool same = fd >= 0;
        uint64_t rng = 1;
        for (int i = 0; same && i < 64; ++i) {
            const uint64_t off = (xorshift(&rng) % (bytes / kBlock)) * kBlock;
            fill_pattern(want.data(), kSeed, off, kBlock);
            same =
                ::pread(fd, got.data(), kBlock, static_cast<off_t>(off)) == kBlock && got == want;
        }
        if (fd >= 0) ::close(fd);
        if (same) {
            fprintf(stderr, "vfs-bigread-bench: reusing %s\n", path.c_str());
            return {};
        }
    }
    fprintf(stderr, "vfs-bigread-bench: writing %lu MiB to %s\n",
            static_cast<unsigned long>(bytes >> 20), path.c_str());
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) return "cannot create " + path + ": " + strerror(errno);
    constexpr uint64_t kChunk = 1 << 20;
    std::vector<uint8_t> buf(kChunk);
    const uint64_t start = now_ns();
    for (uint64_t off = 0; off < bytes; off += kChunk) {
        const uint64_t n = std::min(kChunk, bytes - off);
        fill_pattern(buf.data(), kSeed, off, n);
        if (::pwrite(fd, buf.data(), n, static_cast<off_t>(off)) != static_cast<ssize_t>(n)) {
            const std::string why = strerror(errno);
            ::close(fd);
            return "writing " + path + " failed: " + why;
        }
    }
    const bool synced = ::fdatasync(fd) == 0;
    ::close(fd);
    if (!synced) return "fdatasync of " + path + " failed";
    fprintf(stderr, "vfs-bigread-bench: wrote it at %.0f MiB/s\n",
            static_cast<double>(bytes >> 20) / (static_cast<double>(now_ns() - start) / 1e9));
    return {};
}

// Random 4 KiB FUSE READs of the big file, each slot its own random stream.
class BigRead final : public FuseWorkload {
  public:
    BigRead(uint64_t nodeid, uint64_t fh, uint64_t file_bytes, uint32_t depth, uint32_t round)
        : node_(nodeid), fh_(fh), blocks_(file_bytes / kBlock), rng_(depth), off_(depth) {
        for (uint32_t i = 0; i < depth; ++i)
            rng_[i] = stream_seed(round, i);
    }
    Status setup(FusePipeline&) override { return {}; }
    Status teardown(FusePipeline&) override { return {}; }

    void begin(uint32_t slot, FuseCall* c) override {
        off_[slot] = (xorshift(&rng_[slot]) % blocks_) * kBlock;
        c->opcode = FUSE_READ;
        c->nodeid = node_;
        c->arg.read.fh = fh_;
        c->arg.read.offset = off_[slot];
        c->arg.read.size = kBlock;
        c->arg.read.flags = O_RDONLY;
        c->reply_data = kBlock;
    }

    Step on_reply(uint32_t slot, const FuseCall&, const FuseReply& r, FuseCall*) override {
        std::string why;
        if (r.error != 0) {
            verify_.fail("READ failed: errno " + std::to_string(r.error));
            return Step::kFailed;
        }
        if (!check_block(r.data, r.data_len, off_[slot], ops_++, expect_, &verify_.ops_checked,
                         &why)) {
            verify_.fail(why);
            return Step::kFailed;
        }
        return Step::kDone;
    }

  private:
    uint64_t node_, fh_, blocks_;
    std::vector<uint64_t> rng_, off_;
    uint64_t ops_ = 0;
    alignas(8) uint8_t expect_[kBlock];
};

// ours, rust or qemu-c in the cgroup: every queue depth in turn on one daemon.
std::string run_daemon(const Options& o, BackendConfig b, MemoryCgroup& cg, uint32_t round,
                       const std::string& share, std::vector<Cell>* out) {
    BackendProcess proc;
    const std::string socket = o.dir + "/" + b.name + ".sock";
    b.join_cgroup_procs = cg.procs_file();
    if (std::string err = proc.start(b, o.paths, socket, share, o.dir + "/" + b.name + ".log");
        !err.empty())
        return err;
    if (!in_cgroup(proc.pid(), cg.path())) return "the daemon is not in " + cg.path();
    PipelineOptions po;
    po.max_depth = *std::max_element(o.qds.begin(), o.qds.end());
    po.max_reply_data = kBlock;
    po.scratch_bytes = 1 << 16;
    auto p = FusePipeline::connect(socket, po);
    if (!p) return std::string("vhost-user set-up failed: ") + strerror(p.error());
    FusePipeline& f = **p;
    if (Status s = f.init(); !s) return std::string("FUSE_INIT failed: ") + strerror(s.error());
    auto e = fuse_lookup(f, FUSE_ROOT_ID, kBigFile);
    if (!e) return "LOOKUP of the big file failed";
    if (e->attr.size != o.file_bytes()) return "the big file has the wrong size";
    auto fh = fuse_open(f, e->nodeid, O_RDONLY);
    if (!fh) return "OPEN of the big file failed";
    for (uint32_t qd : o.qds) {
        BigRead w(e->nodeid, *fh, o.file_bytes(), qd, round);
        Cell c;
        snprintf(c.backend, sizeof c.backend, "%s", b.name.c_str());
        c.round = round;
        c.qd = qd;
        const uint64_t io0 = proc_io_read_bytes(proc.pid());
        RunResult r = f.run(w, qd, o.duration_s);
        c.device_read_bytes = proc_io_read_bytes(proc.pid()) - io0;
        c.ops = r.ops;
        c.seconds = r.seconds;
        c.p50_us = percentile_us(r.latencies_ns, 0.5);
        c.p99_us = percentile_us(r.latencies_ns, 0.99);
        c.checked = w.verification().ops_checked;
        c.failures = w.verification().failures;
        c.reader_rss_kib = vm_rss_kib(proc.pid());
        fill_cgroup_figures(cg, &c);
        if (!r.error.empty())
            c.set_error(r.error + "\n" + proc.log_tail());
        else if (!w.verification().ok())
            c.set_error(w.verification().first_failure);
        out->push_back(c);
        if (c.error[0]) return c.error;
    }
    if (Status s = fuse_release(f, e->nodeid, *fh); !s) return "RELEASE failed";
    p->reset();
    proc.stop();
    return {};
}

// In the native child: `qd` threads of pread, each its own random stream.
Cell native_cell(const Options& o, int fd, uint32_t qd, uint32_t round, const MemoryCgroup& cg) {
    Cell c;
    snprintf(c.backend, sizeof c.backend, "native");
    c.round = round;
    c.qd = qd;
    struct PerThread {
        std::vector<uint64_t> lat;
        uint64_t checked = 0, last = 0;
        std::string failure;
    };
    std::vector<PerThread> per(qd);
    const uint64_t io0 = proc_io_read_bytes(::getpid());
    const uint64_t start = now_ns();
    const uint64_t deadline = start + static_cast<uint64_t>(o.duration_s * 1e9);
    const uint64_t blocks = o.file_bytes() / kBlock;
    std::vector<std::thread> pool;
    for (uint32_t t = 0; t < qd; ++t) {
        pool.emplace_back([&, t] {
            PerThread& me = per[t];
            me.lat.reserve(1 << 18);
            uint64_t rng = stream_seed(round, t);
            alignas(8) uint8_t buf[kBlock], expect[kBlock];
            for (uint64_t i = 0;; ++i) {
                const uint64_t t0 = now_ns();
                if (t0 >= deadline) break;
                const uint64_t off = (xorshift(&rng) % blocks) * kBlock;
                const ssize_t n = ::pread(fd, buf, kBlock, static_cast<off_t>(off));
                if (!check_block(buf, n < 0 ? 0 : static_cast<uint64_t>(n), off, i, expect,
                                 &me.checked, &me.failure))
                    break;
                me.last = now_ns();
                me.lat.push_back(me.last - t0);
            }
        });
    }
    for (auto& th : pool)
        th.join();
    c.device_read_bytes = proc_io_read_bytes(::getpid()) - io0;
    std::vector<uint64_t> all;
    uint64_t last = start;
    for (PerThread& p : per) {
        all.insert(all.end(), p.lat.begin(), p.lat.end());
        c.checked += p.checked;
        if (!p.failure.empty()) {
            ++c.failures;
            if (!c.error[0]) c.set_error(p.failure);
        }
        last = std::max(last, p.last);
    }
    c.ops = all.size();
    c.seconds = static_cast<double>(last - start) / 1e9;
    c.p50_us = percentile_us(all, 0.5);
    c.p99_us = percentile_us(all, 0.99);
    c.reader_rss_kib = vm_rss_kib(::getpid());
    fill_cgroup_figures(cg, &c);
    return c;
}

// The native reference in a child that joins the cgroup, so its page cache is limited
// alike; cells come back through a pipe.
std::string run_native(const Options& o, MemoryCgroup& cg, uint32_t round, const std::string& share,
                       std::vector<Cell>* out) {
    int pipefd[2];
    if (::pipe2(pipefd, O_CLOEXEC) != 0) return "pipe failed";
    const pid_t pid = ::fork();
    if (pid < 0) return "fork failed";
    if (pid == 0) {
        ::close(pipefd[0]);
        Cell fail;
        snprintf(fail.backend, sizeof fail.backend, "native");
        if (!join_cgroup(cg.procs_file())) {
            fail.set_error("cannot join " + cg.path() + ": " + strerror(errno));
            (void)!::write(pipefd[1], &fail, sizeof fail);
            ::_exit(1);
        }
        const int fd = ::open((share + "/" + kBigFile).c_str(), O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
            fail.set_error(std::string("open failed: ") + strerror(errno));
            (void)!::write(pipefd[1], &fail, sizeof fail);
            ::_exit(1);
        }
        for (uint32_t qd : o.qds) {
            const Cell c = native_cell(o, fd, qd, round, cg);
            if (::write(pipefd[1], &c, sizeof c) != sizeof c) ::_exit(1);
        }
        ::_exit(0);
    }
    ::close(pipefd[1]);
    std::string err;  // the child checks its own join and reports a failure in its cell
    for (;;) {
        Cell c;
        size_t got = 0;
        while (got < sizeof c) {
            const ssize_t n = ::read(pipefd[0], reinterpret_cast<char*>(&c) + got, sizeof c - got);
            if (n <= 0) break;
            got += static_cast<size_t>(n);
        }
        if (got == 0) break;
        if (got != sizeof c) {
            err = "the native child's report was cut short";
            break;
        }
        c.round = round;
        out->push_back(c);
        if (c.error[0]) err = c.error;
    }
    ::close(pipefd[0]);
    int status = 0;
    ::waitpid(pid, &status, 0);
    if (err.empty() && !(WIFEXITED(status) && WEXITSTATUS(status) == 0))
        err = "the native child failed";
    return err;
}

double median(std::vector<double> v) {
    if (v.empty()) return 0;
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
}

struct Summary {
    double mib_s = 0, iops = 0, p50 = 0, p99 = 0, dev = 0, rss_kib = 0, cache_mib = 0;
    bool any = false;
};

Summary summarise(const std::vector<Cell>& cells, const std::string& backend, uint32_t qd) {
    std::vector<double> mib, iops, p50, p99, dev, rss, cache;
    for (const Cell& c : cells) {
        if (backend != c.backend || c.qd != qd || c.error[0]) continue;
        mib.push_back(c.mib_s());
        iops.push_back(c.iops());
        p50.push_back(c.p50_us);
        p99.push_back(c.p99_us);
        dev.push_back(c.device_per_requested());
        rss.push_back(static_cast<double>(c.reader_rss_kib));
        cache.push_back(static_cast<double>(c.cg_cache_bytes) / (1 << 20));
    }
    Summary s;
    s.any = !mib.empty();
    s.mib_s = median(mib);
    s.iops = median(iops);
    s.p50 = median(p50);
    s.p99 = median(p99);
    s.dev = median(dev);
    s.rss_kib = median(rss);
    s.cache_mib = median(cache);
    return s;
}

void print_summary(const Options& o, const std::vector<std::string>& names,
                   const std::vector<Cell>& cells) {
    printf(
        "\nrandom 4 KiB reads, %u MiB file, %u MiB memory cgroup per reader, medians of %u "
        "rounds\n",
        o.file_mib, o.limit_mib, o.rounds);
    printf("%-7s %3s %9s %9s %8s %8s %8s %9s %9s %8s %8s\n", "backend", "qd", "MiB/s", "IOPS",
           "p50 us", "p99 us", "dev/req", "cache MiB", "RSS MiB", "ours/x", "");
    for (uint32_t qd : o.qds) {
        const Summary ours = summarise(cells, "ours", qd);
        for (const std::string& n : names) {
            const Summary s = summarise(cells, n, qd);
            if (!s.any) continue;
            printf("%-7s %3u %9.1f %9.0f %8.1f %8.1f %8.2f %9.0f %9.1f", n.c_str(), qd, s.mib_s,
                   s.iops, s.p50, s.p99, s.dev, s.cache_mib, s.rss_kib / 1024);
            if (ours.any && n != "ours" && s.iops > 0) printf(" %8.2f", ours.iops / s.iops);
            printf("\n");
        }
    }
}

void write_json(const Options& o, const std::vector<Cell>& cells, FILE* out) {
    fprintf(out,
            "{\n  \"tool\": \"vfs-bigread-bench\",\n  \"memory_limit_mib\": %u,\n  "
            "\"file_mib\": %u,\n  \"block_bytes\": %u,\n  \"duration_s\": %.3f,\n  "
            "\"rounds\": %u,\n  \"cache\": \"%s\",\n  \"cells\": [\n",
            o.limit_mib, o.file_mib, kBlock, o.duration_s, o.rounds, o.cache.c_str());
    for (size_t i = 0; i < cells.size(); ++i) {
        const Cell& c = cells[i];
        std::string err;
        for (const char ch : std::string(c.error))
            err += ch == '"' || ch == '\\'                 ? std::string("\\") + ch
                   : static_cast<unsigned char>(ch) < 0x20 ? std::string(" ")
                                                           : std::string(1, ch);
        fprintf(out,
                "    {\"backend\": \"%s\", \"round\": %u, \"qd\": %u, \"ops\": %lu, "
                "\"seconds\": %.4f, \"mib_s\": %.2f, \"iops\": %.1f, \"p50_us\": %.2f, "
                "\"p99_us\": %.2f, \"device_read_bytes\": %lu, \"device_per_requested\": %.4f, "
                "\"cgroup_cache_bytes\": %lu, \"cgroup_rss_bytes\": %lu, "
                "\"cgroup_max_usage_bytes\": %lu, \"cgroup_failcnt\": %lu, "
                "\"reader_rss_kib\": %lu, \"ops_checked\": %lu, \"failures\": %lu, "
                "\"error\": \"%s\"}%s\n",
                c.backend, c.round, c.qd, static_cast<unsigned long>(c.ops), c.seconds, c.mib_s(),
                c.iops(), c.p50_us, c.p99_us, static_cast<unsigned long>(c.device_read_bytes),
                c.device_per_requested(), static_cast<unsigned long>(c.cg_cache_bytes),
                static_cast<unsigned long>(c.cg_rss_bytes),
                static_cast<unsigned long>(c.cg_max_usage_bytes),
                static_cast<unsigned long>(c.cg_failcnt),
                static_cast<unsigned long>(c.reader_rss_kib), static_cast<unsigned long>(c.checked),
                static_cast<unsigned long>(c.failures), err.c_str(),
                i + 1 < cells.size() ? "," : "");
    }
    fprintf(out, "  ]\n}\n");
}

}  // namespace

int main(int argc, char** argv) {
    Options o;
    o.paths.ours = VFS_DAEMON_PATH;
    o.paths.peers_script = VFS_PEERS_SCRIPT;
    CLI::App app{
        "Random 4 KiB reads over a file larger than each reader's page-cache share, the share "
        "set by a cgroup v1 memory limit (no VM; see docs/benchmarks.md). Needs root: it "
        "drops the machine's page cache before each reader"};
    app.add_option("--backends", o.backends, "Comma-separated: ours, rust, qemu-c, native")
        ->capture_default_str();
    app.add_option("--memory-limit", o.limit_mib, "Each reader's memory cgroup limit, MiB")
        ->check(CLI::Range(16u, 1u << 20))
        ->capture_default_str();
    app.add_option("--file-mib", o.file_mib, "Size of the file read, MiB (default 4 x the limit)");
    app.add_option("--qd", o.depths, "Comma-separated queue depths (1..64)")->capture_default_str();
    app.add_option("--duration", o.duration_s, "Seconds per cell")->capture_default_str();
    app.add_option("--rounds", o.rounds, "Rounds; each runs every backend in turn")
        ->check(CLI::Range(1u, 100u))
        ->capture_default_str();
    app.add_option("--dir", o.dir,
                   "Work directory on a disk file system, kept (its file is reused); default a "
                   "fresh one under /var/tmp, removed at the end");
    app.add_option("--cgroup-parent", o.cgroup_parent,
                   "Memory cgroup directory to make the readers' cgroups in (default: this "
                   "process's own)");
    app.add_option("--cache", o.cache, "Cache mode given to every daemon")
        ->check(CLI::IsMember({"auto", "always", "never", "metadata"}))
        ->capture_default_str();
    app.add_option("--json", o.json, "Write the results as JSON to this file");
    app.add_option("--ours-path", o.paths.ours, "virtiofsd-cxx binary")->capture_default_str();
    app.add_option("--rust-path", o.paths.rust, "Rust virtiofsd");
    app.add_option("--qemu-c-path", o.paths.qemu_c, "QEMU's C virtiofsd")->capture_default_str();
    CLI11_PARSE(app, argc, argv);
    if (o.file_mib == 0) o.file_mib = 4 * o.limit_mib;
    if (o.duration_s <= 0) {
        fprintf(stderr, "vfs-bigread-bench: --duration must be positive\n");
        return 2;
    }
    {
        std::stringstream ss(o.depths);
        for (std::string d; std::getline(ss, d, ',');) {
            char* end = nullptr;
            const unsigned long v = strtoul(d.c_str(), &end, 10);
            if (d.empty() || *end != '\0' || v < 1 || v > 64) {
                fprintf(stderr, "vfs-bigread-bench: queue depth must be 1..64: %s\n", d.c_str());
                return 2;
            }
            o.qds.push_back(static_cast<uint32_t>(v));
        }
    }
    std::vector<BackendConfig> backends;
    std::vector<std::string> names;
    {
        std::stringstream ss(o.backends);
        for (std::string item; std::getline(ss, item, ',');) {
            BackendConfig c;
            if (!parse_backend(item, &c)) {
                fprintf(stderr, "vfs-bigread-bench: unknown backend: %s\n", item.c_str());
                return 2;
            }
            c.cache = o.cache;
            backends.push_back(c);
            names.push_back(c.name);
        }
    }
    if (backends.empty() || o.qds.empty()) {
        fprintf(stderr, "vfs-bigread-bench: nothing to run\n");
        return 2;
    }
    if (o.cgroup_parent.empty()) {
        std::string why;
        o.cgroup_parent = MemoryCgroup::own_directory(&why);
        if (o.cgroup_parent.empty()) {
            fprintf(stderr, "vfs-bigread-bench: %s\n", why.c_str());
            return 1;
        }
    }

    const bool temp_dir = o.dir.empty();
    if (temp_dir) {
        char tmpl[] = "/var/tmp/vfs-bigread-XXXXXX";
        if (!::mkdtemp(tmpl)) {
            perror("vfs-bigread-bench: mkdtemp");
            return 1;
        }
        o.dir = tmpl;
    } else if (::mkdir(o.dir.c_str(), 0755) != 0 && errno != EEXIST) {
        perror("vfs-bigread-bench: --dir");
        return 1;
    }
    auto cleanup = [&] {
        if (!temp_dir) return;
        std::error_code ec;
        std::filesystem::remove_all(o.dir, ec);
    };
    const std::string share = o.dir + "/share";
    ::mkdir(share.c_str(), 0755);
    if (std::string err = prepare_file(share + "/" + kBigFile, o.file_bytes()); !err.empty()) {
        fprintf(stderr, "vfs-bigread-bench: %s\n", err.c_str());
        cleanup();
        return 1;
    }

    std::vector<Cell> cells;
    bool failed = false;
    for (uint32_t round = 1; round <= o.rounds && !failed; ++round) {
        for (const BackendConfig& b : backends) {
            fprintf(stderr, "== %s, round %u\n", b.name.c_str(), round);
            if (std::string err = drop_page_cache(); !err.empty()) {
                fprintf(stderr, "vfs-bigread-bench: %s\n", err.c_str());
                failed = true;
                break;
            }
            MemoryCgroup cg;
            const std::string cg_name = "vfs-bigread-" + std::to_string(::getpid()) + "-" + b.name +
                                        "-" + std::to_string(round);
            if (std::string err = cg.create(o.cgroup_parent, cg_name, uint64_t{o.limit_mib} << 20);
                !err.empty()) {
                fprintf(stderr, "vfs-bigread-bench: %s\n", err.c_str());
                failed = true;
                break;
            }
            const size_t first = cells.size();
            const std::string err = b.kind == BackendKind::kNative
                                        ? run_native(o, cg, round, share, &cells)
                                        : run_daemon(o, b, cg, round, share, &cells);
            for (size_t i = first; i < cells.size(); ++i) {
                const Cell& c = cells[i];
                fprintf(stderr,
                        "  %-6s qd%-2u %8.1f MiB/s %8.0f IOPS p50 %7.1f us  device/requested "
                        "%.2f  cgroup cache %lu MiB (max usage %lu MiB)  RSS %lu KiB\n",
                        c.backend, c.qd, c.mib_s(), c.iops(), c.p50_us, c.device_per_requested(),
                        static_cast<unsigned long>(c.cg_cache_bytes >> 20),
                        static_cast<unsigned long>(c.cg_max_usage_bytes >> 20),
                        static_cast<unsigned long>(c.reader_rss_kib));
            }
            if (!err.empty()) {
                fprintf(stderr, "  %s FAILED: %s\n", b.name.c_str(), err.c_str());
                if (cells.size() == first) {
                    Cell c;
                    snprintf(c.backend, sizeof c.backend, "%s", b.name.c_str());
                    c.round = round;
                    c.set_error(err);
                    cells.push_back(c);
                }
                failed = true;
            }
            if (std::string rm = cg.remove(); !rm.empty()) {
                fprintf(stderr, "vfs-bigread-bench: %s\n", rm.c_str());
                failed = true;
            }
        }
    }
    print_summary(o, names, cells);
    if (!o.json.empty()) {
        FILE* j = fopen(o.json.c_str(), "w");
        if (!j) {
            perror("vfs-bigread-bench: --json");
            cleanup();
            return 1;
        }
        write_json(o, cells, j);
        fclose(j);
    }
    cleanup();
    return failed ? 1 : 0;
}
