// Small helpers for reading key=value options from an app's argv, shared by the apps.
#pragma once

#include <stdint.h>

#include "kernel/cmdline.h"
#include "kernel/console.h"

namespace vfs::guest::apps {

inline uint64_t parse_u64(const char* s, uint64_t fallback) {
    if (!s || !*s) return fallback;
    uint64_t v = 0;
    for (; *s; ++s) {
        if (*s < '0' || *s > '9') return fallback;
        v = v * 10 + static_cast<uint64_t>(*s - '0');
    }
    return v;
}

inline uint64_t arg_u64(int argc, char** argv, const char* key, uint64_t fallback) {
    return parse_u64(find_arg(argc, argv, key), fallback);
}

inline const char* arg_str(int argc, char** argv, const char* key, const char* fallback) {
    const char* v = find_arg(argc, argv, key);
    return v ? v : fallback;
}

inline bool same(const char* a, const char* b) {
    while (*a && *a == *b)
        ++a, ++b;
    return *a == *b;
}

// completion=poll (the default) or completion=irq into *interrupts; false (logged by
// the caller's console) for anything else.
inline bool completion_option(int argc, char** argv, bool* interrupts) {
    const char* v = arg_str(argc, argv, "completion", "poll");
    if (same(v, "poll") || same(v, "irq")) {
        *interrupts = same(v, "irq");
        return true;
    }
    kprintf("attach: completion=%s: expected poll or irq\n", v);
    return false;
}

}  // namespace vfs::guest::apps
