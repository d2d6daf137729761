// The I/O engine on its own, over a real io_uring and real files: the grant each operation
// needs, what runs inline and what on the ring, and that a grant lives exactly as long as
// the operation on the ring.
#include "queue/io_engine.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "util/unique_fd.h"

namespace vfs::host {
namespace {

class IoEngineTest : public ::testing::Test {
  protected:
    void SetUp() override {
        auto io = IoEngine::create(8, 2);
        ASSERT_TRUE(io.ok());
        io_ = std::move(*io);
        slot_.index = 1;
        char tmpl[] = "/tmp/vfs-io-engine-XXXXXX";
        file_.reset(::mkstemp(tmpl));
        ASSERT_TRUE(file_.valid());
        ::unlink(tmpl);
    }

    DataFile grant(DataAccess access, std::shared_ptr<const void> keep = nullptr) {
        return DataFile(file_.get(), false, access, std::move(keep));
    }

    // Waits for the slot's one queued operation and returns its result.
    int32_t completion(uint32_t cookie) {
        int32_t result = INT32_MIN;
        while (result == INT32_MIN) {
            EXPECT_EQ(io_->submit_and_wait(0), 0);
            io_->reap([&](const IoCompletion& c) {
                EXPECT_TRUE(c.for_slot);
                EXPECT_EQ(c.slot, slot_.index);
                EXPECT_EQ(c.cookie, cookie);
                result = c.result;
            });
        }
        return result;
    }

