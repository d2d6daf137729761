// The daemon's rings accept only the I/O engine's opcodes: anything else, which would
// run in the kernel without passing the seccomp filter, is refused by the ring itself.
#include "queue/restricted_ring.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cerrno>

#include "util/unique_fd.h"

namespace vfs::host {
namespace {

class RestrictedRingTest : public ::testing::Test {
  protected:
    void SetUp() override {
        ASSERT_EQ(init_restricted_ring(4, &ring_), 0);
        ready_ = true;
    }
    void TearDown() override {
        if (ready_) io_uring_queue_exit(&ring_);
    }

    // Submits the one prepared SQE and returns its completion's result.
    int submit_one() {
        EXPECT_EQ(io_uring_submit(&ring_), 1);
        io_uring_cqe* cqe = nullptr;
        EXPECT_EQ(io_uring_wait_cqe(&ring_, &cqe), 0);
        const int res = cqe->res;
        io_uring_cqe_seen(&ring_, cqe);
        return res;
    }

    io_uring ring_{};
    bool ready_ = false;
};

TEST_F(RestrictedRingTest, AnEngineOpcodeRuns) {
    UniqueFd zero(::open("/dev/zero", O_RDONLY | O_CLOEXEC));
    ASSERT_TRUE(zero.valid());
    char buf[16];
    io_uring_prep_read(io_uring_get_sqe(&ring_), zero.get(), buf, sizeof(buf), 0);
    EXPECT_EQ(submit_one(), static_cast<int>(sizeof(buf)));
}

TEST_F(RestrictedRingTest, AnOpcodeOutsideTheSetIsRefused) {
    // OPENAT would open a host path with no syscall for seccomp to see.
    io_uring_prep_openat(io_uring_get_sqe(&ring_), AT_FDCWD, "/etc/hostname", O_RDONLY, 0);
    EXPECT_EQ(submit_one(), -EACCES);
    io_uring_prep_nop(io_uring_get_sqe(&ring_));
    EXPECT_EQ(submit_one(), -EACCES);
}

TEST_F(RestrictedRingTest, NoRegisterOperationIsAllowed) {
    UniqueFd zero(::open("/dev/zero", O_RDONLY | O_CLOEXEC));
    int fds[1] = {zero.get()};
    EXPECT_EQ(io_uring_register_files(&ring_, fds, 1), -EACCES);
}

}  // namespace
}  // namespace vfs::host
