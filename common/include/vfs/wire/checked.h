// Overflow-safe arithmetic for sizes and addresses that come from a guest or a peer.
//
// Every guest-controlled length, offset or address is combined through these helpers,
// never with bare '+' or '*', so that a wrap-around can never turn into a short bounds
// check. They report failure instead of wrapping.
#pragma once

#include <stdint.h>

#include <type_traits>

namespace vfs::wire {

// out = a + b; false if it does not fit in T.
template <class T>
constexpr bool checked_add(T a, T b, T* out) {
    static_assert(std::is_unsigned_v<T>);
    return !__builtin_add_overflow(a, b, out);
}

// out = a * b; false if it does not fit in T.
template <class T>
constexpr bool checked_mul(T a, T b, T* out) {
    static_assert(std::is_unsigned_v<T>);
    return !__builtin_mul_overflow(a, b, out);
}

// True if [start, start + len) lies wholly inside [base, base + size).
// A zero-length range at the very end is inside; nothing wraps.
constexpr bool range_within(uint64_t start, uint64_t len, uint64_t base, uint64_t size) {
    if (start < base) return false;
    const uint64_t off = start - base;
    return off <= size && len <= size - off;
}

// True if x is a power of two (zero is not).
constexpr bool is_power_of_two(uint64_t x) {
    return x != 0 && (x & (x - 1)) == 0;
}

// x rounded up to a multiple of the power of two 'align'; false on overflow.
constexpr bool align_up(uint64_t x, uint64_t align, uint64_t* out) {
    uint64_t sum = 0;
    if (!checked_add<uint64_t>(x, align - 1, &sum)) return false;
    *out = sum & ~(align - 1);
    return true;
}

}  // namespace vfs::wire
