// vfs-probe: the syscalls a guest test needs that busybox lacks (xattrs, renameat2, mmap,
// locks, copy_file_range, SEEK_DATA, running as another user) plus deterministic pattern
// files the host can check byte for byte. Built static so it runs in the busybox initramfs
// of the e2e guest.
//
// Every command prints nothing on success and "error: ..." with exit 1 on failure.
#include <fcntl.h>
#include <grp.h>
#include <linux/fs.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

// The fixed head of a getdents64 record (glibc has no public type for it).
struct linux_dirent64_hdr {
    uint64_t d_ino;
    int64_t d_off;
    unsigned short d_reclen;
    unsigned char d_type;
};

[[noreturn]] void fail(const char* what) {
    std::fprintf(stderr, "error: %s: %s\n", what, std::strerror(errno));
    std::exit(1);
}

[[noreturn]] void fail_msg(const std::string& msg) {
    std::fprintf(stderr, "error: %s\n", msg.c_str());
    std::exit(1);
}

// The byte at `offset` of pattern `seed`: cheap, position-addressable, and the same
// formula the host test uses (tests/e2e/linux/pattern.py).
uint8_t pattern_byte(uint64_t seed, uint64_t offset) {
    uint64_t x = (offset / 8) * 0x9E3779B97F4A7C15ull ^ (seed * 0xD1B54A32D192ED03ull);
    x ^= x >> 29;
    x *= 0xBF58476D1CE4E5B9ull;
    x ^= x >> 32;
    return static_cast<uint8_t>(x >> (8 * (offset % 8)));
}

void fill_pattern(uint8_t* buf, size_t n, uint64_t seed, uint64_t offset) {
    for (size_t i = 0; i < n; ++i)
        buf[i] = pattern_byte(seed, offset + i);
}

uint64_t num(const char* s) {
    return std::strtoull(s, nullptr, 0);
}

// pattern FILE SIZE SEED [CHUNK]: writes SIZE pattern bytes in CHUNK-sized writes.
int cmd_pattern(char** a) {
    const uint64_t size = num(a[1]), seed = num(a[2]);
    const size_t chunk = a[3] ? num(a[3]) : (1 << 20);
    int fd = open(a[0], O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) fail("open");
    std::vector<uint8_t> buf(chunk);
    for (uint64_t off = 0; off < size;) {
        const size_t n = std::min<uint64_t>(chunk, size - off);
        fill_pattern(buf.data(), n, seed, off);
        if (write(fd, buf.data(), n) != static_cast<ssize_t>(n)) fail("write");
        off += n;
    }
    if (fsync(fd) != 0) fail("fsync");
    close(fd);
    return 0;
}

// verify FILE SIZE SEED [direct]: the file is exactly SIZE pattern bytes.
int cmd_verify(char** a) {
    const uint64_t size = num(a[1]), seed = num(a[2]);
    const bool direct = a[3] && std::strcmp(a[3], "direct") == 0;
    int fd = open(a[0], O_RDONLY | (direct ? O_DIRECT : 0));
    if (fd < 0) fail("open");
    const size_t chunk = 1 << 20;
    void* mem = nullptr;
    if (posix_memalign(&mem, 4096, chunk) != 0) fail_msg("no memory");
    auto* buf = static_cast<uint8_t*>(mem);
    std::vector<uint8_t> want(chunk);
    uint64_t off = 0;
    for (;;) {
        const ssize_t n = read(fd, buf, chunk);
        if (n < 0) fail("read");
        if (n == 0) break;
        fill_pattern(want.data(), n, seed, off);
        if (std::memcmp(buf, want.data(), n) != 0)
            fail_msg("content differs near " + std::to_string(off));
        off += n;
    }
    if (off != size) fail_msg("size " + std::to_string(off) + " != " + std::to_string(size));
    return 0;
}

// mmap-verify FILE SIZE SEED: the same check through a shared read mapping.
int cmd_mmap_verify(char** a) {
    const uint64_t size = num(a[1]), seed = num(a[2]);
    int fd = open(a[0], O_RDONLY);
    if (fd < 0) fail("open");
    auto* p = static_cast<uint8_t*>(mmap(nullptr, size, PROT_READ, MAP_SHARED, fd, 0));
    if (p == MAP_FAILED) fail("mmap");
    for (uint64_t i = 0; i < size; ++i)
        if (p[i] != pattern_byte(seed, i)) fail_msg("mmap content differs at " + std::to_string(i));
    munmap(p, size);
    return 0;
}

