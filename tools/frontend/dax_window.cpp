#include "dax_window.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>

namespace vfs::frontend {

namespace vu = vfs::host::vhost_user;

namespace {

constexpr uint64_t kPage = 4096;
constexpr uint64_t kMaxWindow = 16ull << 30;

// What QEMU 11.1.3 refuses of a map the generic checks passed (0: nothing). Its
// vhost-user shared-memory mapping sets RAM_READONLY_FD for a read-only map, never
// RAM_READONLY, so qemu_ram_mmap() maps every range PROT_READ|PROT_WRITE, MAP_SHARED: a fd
// not open O_RDWR fails there with EACCES ("unable to map backing store for guest RAM").
// Before that, qemu_ram_alloc_from_fd() refuses a range past a non-empty file's end
// ("backing store size ... is too small"), and an empty file it ftruncate()s to the
// range's end: refused here, so a test sees the host file keep its size.
int qemu_refuses(const vu::ShmemMap& m, int fd) {
    const int fl = ::fcntl(fd, F_GETFL);
    if (fl < 0) return errno;
    if ((fl & O_ACCMODE) != O_RDWR) return EACCES;
    struct stat st {};
    if (::fstat(fd, &st) != 0) return errno;
    if (!S_ISREG(st.st_mode)) return 0;  // QEMU sizes other fds its own way
    const auto size = static_cast<uint64_t>(st.st_size);
    if (size == 0 || m.fd_offset > size || m.len > size - m.fd_offset) return EINVAL;
    return 0;
}

// Back to reserved address space: no access, no memory behind it.
bool reserve(void* at, uint64_t len) {
    const int fixed = at ? MAP_FIXED : 0;
    return ::mmap(at, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | fixed, -1, 0) !=
           MAP_FAILED;
}

}  // namespace

vfs::wire::Result<std::unique_ptr<DaxWindow>> DaxWindow::create(uint64_t size,
                                                                QemuShmemRules rules) {
    if (size == 0 || size % kPage != 0 || size > kMaxWindow) return vfs::wire::Error{EINVAL};
    void* p = ::mmap(nullptr, size, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED) return vfs::wire::Error{errno};
    return std::unique_ptr<DaxWindow>(new DaxWindow(static_cast<uint8_t*>(p), size, rules));
}

DaxWindow::~DaxWindow() {
    ::munmap(base_, size_);
}

uint64_t DaxWindow::refuse(int err) {
    ++counters_.refused;
    return static_cast<uint64_t>(err);
}

uint64_t DaxWindow::serve(const vu::Message& msg) {
    std::lock_guard lock(mu_);
    const auto req = static_cast<vu::BackendRequest>(msg.hdr.request);
    if (req != vu::BackendRequest::kShmemMap && req != vu::BackendRequest::kShmemUnmap)
        return refuse(ENOSYS);
    if (msg.hdr.size != sizeof(vu::ShmemMap)) return refuse(EINVAL);
    const auto m = vu::payload_as<vu::ShmemMap>(msg.payload);
    if (req == vu::BackendRequest::kShmemMap) {
        if (msg.nfds != 1) return refuse(EINVAL);
        return map(m, msg.fds[0].get());
    }
    if (msg.nfds != 0) return refuse(EINVAL);
    return unmap(m);
}

uint64_t DaxWindow::map(const vu::ShmemMap& m, int fd) {
    uint64_t end = 0;
    if (m.shmid != 0 || m.len == 0 || (m.flags & ~vu::kShmemMapFlagWrite) ||
        (m.shm_offset | m.len | m.fd_offset) % kPage != 0 ||
        __builtin_add_overflow(m.shm_offset, m.len, &end) || end > size_)
        return refuse(EINVAL);
    // A map over a live mapping is refused, as QEMU refuses it.
    auto it = live_.lower_bound(m.shm_offset);
    if (it != live_.end() && it->first < end) return refuse(EEXIST);
    if (it != live_.begin() && std::prev(it)->first + std::prev(it)->second > m.shm_offset)
        return refuse(EEXIST);
    if (rules_ == QemuShmemRules::kOn) {
        if (const int err = qemu_refuses(m, fd); err != 0) return refuse(err);
    }
    // Mapped as the flags say (QEMU 11.1.3 maps read-write): a guest store through a
    // read-only mapping faults here, so tests see what the backend asked for.
    const int prot = PROT_READ | ((m.flags & vu::kShmemMapFlagWrite) ? PROT_WRITE : 0);
    void* at = base_ + m.shm_offset;
    if (::mmap(at, m.len, prot, MAP_SHARED | MAP_FIXED, fd, static_cast<off_t>(m.fd_offset)) ==
        MAP_FAILED) {
        const int err = errno;
        reserve(at, m.len);  // a failed MAP_FIXED may have unmapped the reservation
        return refuse(err);
    }
    live_.emplace(m.shm_offset, m.len);
    ++counters_.maps;
    counters_.live = live_.size();
    return 0;
}

uint64_t DaxWindow::unmap(const vu::ShmemMap& m) {
    if (m.shmid != 0) return refuse(EINVAL);
    auto it = live_.find(m.shm_offset);
    if (it == live_.end() || it->second != m.len) return refuse(ENOENT);
    if (!reserve(base_ + m.shm_offset, m.len)) return refuse(errno);
    live_.erase(it);
    ++counters_.unmaps;
    counters_.live = live_.size();
    return 0;
}

DaxWindowCounters DaxWindow::counters() const {
    std::lock_guard lock(mu_);
    return counters_;
}

bool DaxWindow::is_mapped(uint64_t offset, uint64_t len) const {
    std::lock_guard lock(mu_);
    auto it = live_.find(offset);
    return it != live_.end() && it->second == len;
}

}  // namespace vfs::frontend
