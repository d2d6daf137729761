#include "dirty_log.h"

#include <errno.h>
#include <sys/mman.h>
#include <unistd.h>

namespace vfs::frontend {

vfs::wire::Result<std::unique_ptr<DirtyBitmap>> DirtyBitmap::create(uint64_t guest_bytes) {
    constexpr uint64_t kWordCovers = 64 * kPage;
    const uint64_t words = (guest_bytes + kWordCovers - 1) / kWordCovers;
    std::unique_ptr<DirtyBitmap> b(new DirtyBitmap());
    b->size_ = (words == 0 ? 1 : words) * sizeof(uint64_t);
    b->fd_.reset(::memfd_create("vfs-dirty-log", MFD_CLOEXEC));
    if (!b->fd_.valid() || ::ftruncate(b->fd_.get(), static_cast<off_t>(b->size_)) != 0)
        return vfs::wire::Error{errno};
    void* p = ::mmap(nullptr, b->size_, PROT_READ | PROT_WRITE, MAP_SHARED, b->fd_.get(), 0);
    if (p == MAP_FAILED) return vfs::wire::Error{errno};
    b->words_ = static_cast<uint64_t*>(p);
    return b;
}

DirtyBitmap::~DirtyBitmap() {
    if (words_) ::munmap(words_, size_);
}

bool DirtyBitmap::dirty(uint64_t gpa) const {
    const uint64_t page = gpa / kPage;
    if (page / 64 >= size_ / sizeof(uint64_t)) return false;
    return (__atomic_load_n(&words_[page / 64], __ATOMIC_ACQUIRE) >> (page % 64)) & 1;
}

uint64_t DirtyBitmap::count() const {
    uint64_t n = 0;
    for (uint64_t i = 0; i < size_ / sizeof(uint64_t); ++i)
        n += static_cast<uint64_t>(
            __builtin_popcountll(__atomic_load_n(&words_[i], __ATOMIC_ACQUIRE)));
    return n;
}

std::vector<uint64_t> DirtyBitmap::pages() const {
    std::vector<uint64_t> out;
    for (uint64_t i = 0; i < size_ / sizeof(uint64_t); ++i) {
        const uint64_t w = __atomic_load_n(&words_[i], __ATOMIC_ACQUIRE);
        for (uint64_t b = 0; b < 64; ++b)
            if ((w >> b) & 1) out.push_back(i * 64 + b);
    }
    return out;
}

void DirtyBitmap::clear() {
    for (uint64_t i = 0; i < size_ / sizeof(uint64_t); ++i)
        (void)__atomic_exchange_n(&words_[i], uint64_t{0}, __ATOMIC_ACQ_REL);
}

}  // namespace vfs::frontend
