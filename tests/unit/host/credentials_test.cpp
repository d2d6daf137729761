// ScopedFsCredentials (fs/credentials.h): the thread's fsuid/fsgid inside and after the
// scope, files created inside owned by the ids asked for, and no switch at all when the
// thread already has them.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <string>

#include "fs/credentials.h"

namespace vfs::host {
namespace {

// setfsuid/setfsgid with an invalid id report the current one and change nothing.
uid_t fsuid_now() {
    return static_cast<uid_t>(syscall(SYS_setfsuid, static_cast<uid_t>(-1)));
}
gid_t fsgid_now() {
    return static_cast<gid_t>(syscall(SYS_setfsgid, static_cast<gid_t>(-1)));
}

TEST(ScopedFsCredentials, CurrentIdsAreNotSwitched) {
    const uid_t uid = fsuid_now();
    const gid_t gid = fsgid_now();
    {
        ScopedFsCredentials c(uid, gid);
        EXPECT_TRUE(c.ok());
        EXPECT_FALSE(c.switched());
        EXPECT_EQ(fsuid_now(), uid);
        EXPECT_EQ(fsgid_now(), gid);
    }
    EXPECT_EQ(fsuid_now(), uid);
    EXPECT_EQ(fsgid_now(), gid);
}

TEST(ScopedFsCredentials, OtherIdsSwitchCreateAsThemAndAreRestored) {
    if (geteuid() != 0) GTEST_SKIP() << "switching to other ids needs root";
    const uid_t uid = fsuid_now();
    const gid_t gid = fsgid_now();
    char dir[] = "/tmp/vfs-creds-test-XXXXXX";
    ASSERT_NE(mkdtemp(dir), nullptr);
    ASSERT_EQ(chmod(dir, 0777), 0);
    const std::string file = std::string(dir) + "/made";
    for (const auto& [u, g] : {std::pair<uid_t, gid_t>{4321, 4322}, {uid, 4323}, {4324, gid}}) {
        {
            ScopedFsCredentials c(u, g);
            ASSERT_TRUE(c.ok());
            EXPECT_TRUE(c.switched());
            EXPECT_EQ(fsuid_now(), u);
            EXPECT_EQ(fsgid_now(), g);
            const int fd = open(file.c_str(), O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0644);
            ASSERT_GE(fd, 0);
            close(fd);
        }
        EXPECT_EQ(fsuid_now(), uid);
        EXPECT_EQ(fsgid_now(), gid);
        struct stat st;
        ASSERT_EQ(stat(file.c_str(), &st), 0);
        EXPECT_EQ(st.st_uid, u);
        EXPECT_EQ(st.st_gid, g);
        ASSERT_EQ(unlink(file.c_str()), 0);
    }
    ASSERT_EQ(rmdir(dir), 0);
}

}  // namespace
}  // namespace vfs::host
