// selftest: every vfs call against a mounted share, with contents checked against known
// patterns: a file several times max_write (so READ and WRITE go out as many chunks in
// flight at once), a directory of many files, symlinks (relative, absolute, a loop),
// hard links, renames, truncation, the open flags, and the errno of each failure case.
// Ends by unmounting and checking that every lookup the server counted was forgotten.
// A virtio-9p tag runs the same content checks over the 9p backend; what is FUSE-only
// (lookup counts, request queues, a second device) is skipped, with the reason printed,
// and its fid count must balance instead.
// Reports "ok NAME" / "FAIL NAME: ..." lines on the console and passes or fails the app.
//
// Command line (key=value, all optional): tag=myfs, mount=/share, hello=0 (skip reading
// the runner's hello.txt), files=N (many-file directory size, default 300), tag2=NAME
// (also mount a second device at /share2 and use both), host_change=1 (wait for the host
// to rewrite host-change.txt, for the cache=never test), stress=N (only N synchronous
// WRITE+READ round trips spread over the request queues: the lost-kick stress test),
// dax=never|always|auto (the mount's DAX mode; with DAX on, every content check goes
// through the window and a DAX pass checks FUSE/DAX coherence and leaves
// dax-host-check.bin for the runner to check on the host), dax_ranges=N (use N 2 MiB
// ranges of the window), dax_eviction=1 (a working set 8 times the window, checked byte
// for byte), write_behind=1 (mount with write_behind: every check runs with sequential
// writes kept in the guest until something else looks at the file), plus attach.h's options.
#include "apps/common/args.h"
#include "apps/common/attach.h"
#include "kernel/app.h"
#include "kernel/console.h"
#include "kernel/format.h"
#include "lib/p9/client.h"
#include "lib/vfs/fd_table.h"
#include "lib/vfs/mount_table.h"
#include "lib/vfs/vfs.h"
#if !__STDC_HOSTED__
#include "arch/x86_64/interrupts.h"
#endif

