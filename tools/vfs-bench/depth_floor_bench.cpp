// vfs-depth-floor-bench: how many LOOKUP+FORGETs and create+unlinks per second the host
// kernel alone allows, made of the very system calls each daemon makes for them (as
// strace shows with --sandbox=none as root, docs/benchmarks.md "session 7"), on 1 and 2
// threads. A daemon serving one queue with --thread-pool-size=0 does them on one thread,
// so the 1-thread figure bounds it whatever its user space costs; vfs-bench's ratio
// targets at depth are then checked against it. No FUSE, no daemon, no virtqueue.
//
// Recipes (each line one operation, one thread):
//   lookup_min   openat(O_PATH|O_NOFOLLOW) + statx + close
//   lookup_ours  openat2(O_PATH|O_NOFOLLOW, RESOLVE_BENEATH|NO_MAGICLINKS|NO_SYMLINKS)
//                + statx; FORGET: close
//   lookup_rust  openat2(O_PATH|O_NOFOLLOW, RESOLVE_IN_ROOT|NO_MAGICLINKS) + statx; close
//   create_min   openat(O_CREAT|O_EXCL) + fstat + close + unlinkat
//   create_ours  CREATE: geteuid, setfsgid/setfsuid to the caller and back to check
//                (4 calls), openat(O_CREAT|O_EXCL), setfsuid/setfsgid back (2), reopen
//                through /proc/self/fd as O_PATH, statx, fcntl(F_GETFL); RELEASE: close;
//                UNLINK: unlinkat; FORGET: close
//   create_ours_nocreds  create_ours without the 6 setfsuid/setfsgid calls (what
//                skipping the switch when the ids are already the caller's would save)
//   create_rust  CREATE: geteuid, getegid, openat2(O_CREAT|O_EXCL), openat2(O_PATH) of
//                the name, statx; RELEASE: close; UNLINK: openat2(O_PATH) + statx + close
//                + unlinkat; FORGET: close
// Prints a table (median of --rounds) and one JSON line.
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fsuid.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

namespace {

constexpr uint32_t kFiles = 10000;

uint64_t now_ns() {
    return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                     std::chrono::steady_clock::now().time_since_epoch())
                                     .count());
}

[[noreturn]] void die(const char* what) {
    perror(what);
    exit(1);
}

int openat2_path(int dir, const char* name, uint64_t flags, uint64_t resolve, uint64_t mode = 0) {
    open_how how{};
    how.flags = flags;
    how.mode = mode;
    how.resolve = resolve;
    return static_cast<int>(syscall(SYS_openat2, dir, name, &how, sizeof how));
}

bool statx_fd(int fd) {
    struct statx stx;
    return ::statx(fd, "", AT_STATX_SYNC_AS_STAT | AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH,
                   STATX_BASIC_STATS | STATX_MNT_ID, &stx) == 0;
}

struct Env {
    int lookup_dir = -1;  // kFiles empty files f00000..
    int create_dir = -1;  // empty
    int proc_self_fd = -1;
};

std::string file_name(uint32_t i) {
    char b[16];
    snprintf(b, sizeof b, "f%05u", i);
    return b;
}

constexpr uint64_t kPathFlags = O_PATH | O_NOFOLLOW | O_CLOEXEC;
constexpr uint64_t kOursResolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_SYMLINKS;
constexpr uint64_t kRustResolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
constexpr int kCreateFlags = O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC;

// One operation of `recipe` on thread t, its i-th; false on any failed call.
bool op(const Env& e, const std::string& recipe, uint32_t t, uint64_t i) {
    if (recipe.rfind("lookup", 0) == 0) {
        const std::string n = file_name(static_cast<uint32_t>((i * 2 + t) % kFiles));
        int fd;
        if (recipe == "lookup_min")
            fd = ::openat(e.lookup_dir, n.c_str(), static_cast<int>(kPathFlags));
        else
            fd = openat2_path(e.lookup_dir, n.c_str(), kPathFlags,
                              recipe == "lookup_ours" ? kOursResolve : kRustResolve);
        if (fd < 0 || !statx_fd(fd)) return false;
        return ::close(fd) == 0;
    }
    char n[32];
    snprintf(n, sizeof n, "c%u-%llu", t, static_cast<unsigned long long>(i));
    if (recipe == "create_min") {
        const int fd = ::openat(e.create_dir, n, kCreateFlags, 0644);
        struct stat st;
        if (fd < 0 || ::fstat(fd, &st) != 0) return false;
        ::close(fd);
        return ::unlinkat(e.create_dir, n, 0) == 0;
    }
    if (recipe == "create_ours" || recipe == "create_ours_nocreds") {
        const bool creds = recipe == "create_ours";
        const uid_t uid = ::geteuid();
        if (creds) ::setfsgid(0);
        if (creds) ::setfsuid(uid);
        if (creds && ::setfsgid(static_cast<gid_t>(-1)) != 0) return false;
        if (creds && static_cast<uid_t>(::setfsuid(static_cast<uid_t>(-1))) != uid) return false;
        const int fd = ::openat(e.create_dir, n, kCreateFlags, 0644);
        if (creds) ::setfsuid(uid);
        if (creds) ::setfsgid(0);
        if (fd < 0) return false;
        char fdname[16];
        snprintf(fdname, sizeof fdname, "%d", fd);
        const int ifd = ::openat(e.proc_self_fd, fdname, O_PATH | O_CLOEXEC);
        if (ifd < 0 || !statx_fd(ifd) || ::fcntl(fd, F_GETFL) < 0) return false;
        ::close(fd);                                            // RELEASE
        if (::unlinkat(e.create_dir, n, 0) != 0) return false;  // UNLINK
        return ::close(ifd) == 0;                               // FORGET
    }
    // create_rust
    (void)::geteuid();
    (void)::getegid();
    const int fd = openat2_path(e.create_dir, n, kCreateFlags, kRustResolve, 0644);
    if (fd < 0) return false;
    const int ifd = openat2_path(e.create_dir, n, kPathFlags, kRustResolve);
    if (ifd < 0 || !statx_fd(ifd)) return false;
    ::close(fd);  // RELEASE
    const int ufd = openat2_path(e.create_dir, n, kPathFlags, kRustResolve);
    if (ufd < 0 || !statx_fd(ufd)) return false;
    ::close(ufd);
    if (::unlinkat(e.create_dir, n, 0) != 0) return false;
    return ::close(ifd) == 0;  // FORGET
}

