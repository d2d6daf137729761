#include "bench_options.h"

#include <CLI/CLI.hpp>

#include <sstream>

namespace vfs::bench {

namespace {

std::vector<std::string> split_commas(const std::string& s) {
    std::vector<std::string> out;
    std::stringstream ss(s);
    std::string item;
    while (std::getline(ss, item, ','))
        if (!item.empty()) out.push_back(item);
    return out;
}

std::string workload_names() {
    std::string s;
    for (const WorkloadSpec& w : all_workloads())
        s += (s.empty() ? "" : ",") + std::string(w.name);
    return s;
}

}  // namespace

bool parse_options(int argc, char** argv, BenchOptions* o, int* exit_code) {
    CLI::App app{
        "Benchmarks vhost-user-fs backends side by side through the in-process frontend (no VM), "
        "plus a native-syscall reference, on the same files. Prints a table with ratios against "
        "ours and writes JSON."};
    std::string backends = "ours,rust,qemu-c,native";
    std::string workloads = workload_names();
    std::string depths = "1,16,64";
    app.add_option("--backends", backends, "Comma-separated: ours, rust, qemu-c, native")
        ->capture_default_str();
    app.add_option("--workloads", workloads, "Comma-separated workloads")->capture_default_str();
    app.add_option("--qd", depths, "Comma-separated queue depths (requests in flight, 1..64)")
        ->capture_default_str();
    app.add_option("--duration", o->duration_s, "Seconds per cell")->capture_default_str();
    app.add_option("--dir", o->dir,
                   "Work directory (the shared directory goes in DIR/share); default: a fresh "
                   "temporary directory, removed at the end");
    app.add_option("--cache", o->cache, "Cache mode given to every backend")
        ->check(CLI::IsMember({"auto", "always", "never", "metadata"}))
        ->capture_default_str();
    app.add_option("--json", o->json_path, "Write the results as JSON to this file");
    app.add_option("--markdown", o->markdown_path, "Write the tables as Markdown to this file");
    app.add_option("--request-queues", o->ours_request_queues,
                   "Request queues used with ours (Rust and C virtiofsd serve one; so does "
                   "Linux's virtio-fs driver). More queues mean more worker threads, which on "
                   "two cores shared with the client costs more than it gives")
        ->check(CLI::Range(1, 16))
        ->capture_default_str();
    app.add_flag("--client-poll", o->client_poll,
                 "Wait for replies by spinning on the used rings with interrupts off, as the "
                 "unikernel guest does, instead of sleeping on the call eventfds (the default, "
                 "as a Linux guest's vCPU halts)");
    app.add_flag("--verify-all", o->verify_all,
                 "Compare every byte of every read (default: every block's first word, and every "
                 "byte of one read in 8)");
    app.add_flag("--instructions", o->instructions,
                 "Run each daemon under Valgrind's callgrind and report the daemon's user-space "
                 "instructions and system calls per operation of each cell (stable where "
                 "wall-clock rates are not; the rates printed are then meaningless)");
    app.add_option("--valgrind", o->valgrind, "valgrind binary for --instructions")
        ->capture_default_str();
    app.add_option("--callgrind-control", o->callgrind_control,
                   "callgrind_control script for --instructions")
        ->capture_default_str();
    app.add_option("--ours-path", o->paths.ours, "virtiofsd-cxx binary")->capture_default_str();
    app.add_option("--rust-path", o->paths.rust,
                   "Rust virtiofsd (default: what the peers script prints)");
    app.add_option("--qemu-c-path", o->paths.qemu_c, "QEMU's C virtiofsd")->capture_default_str();
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        *exit_code = app.exit(e);
        return false;
    }

    auto bad = [&](const std::string& why) {
        fprintf(stderr, "vfs-bench: %s\n", why.c_str());
        *exit_code = 2;
        return false;
    };
    for (const std::string& b : split_commas(backends)) {
        BackendConfig c;
        if (!parse_backend(b, &c)) return bad("unknown backend: " + b);
        c.cache = o->cache;
        c.request_queues = c.kind == BackendKind::kOurs ? o->ours_request_queues : 1;
        o->backends.push_back(c);
    }
    for (const std::string& w : split_commas(workloads)) {
        const WorkloadSpec* s = find_workload(w);
        if (!s) return bad("unknown workload: " + w + " (known: " + workload_names() + ")");
        o->workloads.push_back(s);
    }
    for (const std::string& d : split_commas(depths)) {
        char* end = nullptr;
        const unsigned long v = strtoul(d.c_str(), &end, 10);
        if (*end != '\0' || v < 1 || v > 64) return bad("queue depth must be 1..64: " + d);
        o->depths.push_back(static_cast<uint32_t>(v));
    }
    if (o->backends.empty() || o->workloads.empty() || o->depths.empty())
        return bad("nothing to run");
    if (o->duration_s <= 0) return bad("--duration must be positive");
    return true;
}

}  // namespace vfs::bench
