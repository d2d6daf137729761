// vfs-growth-bench: what a backend's cost does as the guest's working set grows (issue 14,
// item 4). Per backend, in one run on the same files:
//   - the daemon's RSS (VmRSS and RssAnon of /proc/PID/status) with 1k, 100k and N
//     looked-up inodes held (LOOKUPs never forgotten), and the bytes per held inode;
//   - LOOKUP latency with 1k and with N inodes in the table: LOOKUP of a held name (the
//     table finds it) and LOOKUP+FORGET of a name not held (the table inserts, then
//     erases), at queue depth 1 and 16;
//   - READDIRPLUS entries/s listing the N-entry directory (4 KiB buffers, as Linux does);
//   - with --open-handles H: the RSS with 1k and with H files OPENed (O_RDONLY, kept open,
//     each reply checked for a new fh), and the bytes per open handle; then all RELEASEd.
// Rounds interleave the backends, so ratios within one run compare even on a busy machine.
// Every reply's inode number is checked against the disk; JSON out, like vfs-bench.
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <unordered_set>
#include <vector>

#include "backend_process.h"
#include "fuse_pipeline.h"
#include "fuse_setup_calls.h"
#include "monotonic_clock.h"
#include "vfs/wire/fuse_client.h"

using namespace vfs::bench;

