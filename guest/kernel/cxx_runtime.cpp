// The C++ runtime a -fno-exceptions -fno-rtti freestanding build still needs: operator
// new/delete on the kernel heap, the pure-virtual trap, and static-destructor
// registration (a no-op: the unikernel never runs global destructors).
#include <stddef.h>

#include "kernel/heap.h"
#include "kernel/panic.h"

namespace std {
enum class align_val_t : size_t {};
struct nothrow_t {
    explicit nothrow_t() = default;
};
}  // namespace std

using vfs::guest::heap_allocate;
using vfs::guest::heap_free;

namespace {
constexpr size_t kDefaultAlign = 16;

// Without exceptions a failed `new` cannot throw; it is fatal instead.
void* must_allocate(size_t n, size_t align) {
    void* p = heap_allocate(n, align);
    if (!p) vfs::guest::panic("out of memory: %zu bytes", n);
    return p;
}
}  // namespace

void* operator new(size_t n) {
    return must_allocate(n, kDefaultAlign);
}
void* operator new[](size_t n) {
    return must_allocate(n, kDefaultAlign);
}
void* operator new(size_t n, std::align_val_t a) {
    return must_allocate(n, static_cast<size_t>(a));
}
void* operator new[](size_t n, std::align_val_t a) {
    return must_allocate(n, static_cast<size_t>(a));
}
void* operator new(size_t n, const std::nothrow_t&) noexcept {
    return heap_allocate(n, kDefaultAlign);
}
void* operator new[](size_t n, const std::nothrow_t&) noexcept {
    return heap_allocate(n, kDefaultAlign);
}
void* operator new(size_t, void* p) noexcept {
    return p;
}

void operator delete(void* p) noexcept {
    heap_free(p);
}
void operator delete[](void* p) noexcept {
    heap_free(p);
}
void operator delete(void* p, size_t) noexcept {
    heap_free(p);
}
void operator delete[](void* p, size_t) noexcept {
    heap_free(p);
}
void operator delete(void* p, std::align_val_t) noexcept {
    heap_free(p);
}
void operator delete[](void* p, std::align_val_t) noexcept {
    heap_free(p);
}
void operator delete(void* p, size_t, std::align_val_t) noexcept {
    heap_free(p);
}
void operator delete[](void* p, size_t, std::align_val_t) noexcept {
    heap_free(p);
}

extern "C" {
void __cxa_pure_virtual() {
    vfs::guest::panic("pure virtual function called");
}

// -fno-use-cxa-atexit makes gcc register static destructors with atexit().
int atexit(void (*)()) {
    return 0;
}
void* __dso_handle = nullptr;
}
