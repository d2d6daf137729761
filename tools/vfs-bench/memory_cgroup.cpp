#include "memory_cgroup.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

namespace vfs::bench {

namespace {

constexpr const char* kMemoryRoot = "/sys/fs/cgroup/memory";

bool write_file(const std::string& path, const std::string& value) {
    const int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
    if (fd < 0) return false;
    const ssize_t n = ::write(fd, value.data(), value.size());
    const int saved = errno;
    ::close(fd);
    errno = saved;
    return n == static_cast<ssize_t>(value.size());
}

}  // namespace

std::string MemoryCgroup::own_directory(std::string* why) {
    struct stat st;
    if (::stat((std::string(kMemoryRoot) + "/memory.limit_in_bytes").c_str(), &st) != 0) {
        *why = std::string("no cgroup v1 memory controller at ") + kMemoryRoot;
        return {};
    }
    // "4:memory:/some/path" names this process's cgroup in the memory hierarchy.
    std::ifstream f("/proc/self/cgroup");
    for (std::string line; std::getline(f, line);) {
        const size_t a = line.find(':');
        const size_t b = a == std::string::npos ? a : line.find(':', a + 1);
        if (b == std::string::npos) continue;
        std::stringstream controllers(line.substr(a + 1, b - a - 1));
        for (std::string c; std::getline(controllers, c, ',');)
            if (c == "memory")
                return kMemoryRoot + (line.substr(b + 1) == "/" ? "" : line.substr(b + 1));
    }
    *why = "/proc/self/cgroup names no memory cgroup";
    return {};
}

std::string MemoryCgroup::create(const std::string& parent, const std::string& name,
                                 uint64_t limit_bytes) {
    const std::string path = parent + "/" + name;
    if (::mkdir(path.c_str(), 0755) != 0)
        return "cannot make the memory cgroup " + path + ": " + strerror(errno);
    path_ = path;
    if (!write_file(path_ + "/memory.limit_in_bytes", std::to_string(limit_bytes)))
        return "cannot set " + path_ + "/memory.limit_in_bytes: " + strerror(errno);
    const uint64_t got = read_number("memory.limit_in_bytes");
    // The kernel rounds the limit down to a page; anything else means it did not take.
    if (got > limit_bytes || got + 4096 <= limit_bytes)
        return path_ + "/memory.limit_in_bytes reads " + std::to_string(got) + ", not " +
               std::to_string(limit_bytes);
    return {};
}

std::map<std::string, uint64_t> MemoryCgroup::stat() const {
    std::map<std::string, uint64_t> out;
    std::ifstream f(path_ + "/memory.stat");
    std::string key;
    uint64_t value = 0;
    while (f >> key >> value)
        out[key] = value;
    return out;
}

uint64_t MemoryCgroup::read_number(const char* file) const {
    std::ifstream f(path_ + "/" + file);
    uint64_t v = 0;
    return (f >> v) ? v : 0;
}

std::string MemoryCgroup::remove() {
    if (path_.empty()) return {};
    for (int tries = 0; tries < 500; ++tries) {  // up to 5 s for exiting tasks to leave
        if (::rmdir(path_.c_str()) == 0 || errno == ENOENT) {
            path_.clear();
            return {};
        }
        if (errno != EBUSY) break;
        ::usleep(10 * 1000);
    }
    return "cannot remove the memory cgroup " + path_ + ": " + strerror(errno);
}

bool join_cgroup(const std::string& procs_file) {
    return write_file(procs_file, std::to_string(::getpid()));
}

std::string drop_page_cache() {
    ::sync();
    if (!write_file("/proc/sys/vm/drop_caches", "3"))
        return std::string("cannot drop the page cache (/proc/sys/vm/drop_caches): ") +
               strerror(errno);
    return {};
}

}  // namespace vfs::bench
