// Kernel command-line splitting and key=value lookup.
#include <gtest/gtest.h>

#include "kernel/cmdline.h"

namespace vfs::guest {
namespace {

TEST(Cmdline, SplitsOnRunsOfBlanks) {
    char buf[] = "  expect_tag=myfs \t queue_size=64  x";
    char* argv[8];
    const int argc = split_cmdline(buf, argv, 8);
    ASSERT_EQ(argc, 3);
    EXPECT_STREQ(argv[0], "expect_tag=myfs");
    EXPECT_STREQ(argv[2], "x");
    EXPECT_STREQ(find_arg(argc, argv, "queue_size"), "64");
    EXPECT_EQ(find_arg(argc, argv, "queue"), nullptr);
    EXPECT_EQ(find_arg(argc, argv, "x"), nullptr);
}

TEST(Cmdline, EmptyAndOverfull) {
    char empty[] = "";
    char* argv[2];
    EXPECT_EQ(split_cmdline(empty, argv, 2), 0);
    char many[] = "a b c d";
    EXPECT_EQ(split_cmdline(many, argv, 2), 2);
    EXPECT_STREQ(argv[1], "b");
}

}  // namespace
}  // namespace vfs::guest
