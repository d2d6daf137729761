#include "fuse/dax_tail_pages.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

namespace vfs::host {

DaxTailPages::DaxTailPages(uint32_t count) : count_(count) {
    fd_ = ::memfd_create("virtiofsd-cxx-dax-tails", MFD_CLOEXEC);
    if (fd_ < 0 || ::ftruncate(fd_, static_cast<off_t>(offset_of(static_cast<int>(count)))) != 0 ||
        !memory::file_id_of(fd_, &id_)) {
        spdlog::warn(
            "dax: no tail pages ({}): files whose size is not a page multiple are "
            "not mapped to their end",
            strerror(errno));
        return;
    }
    void* p = ::mmap(nullptr, offset_of(static_cast<int>(count)), PROT_READ | PROT_WRITE,
                     MAP_SHARED, fd_, 0);
    if (p == MAP_FAILED) return;
    view_ = static_cast<uint8_t*>(p);
    snapshot_.resize(offset_of(static_cast<int>(count)));
    for (int i = static_cast<int>(count) - 1; i >= 0; --i)
        free_.push_back(i);
}

DaxTailPages::~DaxTailPages() {
    if (view_) ::munmap(view_, offset_of(static_cast<int>(count_)));
    if (fd_ >= 0) ::close(fd_);
}

int DaxTailPages::take() {
    if (!ok() || free_.empty()) return -1;
    const int page = free_.back();
    free_.pop_back();
    return page;
}

void DaxTailPages::give(int page) {
    if (page >= 0 && static_cast<uint32_t>(page) < count_) free_.push_back(page);
}

bool DaxTailPages::load(int page, int file_fd, uint64_t foffset) {
    uint8_t buf[kPage] = {};
    size_t got = 0;
    while (got < kPage) {
        const ssize_t n =
            ::pread(file_fd, buf + got, kPage - got, static_cast<off_t>(foffset + got));
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return false;
        if (n == 0) break;
        got += static_cast<size_t>(n);
    }
    memcpy(view(page), buf, kPage);
    memcpy(snapshot_.data() + offset_of(page), buf, kPage);
    return true;
}

int64_t DaxTailPages::write_back(int page, int file_fd, uint64_t foffset) {
    struct stat st {};
    if (::fstat(file_fd, &st) != 0) return -1;
    const uint64_t size = static_cast<uint64_t>(st.st_size);
    if (size <= foffset) return 0;  // truncated below the page: nothing of it is the file's
    const size_t limit = static_cast<size_t>(size - foffset < kPage ? size - foffset : kPage);
    // The guest may store while we look: compare and write one copy of the page.
    uint8_t now[kPage];
    memcpy(now, view(page), kPage);
    uint8_t* snap = snapshot_.data() + offset_of(page);
    bool ok = true;
    int64_t written = 0;
    for (size_t i = 0; i < limit;) {
        if (now[i] == snap[i]) {
            ++i;
            continue;
        }
        size_t end = i + 1;
        while (end < limit && now[end] != snap[end])
            ++end;
        const ssize_t n = ::pwrite(file_fd, now + i, end - i, static_cast<off_t>(foffset + i));
        if (n == static_cast<ssize_t>(end - i)) {
            memcpy(snap + i, now + i, end - i);
            written += n;
        } else {
            ok = false;
        }
        i = end;
    }
    return ok ? written : -1;
}

}  // namespace vfs::host
