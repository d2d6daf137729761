// JSON output, written by hand: flat, and small enough not to need a library.
#include <sys/utsname.h>

#include <fstream>
#include <thread>

#include "report.h"

namespace vfs::bench {

namespace {

std::string quoted(const std::string& s) {
    std::string out = "\"";
    for (unsigned char ch : s) {
        switch (ch) {
            case '"':
                out += "\\\"";
                break;
            case '\\':
                out += "\\\\";
                break;
            case '\n':
                out += "\\n";
                break;
            default:
                if (ch < 0x20) {
                    char buf[8];
                    snprintf(buf, sizeof(buf), "\\u%04x", ch);
                    out += buf;
                } else {
                    out += static_cast<char>(ch);
                }
        }
    }
    return out + "\"";
}

std::string num(double v) {
    char buf[64];
    snprintf(buf, sizeof(buf), "%.6g", v);
    return buf;
}

}  // namespace

bool write_json(const std::vector<CellResult>& cells, const BenchOptions& o,
                const std::string& path) {
    std::ofstream f(path);
    if (!f) return false;
    utsname u{};
    ::uname(&u);
    f << "{\n  \"tool\": \"vfs-bench\",\n  \"format\": 1,\n";
    f << "  \"machine\": {\"cpus\": " << std::thread::hardware_concurrency()
      << ", \"kernel\": " << quoted(u.release) << "},\n";
    f << "  \"options\": {\"cache\": " << quoted(o.cache)
      << ", \"duration_s\": " << num(o.duration_s)
      << ", \"ours_request_queues\": " << o.ours_request_queues
      << ", \"verify_all\": " << (o.verify_all ? "true" : "false")
      << ", \"instructions\": " << (o.instructions ? "\"callgrind\"" : "null") << "},\n";
    f << "  \"cells\": [";
    for (size_t i = 0; i < cells.size(); ++i) {
        const CellResult& c = cells[i];
        f << (i ? ",\n" : "\n") << "    {\"backend\": " << quoted(c.backend)
          << ", \"workload\": " << quoted(c.workload) << ", \"qd\": " << c.qd
          << ", \"queues_or_threads\": " << c.queues_or_threads
          << ", \"ran\": " << (c.ran ? "true" : "false") << ", \"ops\": " << c.ops
          << ", \"seconds\": " << num(c.seconds) << ", \"ops_per_s\": " << num(c.ops_per_s)
          << ", \"mib_per_s\": " << num(c.mib_per_s) << ", \"p50_us\": " << num(c.p50_us)
          << ", \"p99_us\": " << num(c.p99_us);
        if (c.daemon_cpu_us_per_op >= 0)
            f << ", \"daemon_cpu_us_per_op\": " << num(c.daemon_cpu_us_per_op)
              << ", \"client_cpu_us_per_op\": " << num(c.client_cpu_us_per_op);
        if (c.counted)
            f << ", \"instructions_per_op\": " << num(c.instructions_per_op)
              << ", \"syscalls_per_op\": " << num(c.syscalls_per_op);
        f << ", \"verified\": {\"ok\": " << (c.verify.ok() ? "true" : "false")
          << ", \"ops_checked\": " << c.verify.ops_checked
          << ", \"bytes_checked\": " << c.verify.bytes_checked
          << ", \"failures\": " << c.verify.failures
          << ", \"first_failure\": " << quoted(c.verify.first_failure)
          << "}, \"error\": " << quoted(c.error) << "}";
    }
    f << "\n  ]\n}\n";
    return static_cast<bool>(f);
}

}  // namespace vfs::bench
