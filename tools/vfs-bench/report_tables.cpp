// The side-by-side tables. Data workloads show MiB/s, metadata ones ops/s; every backend
// but ours also shows ours / it, so "1.50" reads "ours is 1.5x that backend" (for native,
// the share of the syscall reference we reach).
#include <algorithm>
#include <map>

#include "report.h"

namespace vfs::bench {

namespace {

using Grid = std::vector<std::vector<std::string>>;

std::string fmt(const char* f, double v) {
    char buf[64];
    snprintf(buf, sizeof(buf), f, v);
    return buf;
}

// 1234567 -> "1.23M", 45200 -> "45.2k": rates span six orders of magnitude.
std::string rate(double v) {
    if (v >= 1e6) return fmt("%.2fM", v / 1e6);
    if (v >= 1e4) return fmt("%.1fk", v / 1e3);
    return fmt("%.0f", v);
}

const CellResult* find(const std::vector<CellResult>& cells, const std::string& b,
                       const std::string& w, uint32_t qd) {
    for (const CellResult& c : cells)
        if (c.backend == b && c.workload == w && c.qd == qd) return &c;
    return nullptr;
}

double headline(const CellResult& c, const WorkloadSpec& w) {
    return w.block_bytes > 0 ? c.mib_per_s : c.ops_per_s;
}

std::string why_not(const CellResult* c) {
    if (!c) return "-";
    if (!c->ran) return "n/a";
    return "FAILED";
}

Grid throughput_grid(const std::vector<CellResult>& cells, const BenchOptions& o) {
    Grid g;
    std::vector<std::string> head = {"workload", "unit", "qd"};
    for (const BackendConfig& b : o.backends) {
        head.push_back(b.name);
        if (b.kind != BackendKind::kOurs) head.push_back("ours/" + b.name);
    }
    g.push_back(head);
    for (const WorkloadSpec* w : o.workloads) {
        for (uint32_t qd : o.depths) {
            std::vector<std::string> row = {w->name, w->block_bytes > 0 ? "MiB/s" : "ops/s",
                                            std::to_string(qd)};
            const CellResult* ours = find(cells, "ours", w->name, qd);
            for (const BackendConfig& b : o.backends) {
                const CellResult* c = find(cells, b.name, w->name, qd);
                const bool good = c && c->good();
                row.push_back(good ? rate(headline(*c, *w)) : why_not(c));
                if (b.kind == BackendKind::kOurs) continue;
                if (good && ours && ours->good() && headline(*c, *w) > 0) {
                    row.push_back(fmt("%.2f", headline(*ours, *w) / headline(*c, *w)));
                } else {
                    row.push_back("-");
                }
            }
            g.push_back(row);
        }
    }
    return g;
}

Grid latency_grid(const std::vector<CellResult>& cells, const BenchOptions& o) {
    Grid g;
    std::vector<std::string> head = {"workload", "qd"};
    for (const BackendConfig& b : o.backends)
        head.push_back(b.name + " p50/p99 us");
    g.push_back(head);
    for (const WorkloadSpec* w : o.workloads) {
        for (uint32_t qd : o.depths) {
            std::vector<std::string> row = {w->name, std::to_string(qd)};
            for (const BackendConfig& b : o.backends) {
                const CellResult* c = find(cells, b.name, w->name, qd);
                const bool good = c && c->good();
                row.push_back(good ? fmt("%.1f", c->p50_us) + " / " + fmt("%.1f", c->p99_us)
                                   : why_not(c));
            }
            g.push_back(row);
        }
    }
    return g;
}

// --instructions: the daemon's user-space instructions (and system calls) per operation;
// "ours/X" below 1 means ours spends fewer.
Grid instructions_grid(const std::vector<CellResult>& cells, const BenchOptions& o) {
    Grid g;
    std::vector<std::string> head = {"workload", "qd"};
    for (const BackendConfig& b : o.backends) {
        if (b.kind == BackendKind::kNative) continue;
        head.push_back(b.name + " instr (syscalls)");
        if (b.kind != BackendKind::kOurs) head.push_back("ours/" + b.name);
    }
    g.push_back(head);
    for (const WorkloadSpec* w : o.workloads) {
        for (uint32_t qd : o.depths) {
            std::vector<std::string> row = {w->name, std::to_string(qd)};
            const CellResult* ours = find(cells, "ours", w->name, qd);
            for (const BackendConfig& b : o.backends) {
                if (b.kind == BackendKind::kNative) continue;
                const CellResult* c = find(cells, b.name, w->name, qd);
                const bool counted = c && c->good() && c->counted;
                row.push_back(counted ? fmt("%.0f", c->instructions_per_op) + " (" +
                                            fmt("%.1f", c->syscalls_per_op) + ")"
                                      : why_not(c));
                if (b.kind == BackendKind::kOurs) continue;
                if (counted && ours && ours->counted && c->instructions_per_op > 0) {
                    row.push_back(fmt("%.2f", ours->instructions_per_op / c->instructions_per_op));
                } else {
                    row.push_back("-");
                }
            }
            g.push_back(row);
        }
    }
    return g;
}

void render(const Grid& g, TableStyle style, FILE* out) {
    std::vector<size_t> width(g[0].size(), 0);
    for (const auto& row : g)
        for (size_t i = 0; i < row.size(); ++i)
            width[i] = std::max(width[i], row[i].size());
    for (size_t r = 0; r < g.size(); ++r) {
        std::string line = style == TableStyle::kMarkdown ? "|" : "";
        for (size_t i = 0; i < g[r].size(); ++i) {
            const std::string& cell = g[r][i];
            const std::string pad(width[i] - cell.size(), ' ');
            // Names left, numbers right.
            const std::string text = i == 0 ? cell + pad : pad + cell;
            line += style == TableStyle::kMarkdown ? " " + text + " |" : text + "  ";
        }
        fprintf(out, "%s\n", line.c_str());
        if (r == 0 && style == TableStyle::kMarkdown) {
            std::string sep = "|";
            for (size_t i = 0; i < width.size(); ++i)
                sep += (i == 0 ? " :" : " ") + std::string(width[i] - 1, '-') +
                       (i == 0 ? " |" : ": |");
            fprintf(out, "%s\n", sep.c_str());
        }
    }
}

}  // namespace

void print_tables(const std::vector<CellResult>& cells, const BenchOptions& o, TableStyle style,
                  FILE* out) {
    const char* h = style == TableStyle::kMarkdown ? "### " : "";
    fprintf(out, "%sThroughput (ours/X = ours divided by X)\n\n", h);
    render(throughput_grid(cells, o), style, out);
    fprintf(out, "\n%sLatency per operation, p50 / p99 in microseconds\n\n", h);
    render(latency_grid(cells, o), style, out);
    if (o.instructions) {
        fprintf(out,
                "\n%sDaemon instructions per operation, user space, all threads (system calls "
                "per operation), callgrind\n\n",
                h);
        render(instructions_grid(cells, o), style, out);
    }
    std::string failures;
    for (const CellResult& c : cells) {
        if (c.good() || !c.ran) continue;
        failures += "  " + c.backend + " " + c.workload + " qd" + std::to_string(c.qd) + ": " +
                    (c.error.empty() ? c.verify.first_failure : c.error) + "\n";
    }
    if (!failures.empty()) fprintf(out, "\nFailed or unverified cells:\n%s", failures.c_str());
}

}  // namespace vfs::bench