// mmap-write FILE OFFSET TEXT: stores TEXT at OFFSET through a shared writable mapping of
// the whole file, then unmaps and closes without msync (close alone must carry it).
int cmd_mmap_write(char** a) {
    const uint64_t off = num(a[1]);
    const size_t n = std::strlen(a[2]);
    int fd = open(a[0], O_RDWR);
    if (fd < 0) fail("open");
    struct stat st {};
    if (fstat(fd, &st) != 0) fail("fstat");
    const size_t size = static_cast<size_t>(st.st_size);
    if (off + n > size) fail_msg("past the end of the file");
    auto* p = static_cast<char*>(mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0));
    if (p == MAP_FAILED) fail("mmap");
    std::memcpy(p + off, a[2], n);
    munmap(p, size);
    if (close(fd) != 0) fail("close");
    return 0;
}

// mkfiles DIR N: creates N empty files f00000..; one process, so it is quick under TCG.
int cmd_mkfiles(char** a) {
    const uint64_t n = num(a[1]);
    for (uint64_t i = 0; i < n; ++i) {
        char name[64];
        std::snprintf(name, sizeof(name), "%s/f%05llu", a[0], static_cast<unsigned long long>(i));
        int fd = open(name, O_WRONLY | O_CREAT | O_EXCL, 0644);
        if (fd < 0) fail("create");
        close(fd);
    }
    return 0;
}

// rename2 OLD NEW noreplace|exchange
int cmd_rename2(char** a) {
    const unsigned flags = std::strcmp(a[2], "exchange") == 0 ? RENAME_EXCHANGE : RENAME_NOREPLACE;
    if (syscall(SYS_renameat2, AT_FDCWD, a[0], AT_FDCWD, a[1], flags) != 0) fail("renameat2");
    return 0;
}

int cmd_setxattr(char** a) {
    if (setxattr(a[0], a[1], a[2], std::strlen(a[2]), 0) != 0) fail("setxattr");
    return 0;
}

int cmd_getxattr(char** a) {
    char buf[4096];
    const ssize_t n = getxattr(a[0], a[1], buf, sizeof(buf));
    if (n < 0) fail("getxattr");
    std::printf("%.*s\n", static_cast<int>(n), buf);
    return 0;
}

int cmd_listxattr(char** a) {
    char buf[4096];
    const ssize_t n = listxattr(a[0], buf, sizeof(buf));
    if (n < 0) fail("listxattr");
    for (ssize_t i = 0; i < n; i += std::strlen(buf + i) + 1)
        std::printf("%s\n", buf + i);
    return 0;
}

int cmd_removexattr(char** a) {
    if (removexattr(a[0], a[1]) != 0) fail("removexattr");
    return 0;
}

// utimes FILE ATIME MTIME (seconds)
int cmd_utimes(char** a) {
    timespec ts[2] = {{static_cast<time_t>(num(a[1])), 0}, {static_cast<time_t>(num(a[2])), 0}};
    if (utimensat(AT_FDCWD, a[0], ts, 0) != 0) fail("utimensat");
    return 0;
}

// lutimes LINK ATIME MTIME: a symlink's own times (AT_SYMLINK_NOFOLLOW), not its target's.
int cmd_lutimes(char** a) {
    timespec ts[2] = {{static_cast<time_t>(num(a[1])), 0}, {static_cast<time_t>(num(a[2])), 0}};
    if (utimensat(AT_FDCWD, a[0], ts, AT_SYMLINK_NOFOLLOW) != 0) fail("utimensat nofollow");
    return 0;
}

