// vfs-dax-floor-bench: what the host kernel alone charges for the hosted DAX write.
//
// The hosted DAX 4 KiB sequential write stores into a fresh MAP_SHARED mapping of the
// host file (tools/frontend maps each 2 MiB range as QEMU does), so every first store
// to a page is a write fault with the filesystem's page_mkwrite, and into a file sized
// with ftruncate a page and a block reservation for the hole. This does that with no
// guest, no daemon and no FUSE: 2 MiB in 4 KiB stores through a new mapping, into a
// sparse file and into a written one, beside pwrite of the same. The best of --rounds
// is the floor any DAX write through such a window can reach here. Prints a table and
// one JSON line.
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

constexpr size_t kBlock = 4096;
constexpr size_t kRange = 2u << 20;

double now_ns() {
    return std::chrono::duration<double, std::nano>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
}

// One timed pass: true for a mapping (else pwrite), sparse for a freshly truncated file.
double pass(const std::string& path, bool mapped, bool sparse, const char* buf) {
    const int fd = ::open(path.c_str(), O_RDWR | O_CREAT, 0644);
    if (fd < 0) {
        std::perror("open");
        std::exit(1);
    }
    if (sparse && (::ftruncate(fd, 0) != 0 || ::ftruncate(fd, kRange) != 0)) {
        std::perror("ftruncate");
        std::exit(1);
    }
    double t0 = 0, t1 = 0;
    if (mapped) {
        void* m = ::mmap(nullptr, kRange, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        if (m == MAP_FAILED) {
            std::perror("mmap");
            std::exit(1);
        }
        auto* p = static_cast<char*>(m);
        t0 = now_ns();
        for (size_t off = 0; off < kRange; off += kBlock)
            std::memcpy(p + off, buf, kBlock);
        t1 = now_ns();
        ::munmap(m, kRange);
    } else {
        t0 = now_ns();
        for (size_t off = 0; off < kRange; off += kBlock) {
            if (::pwrite(fd, buf, kBlock, static_cast<off_t>(off)) !=
                static_cast<ssize_t>(kBlock)) {
                std::perror("pwrite");
                std::exit(1);
            }
        }
        t1 = now_ns();
    }
    ::close(fd);
    return t1 - t0;
}

}  // namespace

int main(int argc, char** argv) {
    std::string dir = "/tmp";
    int rounds = 30;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        if (a == "--dir" && i + 1 < argc) {
            dir = argv[++i];
        } else if (a == "--rounds" && i + 1 < argc) {
            rounds = std::atoi(argv[++i]);
        } else {
            std::fprintf(stderr, "usage: %s [--dir DIR] [--rounds N]\n", argv[0]);
            return 2;
        }
    }
    if (rounds < 1) rounds = 1;
    const std::string path = dir + "/vfs-dax-floor." + std::to_string(::getpid());
    std::vector<char> buf(kBlock, '\xab');
    struct Case {
        const char* name;
        bool mapped, sparse;
        double best = 1e300;
    } cases[] = {{"mmap_store_sparse", true, true},
                 {"mmap_store_written", true, false},
                 {"pwrite_sparse", false, true},
                 {"pwrite_written", false, false}};
    for (int r = 0; r < rounds; ++r) {
        for (Case& c : cases) {
            const double t = pass(path, c.mapped, c.sparse, buf.data());
            if (t < c.best) c.best = t;
        }
    }
    ::unlink(path.c_str());
    std::printf("%-20s %12s %10s %12s\n", "case", "us/2MiB", "MiB/s", "us/4KiB");
    std::string json =
        "{\"bench\":\"dax_floor\",\"dir\":\"" + dir + "\",\"rounds\":" + std::to_string(rounds);
    for (const Case& c : cases) {
        const double mibs = 2.0 / (c.best / 1e9);
        std::printf("%-20s %12.0f %10.0f %12.2f\n", c.name, c.best / 1e3, mibs,
                    c.best / (kRange / kBlock) / 1e3);
        char item[128];
        std::snprintf(item, sizeof(item), ",\"%s_mibs\":%.1f", c.name, mibs);
        json += item;
    }
    std::printf("%s}\n", json.c_str());
    return 0;
}
