// The kernel's printf subset, compared against what the host's printf prints.
#include <gtest/gtest.h>

#include <cstdio>
#include <string>

#include "kernel/format.h"

namespace vfs::guest {
namespace {

TEST(Format, MatchesHostPrintfForTheSupportedSubset) {
    char ours[128], libc[128];
#define SAME(...)                                       \
    do {                                                \
        format_to(ours, sizeof(ours), __VA_ARGS__);     \
        std::snprintf(libc, sizeof(libc), __VA_ARGS__); \
        EXPECT_STREQ(ours, libc);                       \
    } while (0)
    SAME("%d %i %u", -42, 7, 4000000000u);
    SAME("%ld %lu %llx %zu", -9000000000l, 18000000000ul, 0xdeadbeefcafeull, size_t{12});
    SAME("%02x:%02x.%x %04x", 0, 31, 7, 0x1af4);
    SAME("%#x %#lx %#x %X", 0x10u, 0xfe000000ul, 0u, 0xabcu);
    SAME("[%5s][%-5s][%s]", "ab", "cd", "");
    SAME("%c%c %% %5d|%-4d|", 'o', 'k', 42, 7);
    SAME("%hu %hhu", 70000, 300);
#undef SAME
}

TEST(Format, TruncatesLikeSnprintf) {
    char buf[6];
    EXPECT_EQ(format_to(buf, sizeof(buf), "%s", "hello world"), 11u);
    EXPECT_STREQ(buf, "hello");
}

}  // namespace
}  // namespace vfs::guest