// write-as UID FILE: appends one byte to FILE as uid:gid UID:UID, a non-owner without
// CAP_FSETID (setuid away from root drops every capability). The file is opened first:
// the initramfs root is 0700, so UID could not walk the path; the kernel decides on
// clearing suid/sgid at the write, from the writer's capabilities then.
int cmd_write_as(char** a) {
    const auto id = static_cast<uid_t>(num(a[0]));
    int fd = open(a[1], O_WRONLY | O_APPEND);
    if (fd < 0) fail("open");
    if (setgroups(0, nullptr) != 0 || setgid(id) != 0 || setuid(id) != 0) fail("setuid");
    if (write(fd, "w", 1) != 1) fail("write");
    if (close(fd) != 0) fail("close");
    return 0;
}

// locks FILE: flock and a POSIX record lock on one file, taken and released.
int cmd_locks(char** a) {
    int fd = open(a[0], O_RDWR);
    if (fd < 0) fail("open");
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) fail("flock");
    if (flock(fd, LOCK_UN) != 0) fail("flock unlock");
    struct flock fl {};
    fl.l_type = F_WRLCK;
    fl.l_whence = SEEK_SET;
    fl.l_len = 100;
    if (fcntl(fd, F_SETLK, &fl) != 0) fail("F_SETLK");
    fl.l_type = F_UNLCK;
    if (fcntl(fd, F_SETLK, &fl) != 0) fail("F_SETLK unlock");
    return 0;
}

// host-locked FILE: the host holds a write lock on bytes 0-9 of FILE and an
// exclusive flock on it (run_linux_e2e.py, with -o posix_lock,flock). The guest must see
// both through the daemon: F_GETLK reports the lock, a conflicting F_SETLK and a
// non-blocking flock fail, the blocking forms fail with EOPNOTSUPP instead of hanging
// (the daemon never waits), and a range the host does not hold is granted.
int cmd_host_locked(char** a) {
    int fd = open(a[0], O_RDWR);
    if (fd < 0) fail("open");
    struct flock fl {};
    fl.l_type = F_WRLCK;
    fl.l_whence = SEEK_SET;
    fl.l_len = 10;
    if (fcntl(fd, F_GETLK, &fl) != 0) fail("F_GETLK");
    if (fl.l_type != F_WRLCK || fl.l_start != 0 || fl.l_len != 10)
        fail_msg("F_GETLK does not report the host's lock (type " + std::to_string(fl.l_type) +
                 ", start " + std::to_string(fl.l_start) + ", len " + std::to_string(fl.l_len) +
                 ")");
    fl = {};
    fl.l_type = F_RDLCK;
    fl.l_whence = SEEK_SET;
    fl.l_start = 5;
    fl.l_len = 1;
    if (fcntl(fd, F_SETLK, &fl) == 0) fail_msg("F_SETLK got a lock the host holds");
    if (errno != EAGAIN && errno != EACCES) fail("F_SETLK on the host's lock");
    if (fcntl(fd, F_SETLKW, &fl) == 0) fail_msg("F_SETLKW got a lock the host holds");
    if (errno != EOPNOTSUPP) fail("F_SETLKW on the host's lock");
    fl.l_start = 100;
    if (fcntl(fd, F_SETLK, &fl) != 0) fail("F_SETLK beyond the host's lock");
    if (flock(fd, LOCK_SH | LOCK_NB) == 0) fail_msg("flock got a lock the host holds");
    if (errno != EWOULDBLOCK) fail("flock LOCK_NB on the host's flock");
    if (flock(fd, LOCK_SH) == 0) fail_msg("blocking flock got a lock the host holds");
    if (errno != EOPNOTSUPP) fail("blocking flock on the host's flock");
    return 0;
}