    std::unique_ptr<IoEngine> io_;
    RequestSlot slot_;
    UniqueFd file_;
};

// A grant is for one access: the engine refuses any other operation with it, so what a
// wrapper refused cannot come back in through another grant.
TEST_F(IoEngineTest, AnOperationNeedsAGrantForItsOwnAccess) {
    char byte = 'x';
    io_->iovecs(slot_)[0] = {&byte, 1};
    EXPECT_EQ(io_->write(slot_, 1, grant(DataAccess::kRead), 0, 1).result(), -EBADF);
    EXPECT_EQ(io_->write(slot_, 1, grant(DataAccess::kSync), 0, 1).result(), -EBADF);
    EXPECT_EQ(io_->read(slot_, 1, grant(DataAccess::kWrite), 0, 1).result(), -EBADF);
    EXPECT_EQ(io_->fallocate(slot_, 1, grant(DataAccess::kWrite), 0, 0, 4096).result(), -EBADF);
    EXPECT_EQ(io_->fsync(slot_, 1, grant(DataAccess::kRead), false).result(), -EBADF);
    EXPECT_EQ(io_->read(slot_, 1, DataFile(), 0, 1).result(), -EBADF);  // no grant at all
    EXPECT_EQ(::lseek(file_.get(), 0, SEEK_END), 0);                    // nothing written
    EXPECT_EQ(io_->stats().ops_on_ring, 0u);
}

// A small buffered write is copied inline; a large one, fsync and fallocate go on the ring.
// A queued operation holds its grant (the open file) until its completion, not longer.
TEST_F(IoEngineTest, WhatRunsInlineAndWhatOnTheRing) {
    std::string small = "small";
    io_->iovecs(slot_)[0] = {small.data(), small.size()};
    IoOutcome o = io_->write(slot_, 1, grant(DataAccess::kWrite), 0, 1);
    ASSERT_FALSE(o.is_queued());
    EXPECT_EQ(o.result(), 5);

    std::vector<char> big(IoEngine::kInlineWriteMax + 1, 'b');
    io_->iovecs(slot_)[0] = {big.data(), big.size()};
    auto keep = std::make_shared<int>(0);
    o = io_->write(slot_, 2, grant(DataAccess::kWrite, keep), 5, 1);
    ASSERT_TRUE(o.is_queued());
    EXPECT_EQ(keep.use_count(), 2);  // the engine holds the file while the ring writes
    EXPECT_EQ(completion(2), static_cast<int32_t>(big.size()));
    EXPECT_EQ(keep.use_count(), 1);  // and lets go at the completion

    o = io_->fsync(slot_, 3, grant(DataAccess::kSync), true);
    ASSERT_TRUE(o.is_queued());
    EXPECT_EQ(completion(3), 0);
    o = io_->fallocate(slot_, 4, grant(DataAccess::kAllocate), 0, 0, 1 << 20);
    ASSERT_TRUE(o.is_queued());
    EXPECT_EQ(completion(4), 0);
    EXPECT_EQ(::lseek(file_.get(), 0, SEEK_END), 1 << 20);
    EXPECT_EQ(io_->stats().writes_inline, 1u);
    EXPECT_EQ(io_->stats().ops_on_ring, 3u);
}

// With nothing else waiting on the queue, a buffered write of the largest size a guest
// sends (max_write, 1 MiB) is copied inline: the ring would only add two thread hand-offs.
// With others waiting it goes on the ring as before, and O_DIRECT always does.
TEST_F(IoEngineTest, ALargeBufferedWriteAloneIsInline) {
    std::vector<char> big(1u << 20, 'a');
    io_->iovecs(slot_)[0] = {big.data(), big.size()};
    IoOutcome o = io_->write(slot_, 1, grant(DataAccess::kWrite), 0, 1, /*alone=*/true);
    ASSERT_FALSE(o.is_queued());
    EXPECT_EQ(o.result(), static_cast<int32_t>(big.size()));
    EXPECT_EQ(io_->stats().writes_inline, 1u);
    EXPECT_EQ(io_->stats().ops_on_ring, 0u);
    char back = 0;
    ASSERT_EQ(::pread(file_.get(), &back, 1, (1 << 20) - 1), 1);
    EXPECT_EQ(back, 'a');

    io_->iovecs(slot_)[0] = {big.data(), big.size()};
    o = io_->write(slot_, 2, grant(DataAccess::kWrite), 0, 1, /*alone=*/false);
    ASSERT_TRUE(o.is_queued());
    EXPECT_EQ(completion(2), static_cast<int32_t>(big.size()));
    EXPECT_EQ(io_->stats().ops_on_ring, 1u);

    // A grant for a file opened O_DIRECT (this one is not: the ring writes it all the same).
    io_->iovecs(slot_)[0] = {big.data(), big.size()};
    o = io_->write(slot_, 3, DataFile(file_.get(), true, DataAccess::kWrite, nullptr), 0, 1,
                   /*alone=*/true);
    ASSERT_TRUE(o.is_queued());
    EXPECT_EQ(completion(3), static_cast<int32_t>(big.size()));
    EXPECT_EQ(io_->stats().ops_on_ring, 2u);
    EXPECT_EQ(io_->stats().writes_inline, 1u);
}

// Whether every page of the file's first `len` bytes is out of the page cache (mincore:
// looking does not read them in).
bool none_cached(int fd, size_t len) {
    void* map = ::mmap(nullptr, len, PROT_READ, MAP_SHARED, fd, 0);
    if (map == MAP_FAILED) return false;
    std::vector<unsigned char> resident((len + 4095) / 4096);
    const bool ok = ::mincore(map, len, resident.data()) == 0;
    ::munmap(map, len);
    for (unsigned char r : resident)
        if (r & 1) return false;
    return ok;
}

// A read the page cache cannot answer, with nothing else waiting on the queue, is read
// inline with a blocking preadv (a synchronous guest gains nothing from the ring's round
// trip and wake-up); with others waiting, it goes on the ring. On a file system whose
// pages cannot be dropped (tmpfs) both are cache hits, answered inline.
TEST_F(IoEngineTest, AnUncachedReadAloneIsReadInline) {
    std::vector<char> data(64u << 10);
    for (size_t i = 0; i < data.size(); ++i)
        data[i] = static_cast<char>(i * 7 + 1);
    ASSERT_EQ(::pwrite(file_.get(), data.data(), data.size(), 0), ssize_t(data.size()));
    ASSERT_EQ(::fdatasync(file_.get()), 0);
    const auto drop = [&] {
        return ::posix_fadvise(file_.get(), 0, 0, POSIX_FADV_DONTNEED) == 0 &&
               none_cached(file_.get(), data.size());
    };
    std::vector<char> back(data.size());
    io_->iovecs(slot_)[0] = {back.data(), back.size()};
    const bool dropped = drop();
    IoOutcome o = io_->read(slot_, 1, grant(DataAccess::kRead), 0, 1, /*alone=*/true);
    ASSERT_FALSE(o.is_queued()) << "a read alone on the queue went to the ring";
    EXPECT_EQ(o.result(), int32_t(data.size()));
    EXPECT_EQ(back, data);
    EXPECT_EQ(io_->stats().reads_waited, dropped ? 1u : 0u);

    std::fill(back.begin(), back.end(), 0);
    io_->iovecs(slot_)[0] = {back.data(), back.size()};
    if (drop()) {
        o = io_->read(slot_, 2, grant(DataAccess::kRead), 0, 1, /*alone=*/false);
        ASSERT_TRUE(o.is_queued()) << "a miss with others waiting did not go to the ring";
        EXPECT_EQ(completion(2), int32_t(data.size()));
    } else {
        o = io_->read(slot_, 2, grant(DataAccess::kRead), 0, 1, /*alone=*/false);
        ASSERT_FALSE(o.is_queued());
        EXPECT_EQ(o.result(), int32_t(data.size()));
    }
    EXPECT_EQ(back, data);
}

// A read of cached data across the end of the file is answered inline, its iovecs filled
// in order however they split the data.
TEST_F(IoEngineTest, ACachedReadAcrossTheEndOfFileIsInline) {
    ASSERT_EQ(::pwrite(file_.get(), "0123456789", 10, 0), 10);
    char a[3], b[4], c[16];
    iovec* iov = io_->iovecs(slot_);
    iov[0] = {a, sizeof(a)};
    iov[1] = {b, sizeof(b)};
    iov[2] = {c, sizeof(c)};
    const IoOutcome o = io_->read(slot_, 1, grant(DataAccess::kRead), 1, 3);
    ASSERT_FALSE(o.is_queued());
    ASSERT_EQ(o.result(), 9);
    EXPECT_EQ(std::string(a, 3) + std::string(b, 4) + std::string(c, 2), "123456789");
    EXPECT_EQ(io_->stats().reads_inline, 1u);
    EXPECT_EQ(io_->stats().ops_on_ring, 0u);
}

}  // namespace
}  // namespace vfs::host