namespace {

constexpr const char* kBigDir = "big";
constexpr const char* kProbeDir = "probe";
constexpr uint32_t kProbeCount = 1000;

struct Files {
    std::vector<std::string> big_names, probe_names;
    std::vector<uint64_t> big_inos, probe_inos;
};

std::string big_name(uint32_t i) {
    char b[16];
    snprintf(b, sizeof b, "g%07u", i);
    return b;
}

// Creates (or reuses, when already there) `count` empty files in root/dir.
bool make_files(const std::string& root, const char* dir, uint32_t count, const char* prefix,
                std::vector<std::string>* names, std::vector<uint64_t>* inos) {
    const std::string path = root + "/" + dir;
    if (::mkdir(path.c_str(), 0755) != 0 && errno != EEXIST) return false;
    const int dfd = ::open(path.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0) return false;
    names->reserve(count);
    inos->reserve(count);
    for (uint32_t i = 0; i < count; ++i) {
        std::string n = prefix[0] == 'g' ? big_name(i) : "p" + std::to_string(i);
        const int fd = ::openat(dfd, n.c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
        struct stat st;
        if (fd < 0 || ::fstat(fd, &st) != 0) {
            ::close(dfd);
            return false;
        }
        ::close(fd);
        names->push_back(std::move(n));
        inos->push_back(st.st_ino);
    }
    ::close(dfd);
    return true;
}

// LOOKUPs of names[from, from + ops), or of names[i % count] forever when cycling, each
// checked against the disk; FORGET after each when `forget`.
class Lookups final : public FuseWorkload {
  public:
    Lookups(uint64_t dir, const std::vector<std::string>& names, const std::vector<uint64_t>& inos,
            uint64_t from, uint64_t cycle, bool forget, uint32_t depth,
            std::vector<uint64_t>* nodeids = nullptr)
        : dir_(dir),
          names_(names),
          inos_(inos),
          next_(from),
          cycle_(cycle),
          forget_(forget),
          target_(depth),
          nodeids_(nodeids) {}

    Status setup(FusePipeline&) override { return {}; }
    Status teardown(FusePipeline&) override { return {}; }

    void begin(uint32_t slot, FuseCall* c) override {
        const uint64_t i = cycle_ ? next_++ % cycle_ : next_++;
        target_[slot] = i;
        c->opcode = FUSE_LOOKUP;
        c->nodeid = dir_;
        c->set_name(names_[i]);
    }

    Step on_reply(uint32_t slot, const FuseCall& sent, const FuseReply& r,
                  FuseCall* next) override {
        if (sent.opcode == FUSE_FORGET) return Step::kDone;
        ++verify_.ops_checked;
        if (r.error != 0) {
            verify_.fail("LOOKUP " + names_[target_[slot]] + " failed: errno " +
                         std::to_string(r.error));
            return Step::kFailed;
        }
        const auto& e = *static_cast<const fuse_entry_out*>(r.body);
        if (e.nodeid == 0 || e.attr.ino != inos_[target_[slot]]) {
            verify_.fail("LOOKUP returned another file");
            return Step::kFailed;
        }
        if (nodeids_) (*nodeids_)[target_[slot]] = e.nodeid;
        if (!forget_) return Step::kDone;
        next->opcode = FUSE_FORGET;
        next->nodeid = e.nodeid;
        next->arg.forget.nlookup = 1;
        return Step::kNext;
    }

  private:
    uint64_t dir_;
    const std::vector<std::string>& names_;
    const std::vector<uint64_t>& inos_;
    uint64_t next_;
    uint64_t cycle_;
    bool forget_;
    std::vector<uint64_t> target_;
    std::vector<uint64_t>* nodeids_;  // each name's node id, by index, when asked for
};

struct Rss {
    uint64_t vm_kib = 0, anon_kib = 0;
};

Rss read_rss(pid_t pid) {
    std::ifstream f("/proc/" + std::to_string(pid) + "/status");
    Rss r;
    std::string key;
    uint64_t v = 0;
    std::string line;
    while (std::getline(f, line)) {
        std::istringstream ls(line);
        if (!(ls >> key >> v)) continue;
        if (key == "VmRSS:") r.vm_kib = v;
        if (key == "RssAnon:") r.anon_kib = v;
    }
    return r;
}

// A stage's RSS once the allocator has settled, with its progress row on stderr
// ("  ours      1000 held: VmRSS ... KiB, RssAnon ... KiB").
Rss sample_rss(pid_t pid, const std::string& backend, uint64_t count, const char* what) {
    ::usleep(200 * 1000);
    const Rss r = read_rss(pid);
    fprintf(stderr, "  %-6s %8lu %s: VmRSS %lu KiB, RssAnon %lu KiB\n", backend.c_str(),
            static_cast<unsigned long>(count), what, static_cast<unsigned long>(r.vm_kib),
            static_cast<unsigned long>(r.anon_kib));
    return r;
}

struct Probe {
    std::string what;  // lookup_held, lookup_forget_new
    uint64_t table = 0;
    uint32_t qd = 0;
    double ops_per_s = 0, p50_us = 0, p99_us = 0;
};

struct StagePoint {
    uint64_t held = 0;
    Rss rss;
};

struct HandlePoint {
    uint64_t open = 0;
    Rss rss;
};

struct BackendRun {
    std::string backend;
    uint32_t round = 0;
    std::string error;
    Rss start;
    std::vector<StagePoint> stages;
    std::vector<Probe> probes;
    double readdir_entries_per_s = 0;
    uint64_t readdir_entries = 0;
    double hold_lookups_per_s = 0;  // the held LOOKUPs at qd 16, as they went
    Rss before_opens;               // --open-handles: all inodes held, no file open
    std::vector<HandlePoint> handle_stages;
    Rss after_release;       // every handle RELEASEd again
    double opens_per_s = 0;  // the OPENs at qd 1, as they went
};

double percentile_us(std::vector<uint64_t>& v, double q) {
    if (v.empty()) return 0;
    std::sort(v.begin(), v.end());
    return static_cast<double>(v[static_cast<size_t>(q * static_cast<double>(v.size() - 1))]) / 1e3;
}

struct Options {
    std::string backends = "ours,rust";
    uint32_t inodes = 950000;
    uint32_t small = 1000;
    uint32_t mid = 100000;
    double probe_s = 1.0;
    uint32_t rounds = 1;
    uint32_t open_handles = 0;
    uint32_t handles_from = 1000;
    bool readdir = true;
    std::string file_handles = "never";
    std::string dir;
    std::string json;
    BackendPaths paths;
};

// One LOOKUP probe at the table's present size: held names (the first kProbeCount of the
// big directory, looked up again, no FORGET) and new ones (the probe directory, LOOKUP +
// FORGET, so the table grows and shrinks by one each time).
std::string run_probes(FusePipeline& f, const Options& o, const Files& files, uint64_t big_dir,
                       uint64_t probe_dir, uint64_t table, BackendRun* out) {
    for (uint32_t qd : {1u, 16u}) {
        for (bool held : {true, false}) {
            Lookups w(held ? big_dir : probe_dir, held ? files.big_names : files.probe_names,
                      held ? files.big_inos : files.probe_inos, 0, kProbeCount, !held, qd);
            RunResult r = f.run(w, qd, o.probe_s);
            if (!r.error.empty()) return r.error;
            if (!w.verification().ok()) return w.verification().first_failure;
            Probe p;
            p.what = held ? "lookup_held" : "lookup_forget_new";
            p.table = table;
            p.qd = qd;
            p.ops_per_s = r.seconds > 0 ? static_cast<double>(r.ops) / r.seconds : 0;
            p.p50_us = percentile_us(r.latencies_ns, 0.5);
            p.p99_us = percentile_us(r.latencies_ns, 0.99);
            fprintf(stderr,
                    "  %-6s %-18s table %8lu qd%-2u %9.0f ops/s p50 %7.1f us p99 %7.1f us\n",
                    out->backend.c_str(), p.what.c_str(), static_cast<unsigned long>(table), qd,
                    p.ops_per_s, p.p50_us, p.p99_us);
            out->probes.push_back(p);
        }
    }
    return {};
}

// One whole listing of the big directory: OPENDIR, READDIRPLUS until empty, RELEASEDIR.
std::string run_readdir(FusePipeline& f, const Files& files, uint64_t big_dir, BackendRun* out) {
    auto fh = fuse_open(f, big_dir, O_RDONLY | O_DIRECTORY, true);
    if (!fh) return "OPENDIR failed";
    std::vector<bool> seen(files.big_names.size(), false);
    uint64_t offset = 0, entries = 0;
    const uint64_t start = now_ns();
    for (;;) {
        FuseCall c;
        c.opcode = FUSE_READDIRPLUS;
        c.nodeid = big_dir;
        c.arg.read.fh = *fh;
        c.arg.read.offset = offset;
        c.arg.read.size = 4096;
        c.reply_data = 4096;
        auto r = f.call(c);
        if (!r || r->error != 0) return "READDIRPLUS failed";
        if (r->data.empty()) break;
        vfs::wire::DirentReader rd(r->data.data(), r->data.size(), true);
        vfs::wire::DirEntry e;
        for (;;) {
            auto more = rd.next(&e);
            if (!more) return "malformed READDIRPLUS reply";
            if (!*more) break;
            offset = e.off;
            if (e.namelen < 2 || e.name[0] != 'g') continue;  // ".", ".."
            const uint64_t i =
                strtoull(std::string(e.name + 1, e.namelen - 1).c_str(), nullptr, 10);
            if (i >= seen.size() || seen[i] || files.big_inos[i] != e.ino)
                return "listing holds an unknown, repeated or wrong entry";
            seen[i] = true;
            ++entries;
        }
    }
    const double s = static_cast<double>(now_ns() - start) / 1e9;
    if (entries != files.big_names.size())
        return "listing had " + std::to_string(entries) + " entries";
    if (Status st = fuse_release(f, big_dir, *fh, true); !st) return "RELEASEDIR failed";
    out->readdir_entries = entries;
    out->readdir_entries_per_s = static_cast<double>(entries) / s;
    fprintf(stderr, "  %-6s readdirplus %lu entries: %.0f entries/s\n", out->backend.c_str(),
            static_cast<unsigned long>(entries), out->readdir_entries_per_s);
    return {};
}

// --open-handles: OPENs (O_RDONLY) the first o.open_handles held files one at a time and
// keeps them open, reading the RSS with o.handles_from and with all of them open; then
// RELEASEs them all. Every OPEN must return a new fh, every RELEASE must succeed: an error
// fails the run instead of being measured.
std::string run_open_handles(FusePipeline& f, const Options& o, pid_t pid,
                             const std::vector<uint64_t>& nodeids, BackendRun* out) {
    std::vector<uint64_t> fhs;
    fhs.reserve(o.open_handles);
    std::unordered_set<uint64_t> seen;
    seen.reserve(o.open_handles);
    ::usleep(200 * 1000);
    out->before_opens = read_rss(pid);
    double open_s = 0;
    for (uint32_t i = 0; i < o.open_handles; ++i) {
        const uint64_t start = now_ns();
        auto fh = fuse_open(f, nodeids[i], O_RDONLY);
        open_s += static_cast<double>(now_ns() - start) / 1e9;
        if (!fh)
            return "OPEN of " + big_name(i) + " with " + std::to_string(i) +
                   " files open failed: errno " + std::to_string(fh.error()) + " (" +
                   strerror(fh.error()) + ")";
        if (!seen.insert(*fh).second)
            return "OPEN of " + big_name(i) + " returned fh " + std::to_string(*fh) +
                   ", already open";
        fhs.push_back(*fh);
        const uint64_t open = i + 1;
        if (open == o.handles_from || open == o.open_handles) {
            out->handle_stages.push_back({open, sample_rss(pid, out->backend, open, "open")});
        }
    }
    out->opens_per_s = open_s > 0 ? static_cast<double>(o.open_handles) / open_s : 0;
    for (uint32_t i = 0; i < o.open_handles; ++i) {
        if (Status st = fuse_release(f, nodeids[i], fhs[i]); !st)
            return "RELEASE of " + big_name(i) + " failed: errno " + std::to_string(st.error());
    }
    ::usleep(200 * 1000);
    out->after_release = read_rss(pid);
    fprintf(stderr, "  %-6s all released: VmRSS %lu KiB, RssAnon %lu KiB (%.0f OPENs/s qd 1)\n",
            out->backend.c_str(), static_cast<unsigned long>(out->after_release.vm_kib),
            static_cast<unsigned long>(out->after_release.anon_kib), out->opens_per_s);
    return {};
}

std::string run_backend(const Options& o, const BackendConfig& b, const Files& files,
                        const std::string& share, const std::string& workdir, BackendRun* out) {
    BackendProcess proc;
    const std::string socket = workdir + "/" + b.name + ".sock";
    if (std::string err = proc.start(b, o.paths, socket, share, workdir + "/" + b.name + ".log");
        !err.empty())
        return err;
    PipelineOptions po;
    po.max_depth = 16;
    po.max_reply_data = 4096;
    po.scratch_bytes = 1 << 20;
    auto p = FusePipeline::connect(socket, po);
    if (!p) return std::string("vhost-user set-up failed: ") + strerror(p.error());
    FusePipeline& f = **p;
    if (Status s = f.init(); !s) return std::string("FUSE_INIT failed: ") + strerror(s.error());
    auto big = fuse_lookup(f, FUSE_ROOT_ID, kBigDir);
    auto probe = fuse_lookup(f, FUSE_ROOT_ID, kProbeDir);
    if (!big || !probe) return "LOOKUP of the directories failed";
    out->start = read_rss(proc.pid());

    uint64_t held = 0;
    double hold_s = 0;
    std::vector<uint64_t> nodeids(o.open_handles ? files.big_names.size() : 0);
    for (uint64_t stage : {uint64_t{o.small}, uint64_t{o.mid}, uint64_t{o.inodes}}) {
        if (stage <= held) continue;
        Lookups w(big->nodeid, files.big_names, files.big_inos, held, 0, false, 16,
                  o.open_handles ? &nodeids : nullptr);
        RunResult r = f.run(w, 16, 1e9, stage - held);
        if (!r.error.empty()) return r.error + "\n" + proc.log_tail();
        if (!w.verification().ok() || r.ops != stage - held)
            return "holding lookups: " + w.verification().first_failure + "\n" + proc.log_tail();
        hold_s += r.seconds;
        held = stage;
        out->stages.push_back({held, sample_rss(proc.pid(), b.name, held, "held")});
        if (stage == o.small || stage == o.inodes) {
            // The table holds `held` inodes of the big directory, the two directories and
            // the root.
            if (std::string err = run_probes(f, o, files, big->nodeid, probe->nodeid, held, out);
                !err.empty())
                return err + "\n" + proc.log_tail();
        }
    }
    out->hold_lookups_per_s = hold_s > 0 ? static_cast<double>(held) / hold_s : 0;
    if (o.open_handles) {
        if (std::string err = run_open_handles(f, o, proc.pid(), nodeids, out); !err.empty())
            return err + "\n" + proc.log_tail();
    }
    if (o.readdir) {
        if (std::string err = run_readdir(f, files, big->nodeid, out); !err.empty())
            return err + "\n" + proc.log_tail();
    }
    p->reset();
    proc.stop();
    return {};
}

double per_inode_bytes(const BackendRun& r, uint64_t upto, bool anon) {
    const StagePoint *lo = nullptr, *hi = nullptr;
    for (const StagePoint& s : r.stages) {
        if (!lo) lo = &s;
        if (s.held == upto) hi = &s;
    }
    if (!lo || !hi || hi->held <= lo->held) return 0;
    const double d = anon ? double(hi->rss.anon_kib) - double(lo->rss.anon_kib)
                          : double(hi->rss.vm_kib) - double(lo->rss.vm_kib);
    return d * 1024.0 / static_cast<double>(hi->held - lo->held);
}

// (RSS with all o.open_handles open - RSS with o.handles_from open) per handle added.
double per_handle_bytes(const BackendRun& r, bool anon) {
    if (r.handle_stages.size() != 2) return 0;
    const HandlePoint &lo = r.handle_stages[0], &hi = r.handle_stages[1];
    if (hi.open <= lo.open) return 0;
    const double d = anon ? double(hi.rss.anon_kib) - double(lo.rss.anon_kib)
                          : double(hi.rss.vm_kib) - double(lo.rss.vm_kib);
    return d * 1024.0 / static_cast<double>(hi.open - lo.open);
}

std::string json_escaped(const std::string& in) {
    std::string out;
    for (const char ch : in) {
        if (ch == '"' || ch == '\\') {
            out += '\\';
            out += ch;
        } else if (static_cast<unsigned char>(ch) < 0x20) {
            out += ' ';
        } else {
            out += ch;
        }
    }
    return out;
}

void write_json(const Options& o, const std::vector<BackendRun>& runs, FILE* out) {
    fprintf(out,
            "{\n  \"tool\": \"vfs-growth-bench\",\n  \"inodes\": %u,\n  \"small\": %u,\n"
            "  \"mid\": %u,\n  \"probe_seconds\": %.3f,\n  \"inode_file_handles\": \"%s\",\n  "
            "\"open_handles\": %u,\n  \"handles_from\": %u,\n  \"runs\": [\n",
            o.inodes, o.small, o.mid, o.probe_s, o.file_handles.c_str(), o.open_handles,
            o.handles_from);
    for (size_t i = 0; i < runs.size(); ++i) {
        const BackendRun& r = runs[i];
        fprintf(out, "    {\"backend\": \"%s\", \"round\": %u, \"error\": \"%s\",\n",
                r.backend.c_str(), r.round, json_escaped(r.error).c_str());
        fprintf(out, "     \"rss_start_kib\": %lu, \"stages\": [",
                static_cast<unsigned long>(r.start.vm_kib));
        for (size_t s = 0; s < r.stages.size(); ++s)
            fprintf(out, "%s{\"held\": %lu, \"vm_rss_kib\": %lu, \"rss_anon_kib\": %lu}",
                    s ? ", " : "", static_cast<unsigned long>(r.stages[s].held),
                    static_cast<unsigned long>(r.stages[s].rss.vm_kib),
                    static_cast<unsigned long>(r.stages[s].rss.anon_kib));
        fprintf(out,
                "],\n     \"rss_bytes_per_inode_mid\": %.1f, \"rss_bytes_per_inode_all\": %.1f,\n",
                per_inode_bytes(r, o.mid, false), per_inode_bytes(r, o.inodes, false));
        fprintf(out, "     \"hold_lookups_per_s_qd16\": %.0f,\n", r.hold_lookups_per_s);
        fprintf(out,
                "     \"rss_before_opens_kib\": {\"vm\": %lu, \"anon\": %lu}, "
                "\"handle_stages\": [",
                static_cast<unsigned long>(r.before_opens.vm_kib),
                static_cast<unsigned long>(r.before_opens.anon_kib));
        for (size_t s = 0; s < r.handle_stages.size(); ++s)
            fprintf(out, "%s{\"open\": %lu, \"vm_rss_kib\": %lu, \"rss_anon_kib\": %lu}",
                    s ? ", " : "", static_cast<unsigned long>(r.handle_stages[s].open),
                    static_cast<unsigned long>(r.handle_stages[s].rss.vm_kib),
                    static_cast<unsigned long>(r.handle_stages[s].rss.anon_kib));
        fprintf(out,
                "],\n     \"rss_after_release_kib\": {\"vm\": %lu, \"anon\": %lu}, "
                "\"rss_bytes_per_handle\": %.1f, \"rss_anon_bytes_per_handle\": %.1f, "
                "\"opens_per_s_qd1\": %.0f,\n     \"probes\": [",
                static_cast<unsigned long>(r.after_release.vm_kib),
                static_cast<unsigned long>(r.after_release.anon_kib), per_handle_bytes(r, false),
                per_handle_bytes(r, true), r.opens_per_s);
        for (size_t p = 0; p < r.probes.size(); ++p) {
            const Probe& q = r.probes[p];
            fprintf(
                out,
                "%s\n       {\"what\": \"%s\", \"table\": %lu, \"qd\": %u, \"ops_per_s\": %.0f, "
                "\"p50_us\": %.2f, \"p99_us\": %.2f}",
                p ? "," : "", q.what.c_str(), static_cast<unsigned long>(q.table), q.qd,
                q.ops_per_s, q.p50_us, q.p99_us);
        }
        fprintf(out,
                "],\n     \"readdirplus_entries\": %lu, \"readdirplus_entries_per_s\": %.0f}%s\n",
                static_cast<unsigned long>(r.readdir_entries), r.readdir_entries_per_s,
                i + 1 < runs.size() ? "," : "");
    }
    fprintf(out, "  ]\n}\n");
}

void print_summary(const Options& o, const std::vector<BackendRun>& runs) {
    printf("\n%-6s %5s %14s %14s %12s %12s\n", "backend", "round", "B/inode@mid", "B/inode@all",
           "anon@mid", "readdir e/s");
    for (const BackendRun& r : runs) {
        if (!r.error.empty()) {
            printf("%-6s %5u FAILED\n", r.backend.c_str(), r.round);
            continue;
        }
        printf("%-6s %5u %14.0f %14.0f %12.0f %12.0f\n", r.backend.c_str(), r.round,
               per_inode_bytes(r, o.mid, false), per_inode_bytes(r, o.inodes, false),
               per_inode_bytes(r, o.mid, true), r.readdir_entries_per_s);
        if (!r.handle_stages.empty())
            printf("       open handles %u -> %u: %.0f B/handle VmRSS, %.0f B/handle RssAnon\n",
                   o.handles_from, o.open_handles, per_handle_bytes(r, false),
                   per_handle_bytes(r, true));
        for (const Probe& p : r.probes)
            printf("       %-18s table %8lu qd%-2u p50 %7.1f us  %9.0f ops/s\n", p.what.c_str(),
                   static_cast<unsigned long>(p.table), p.qd, p.p50_us, p.ops_per_s);
    }
}

}  // namespace

int main(int argc, char** argv) {
    Options o;
    o.paths.ours = VFS_DAEMON_PATH;
    o.paths.peers_script = VFS_PEERS_SCRIPT;
    CLI::App app{
        "How a vhost-user-fs backend's memory and LOOKUP/READDIRPLUS costs grow with "
        "the inodes a guest holds (no VM; see docs/benchmarks.md)"};
    app.add_option("--backends", o.backends, "Comma-separated: ours, rust")->capture_default_str();
    app.add_option("--inodes", o.inodes,
                   "Files in the big directory, all held at the end (with O_PATH fds the "
                   "daemons' open-file limit bounds it)")
        ->capture_default_str();
    app.add_option("--small", o.small, "Held inodes of the first probe")->capture_default_str();
    app.add_option("--mid", o.mid, "Held inodes of the middle RSS point")->capture_default_str();
    app.add_option("--probe-seconds", o.probe_s, "Seconds per latency probe")
        ->capture_default_str();
    app.add_option("--rounds", o.rounds, "Rounds; each runs every backend in turn")
        ->capture_default_str();
    app.add_option("--inode-file-handles", o.file_handles,
                   "Given to both daemons: never (O_PATH fds; the open-file limit then bounds "
                   "--inodes) or mandatory (file handles; needs CAP_DAC_READ_SEARCH)")
        ->check(CLI::IsMember({"never", "mandatory"}))
        ->capture_default_str();
    app.add_option("--open-handles", o.open_handles,
                   "After the LOOKUPs, OPEN this many of the held files (O_RDONLY, kept open) "
                   "and read the RSS per open handle; 0: skip. Each open file is a host fd in "
                   "both daemons: with O_PATH inodes keep --inodes + this under the open-file "
                   "limit")
        ->capture_default_str();
    app.add_option("--handles-from", o.handles_from,
                   "Open handles at the low RSS point of the per-handle figure")
        ->capture_default_str();
    app.add_flag("!--no-readdir", o.readdir, "Skip the READDIRPLUS listing");
    app.add_option("--dir", o.dir,
                   "Work directory (tmpfs advised: N files are made there); default a fresh one "
                   "under /dev/shm, removed at the end");
    app.add_option("--json", o.json, "Write the results as JSON to this file");
    app.add_option("--ours-path", o.paths.ours, "virtiofsd-cxx binary")->capture_default_str();
    app.add_option("--rust-path", o.paths.rust, "Rust virtiofsd");
    CLI11_PARSE(app, argc, argv);
    if (o.small == 0 || o.small > o.mid || o.mid > o.inodes || o.small < kProbeCount) {
        fprintf(stderr, "vfs-growth-bench: need %u <= --small <= --mid <= --inodes\n", kProbeCount);
        return 2;
    }
    if (o.open_handles &&
        (o.handles_from == 0 || o.handles_from >= o.open_handles || o.open_handles > o.inodes)) {
        fprintf(stderr, "vfs-growth-bench: need 0 < --handles-from < --open-handles <= --inodes\n");
        return 2;
    }

    std::vector<BackendConfig> backends;
    std::stringstream ss(o.backends);
    for (std::string item; std::getline(ss, item, ',');) {
        BackendConfig c;
        if (!parse_backend(item, &c) ||
            (c.kind != BackendKind::kOurs && c.kind != BackendKind::kRust)) {
            fprintf(stderr, "vfs-growth-bench: backend must be ours or rust: %s\n", item.c_str());
            return 2;
        }
        c.cache = "auto";
        // With fds, the open-file limit bounds the held inodes (RLIMIT_NOFILE's hard limit:
        // both daemons raise the soft one to it); file handles hold none.
        c.extra_args.push_back("--inode-file-handles=" + o.file_handles);
        backends.push_back(c);
    }

    const bool temp_dir = o.dir.empty();
    if (temp_dir) {
        char tmpl[] = "/dev/shm/vfs-growth-XXXXXX";
        if (!::mkdtemp(tmpl)) {
            perror("vfs-growth-bench: mkdtemp");
            return 1;
        }
        o.dir = tmpl;
    } else if (::mkdir(o.dir.c_str(), 0755) != 0 && errno != EEXIST) {
        perror("vfs-growth-bench: --dir");
        return 1;
    }
    const std::string share = o.dir + "/share";
    ::mkdir(share.c_str(), 0755);
    fprintf(stderr, "vfs-growth-bench: making %u files in %s\n", o.inodes, share.c_str());
    Files files;
    if (!make_files(share, kBigDir, o.inodes, "g", &files.big_names, &files.big_inos) ||
        !make_files(share, kProbeDir, kProbeCount, "p", &files.probe_names, &files.probe_inos)) {
        perror("vfs-growth-bench: making the files");
        return 1;
    }

    std::vector<BackendRun> runs;
    bool failed = false;
    for (uint32_t round = 1; round <= o.rounds; ++round) {
        for (const BackendConfig& b : backends) {
            fprintf(stderr, "== %s, round %u\n", b.name.c_str(), round);
            BackendRun r;
            r.backend = b.name;
            r.round = round;
            r.error = run_backend(o, b, files, share, o.dir, &r);
            if (!r.error.empty()) {
                fprintf(stderr, "  %s FAILED: %s\n", b.name.c_str(), r.error.c_str());
                failed = true;
            }
            runs.push_back(std::move(r));
        }
    }
    print_summary(o, runs);
    if (!o.json.empty()) {
        FILE* j = fopen(o.json.c_str(), "w");
        if (!j) {
            perror("vfs-growth-bench: --json");
            return 1;
        }
        write_json(o, runs, j);
        fclose(j);
    }
    if (temp_dir) {
        std::error_code ec;
        std::filesystem::remove_all(o.dir, ec);
    }
    return failed ? 1 : 0;
}
