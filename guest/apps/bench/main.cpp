// bench: the thesis's suite (sequential and random reads and writes over buffer sizes;
// create, list and remove over file counts) through the vfs API, so the same code runs
// on every backend: virtio-fs (FUSE path), 9p, and hosted. Parameters come from the
// command line (params.h); results go out as JSON lines on the console: one "meta" line
// (backend, machine, QEMU version, scaling, and the boot timeline: app start, every
// device at DRIVER_OK, share mounted, first byte of first_byte= read; 0 if none), one "rep" line
// per repetition with its raw nanoseconds, one "point" line per point (mean, min, max), and a
// closing "done" line that counts failed content checks. The app fails if any check or operation
// failed.
#include "apps/bench/backend_name.h"
#include "apps/bench/params.h"
#include "apps/bench/workloads.h"
#include "apps/common/attach.h"
#include "drivers/virtio_fs/poll_clock.h"
#include "kernel/app.h"
#include "kernel/console.h"
#include "kernel/format.h"
#include "lib/vfs/vfs.h"

namespace vfs::guest {
namespace {

using bench::Params;

struct Stats {
    uint64_t sum = 0, min = ~0ull, max = 0;
    uint32_t n = 0;
    void add(uint64_t v) {
        sum += v;
        min = v < min ? v : min;
        max = v > max ? v : max;
        ++n;
    }
};

int g_failed = 0;
int g_points = 0;
const char* g_backend = "virtio-fs";

// The clock's zero: boot.S's first instruction in the unikernel, an arbitrary point of
// the monotonic clock in the hosted build (so only its differences mean anything there).
constexpr const char* kClockOrigin = __STDC_HOSTED__ ? "monotonic" : "kernel_entry";

// Nanoseconds on the poll clock when the first byte of `path` had arrived, or 0.
uint64_t first_byte_at(const char* path, uint8_t* buf) {
    const int fd = vfs_open(path, VFS_O_RDONLY, 0);
    if (fd < 0) return 0;
    const int64_t n = vfs_read(fd, buf, 1);
    const uint64_t t = virtio_fs::poll_clock_ns();
    vfs_close(fd);
    return n == 1 ? t : 0;
}

bool over_budget(const Params& p, uint64_t start) {
    return p.budget_ms && virtio_fs::poll_clock_ns() - start > p.budget_ms * 1000000ull;
}

void point_line(const char* op, const char* key, uint64_t value, uint64_t bytes, const Stats& s,
                bool ok) {
    kprintf(
        "{\"bench\":\"point\",\"backend\":\"%s\",\"op\":\"%s\",\"%s\":%lu,\"bytes\":%lu,"
        "\"reps\":%u,\"mean_ns\":%lu,\"min_ns\":%lu,\"max_ns\":%lu,\"check\":\"%s\"}\n",
        g_backend, op, key, static_cast<unsigned long>(value), static_cast<unsigned long>(bytes),
        s.n, static_cast<unsigned long>(s.n ? s.sum / s.n : 0), static_cast<unsigned long>(s.min),
        static_cast<unsigned long>(s.max), ok ? "ok" : "FAIL");
    ++g_points;
}

void rep_line(const char* op, const char* key, uint64_t value, uint32_t rep, int64_t ns) {
    kprintf(
        "{\"bench\":\"rep\",\"backend\":\"%s\",\"op\":\"%s\",\"%s\":%lu,\"rep\":%u,"
        "\"ns\":%ld}\n",
        g_backend, op, key, static_cast<unsigned long>(value), rep, static_cast<long>(ns));
}

void run_io_point(const Params& p, bench::Io op, uint64_t size, uint8_t* buf, uint8_t* scratch) {
    uint64_t count = p.fixed_bytes ? p.fixed_bytes / p.scale / size : p.multiplier / p.scale;
    if (count == 0) count = 1;
    if (count > 0xffffffffull) count = 0xffffffffull;  // Shuffle's bound
    char path[256];
    format_to(path, sizeof(path), "%s/bench-%lu.dat", p.mount, static_cast<unsigned long>(size));
    Stats s;
    bool ok = true;
    for (uint32_t r = 0; r < p.reps; ++r) {
        const bench::DaxPrep prep = p.dax == Params::Dax::kMapped ? bench::DaxPrep::kMapAll
                                    : p.dax == Params::Dax::kLazy ? bench::DaxPrep::kEmptyWindow
                                    : p.dax == Params::Dax::kGrow ? bench::DaxPrep::kGrowFile
                                                                  : bench::DaxPrep::kNone;
        const int64_t ns = bench::run_io(op, path, buf, scratch, size, count, &ok, prep);
        rep_line(bench::io_name(op), "buffer", size, r, ns);
        if (ns < 0) {
            ok = false;
            break;
        }
        s.add(static_cast<uint64_t>(ns));
    }
    if (!ok) ++g_failed;
    point_line(bench::io_name(op), "buffer", size, size * count, s, ok);
}

void run_file_point(const Params& p, uint64_t files) {
    char dir[256];
    format_to(dir, sizeof(dir), "%s/bench-files", p.mount);
    Stats s[3];
    bool ok[3] = {true, true, true};
    for (uint32_t r = 0; r < p.file_reps; ++r) {
        if (int m = vfs_mkdir(dir, 0755); m < 0) {
            kprintf("bench: mkdir %s: error %d\n", dir, -m);
            ok[0] = false;
            break;
        }
        for (int k = 0; k < 3; ++k) {
            const auto op = static_cast<bench::FileOp>(k);
            const int64_t ns = bench::run_file_op(op, dir, files, &ok[k]);
            rep_line(bench::file_op_name(op), "files", files, r, ns);
            if (ns < 0)
                ok[k] = false;
            else
                s[k].add(static_cast<uint64_t>(ns));
        }
        vfs_rmdir(dir);
        if (!ok[0] || !ok[1] || !ok[2]) break;
    }
    for (int k = 0; k < 3; ++k) {
        if (!ok[k]) ++g_failed;
        point_line(bench::file_op_name(static_cast<bench::FileOp>(k)), "files", files, 0, s[k],
                   ok[k]);
    }
}

// getattr=N (params.h): reps runs of N fstat calls, each waiting for its reply.
void run_getattr_point(const Params& p) {
    char path[256];
    format_to(path, sizeof(path), "%s/%s", p.mount, p.first_byte);
    Stats s;
    bool ok = true;
    const int fd = vfs_open(path, VFS_O_RDONLY, 0);
    if (fd < 0) {
        kprintf("bench: getattr: open %s: error %d\n", path, -fd);
        ok = false;
    }
    for (uint32_t r = 0; ok && r < p.reps; ++r) {
        const uint64_t t0 = virtio_fs::poll_clock_ns();
        for (uint64_t i = 0; i < p.getattrs && ok; ++i) {
            struct vfs_stat st;
            ok = vfs_fstat(fd, &st) == 0;
        }
        const int64_t ns = ok ? static_cast<int64_t>(virtio_fs::poll_clock_ns() - t0) : -1;
        rep_line("getattr", "calls", p.getattrs, r, ns);
        if (ok) s.add(static_cast<uint64_t>(ns));
    }
    if (fd >= 0) vfs_close(fd);
    if (!ok) ++g_failed;
    point_line("getattr", "calls", p.getattrs, 0, s, ok);
}

}  // namespace

int app_main(int argc, char** argv) {
    const uint64_t start = virtio_fs::poll_clock_ns();
    const Params p = bench::parse_params(argc, argv);
    const int devices = apps::attach_virtio_fs(argc, argv) + apps::attach_virtio_9p(argc, argv);
    const uint64_t t_attached = virtio_fs::poll_clock_ns();
    if (devices <= 0) {
        kprintf("bench: no virtio-fs or virtio-9p device\n");
        return 1;
    }
    const char* opts = p.dax == Params::Dax::kNever
                           ? (p.write_behind ? "dax=never,write_behind" : "dax=never")
                           : (p.write_behind ? "dax=always,write_behind" : "dax=always");
    if (int r = vfs_mount_opts(p.tag, p.mount, opts); r < 0) {
        kprintf("bench: mounting \"%s\" at %s: error %d\n", p.tag, p.mount, -r);
        return 1;
    }
    const uint64_t t_mounted = virtio_fs::poll_clock_ns();
    g_backend = bench::backend_name(p.mount);
    uint64_t biggest = 1;  // sizes=none still gets buffers
    for (int i = 0; i < p.n_sizes; ++i)
        biggest = p.sizes[i] > biggest ? p.sizes[i] : biggest;
    auto* buf = static_cast<uint8_t*>(vfs_buffer_alloc(biggest));
    auto* scratch = static_cast<uint8_t*>(vfs_buffer_alloc(biggest));
    if (!buf || !scratch) {
        kprintf("bench: no memory for %lu-byte buffers\n", static_cast<unsigned long>(biggest));
        return 1;
    }
    char first[256];
    format_to(first, sizeof(first), "%s/%s", p.mount, p.first_byte);
    const uint64_t t_first = p.first_byte[0] ? first_byte_at(first, buf) : 0;
    for (uint64_t i = 0; i < biggest; ++i)
        buf[i] = static_cast<uint8_t>(i * 131u ^ (i >> 8));
    kprintf(
        "{\"bench\":\"meta\",\"backend\":\"%s\",\"tag\":\"%s\",\"machine\":\"%s\","
        "\"qemu\":\"%s\",\"dax\":\"%s\",\"write_behind\":%s,\"multiplier\":%lu,\"fixed_bytes\":%lu,"
        "\"scale\":%lu,"
        "\"reps\":%u,"
        "\"file_reps\":%u,\"clock_origin\":\"%s\",\"app_start_ns\":%lu,"
        "\"driver_ok_ns\":%lu,\"mounted_ns\":%lu,\"first_byte_ns\":%lu}\n",
        g_backend, p.tag, p.machine, p.qemu,
        p.dax == Params::Dax::kMapped ? "mapped"
        : p.dax == Params::Dax::kLazy ? "lazy"
        : p.dax == Params::Dax::kGrow ? "grow"
                                      : "never",
        p.write_behind ? "true" : "false", static_cast<unsigned long>(p.multiplier),
        static_cast<unsigned long>(p.fixed_bytes), static_cast<unsigned long>(p.scale), p.reps,
        p.file_reps, kClockOrigin, static_cast<unsigned long>(start),
        static_cast<unsigned long>(t_attached), static_cast<unsigned long>(t_mounted),
        static_cast<unsigned long>(t_first));

    if (p.getattrs) run_getattr_point(p);
    // Writes first: the reads of a size read the file its writes made.
    const bench::Io order[] = {bench::Io::kSeqWrite, bench::Io::kSeqRead, bench::Io::kRandWrite,
                               bench::Io::kRandRead};
    int skipped = 0;
    for (int i = 0; i < p.n_sizes; ++i) {
        if (i > 0 && over_budget(p, start)) {
            skipped += p.n_sizes - i;
            break;
        }
        for (bench::Io op : order)
            run_io_point(p, op, p.sizes[i], buf, scratch);
        char path[256];
        format_to(path, sizeof(path), "%s/bench-%lu.dat", p.mount,
                  static_cast<unsigned long>(p.sizes[i]));
        vfs_unlink(path);
    }
    for (int i = 0; i < p.n_counts; ++i) {
        if (i > 0 && over_budget(p, start)) {
            skipped += p.n_counts - i;
            break;
        }
        run_file_point(p, p.counts[i]);
    }
    const int um = vfs_umount(p.mount);
    if (um < 0) ++g_failed;
    kprintf(
        "{\"bench\":\"done\",\"backend\":\"%s\",\"points\":%d,\"skipped_for_budget\":%d,"
        "\"checks_failed\":%d,\"total_ns\":%lu}\n",
        g_backend, g_points, skipped, g_failed,
        static_cast<unsigned long>(virtio_fs::poll_clock_ns() - start));
    return g_failed ? 1 : 0;
}

}  // namespace vfs::guest