namespace vfs::guest {
namespace {

int g_failures = 0;
int g_checks = 0;
const char* g_mount = "/share";

#define CHECK(cond)                                                 \
    do {                                                            \
        ++g_checks;                                                 \
        if (!(cond)) {                                              \
            kprintf("FAIL %s:%d: %s\n", __func__, __LINE__, #cond); \
            ++g_failures;                                           \
            return;                                                 \
        }                                                           \
    } while (0)

#define CHECK_EQ(a, b)                                                                          \
    do {                                                                                        \
        ++g_checks;                                                                             \
        const long va_ = static_cast<long>(a), vb_ = static_cast<long>(b);                      \
        if (va_ != vb_) {                                                                       \
            kprintf("FAIL %s:%d: %s == %ld, expected %ld\n", __func__, __LINE__, #a, va_, vb_); \
            ++g_failures;                                                                       \
            return;                                                                             \
        }                                                                                       \
    } while (0)

uint8_t pattern_byte(uint64_t i, uint32_t seed) {
    return static_cast<uint8_t>((i * 131u) ^ (i >> 9) ^ seed);
}

void fill(uint8_t* p, uint64_t len, uint64_t start, uint32_t seed) {
    for (uint64_t i = 0; i < len; ++i)
        p[i] = pattern_byte(start + i, seed);
}

// Index of the first byte off the pattern, or -1.
int64_t mismatch(const uint8_t* p, uint64_t len, uint64_t start, uint32_t seed) {
    for (uint64_t i = 0; i < len; ++i) {
        if (p[i] != pattern_byte(start + i, seed)) return static_cast<int64_t>(i);
    }
    return -1;
}

const char* path(const char* rel) {
    static char buf[4][256];
    static int next = 0;
    char* b = buf[next++ & 3];
    format_to(b, sizeof(buf[0]), "%s/selftest/%s", g_mount, rel);
    return b;
}

uint8_t* g_a = nullptr;  // big device-reachable buffers
uint8_t* g_b = nullptr;
uint64_t g_big = 0;

int64_t write_all(const char* p, const uint8_t* data, uint64_t len, int flags) {
    const int fd = vfs_open(p, VFS_O_WRONLY | VFS_O_CREAT | flags, 0644);
    if (fd < 0) return fd;
    const int64_t n = vfs_write(fd, data, len);
    const int c = vfs_close(fd);
    return n < 0 ? n : c < 0 ? c : n;
}

int64_t read_all(const char* p, uint8_t* data, uint64_t cap) {
    const int fd = vfs_open(p, VFS_O_RDONLY, 0);
    if (fd < 0) return fd;
    uint64_t got = 0;
    int64_t n = 0;
    while (got < cap && (n = vfs_read(fd, data + got, cap - got)) > 0)
        got += static_cast<uint64_t>(n);
    vfs_close(fd);
    return n < 0 ? n : static_cast<int64_t>(got);
}

bool equal_bytes(const uint8_t* a, const char* b, uint64_t n) {
    return __builtin_memcmp(a, b, n) == 0;
}

void pass(const char* name) {
    kprintf("ok %s\n", name);
}

void skip(const char* name, const char* why) {
    kprintf("skip %s: %s\n", name, why);
}

void test_hello() {
    char p[256];
    format_to(p, sizeof(p), "%s/hello.txt", g_mount);
    CHECK_EQ(read_all(p, g_a, 4096), 20);
    CHECK(equal_bytes(g_a, "hello from the host\n", 20));
    pass("read_host_file");
}

void test_big_file(uint32_t max_write) {
    const char* f = path("big.bin");
    fill(g_a, g_big, 0, 7);
    CHECK_EQ(write_all(f, g_a, g_big, VFS_O_EXCL), g_big);
    __builtin_memset(g_b, 0, g_big);
    CHECK_EQ(read_all(f, g_b, g_big + 100), g_big);
    CHECK_EQ(mismatch(g_b, g_big, 0, 7), -1);
    struct vfs_stat st;
    CHECK_EQ(vfs_stat(f, &st), 0);
    CHECK_EQ(st.st_size, g_big);
    CHECK_EQ(st.st_mode & VFS_S_IFMT, VFS_S_IFREG);

    // pread/pwrite across chunk boundaries.
    const int fd = vfs_open(f, VFS_O_RDWR, 0);
    CHECK(fd >= 0);
    const uint64_t off = max_write - 100, len = max_write + 300;
    CHECK_EQ(vfs_pread(fd, g_b, len, static_cast<int64_t>(off)), len);
    CHECK_EQ(mismatch(g_b, len, off, 7), -1);
    fill(g_b, len, off, 99);
    CHECK_EQ(vfs_pwrite(fd, g_b, len, static_cast<int64_t>(off)), len);
    __builtin_memset(g_b, 0, g_big);
    CHECK_EQ(vfs_pread(fd, g_b, g_big, 0), g_big);
    CHECK_EQ(mismatch(g_b, off, 0, 7), -1);
    CHECK_EQ(mismatch(g_b + off, len, off, 99), -1);
    CHECK_EQ(mismatch(g_b + off + len, g_big - off - len, off + len, 7), -1);
    // Reading past the end is short, then empty.
    CHECK_EQ(vfs_pread(fd, g_b, 1000, static_cast<int64_t>(g_big - 10)), 10);
    CHECK_EQ(vfs_pread(fd, g_b, 1000, static_cast<int64_t>(g_big)), 0);
    CHECK_EQ(vfs_fsync(fd), 0);
    CHECK_EQ(vfs_close(fd), 0);
    CHECK_EQ(vfs_close(fd), -EBADF);
    pass("big_file_pread_pwrite");
}

void test_open_flags() {
    const char* f = path("flags.txt");
    // Buffers handed to write must be device-reachable (vfs.h): always g_a/g_b here.
    __builtin_memcpy(g_a, "0123456789", 10);
    CHECK_EQ(write_all(f, g_a, 3, 0), 3);
    CHECK_EQ(vfs_open(f, VFS_O_WRONLY | VFS_O_CREAT | VFS_O_EXCL, 0644), -EEXIST);
    CHECK_EQ(vfs_open(f, VFS_O_RDONLY | VFS_O_DIRECTORY, 0), -ENOTDIR);
    CHECK_EQ(vfs_open(path("missing"), VFS_O_RDONLY, 0), -ENOENT);
    CHECK_EQ(vfs_open(path("nodir/x"), VFS_O_RDONLY | VFS_O_CREAT, 0644), -ENOENT);
    CHECK_EQ(write_all(f, g_a, 10, VFS_O_TRUNC), 10);
    CHECK_EQ(write_all(f, g_a, 4, VFS_O_APPEND), 4);
    CHECK_EQ(read_all(f, g_b, 100), 14);
    CHECK(equal_bytes(g_b, "01234567890123", 14));
    CHECK_EQ(write_all(f, g_a, 2, VFS_O_TRUNC), 2);
    CHECK_EQ(read_all(f, g_b, 100), 2);
    // Writing to a read-only descriptor, reading a write-only one.
    int fd = vfs_open(f, VFS_O_RDONLY, 0);
    CHECK(fd >= 0);
    CHECK_EQ(vfs_write(fd, g_a, 1), -EBADF);
    CHECK_EQ(vfs_ftruncate(fd, 0), -EINVAL);
    vfs_close(fd);
    fd = vfs_open(f, VFS_O_WRONLY, 0);
    CHECK(fd >= 0);
    CHECK_EQ(vfs_read(fd, g_b, 1), -EBADF);
    vfs_close(fd);
    CHECK_EQ(vfs_open(g_mount, VFS_O_RDWR, 0), -EISDIR);
    pass("open_flags");
}

void test_seek_truncate() {
    const char* f = path("seek.bin");
    fill(g_a, 10000, 0, 3);
    CHECK_EQ(write_all(f, g_a, 10000, 0), 10000);
    const int fd = vfs_open(f, VFS_O_RDWR, 0);
    CHECK(fd >= 0);
    CHECK_EQ(vfs_lseek(fd, 100, VFS_SEEK_SET), 100);
    CHECK_EQ(vfs_read(fd, g_b, 50), 50);
    CHECK_EQ(mismatch(g_b, 50, 100, 3), -1);
    CHECK_EQ(vfs_lseek(fd, 0, VFS_SEEK_CUR), 150);
    CHECK_EQ(vfs_lseek(fd, -10, VFS_SEEK_END), 9990);
    CHECK_EQ(vfs_read(fd, g_b, 50), 10);
    CHECK_EQ(vfs_lseek(fd, -1, VFS_SEEK_SET), -EINVAL);
    CHECK_EQ(vfs_lseek(fd, 0, 99), -EINVAL);
    const int64_t data = vfs_lseek(fd, 0, VFS_SEEK_DATA);
    CHECK(data == 0 || data == -ENOSYS || data == -EOPNOTSUPP);
    CHECK_EQ(vfs_ftruncate(fd, 4096), 0);
    struct vfs_stat st;
    CHECK_EQ(vfs_fstat(fd, &st), 0);
    CHECK_EQ(st.st_size, 4096);
    CHECK_EQ(vfs_ftruncate(fd, 20000), 0);
    CHECK_EQ(vfs_pread(fd, g_b, 20000, 0), 20000);
    CHECK_EQ(mismatch(g_b, 4096, 0, 3), -1);
    for (int i = 4096; i < 20000; ++i)
        CHECK_EQ(g_b[i], 0);
    CHECK_EQ(vfs_close(fd), 0);
    pass("seek_truncate");
}

void test_dirs() {
    CHECK_EQ(vfs_mkdir(path("d1"), 0755), 0);
    CHECK_EQ(vfs_mkdir(path("d1"), 0755), -EEXIST);
    CHECK_EQ(vfs_mkdir(path("d1/d2"), 0700), 0);
    struct vfs_stat st;
    CHECK_EQ(vfs_stat(path("d1/d2"), &st), 0);
    CHECK_EQ(st.st_mode & VFS_S_IFMT, VFS_S_IFDIR);
    CHECK_EQ(st.st_mode & 0777, 0700);
    CHECK_EQ(write_all(path("d1/d2/f"), g_a, 0, 0), 0);
    // "." and "..", repeated slashes.
    CHECK_EQ(vfs_stat(path("d1/./d2/../d2//f"), &st), 0);
    CHECK_EQ(st.st_mode & VFS_S_IFMT, VFS_S_IFREG);
    CHECK_EQ(vfs_stat(path("d1/d2/f/x"), &st), -ENOTDIR);
    // ".." at the mount root stays there.
    char p[256];
    format_to(p, sizeof(p), "%s/../../selftest/d1", g_mount);
    CHECK_EQ(vfs_stat(p, &st), 0);
    CHECK_EQ(vfs_rmdir(path("d1")), -ENOTEMPTY);
    CHECK_EQ(vfs_unlink(path("d1/d2")), -EISDIR);
    CHECK_EQ(vfs_unlink(path("d1/d2/f")), 0);
    CHECK_EQ(vfs_stat(path("d1/d2/f"), &st), -ENOENT);
    CHECK_EQ(vfs_rmdir(path("d1/d2")), 0);
    CHECK_EQ(vfs_rmdir(path("d1")), 0);
    CHECK_EQ(vfs_rmdir(path("d1")), -ENOENT);
    pass("mkdir_rmdir_dots");
}

void test_many_files(uint32_t count) {
    CHECK_EQ(vfs_mkdir(path("many"), 0755), 0);
    char name[64];
    for (uint32_t i = 0; i < count; ++i) {
        format_to(name, sizeof(name), "many/file-%04u", i);
        const uint32_t len = static_cast<uint32_t>(
            format_to(reinterpret_cast<char*>(g_a), 64, "contents of %u\n", i));
        CHECK_EQ(write_all(path(name), g_a, len, VFS_O_EXCL), len);
    }
    // Every name exactly once, plus "." and "..".
    static uint8_t seen[4096];
    __builtin_memset(seen, 0, sizeof(seen));
    const int d = vfs_opendir(path("many"));
    CHECK(d >= 0);
    vfs_dirent e;
    int r, entries = 0, dots = 0;
    while ((r = vfs_readdir(d, &e)) == 1) {
        ++entries;
        if (apps::same(e.d_name, ".") || apps::same(e.d_name, "..")) {
            ++dots;
            continue;
        }
        uint32_t n = 0;
        const char* p = e.d_name + 5;
        CHECK(__builtin_memcmp(e.d_name, "file-", 5) == 0);
        for (; *p; ++p)
            n = n * 10 + static_cast<uint32_t>(*p - '0');
        CHECK(n < count && n < sizeof(seen));
        CHECK_EQ(seen[n], 0);
        seen[n] = 1;
        CHECK_EQ(e.d_type, VFS_DT_REG);
    }
    CHECK_EQ(r, 0);
    CHECK_EQ(vfs_readdir(d, &e), 0);
    CHECK_EQ(vfs_closedir(d), 0);
    CHECK_EQ(dots, 2);
    CHECK_EQ(entries, static_cast<int>(count) + 2);
    // Contents of a sample, then remove them all.
    CHECK_EQ(read_all(path("many/file-0123"), g_b, 100), 16);
    CHECK(equal_bytes(g_b, "contents of 123\n", 16));
    for (uint32_t i = 0; i < count; ++i) {
        format_to(name, sizeof(name), "many/file-%04u", i);
        CHECK_EQ(vfs_unlink(path(name)), 0);
    }
    CHECK_EQ(vfs_rmdir(path("many")), 0);
    pass("many_file_directory");
}

void test_rename_link() {
    const char* a = path("a.txt");
    const char* b = path("b.txt");
    __builtin_memcpy(g_a, "rename me", 9);
    CHECK_EQ(write_all(a, g_a, 9, 0), 9);
    CHECK_EQ(vfs_rename(a, b), 0);
    struct vfs_stat st;
    CHECK_EQ(vfs_stat(a, &st), -ENOENT);
    CHECK_EQ(read_all(b, g_b, 100), 9);
    CHECK(equal_bytes(g_b, "rename me", 9));
    CHECK_EQ(vfs_rename(path("nope"), a), -ENOENT);
    // Over an existing file.
    CHECK_EQ(write_all(a, g_a, 3, 0), 3);
    CHECK_EQ(vfs_rename(a, b), 0);
    CHECK_EQ(read_all(b, g_b, 100), 3);
    // Hard link: same inode, two links, survives the original's removal.
    CHECK_EQ(vfs_link(b, a), 0);
    CHECK_EQ(vfs_link(b, a), -EEXIST);
    struct vfs_stat sa, sb;
    CHECK_EQ(vfs_stat(a, &sa), 0);
    CHECK_EQ(vfs_stat(b, &sb), 0);
    CHECK_EQ(sa.st_ino, sb.st_ino);
    CHECK_EQ(sa.st_nlink, 2);
    CHECK_EQ(vfs_unlink(b), 0);
    CHECK_EQ(vfs_stat(a, &sa), 0);
    CHECK_EQ(sa.st_nlink, 1);
    CHECK_EQ(read_all(a, g_b, 100), 3);
    CHECK_EQ(vfs_unlink(a), 0);
    CHECK_EQ(vfs_unlink(a), -ENOENT);
    pass("rename_link");
}

void test_symlinks() {
    CHECK_EQ(vfs_mkdir(path("sub"), 0755), 0);
    __builtin_memcpy(g_a, "target data\n", 12);
    CHECK_EQ(write_all(path("sub/target.txt"), g_a, 12, 0), 12);
    CHECK_EQ(vfs_symlink("sub/target.txt", path("rel")), 0);
    char abs[256];
    format_to(abs, sizeof(abs), "%s/selftest/sub", g_mount);
    CHECK_EQ(vfs_symlink(abs, path("abs")), 0);
    CHECK_EQ(vfs_symlink("loop2", path("loop1")), 0);
    CHECK_EQ(vfs_symlink("loop1", path("loop2")), 0);
    CHECK_EQ(vfs_symlink("x", path("rel")), -EEXIST);

    char buf[256];
    CHECK_EQ(vfs_readlink(path("rel"), buf, sizeof(buf)), 14);
    CHECK(__builtin_memcmp(buf, "sub/target.txt", 14) == 0);
    CHECK_EQ(vfs_readlink(path("sub/target.txt"), buf, sizeof(buf)), -EINVAL);
    CHECK_EQ(read_all(path("rel"), g_b, 100), 12);
    CHECK(equal_bytes(g_b, "target data\n", 12));
    CHECK_EQ(read_all(path("abs/target.txt"), g_b, 100), 12);
    struct vfs_stat st;
    CHECK_EQ(vfs_lstat(path("rel"), &st), 0);
    CHECK_EQ(st.st_mode & VFS_S_IFMT, VFS_S_IFLNK);
    CHECK_EQ(vfs_stat(path("rel"), &st), 0);
    CHECK_EQ(st.st_mode & VFS_S_IFMT, VFS_S_IFREG);
    CHECK_EQ(vfs_stat(path("abs"), &st), 0);
    CHECK_EQ(st.st_mode & VFS_S_IFMT, VFS_S_IFDIR);
    CHECK_EQ(vfs_stat(path("loop1"), &st), -ELOOP);
    CHECK_EQ(vfs_open(path("loop1"), VFS_O_RDONLY, 0), -ELOOP);
    CHECK_EQ(vfs_open(path("rel"), VFS_O_RDONLY | VFS_O_NOFOLLOW, 0), -ELOOP);
    CHECK_EQ(vfs_lstat(path("loop1"), &st), 0);
    const char* made[] = {"rel", "abs", "loop1", "loop2", "sub/target.txt"};
    for (const char* n : made)
        CHECK_EQ(vfs_unlink(path(n)), 0);
    CHECK_EQ(vfs_rmdir(path("sub")), 0);
    pass("symlinks");
}

void test_statfs_fd_errors() {
    struct vfs_statfs sf;
    CHECK_EQ(vfs_statfs(g_mount, &sf), 0);
    CHECK(sf.f_bsize > 0);
    CHECK(sf.f_blocks > 0);
    struct vfs_stat st;
    CHECK_EQ(vfs_fstat(999, &st), -EBADF);
    CHECK_EQ(vfs_read(-1, g_a, 1), -EBADF);
    CHECK_EQ(vfs_readdir(3, nullptr), -EBADF);
    CHECK_EQ(vfs_stat("/nowhere/x", &st), -ENOENT);
    const int d = vfs_opendir(path(""));
    CHECK(d >= 0);
    CHECK_EQ(vfs_read(d, g_a, 1), -EISDIR);
    CHECK_EQ(vfs_fsync(d), 0);
    CHECK_EQ(vfs_fstat(d, &st), 0);
    CHECK_EQ(st.st_mode & VFS_S_IFMT, VFS_S_IFDIR);
    CHECK_EQ(vfs_close(d), 0);
    pass("statfs_and_bad_descriptors");
}

void test_second_mount(const char* tag2) {
    CHECK_EQ(vfs_mount(tag2, "/share2"), 0);
    __builtin_memcpy(g_a, "one", 3);
    __builtin_memcpy(g_a + 3, "two", 3);
    CHECK_EQ(write_all("/share2/second.txt", g_a + 3, 3, VFS_O_TRUNC), 3);
    CHECK_EQ(write_all(path("first.txt"), g_a, 3, VFS_O_TRUNC), 3);
    CHECK_EQ(read_all("/share2/second.txt", g_b, 10), 3);
    CHECK(equal_bytes(g_b, "two", 3));
    CHECK_EQ(read_all(path("first.txt"), g_b, 10), 3);
    CHECK(equal_bytes(g_b, "one", 3));
    struct vfs_stat st;
    CHECK_EQ(vfs_stat(path("second.txt"), &st), -ENOENT);
    CHECK_EQ(vfs_rename(path("first.txt"), "/share2/first.txt"), -EXDEV);
    CHECK_EQ(vfs_unlink("/share2/second.txt"), 0);
    CHECK_EQ(vfs_unlink(path("first.txt")), 0);
    CHECK_EQ(vfs_umount("/share2"), 0);
    pass("two_devices");
}

// cache=never: the host rewrites host-change.txt while we run; we must see it.
void test_host_change() {
    char p[256], w[256];
    format_to(p, sizeof(p), "%s/host-change.txt", g_mount);
    format_to(w, sizeof(w), "%s/guest-waiting", g_mount);
    CHECK_EQ(read_all(p, g_b, 100), 7);
    CHECK(equal_bytes(g_b, "before\n", 7));
    CHECK_EQ(write_all(w, g_a, 0, 0), 0);
    kprintf("waiting for the host to change host-change.txt\n");
    // Bounded by attempts, not time: each round trip takes whatever it takes.
    bool seen = false;
    for (int i = 0; i < 200000 && !seen; ++i) {
        const int64_t n = read_all(p, g_b, 100);
        seen = n == 6 && equal_bytes(g_b, "after\n", 6);
    }
    CHECK(seen);
    struct vfs_stat st;
    CHECK_EQ(vfs_stat(p, &st), 0);
    CHECK_EQ(st.st_size, 6);
    CHECK_EQ(vfs_unlink(w), 0);
    pass("host_change_seen");
}

// Synchronous round trips, one request in flight at a time, spread round-robin over every
// request queue: the pattern in which a lost notification stalls a queue for good. Each
// read must return what the write before it stored. A varying pause before each round
// sweeps the moment of the guest's publish across the device's going-to-sleep window.
void test_stress(uint64_t rounds) {
    const int fd = vfs_open(path("stress.bin"), VFS_O_CREAT | VFS_O_RDWR | VFS_O_TRUNC, 0644);
    CHECK(fd >= 0);
    for (uint64_t i = 0; i < rounds; ++i) {
        for (uint32_t spin = (i * 2654435761u) % 16384; spin != 0; --spin)
            __asm__ volatile("" ::: "memory");
        const int64_t off = static_cast<int64_t>((i % 64) * 64);
        fill(g_a, 64, i, 7);
        if (vfs_pwrite(fd, g_a, 64, off) != 64 || vfs_pread(fd, g_b, 64, off) != 64 ||
            mismatch(g_b, 64, i, 7) >= 0) {
            kprintf("FAIL stress: round %lu of %lu\n", static_cast<unsigned long>(i),
                    static_cast<unsigned long>(rounds));
            ++g_failures;
            vfs_close(fd);
            return;
        }
    }
    CHECK_EQ(vfs_close(fd), 0);
    CHECK_EQ(vfs_unlink(path("stress.bin")), 0);
    pass("stress_round_trips");
}

// write_behind: 4 KiB sequential writes over more than two buffers' worth: kept and sent
// in runs, the size seen mid-way (a stat flushes), every byte read back through another
// descriptor, fsync and close clean.
void test_write_behind(const ukfuse::WriteBehind& wb) {
    uint64_t len = 2 * uint64_t{wb.capacity()} + 5 * 4096 + 100;
    if (len > g_big) len = g_big;
    const char* p = path("wb.bin");
    const int fd = vfs_open(p, VFS_O_WRONLY | VFS_O_CREAT | VFS_O_TRUNC, 0644);
    CHECK(fd >= 0);
    fill(g_a, len, 0, 91);
    const uint64_t kept = wb.stats().writes_taken, sent = wb.stats().flushes;
    for (uint64_t off = 0; off < len; off += 4096) {
        const uint64_t n = len - off < 4096 ? len - off : 4096;
        CHECK_EQ(vfs_write(fd, g_a + off, n), n);
        if (off == 4096 * 10) {
            struct vfs_stat st {};
            CHECK_EQ(vfs_fstat(fd, &st), 0);
            CHECK_EQ(st.st_size, off + n);
        }
    }
    CHECK(wb.stats().writes_taken > kept);
    CHECK(wb.stats().flushes > sent);
    const int rfd = vfs_open(p, VFS_O_RDONLY, 0);
    CHECK(rfd >= 0);
    __builtin_memset(g_b, 0, len);
    CHECK_EQ(vfs_pread(rfd, g_b, len, 0), len);
    CHECK_EQ(mismatch(g_b, len, 0, 91), -1);
    CHECK_EQ(vfs_close(rfd), 0);
    CHECK_EQ(vfs_fsync(fd), 0);
    CHECK_EQ(vfs_close(fd), 0);
    CHECK_EQ(vfs_unlink(p), 0);
    pass("write_behind");
}

// --- DAX ------------------------------------------------------------------------------

// The FUSE path on an open descriptor, bypassing the window: what the host file holds.
int64_t fuse_pread(int fd, void* buf, uint64_t len, uint64_t off) {
    vfslib::OpenFile* f = vfslib::fd_get(fd);
    if (!f) return -EBADF;
    auto n = f->mount->session->read(f->nodeid, f->handle.fh, off, buf, len);
    return n ? static_cast<int64_t>(*n) : -n.error();
}

int64_t fuse_pwrite(int fd, const void* buf, uint64_t len, uint64_t off) {
    vfslib::OpenFile* f = vfslib::fd_get(fd);
    if (!f) return -EBADF;
    auto n = f->mount->session->write(f->nodeid, f->handle.fh, off, buf, len);
    return n ? static_cast<int64_t>(*n) : -n.error();
}

// Bytes stored through the window are what FUSE READ (the host file) returns, and the
// other way round; a write past the end grows the file first; the host checks the file
// left behind.
void test_dax_coherence(ukfuse::DaxManager* dax) {
    const uint64_t size = 3 * ukfuse::kDaxRangeSize + 123;  // straddles ranges, grows
    if (g_big < size) {
        skip("dax_coherence", "buffers smaller than 3 ranges");
        return;
    }
    const uint64_t maps_before = dax->stats().maps + dax->stats().hits;
    char p[256];
    format_to(p, sizeof(p), "%s/dax-host-check.bin", g_mount);
    int fd = vfs_open(p, VFS_O_RDWR | VFS_O_CREAT | VFS_O_TRUNC, 0644);
    CHECK(fd >= 0);
    // Growing the file is a FUSE WRITE (as Linux's DAX), never the window.
    fill(g_a, size, 0, 76);
    CHECK_EQ(vfs_pwrite(fd, g_a, size, 0), static_cast<int64_t>(size));
    CHECK_EQ(dax->stats().maps + dax->stats().hits, maps_before);
    struct vfs_stat st {};
    CHECK_EQ(vfs_fstat(fd, &st), 0);
    CHECK_EQ(st.st_size, static_cast<int64_t>(size));
    // Overwriting it is the window's: the host's check finds these bytes.
    fill(g_a, size, 0, 77);
    CHECK_EQ(vfs_pwrite(fd, g_a, size, 0), static_cast<int64_t>(size));
    CHECK(dax->stats().maps + dax->stats().hits > maps_before);
    CHECK_EQ(vfs_fstat(fd, &st), 0);
    CHECK_EQ(st.st_size, static_cast<int64_t>(size));
    __builtin_memset(g_b, 0, size);
    CHECK_EQ(fuse_pread(fd, g_b, size, 0), static_cast<int64_t>(size));
    CHECK_EQ(mismatch(g_b, size, 0, 77), -1);
    // FUSE WRITE into a mapped range: the window shows it at once.
    fill(g_a, 5000, ukfuse::kDaxRangeSize - 2000, 78);
    CHECK_EQ(fuse_pwrite(fd, g_a, 5000, ukfuse::kDaxRangeSize - 2000), 5000);
    __builtin_memset(g_b, 0, 5000);
    CHECK_EQ(vfs_pread(fd, g_b, 5000, ukfuse::kDaxRangeSize - 2000), 5000);
    CHECK_EQ(mismatch(g_b, 5000, ukfuse::kDaxRangeSize - 2000, 78), -1);
    // Put the pattern back for the host's check, through the window.
    fill(g_a, 5000, ukfuse::kDaxRangeSize - 2000, 77);
    CHECK_EQ(vfs_pwrite(fd, g_a, 5000, ukfuse::kDaxRangeSize - 2000), 5000);
    // Reads stop at the end of the file.
    CHECK_EQ(vfs_pread(fd, g_b, 4096, static_cast<int64_t>(size) - 100), 100);
    CHECK_EQ(vfs_pread(fd, g_b, 4096, static_cast<int64_t>(size)), 0);
    CHECK_EQ(vfs_fsync(fd), 0);
    CHECK_EQ(vfs_close(fd), 0);
    // A range first read (mapped read-only) and then written: mapped again read-write.
    const char* up = path("dax-upgrade.bin");
    fd = vfs_open(up, VFS_O_RDWR | VFS_O_CREAT | VFS_O_TRUNC, 0644);
    CHECK(fd >= 0);
    fill(g_a, 8192, 0, 79);
    CHECK_EQ(fuse_pwrite(fd, g_a, 8192, 0), 8192);
    CHECK_EQ(vfs_pread(fd, g_b, 8192, 0), 8192);
    CHECK_EQ(mismatch(g_b, 8192, 0, 79), -1);
    const uint64_t upgrades = dax->stats().upgrades;
    fill(g_a, 100, 4000, 80);
    CHECK_EQ(vfs_pwrite(fd, g_a, 100, 4000), 100);
    CHECK_EQ(dax->stats().upgrades, upgrades + 1);
    CHECK_EQ(fuse_pread(fd, g_b, 100, 4000), 100);
    CHECK_EQ(mismatch(g_b, 100, 4000, 80), -1);
    CHECK_EQ(vfs_close(fd), 0);
    CHECK_EQ(vfs_unlink(up), 0);
    pass("dax_coherence");
}

// A working set 8 times the window over 4 files: every range is evicted and mapped
// again, and every byte read back (through the window, then over FUSE) is checked.
void test_dax_eviction(ukfuse::DaxManager* dax) {
    constexpr uint32_t kFiles = 4;
    const uint64_t file_size = 2ull * dax->ranges() * ukfuse::kDaxRangeSize;  // 8x over 4
    const uint64_t chunk = (1u << 20) + 4096;
    if (g_big < chunk) {
        skip("dax_eviction", "buffers smaller than a chunk");
        return;
    }
    const uint64_t evictions_before = dax->stats().evictions;
    int fds[kFiles];
    for (uint32_t f = 0; f < kFiles; ++f) {
        char rel[32];
        format_to(rel, sizeof(rel), "evict-%u.bin", f);
        fds[f] = vfs_open(path(rel), VFS_O_RDWR | VFS_O_CREAT | VFS_O_TRUNC, 0644);
        CHECK(fds[f] >= 0);
    }
    // Interleaved writes: each file's next chunk in turn, so the ranges compete.
    for (uint64_t off = 0; off < file_size; off += chunk) {
        const uint64_t n = file_size - off < chunk ? file_size - off : chunk;
        for (uint32_t f = 0; f < kFiles; ++f) {
            fill(g_a, n, off, 100 + f);
            CHECK_EQ(vfs_pwrite(fds[f], g_a, n, static_cast<int64_t>(off)),
                     static_cast<int64_t>(n));
            CHECK(dax->live() <= dax->ranges());
        }
    }
    // Back to front through the window, then every byte over FUSE.
    for (uint64_t end = file_size; end > 0;) {
        const uint64_t n = end < chunk ? end : chunk;
        const uint64_t off = end - n;
        for (uint32_t f = 0; f < kFiles; ++f) {
            CHECK_EQ(vfs_pread(fds[f], g_b, n, static_cast<int64_t>(off)), static_cast<int64_t>(n));
            CHECK_EQ(mismatch(g_b, n, off, 100 + f), -1);
        }
        end = off;
    }
    for (uint32_t f = 0; f < kFiles; ++f) {
        for (uint64_t off = 0; off < file_size; off += chunk) {
            const uint64_t n = file_size - off < chunk ? file_size - off : chunk;
            CHECK_EQ(fuse_pread(fds[f], g_b, n, off), static_cast<int64_t>(n));
            CHECK_EQ(mismatch(g_b, n, off, 100 + f), -1);
        }
    }
    const uint64_t evicted = dax->stats().evictions - evictions_before;
    kprintf("dax eviction: %u ranges, %lu MiB working set, %lu evictions, %lu REMOVEMAPPING\n",
            dax->ranges(), static_cast<unsigned long>(kFiles * file_size >> 20),
            static_cast<unsigned long>(evicted),
            static_cast<unsigned long>(dax->stats().removemapping_msgs));
    CHECK(evicted >= 7ull * dax->ranges());
    for (uint32_t f = 0; f < kFiles; ++f) {
        char rel[32];
        format_to(rel, sizeof(rel), "evict-%u.bin", f);
        CHECK_EQ(vfs_close(fds[f]), 0);
        CHECK_EQ(vfs_unlink(path(rel)), 0);
    }
    pass("dax_eviction");
}

bool setup_buffers(uint32_t max_write, bool dax) {
    g_big = 3ull * max_write + 4097;
    // The DAX checks straddle three 2 MiB ranges.
    if (dax && g_big < 3 * ukfuse::kDaxRangeSize + 4096) g_big = 3 * ukfuse::kDaxRangeSize + 4096;
    g_a = static_cast<uint8_t*>(vfs_buffer_alloc(g_big + 4096));
    g_b = static_cast<uint8_t*>(vfs_buffer_alloc(g_big + 4096));
    if (!g_a || !g_b) {
        kprintf("FAIL: no memory for %lu-byte buffers\n", static_cast<unsigned long>(g_big));
        return false;
    }
    // A fresh work directory (a previous run may have left one behind).
    vfs_mkdir(path(""), 0755);
    return true;
}

void cleanup() {
    const char* left[] = {"big.bin", "flags.txt", "seek.bin"};
    for (const char* n : left)
        vfs_unlink(path(n));
    const int rm = vfs_rmdir(path(""));
    if (rm < 0) {
        kprintf("FAIL cleanup: rmdir selftest: error %d\n", -rm);
        ++g_failures;
    }
}

int finish() {
    kprintf("selftest: %d checks, %d failure(s)\n", g_checks, g_failures);
    kprintf(g_failures ? "SELFTEST FAIL\n" : "SELFTEST PASS\n");
    return g_failures ? 1 : 0;
}

// The content checks over a 9p mount; "Rread"/"Twrite" split at msize as READ and WRITE
// split at max_write.
int run_9p(int argc, char** argv, const char* tag, p9::Client* c) {
    kprintf("selftest: mounted \"%s\" at %s over 9P2000.L, msize %u\n", tag, g_mount, c->msize());
    if (!setup_buffers(c->max_write(), false)) return 1;
    if (apps::arg_u64(argc, argv, "hello", 1)) test_hello();
    test_big_file(c->max_write());
    test_open_flags();
    test_seek_truncate();
    test_dirs();
    test_many_files(static_cast<uint32_t>(apps::arg_u64(argc, argv, "files", 300)));
    test_rename_link();
    test_symlinks();
    test_statfs_fd_errors();
    skip("two_devices", "one 9p device per run");
    cleanup();
    skip("lookup_forget_balance", "FUSE lookup counts; 9p has none (fids balance instead)");
    skip("request_queues", "virtio-9p has one request queue");
    const int um = vfs_umount(g_mount);
    // Only the attached root may be left: every walk's fid was clunked.
    kprintf("fids: %u in use after unmount, %lu messages\n", c->fids_in_use(),
            static_cast<unsigned long>(c->messages()));
    if (um < 0 || c->fids_in_use() != 1) {
        kprintf("FAIL fid_balance\n");
        ++g_failures;
    } else {
        kprintf("ok fid_balance\n");
    }
    return finish();
}

}  // namespace

int app_main(int argc, char** argv) {
    const char* tag = apps::arg_str(argc, argv, "tag", "myfs");
    g_mount = apps::arg_str(argc, argv, "mount", "/share");
    const int devices = apps::attach_virtio_fs(argc, argv) + apps::attach_virtio_9p(argc, argv);
    if (devices <= 0) {
        kprintf("FAIL: no virtio-fs or virtio-9p device\n");
        return 1;
    }
    char mount_opts[96] = "";
    const char* dax_mode = find_arg(argc, argv, "dax");
    const char* dax_ranges = find_arg(argc, argv, "dax_ranges");
    const bool write_behind = apps::arg_u64(argc, argv, "write_behind", 0) != 0;
    format_to(mount_opts, sizeof(mount_opts), "%s%s%s%s%s", dax_mode ? "dax=" : "",
              dax_mode ? dax_mode : "", dax_ranges ? ",dax_ranges=" : "",
              dax_ranges ? dax_ranges : "", write_behind ? ",write_behind" : "");
    if (int r = vfs_mount_opts(tag, g_mount, mount_opts); r < 0) {
        kprintf("FAIL: mounting \"%s\" at %s: error %d\n", tag, g_mount, -r);
        return 1;
    }
    vfslib::Mount* m = vfslib::mount_at(g_mount);
    if (m->p9) return run_9p(argc, argv, tag, m->p9);
    ukfuse::Session* session = m->session;
    const ukfuse::InitInfo& info = session->info();
    kprintf(
        "selftest: mounted \"%s\" at %s: FUSE 7.%u, max_write %u, max_read %u, "
        "max_pages %u, map_alignment %u, readdirplus %s, %u request queue(s)\n",
        tag, g_mount, info.minor, info.max_write, info.max_read, info.max_pages, info.map_alignment,
        info.readdirplus ? "on" : "off", session->device().num_request_queues());

    ukfuse::DaxManager* dax = session->dax();
    if (dax) {
        kprintf("selftest: DAX on: %u ranges of 2 MiB in the window\n", dax->ranges());
    } else {
        kprintf("selftest: DAX off\n");
    }
    if (!setup_buffers(info.max_write, dax != nullptr)) return 1;

    if (apps::arg_u64(argc, argv, "dax_eviction", 0)) {
        if (dax)
            test_dax_eviction(dax);
        else
            kprintf("FAIL dax_eviction: DAX is off\n"), ++g_failures;
    } else if (const uint64_t rounds = apps::arg_u64(argc, argv, "stress", 0)) {
        test_stress(rounds);
    } else if (apps::arg_u64(argc, argv, "host_change", 0)) {
        test_host_change();
    } else {
        if (apps::arg_u64(argc, argv, "hello", 1)) test_hello();
        test_big_file(info.max_write);
        test_open_flags();
        test_seek_truncate();
        test_dirs();
        test_many_files(static_cast<uint32_t>(apps::arg_u64(argc, argv, "files", 300)));
        test_rename_link();
        test_symlinks();
        test_statfs_fd_errors();
        if (const char* tag2 = find_arg(argc, argv, "tag2")) test_second_mount(tag2);
        if (dax) test_dax_coherence(dax);
        if (session->write_behind().on()) test_write_behind(session->write_behind());
    }
    if (dax) {
        const ukfuse::DaxStats& d = dax->stats();
        kprintf(
            "dax: %lu maps, %lu upgrades, %lu hits, %lu evictions, %lu REMOVEMAPPING, "
            "%lu errors\n",
            static_cast<unsigned long>(d.maps), static_cast<unsigned long>(d.upgrades),
            static_cast<unsigned long>(d.hits), static_cast<unsigned long>(d.evictions),
            static_cast<unsigned long>(d.removemapping_msgs), static_cast<unsigned long>(d.errors));
    }
    if (session->write_behind().on()) {
        const ukfuse::WriteBehindStats& w = session->write_behind().stats();
        kprintf("write_behind: %lu writes kept, %lu runs sent, %lu bytes, %lu errors\n",
                static_cast<unsigned long>(w.writes_taken), static_cast<unsigned long>(w.flushes),
                static_cast<unsigned long>(w.bytes_flushed), static_cast<unsigned long>(w.errors));
    }
    cleanup();

    // Every request queue carried work, and every lookup was forgotten at unmount.
    virtio_fs::FsDevice& dev = session->device();
    for (uint32_t q = 1; q <= dev.num_request_queues(); ++q)
        kprintf("queue %u: %lu requests\n", q, static_cast<unsigned long>(dev.submitted(q)));
    kprintf("silent device kicked again: %lu time(s)\n", static_cast<unsigned long>(dev.rekicks()));
    kprintf("completion: %s, %lu sleeps\n", dev.interrupt_driven() ? "interrupt" : "polling",
            static_cast<unsigned long>(dev.sleeps()));
#if !__STDC_HOSTED__
    kprintf("interrupts: %lu completion, %lu timer\n",
            static_cast<unsigned long>(interrupts::completion_interrupts()),
            static_cast<unsigned long>(interrupts::timer_interrupts()));
#endif
    const int um = vfs_umount(g_mount);
    const ukfuse::Counters& c = session->counters();
    kprintf(
        "lookups: %lu counted, %lu forgotten (%lu FORGET, %lu BATCH_FORGET, hiprio %lu), "
        "%lu held after unmount\n",
        static_cast<unsigned long>(c.lookups_counted), static_cast<unsigned long>(c.forgets_sent),
        static_cast<unsigned long>(c.forget_messages),
        static_cast<unsigned long>(c.batch_forget_messages),
        static_cast<unsigned long>(dev.submitted(0)),
        static_cast<unsigned long>(session->held_lookups()));
    if (um < 0 || c.lookups_counted != c.forgets_sent || session->held_lookups() != 0) {
        kprintf("FAIL lookup_forget_balance\n");
        ++g_failures;
    } else {
        kprintf("ok lookup_forget_balance\n");
    }
    return finish();
}

}  // namespace vfs::guest
