// vfs-pool-bench: what --thread-pool-size buys. One client times GETATTR and 4 KiB READs
// (page-cache hits) while another client's LOOKUPs of one name are slowed (each waits
// --delay-ms in the filesystem, as a network file system would), both on the same request
// queue, with the daemon's parts in-process over tools/slow-fs. Prints a table of median
// and p99 latency per pool size, quiet (no slow client) and slowed, and writes JSON. A
// benchmark, not a test: it asserts nothing about speed.
#include <fcntl.h>
#include <linux/fuse.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>

#include "frontend.h"
#include "raw_fuse.h"
#include "slowed_daemon.h"

namespace {

using namespace vfs::slowfs;
using vfs::frontend::Frontend;
using Clock = std::chrono::steady_clock;

constexpr uint32_t kQ = 1;
constexpr uint32_t kCap = 8192;
constexpr uint32_t kFileSize = 1u << 20;

struct Row {
    unsigned pool;
    std::string load;  // "quiet" or "slowed"
    std::string op;    // "getattr" or "read4k"
    double median_us, p99_us;
    size_t n;
    uint64_t slow_lookups;
};

double percentile(std::vector<double>& v, double p) {
    if (v.empty()) return 0;
    std::sort(v.begin(), v.end());
    const size_t i = std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())));
    return v[i];
}

bool ok(const vfs::wire::Result<std::vector<uint8_t>>& r) {
    return r && reply_header(*r).error == 0;
}

// One pool size, one load: the timed client's samples.
bool run(unsigned pool, bool slowed, unsigned iterations, unsigned delay_ms,
         std::vector<Row>* rows) {
    char tmpl[] = "/tmp/vfs-pool-bench-XXXXXX";
    if (!mkdtemp(tmpl)) return false;
    const std::string dir = tmpl, share = dir + "/share";
    std::filesystem::create_directory(share);
    std::ofstream(share + "/slow") << "s";
    std::ofstream(share + "/data") << std::string(kFileSize, 'd');
    bool good = false;
    {
        SlowedDaemonConfig c;
        c.shared_dir = share;
        c.socket_path = dir + "/vhost.sock";
        c.delay = std::chrono::milliseconds(delay_ms);
        c.thread_pool_size = pool;
        auto d = SlowedDaemon::start(c);
        if (!d) return false;
        vfs::frontend::FrontendOptions o;
        o.num_queues = 2;
        o.timeout_ms = 60000;
        auto f = Frontend::connect(c.socket_path, o);
        if (!f || !(*f)->setup() || !(*f)->fuse_init(kQ)) return false;
        Frontend& fe = **f;
        auto e = fe.request(kQ, lookup_request(fe.next_unique(), FUSE_ROOT_ID, "data"), kCap);
        if (!ok(e)) return false;
        const uint64_t node = reply_body<fuse_entry_out>(*e).nodeid;
        auto op = fe.request(kQ, open_request(fe.next_unique(), node, O_RDONLY), kCap);
        if (!ok(op)) return false;
        const uint64_t fh = reply_body<fuse_open_out>(*op).fh;
        for (uint32_t off = 0; off < kFileSize; off += 65536)  // into the page cache
            (void)fe.request(kQ, read_request(fe.next_unique(), node, fh, off, 65536), 70000);

        std::atomic<bool> stop{false};
        std::thread slow_client;
        if (slowed) {
            slow_client = std::thread([&] {
                while (!stop.load())
                    (void)fe.request(kQ, lookup_request(fe.next_unique(), FUSE_ROOT_ID, "slow"),
                                     kCap);
            });
            (*d)->fs().wait_started(1, std::chrono::seconds(10));
        }
        std::vector<double> getattr_us, read_us;
        unsigned seed = 1;
        bool all_ok = true;
        for (unsigned i = 0; i < iterations; ++i) {
            auto t0 = Clock::now();
            all_ok &= ok(fe.request(kQ, getattr_request(fe.next_unique(), node), kCap));
            auto t1 = Clock::now();
            const uint64_t off = uint64_t{rand_r(&seed) % (kFileSize / 4096)} * 4096;
            all_ok &= ok(fe.request(kQ, read_request(fe.next_unique(), node, fh, off, 4096), kCap));
            auto t2 = Clock::now();
            getattr_us.push_back(std::chrono::duration<double, std::micro>(t1 - t0).count());
            read_us.push_back(std::chrono::duration<double, std::micro>(t2 - t1).count());
        }
        stop = true;
        if (slow_client.joinable()) slow_client.join();
        const uint64_t slow_lookups = (*d)->fs().slow_finished();
        const char* load = slowed ? "slowed" : "quiet";
        rows->push_back({pool, load, "getattr", percentile(getattr_us, 0.5),
                         percentile(getattr_us, 0.99), getattr_us.size(), slow_lookups});
        rows->push_back({pool, load, "read4k", percentile(read_us, 0.5), percentile(read_us, 0.99),
                         read_us.size(), slow_lookups});
        f->reset();
        good = all_ok;
    }
    std::filesystem::remove_all(dir);
    return good;
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"GETATTR and 4 KiB READ latency beside slowed LOOKUPs, per --thread-pool-size"};
    std::vector<unsigned> pools{0, 4};
    unsigned iterations = 500, delay_ms = 20;
    std::string json;
    app.add_option("--pools", pools, "pool sizes to compare")->delimiter(',');
    app.add_option("--iterations", iterations, "GETATTR+READ pairs per cell");
    app.add_option("--delay-ms", delay_ms, "how long each slowed LOOKUP waits");
    app.add_option("--json", json, "write the results here");
    CLI11_PARSE(app, argc, argv);
    spdlog::set_level(spdlog::level::warn);  // the in-process daemon's connection log

    std::vector<Row> rows;
    for (unsigned p : pools)
        for (bool slowed : {false, true})
            if (!run(p, slowed, iterations, delay_ms, &rows)) {
                fprintf(stderr, "pool %u %s: a request failed\n", p, slowed ? "slowed" : "quiet");
                return 1;
            }
    printf("| pool | load | op | median µs | p99 µs | samples | slow LOOKUPs done |\n");
    printf("| ---: | --- | --- | ---: | ---: | ---: | ---: |\n");
    for (const Row& r : rows)
        printf("| %u | %s | %s | %.1f | %.1f | %zu | %lu |\n", r.pool, r.load.c_str(), r.op.c_str(),
               r.median_us, r.p99_us, r.n, static_cast<unsigned long>(r.slow_lookups));
    if (!json.empty()) {
        std::ofstream out(json);
        out << "{\"benchmark\":\"vfs-pool-bench\",\"delay_ms\":" << delay_ms
            << ",\"iterations\":" << iterations << ",\"rows\":[";
        for (size_t i = 0; i < rows.size(); ++i) {
            const Row& r = rows[i];
            out << (i ? "," : "") << "{\"pool\":" << r.pool << ",\"load\":\"" << r.load
                << "\",\"op\":\"" << r.op << "\",\"median_us\":" << r.median_us
                << ",\"p99_us\":" << r.p99_us << ",\"samples\":" << r.n
                << ",\"slow_lookups\":" << r.slow_lookups << "}";
        }
        out << "]}\n";
    }
    return 0;
}
