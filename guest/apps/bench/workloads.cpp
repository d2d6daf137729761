// The timed workloads of the bench app (see workloads.h).
#include "apps/bench/workloads.h"

#include <linux/errno.h>

#include "drivers/virtio_fs/poll_clock.h"
#include "kernel/format.h"
#include "lib/vfs/vfs.h"

namespace vfs::guest::bench {
namespace {

uint64_t now() {
    return virtio_fs::poll_clock_ns();
}

uint64_t gcd(uint64_t a, uint64_t b) {
    while (b) {
        const uint64_t t = a % b;
        a = b;
        b = t;
    }
    return a;
}

// A shuffle of 0..n-1 with no table: i -> (i * step + start) mod n, step coprime to n
// (n below 2^32, so the product fits in 64 bits with no libgcc helper).
struct Shuffle {
    uint64_t n, step, start;
    explicit Shuffle(uint64_t count) : n(count), step(count * 5 / 8 + 1), start(count / 3) {
        while (gcd(step, n) != 1)
            ++step;
        step %= n;
    }
    uint64_t at(uint64_t i) const { return (i * step + start) % n; }
};

const char* file_name(char* out, uint64_t cap, const char* dir, uint64_t i) {
    format_to(out, cap, "%s/f%07lu", dir, static_cast<unsigned long>(i));
    return out;
}

}  // namespace

const char* io_name(Io op) {
    switch (op) {
        case Io::kSeqRead:
            return "seq_read";
        case Io::kSeqWrite:
            return "seq_write";
        case Io::kRandRead:
            return "rand_read";
        case Io::kRandWrite:
            return "rand_write";
    }
    return "?";
}

const char* file_op_name(FileOp op) {
    switch (op) {
        case FileOp::kCreate:
            return "create";
        case FileOp::kList:
            return "list";
        case FileOp::kRemove:
            return "remove";
    }
    return "?";
}

int64_t run_io(Io op, const char* path, uint8_t* buf, uint8_t* scratch, uint64_t buf_len,
               uint64_t count, bool* check_ok, DaxPrep dax) {
    const bool write = op == Io::kSeqWrite || op == Io::kRandWrite;
    const int flags = write ? VFS_O_WRONLY | VFS_O_CREAT : VFS_O_RDONLY;
    const int fd = vfs_open(path, flags, 0644);
    if (fd < 0) return fd;
    if (dax == DaxPrep::kGrowFile && op != Io::kSeqWrite) dax = DaxPrep::kEmptyWindow;
    if (dax != DaxPrep::kNone) {
        if (int r = dax_prepare(fd, write, count * buf_len, dax); r < 0) {
            vfs_close(fd);
            return r;
        }
    }
    const Shuffle shuffle(count);
    int64_t err = 0;
    const uint64_t t0 = now();
    for (uint64_t i = 0; i < count && !err; ++i) {
        const uint64_t idx = op == Io::kSeqRead || op == Io::kSeqWrite ? i : shuffle.at(i);
        const int64_t off = static_cast<int64_t>(idx * buf_len);
        const int64_t n =
            write ? vfs_pwrite(fd, buf, buf_len, off) : vfs_pread(fd, scratch, buf_len, off);
        if (n != static_cast<int64_t>(buf_len)) err = n < 0 ? n : -EIO;
    }
    // Inside the clock: a write-behind run still in the guest goes to the server (a seek
    // flushes it; without write_behind it sends nothing).
    if (write && !err) (void)vfs_lseek(fd, 0, VFS_SEEK_CUR);
    const uint64_t t1 = now();
    // Outside the timed region: the last interval read (or, after writing, one read back
    // through a fresh descriptor) must be the pattern.
    if (!err && !write && __builtin_memcmp(scratch, buf, buf_len) != 0) *check_ok = false;
    const int c = vfs_close(fd);
    if (!err && write) {
        const int rfd = vfs_open(path, VFS_O_RDONLY, 0);
        const int64_t off = static_cast<int64_t>(shuffle.at(count / 2) * buf_len);
        if (rfd < 0 || vfs_pread(rfd, scratch, buf_len, off) != static_cast<int64_t>(buf_len) ||
            __builtin_memcmp(scratch, buf, buf_len) != 0)
            *check_ok = false;
        if (rfd >= 0) vfs_close(rfd);
    }
    if (err) return err;
    if (c < 0) return c;
    return static_cast<int64_t>(t1 - t0);
}

int64_t run_file_op(FileOp op, const char* dir, uint64_t files, bool* check_ok) {
    char name[256];
    uint64_t t0 = now(), t1 = 0;
    switch (op) {
        case FileOp::kCreate: {
            for (uint64_t i = 0; i < files; ++i) {
                const int fd = vfs_open(file_name(name, sizeof(name), dir, i),
                                        VFS_O_WRONLY | VFS_O_CREAT | VFS_O_EXCL, 0644);
                if (fd < 0) return fd;
                if (int c = vfs_close(fd); c < 0) return c;
            }
            const int d = vfs_opendir(dir);
            if (d < 0) return d;
            const int s = vfs_fsync(d);
            vfs_closedir(d);
            if (s < 0) return s;
            t1 = now();
            break;
        }
        case FileOp::kList: {
            const int d = vfs_opendir(dir);
            if (d < 0) return d;
            vfs_dirent e;
            uint64_t n = 0;
            int r;
            while ((r = vfs_readdir(d, &e)) == 1)
                ++n;
            vfs_closedir(d);
            t1 = now();
            if (r < 0) return r;
            if (n != files + 2) *check_ok = false;  // "." and ".." too
            break;
        }
        case FileOp::kRemove:
            for (uint64_t i = 0; i < files; ++i)
                if (int r = vfs_unlink(file_name(name, sizeof(name), dir, i)); r < 0) return r;
            t1 = now();
            break;
    }
    return static_cast<int64_t>(t1 - t0);
}

}  // namespace vfs::guest::bench