// Operations per second of `threads` threads doing recipe for `seconds`.
double run(const Env& e, const std::string& recipe, uint32_t threads, double seconds) {
    std::atomic<bool> failed{false};
    std::vector<uint64_t> ops(threads * 8, 0);  // a cache line apart
    const uint64_t start = now_ns();
    const uint64_t deadline = start + static_cast<uint64_t>(seconds * 1e9);
    std::vector<std::thread> pool;
    for (uint32_t t = 0; t < threads; ++t)
        pool.emplace_back([&, t] {
            uint64_t i = 0;
            while (now_ns() < deadline) {
                if (!op(e, recipe, t, i)) {
                    failed = true;
                    return;
                }
                ++i;
            }
            ops[t * 8] = i;
        });
    for (auto& th : pool)
        th.join();
    if (failed) die(recipe.c_str());
    uint64_t total = 0;
    for (uint32_t t = 0; t < threads; ++t)
        total += ops[t * 8];
    return static_cast<double>(total) / (static_cast<double>(now_ns() - start) / 1e9);
}

}  // namespace

int main(int argc, char** argv) {
    double seconds = 2;
    int rounds = 3;
    std::string dir;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        if (a == "--seconds" && i + 1 < argc) {
            seconds = atof(argv[++i]);
        } else if (a == "--rounds" && i + 1 < argc) {
            rounds = atoi(argv[++i]);
        } else if (a == "--dir" && i + 1 < argc) {
            dir = argv[++i];
        } else {
            fprintf(stderr,
                    "usage: vfs-depth-floor-bench [--seconds S] [--rounds N] [--dir DIR]\n"
                    "DIR (default a fresh one under /tmp, removed) must be on the file system "
                    "vfs-bench shares\n");
            return 2;
        }
    }
    if (seconds <= 0 || rounds < 1) return 2;
    const bool temp = dir.empty();
    if (temp) {
        char tmpl[] = "/tmp/vfs-depth-floor-XXXXXX";
        if (!::mkdtemp(tmpl)) die("mkdtemp");
        dir = tmpl;
    }
    ::mkdir((dir + "/lookup").c_str(), 0755);
    ::mkdir((dir + "/create").c_str(), 0755);
    Env e;
    e.lookup_dir = ::open((dir + "/lookup").c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
    e.create_dir = ::open((dir + "/create").c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
    e.proc_self_fd = ::open("/proc/self/fd", O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (e.lookup_dir < 0 || e.create_dir < 0 || e.proc_self_fd < 0) die("open");
    for (uint32_t i = 0; i < kFiles; ++i) {
        const int fd =
            ::openat(e.lookup_dir, file_name(i).c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
        if (fd < 0) die("making the lookup files");
        ::close(fd);
    }
    const char* recipes[] = {"lookup_min",  "lookup_ours",         "lookup_rust", "create_min",
                             "create_ours", "create_ours_nocreds", "create_rust"};
    printf("%-12s %14s %14s   (ops/s, median of %d rounds of %.1f s)\n", "recipe", "1 thread",
           "2 threads", rounds, seconds);
    std::string json = "{\"tool\": \"vfs-depth-floor-bench\", \"ops_per_s\": {";
    for (const char* r : recipes) {
        double med[2];
        for (uint32_t threads : {1u, 2u}) {
            std::vector<double> v;
            for (int k = 0; k < rounds; ++k)
                v.push_back(run(e, r, threads, seconds));
            std::sort(v.begin(), v.end());
            med[threads - 1] = v[v.size() / 2];
        }
        printf("%-12s %14.0f %14.0f\n", r, med[0], med[1]);
        char b[128];
        snprintf(b, sizeof b, "%s\"%s\": [%.0f, %.0f]", json.back() == '{' ? "" : ", ", r, med[0],
                 med[1]);
        json += b;
    }
    printf("%s}}\n", json.c_str());
    if (temp) {
        std::error_code ec;
        std::filesystem::remove_all(dir, ec);
    }
    return 0;
}