// copy-range SRC DST LEN
int cmd_copy_range(char** a) {
    int in = open(a[0], O_RDONLY), out = open(a[1], O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (in < 0 || out < 0) fail("open");
    uint64_t left = num(a[2]);
    while (left > 0) {
        const ssize_t n = copy_file_range(in, nullptr, out, nullptr, left, 0);
        if (n < 0) fail("copy_file_range");
        if (n == 0) fail_msg("copy_file_range: early end");
        left -= n;
    }
    return 0;
}

// seek-data FILE OFFSET: prints where the next data starts (sparse files).
int cmd_seek_data(char** a) {
    int fd = open(a[0], O_RDONLY);
    if (fd < 0) fail("open");
    const off_t r = lseek(fd, static_cast<off_t>(num(a[1])), SEEK_DATA);
    if (r < 0) fail("lseek");
    std::printf("%lld\n", static_cast<long long>(r));
    return 0;
}

// fsync FILE
int cmd_fsync(char** a) {
    int fd = open(a[0], O_RDWR);
    if (fd < 0) fail("open");
    if (fsync(fd) != 0 || fdatasync(fd) != 0) fail("fsync");
    return 0;
}

// as UID GID PROG ARGS...: runs PROG as that user (busybox's setpriv cannot change ids).
int cmd_as(char** a) {
    const auto gid = static_cast<gid_t>(num(a[1]));
    const auto uid = static_cast<uid_t>(num(a[0]));
    if (setgroups(0, nullptr) != 0 || setgid(gid) != 0 || setuid(uid) != 0) fail("change ids");
    execvp(a[2], a + 2);
    fail("exec");
}

// --- benchmarks: the thesis's workloads, timed inside the guest ----------------------
// Each prints one line: BENCH {"op":...,"bs":...,"bytes":...,"ops":...,"seconds":...}

double now_s() {
    timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

void bench_line(const char* op, uint64_t bs, uint64_t bytes, uint64_t ops, double secs) {
    std::printf("BENCH {\"op\":\"%s\",\"bs\":%llu,\"bytes\":%llu,\"ops\":%llu,\"seconds\":%.6f}\n",
                op, static_cast<unsigned long long>(bs), static_cast<unsigned long long>(bytes),
                static_cast<unsigned long long>(ops), secs);
    std::fflush(stdout);
}

// The offsets a benchmark visits: every block in order, or as many blocks picked by a
// fixed xorshift sequence (the same on every run, so runs compare).
class BlockOrder {
  public:
    BlockOrder(uint64_t blocks, uint64_t bs, bool random)
        : blocks_(blocks), bs_(bs), random_(random) {}
    uint64_t next() {
        if (!random_) return i_++ * bs_;
        x_ ^= x_ << 13, x_ ^= x_ >> 7, x_ ^= x_ << 17;
        return (x_ % blocks_) * bs_;
    }

  private:
    uint64_t blocks_, bs_;
    bool random_;
    uint64_t i_ = 0;
    uint64_t x_ = 88172645463325252ull;
};

// bench-write FILE SIZE BS seq|rand|rewrite: writes SIZE bytes in BS-sized writes; seq
// into a new (truncated) file, so every write extends it; rewrite in order over the
// existing file's first SIZE bytes (it must hold them), so no write extends it.
int cmd_bench_write(char** a) {
    const uint64_t size = num(a[1]), bs = num(a[2]);
    if (bs == 0) fail_msg("block size 0");
    const bool rand = std::strcmp(a[3], "rand") == 0;
    const bool rewrite = std::strcmp(a[3], "rewrite") == 0;
    int fd = open(a[0], O_WRONLY | O_CREAT | (rand || rewrite ? 0 : O_TRUNC), 0644);
    if (fd < 0) fail("open");
    if (rewrite) {
        struct stat st {};
        if (fstat(fd, &st) != 0) fail("fstat");
        if (static_cast<uint64_t>(st.st_size) < size) fail_msg("rewrite: the file is too short");
    }
    if (rand && ftruncate(fd, static_cast<off_t>(size)) != 0) fail("ftruncate");
    std::vector<uint8_t> buf(bs);
    fill_pattern(buf.data(), bs, 3, 0);
    const uint64_t blocks = size / bs;
    BlockOrder order(blocks, bs, rand);
    const double t0 = now_s();
    for (uint64_t i = 0; i < blocks; ++i) {
        const uint64_t off = order.next();
        if (pwrite(fd, buf.data(), bs, static_cast<off_t>(off)) != static_cast<ssize_t>(bs))
            fail("pwrite");
    }
    if (fsync(fd) != 0) fail("fsync");
    const double t = now_s() - t0;
    close(fd);
    bench_line(rand      ? "rand_write"
               : rewrite ? "seq_rewrite"
                         : "seq_write",
               bs, blocks * bs, blocks, t);
    return 0;
}

// bench-read FILE BS seq|rand: reads the whole file (or as many random blocks).
int cmd_bench_read(char** a) {
    const uint64_t bs = num(a[1]);
    if (bs == 0) fail_msg("block size 0");
    const bool rand = std::strcmp(a[2], "rand") == 0;
    int fd = open(a[0], O_RDONLY);
    if (fd < 0) fail("open");
    struct stat st {};
    fstat(fd, &st);
    const uint64_t blocks = static_cast<uint64_t>(st.st_size) / bs;
    std::vector<uint8_t> buf(bs);
    BlockOrder order(blocks, bs, rand);
    const double t0 = now_s();
    for (uint64_t i = 0; i < blocks; ++i) {
        const uint64_t off = order.next();
        if (pread(fd, buf.data(), bs, static_cast<off_t>(off)) != static_cast<ssize_t>(bs))
            fail("pread");
    }
    const double t = now_s() - t0;
    close(fd);
    bench_line(rand ? "rand_read" : "seq_read", bs, blocks * bs, blocks, t);
    return 0;
}

// bench-files DIR N: creates N files, lists the directory, removes them.
int cmd_bench_files(char** a) {
    const uint64_t n = num(a[1]);
    char name[512];
    double t0 = now_s();
    for (uint64_t i = 0; i < n; ++i) {
        std::snprintf(name, sizeof(name), "%s/b%06llu", a[0], static_cast<unsigned long long>(i));
        int fd = open(name, O_WRONLY | O_CREAT | O_EXCL, 0644);
        if (fd < 0) fail("create");
        close(fd);
    }
    bench_line("create", 0, 0, n, now_s() - t0);
    t0 = now_s();
    int dfd = open(a[0], O_RDONLY | O_DIRECTORY);
    if (dfd < 0) fail("open dir");
    alignas(8) char buf[32768];
    uint64_t entries = 0;
    for (;;) {
        const long r = syscall(SYS_getdents64, dfd, buf, sizeof(buf));
        if (r < 0) fail("getdents64");
        if (r == 0) break;
        for (long pos = 0; pos < r;) {
            pos += reinterpret_cast<struct linux_dirent64_hdr*>(buf + pos)->d_reclen;
            ++entries;
        }
    }
    close(dfd);
    bench_line("list", 0, 0, entries, now_s() - t0);
    t0 = now_s();
    for (uint64_t i = 0; i < n; ++i) {
        std::snprintf(name, sizeof(name), "%s/b%06llu", a[0], static_cast<unsigned long long>(i));
        if (unlink(name) != 0) fail("unlink");
    }
    bench_line("remove", 0, 0, n, now_s() - t0);
    return 0;
}

struct Command {
    const char* name;
    int argc;
    int (*fn)(char**);
};

const Command kCommands[] = {
    {"pattern", 3, cmd_pattern},
    {"verify", 3, cmd_verify},
    {"mmap-verify", 3, cmd_mmap_verify},
    {"mmap-write", 3, cmd_mmap_write},
    {"mkfiles", 2, cmd_mkfiles},
    {"rename2", 3, cmd_rename2},
    {"setxattr", 3, cmd_setxattr},
    {"getxattr", 2, cmd_getxattr},
    {"listxattr", 1, cmd_listxattr},
    {"removexattr", 2, cmd_removexattr},
    {"utimes", 3, cmd_utimes},
    {"lutimes", 3, cmd_lutimes},
    {"write-as", 2, cmd_write_as},
    {"locks", 1, cmd_locks},
    {"host-locked", 1, cmd_host_locked},
    {"copy-range", 3, cmd_copy_range},
    {"seek-data", 2, cmd_seek_data},
    {"bench-write", 4, cmd_bench_write},
    {"bench-read", 3, cmd_bench_read},
    {"bench-files", 2, cmd_bench_files},
    {"fsync", 1, cmd_fsync},
    {"as", 3, cmd_as},
};

}  // namespace

int main(int argc, char** argv) {
    if (argc >= 2) {
        for (const Command& c : kCommands) {
            if (std::strcmp(argv[1], c.name) == 0 && argc - 2 >= c.argc) return c.fn(argv + 2);
        }
    }
    std::fprintf(stderr, "usage: vfs-probe COMMAND ARGS...\n");
    return 2;
}
