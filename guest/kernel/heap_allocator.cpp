// First-fit allocation with an in-band header before each allocated block (see
// heap_allocator.h).
#include "kernel/heap_allocator.h"

namespace vfs::guest {
namespace {

constexpr size_t kGranule = 16;
constexpr size_t kMinBlock = 32;                         // a free block must hold its header
constexpr uint64_t kLiveMagic = 0x48454150'4c495645ull;  // "HEAPLIVE"

// Sits just below every pointer handed out.
struct AllocHeader {
    size_t block_size;  // bytes from this header to the end of the block
    uint64_t magic;
};
static_assert(sizeof(AllocHeader) == kGranule);

uintptr_t align_up(uintptr_t x, size_t a) {
    return (x + a - 1) & ~(static_cast<uintptr_t>(a) - 1);
}

}  // namespace

void HeapAllocator::add_region(void* base, size_t size) {
    const uintptr_t start = align_up(reinterpret_cast<uintptr_t>(base), kGranule);
    const uintptr_t end = (reinterpret_cast<uintptr_t>(base) + size) & ~(kGranule - 1);
    if (end <= start || end - start < kMinBlock) return;
    insert_free(start, end - start);
}

void* HeapAllocator::allocate(size_t size, size_t align) {
    if (align == 0 || (align & (align - 1)) != 0 || size > (SIZE_MAX >> 2)) return nullptr;
    if (align < kGranule) align = kGranule;
    size_t need = align_up(size == 0 ? 1 : size, kGranule) + sizeof(AllocHeader);
    if (need < kMinBlock) need = kMinBlock;

    FreeBlock** link = &head_;
    for (FreeBlock* b = head_; b; link = &b->next, b = b->next) {
        const uintptr_t bstart = reinterpret_cast<uintptr_t>(b);
        const uintptr_t bend = bstart + b->size;
        uintptr_t payload = align_up(bstart + sizeof(AllocHeader), align);
        // A leading gap must be either empty or large enough to stay a free block.
        while (payload - sizeof(AllocHeader) != bstart &&
               payload - sizeof(AllocHeader) - bstart < kMinBlock)
            payload += align;
        const uintptr_t start = payload - sizeof(AllocHeader);
        if (start >= bend || bend - start < need) continue;
        size_t block = need;
        if (bend - start - need < kMinBlock) block = bend - start;  // absorb a tiny tail

        FreeBlock* const next = b->next;
        const size_t front = start - bstart;
        const size_t back = bend - (start + block);
        // Unlink b, then put back what is left on either side, in address order.
        *link = next;
        if (back) {
            auto* t = reinterpret_cast<FreeBlock*>(start + block);
            t->size = back;
            t->next = *link;
            *link = t;
        }
        if (front) {
            b->size = front;
            b->next = *link;
            *link = b;
        }
        auto* h = reinterpret_cast<AllocHeader*>(start);
        h->block_size = block;
        h->magic = kLiveMagic;
        return reinterpret_cast<void*>(payload);
    }
    return nullptr;
}

bool HeapAllocator::free(void* p) {
    if (!p) return true;
    auto* h = reinterpret_cast<AllocHeader*>(static_cast<char*>(p) - sizeof(AllocHeader));
    if (h->magic != kLiveMagic) return false;
    h->magic = 0;
    insert_free(reinterpret_cast<uintptr_t>(h), h->block_size);
    return true;
}

void HeapAllocator::insert_free(uintptr_t addr, size_t size) {
    FreeBlock* prev = nullptr;
    FreeBlock* cur = head_;
    while (cur && reinterpret_cast<uintptr_t>(cur) < addr) {
        prev = cur;
        cur = cur->next;
    }
    auto* b = reinterpret_cast<FreeBlock*>(addr);
    b->size = size;
    b->next = cur;
    if (prev)
        prev->next = b;
    else
        head_ = b;
    if (cur && addr + size == reinterpret_cast<uintptr_t>(cur)) {  // merge with successor
        b->size += cur->size;
        b->next = cur->next;
    }
    if (prev && reinterpret_cast<uintptr_t>(prev) + prev->size == addr) {  // and predecessor
        prev->size += b->size;
        prev->next = b->next;
    }
}

size_t HeapAllocator::free_bytes() const {
    size_t n = 0;
    for (FreeBlock* b = head_; b; b = b->next)
        n += b->size;
    return n;
}

size_t HeapAllocator::free_blocks() const {
    size_t n = 0;
    for (FreeBlock* b = head_; b; b = b->next)
        ++n;
    return n;
}

}  // namespace vfs::guest
