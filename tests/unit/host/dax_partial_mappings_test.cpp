// The DAX table against a front-end with QEMU 11.1.3's rule: a file range is mapped only if
// the file reaches its page-rounded end ("backing store size ... is too small"), and an
// empty file never (QEMU would ftruncate it). The window is real memory here: the test
// reads and stores through it as the guest does, below the size the guest knows, and
// checks every byte against the file.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "fuse/dax_mappings.h"

namespace vfs::host {
namespace {

using vfs::wire::Error;
using vfs::wire::Status;

constexpr uint64_t kPage = 4096;
constexpr uint64_t kRange = 2ull << 20;
constexpr uint64_t kWindow = 4 * kRange;
constexpr uint64_t kNode = 7;

class Qemu111Window final : public DaxMapper {
  public:
    Qemu111Window() {
        void* p = ::mmap(nullptr, kWindow, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        EXPECT_NE(p, MAP_FAILED);
        base_ = static_cast<uint8_t*>(p);
    }
    ~Qemu111Window() override { ::munmap(base_, kWindow); }
    bool negotiated() const override { return true; }
    bool ready() const override { return true; }
    Status map(int fd, uint64_t foffset, uint64_t moffset, uint64_t len, bool) override {
        struct stat st {};
        if (::fstat(fd, &st) != 0) return Error{EBADF};
        const uint64_t size = static_cast<uint64_t>(st.st_size);
        EXPECT_NE(size, 0u) << "QEMU 11.1.3 would ftruncate an empty file";
        if (size == 0 || size < foffset + ((len + kPage - 1) & ~(kPage - 1))) {
            ++refused;
            return Error{EINVAL};
        }
        for (const auto& [off, l] : maps_)
            if (off < moffset + len && moffset < off + l) return Error{EEXIST};
        void* p = ::mmap(base_ + moffset, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, fd,
                         static_cast<off_t>(foffset));
        if (p == MAP_FAILED) return Error{errno};
        maps_[moffset] = len;
        if (report) report->reported();  // as QEMU's ADD_MEM_REG for the new region
        return {};
    }
    Status unmap(uint64_t moffset, uint64_t len) override {
        auto it = maps_.find(moffset);
        if (it == maps_.end() || it->second != len) return Error{EINVAL};
        ::mmap(base_ + moffset, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
        maps_.erase(it);
        return {};
    }
    bool mapped(uint64_t moffset) const {
        for (const auto& [off, l] : maps_)
            if (off <= moffset && moffset < off + l) return true;
        return false;
    }
    uint8_t* at(uint64_t moffset) { return base_ + moffset; }

    int refused = 0;
    std::map<uint64_t, uint64_t> maps_;
    memory::WindowFiles* report = nullptr;

  private:
    uint8_t* base_ = nullptr;
};

class PartialMappings : public ::testing::Test {
  protected:
    void SetUp() override {
        char path[] = "/tmp/vfs-dax-partial-XXXXXX";
        fd_ = ::mkstemp(path);
        ASSERT_GE(fd_, 0);
        ::unlink(path);
        window_.report = &files_;
    }
    void TearDown() override { ::close(fd_); }
    DataFile grant(DataAccess a) {
        const int fd = ::dup(fd_);
        auto keep = std::shared_ptr<int>(new int(fd), [](int* p) {
            ::close(*p);
            delete p;
        });
        return DataFile(fd, false, a, keep);
    }
    // size bytes of a pattern seeded by seed, from offset from.
    void fill(uint64_t from, uint64_t size, int seed) {
        std::vector<uint8_t> b(size);
        for (uint64_t i = 0; i < size; ++i)
            b[i] = static_cast<uint8_t>((from + i) * 31 + seed);
        ASSERT_EQ(::pwrite(fd_, b.data(), size, static_cast<off_t>(from)),
                  static_cast<ssize_t>(size));
    }
    // The guest's read: the window at moffset against the file from foffset, n bytes.
    void expect_window_is_file(uint64_t moffset, uint64_t foffset, uint64_t n) {
        std::vector<uint8_t> b(n);
        ASSERT_EQ(::pread(fd_, b.data(), n, static_cast<off_t>(foffset)), static_cast<ssize_t>(n));
        for (uint64_t i = 0; i < n; ++i)
            ASSERT_EQ(window_.at(moffset)[i], b[i]) << "byte " << foffset + i;
    }
    std::string file(uint64_t off, size_t n) {
        std::string s(n, '\0');
        const ssize_t got = ::pread(fd_, s.data(), n, static_cast<off_t>(off));
        s.resize(got > 0 ? static_cast<size_t>(got) : 0);
        return s;
    }

    int fd_ = -1;
    Qemu111Window window_;
    memory::WindowFiles files_;
    DaxMappings table_{kWindow, window_, files_};
};

// The last range of host.bin in the e2e (3 MiB - 5 bytes): refused as one map by QEMU
// 11.1.3; mapped as the file's whole pages and a tail page, every byte right.
TEST_F(PartialMappings, TheLastRangeOfAFileIsMappedToItsEnd) {
    const uint64_t size = 3 * (1ull << 20) - 5;
    fill(0, size, 11);
    ASSERT_TRUE(table_.setup(grant(DataAccess::kRead), kRange, kRange, kRange, false, kNode));
    EXPECT_EQ(window_.refused, 0);
    expect_window_is_file(kRange, kRange, size - kRange);
    for (uint64_t i = size - kRange; i < (1ull << 20); ++i)  // zeros past EOF in its page
        ASSERT_EQ(window_.at(kRange)[i], 0) << i;
    EXPECT_FALSE(window_.mapped(kRange + (1ull << 20)));  // nothing past the page of EOF
    EXPECT_EQ(table_.counters().pieces, 2u);
    EXPECT_EQ(table_.counters().tail_pages, 1u);
}

TEST_F(PartialMappings, ASmallFileIsServedByItsTailPage) {
    fill(0, 6, 1);
    ASSERT_TRUE(table_.setup(grant(DataAccess::kRead), 0, kRange, 0, false, kNode));
    expect_window_is_file(0, 0, 6);
    EXPECT_EQ(window_.refused, 0);
}

// The host appends; the guest learns the new size from an attribute reply, before which
// the table maps what the file grew into.
TEST_F(PartialMappings, GrowthIsMappedBeforeTheReplyThatTellsTheSize) {
    fill(0, 100, 2);
    ASSERT_TRUE(table_.setup(grant(DataAccess::kRead), 0, kRange, 0, false, kNode));
    fill(100, 3 * kPage + 17 - 100, 2);  // the host appends into page 3
    EXPECT_FALSE(window_.mapped(kPage));
    table_.cover(kNode + 1);  // another node's reply changes nothing
    EXPECT_FALSE(window_.mapped(kPage));
    table_.cover(kNode);
    expect_window_is_file(0, 0, 3 * kPage + 17);
    EXPECT_EQ(table_.counters().extended, 2u);  // pages 1-2 from the file, page 3 a tail
    // To the range's end and past it: the rest of the range from the file.
    fill(3 * kPage + 17, kRange + 5 - (3 * kPage + 17), 2);
    table_.cover(DaxMappings::kAnyNode);
    expect_window_is_file(0, 0, kRange);
    EXPECT_EQ(window_.refused, 0);
}

// Stores to a tail page through a write mapping reach the file at FLUSH/FSYNC/RELEASE
// (write_back), below EOF only.
TEST_F(PartialMappings, GuestStoresToATailPageReachTheFile) {
    fill(0, 10, 3);
    ASSERT_TRUE(table_.setup(grant(DataAccess::kWrite), 0, kRange, 0, true, kNode));
    memcpy(window_.at(0) + 2, "ab", 2);
    window_.at(0)[50] = 'z';  // past EOF
    table_.write_back(kNode);
    EXPECT_EQ(file(2, 2), "ab");
    struct stat st {};
    ::fstat(fd_, &st);
    EXPECT_EQ(st.st_size, 10);
    EXPECT_EQ(table_.counters().write_backs, 1u);
}

// A read mapping's tail page is a copy QEMU maps writable; Linux never stores through it,
// and a stray store never reaches the file.
TEST_F(PartialMappings, AReadMappingsTailPageNeverWritesTheFile) {
    fill(0, 10, 4);
    const std::string before = file(0, 10);
    ASSERT_TRUE(table_.setup(grant(DataAccess::kWrite), 0, kRange, 0, false, kNode));
    window_.at(0)[1] = '!';
    table_.write_back(kNode);
    const DaxRange r[] = {{0, kRange}};
    ASSERT_TRUE(table_.remove(r));
    EXPECT_EQ(file(0, 10), before);
}

// Close to open: the host's change to the tail is seen after OPEN (refresh), and a
// truncation's zeros after SETATTR.
TEST_F(PartialMappings, RefreshLoadsTheHostsChangesAndATruncationsZeros) {
    fill(0, 3000, 5);
    ASSERT_TRUE(table_.setup(grant(DataAccess::kRead), 0, kRange, 0, false, kNode));
    ASSERT_EQ(::pwrite(fd_, "HOST", 4, 1000), 4);
    table_.refresh(kNode);
    EXPECT_EQ(memcmp(window_.at(0) + 1000, "HOST", 4), 0);
    ASSERT_EQ(::ftruncate(fd_, 3), 0);
    table_.refresh(kNode);
    for (uint64_t i = 3; i < kPage; ++i)
        ASSERT_EQ(window_.at(0)[i], 0) << i;
    ASSERT_EQ(::ftruncate(fd_, 9000), 0);  // and grown again: zeros, then mapped pages
    table_.cover(kNode);
    expect_window_is_file(0, 0, 9000);
}

// REMOVEMAPPING names the guest's whole range: every piece goes, the stores first.
TEST_F(PartialMappings, RemovingAPartlyMappedRangeUnmapsEveryPiece) {
    fill(0, kPage + 10, 6);
    ASSERT_TRUE(table_.setup(grant(DataAccess::kWrite), 0, kRange, 0, true, kNode));
    ASSERT_EQ(window_.maps_.size(), 2u);
    window_.at(0)[kPage + 1] = 'Q';
    const DaxRange r[] = {{0, kRange}};
    ASSERT_TRUE(table_.remove(r));
    EXPECT_TRUE(window_.maps_.empty());
    EXPECT_EQ(file(kPage + 1, 1), "Q");
    EXPECT_FALSE(files_.holds(fd_));
    EXPECT_EQ(table_.counters().tail_pages, 0u);
    // The tail page is free again: a new mapping gets the file's bytes, not the old copy.
    ASSERT_TRUE(table_.setup(grant(DataAccess::kRead), 0, kRange, kRange, false, kNode));
    expect_window_is_file(kRange, 0, kPage + 10);
}

// A ring stop or a new session drops everything at once: the tail pages' stores are
// written back then, and the pieces unmapped before the next map.
TEST_F(PartialMappings, DropWritesTheTailPagesBack) {
    fill(0, 20, 7);
    ASSERT_TRUE(table_.setup(grant(DataAccess::kWrite), 0, kRange, 0, true, kNode));
    window_.at(0)[3] = '#';
    table_.drop_all("test");
    EXPECT_EQ(file(3, 1), "#");
    ASSERT_TRUE(table_.setup(grant(DataAccess::kRead), 0, kRange, kRange, false, kNode));
    EXPECT_FALSE(window_.mapped(0));
}

}  // namespace
}  // namespace vfs::host
