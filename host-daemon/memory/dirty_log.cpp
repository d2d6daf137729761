#include "memory/dirty_log.h"

#include <errno.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include "vfs/wire/checked.h"

namespace vfs::host::memory {

Result<std::shared_ptr<const DirtyLog>> DirtyLog::map(int fd, uint64_t size, uint64_t offset) {
    uint64_t end = 0;
    if (fd < 0 || size == 0 || size > kMaxLogBytes || !vfs::wire::checked_add(offset, size, &end))
        return Error{EINVAL};
    // A memfd, tmpfs or hugetlbfs file: mmap of a pipe, socket or eventfd fails anyway,
    // and a device could map something else entirely. It must cover the range, or the
    // first mark past its end would kill the daemon with SIGBUS.
    struct stat st;
    if (::fstat(fd, &st) != 0) return Error{errno};
    if (!S_ISREG(st.st_mode)) {
        spdlog::error("dirty log: the fd is not a regular file (memfd)");
        return Error{EINVAL};
    }
    if (st.st_size < 0 || static_cast<uint64_t>(st.st_size) < end) {
        spdlog::error(
            "dirty log: the fd holds {} bytes, the log needs {} (offset {:#x} + size {:#x})",
            st.st_size, end, offset, size);
        return Error{EINVAL};
    }
    const uint64_t page = static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
    const uint64_t map_off = offset - offset % page;
    const uint64_t map_len = end - map_off;
    if (map_len > SIZE_MAX) return Error{EINVAL};
    void* base = ::mmap(nullptr, map_len, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
                        static_cast<off_t>(map_off));
    if (base == MAP_FAILED) return Error{errno};
    auto* bits = static_cast<uint8_t*>(base) + (offset - map_off);
    return std::shared_ptr<const DirtyLog>(new DirtyLog(bits, size, base, map_len));
}

std::shared_ptr<const DirtyLog> DirtyLog::over(uint8_t* bits, uint64_t size) {
    return std::shared_ptr<const DirtyLog>(new DirtyLog(bits, size, nullptr, 0));
}

DirtyLog::~DirtyLog() {
    if (map_base_) ::munmap(map_base_, map_len_);
}

void DirtyLog::mark(uint64_t gpa, uint64_t len) const {
    if (len == 0) return;
    const uint64_t first = gpa / kLogPageBytes;
    // The last byte's page; a range that wraps ends at the top of the address space.
    uint64_t last_byte = 0;
    if (!vfs::wire::checked_add(gpa, len - 1, &last_byte)) last_byte = UINT64_MAX;
    const uint64_t last = last_byte / kLogPageBytes;
    const uint64_t pages_covered = size_ * 8;
    uint64_t page = first;
    for (; page <= last && page < pages_covered; ++page)
        __atomic_fetch_or(&bits_[page / 8], static_cast<uint8_t>(1u << (page % 8)),
                          __ATOMIC_RELAXED);
    if (page <= last) {
        const uint64_t missed = last - page + 1;
        if (out_of_range_.fetch_add(missed, std::memory_order_relaxed) == 0)
            spdlog::warn(
                "dirty log: guest address {:#x} (+{:#x}) lies past the log's {} pages; not "
                "marked",
                gpa, len, pages_covered);
    }
}

}  // namespace vfs::host::memory
