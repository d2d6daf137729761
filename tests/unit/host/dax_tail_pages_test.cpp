// DAX tail pages: the copy of a file's last page that stands in the window where QEMU
// 11.1.3 cannot map the file. Loads show the file's bytes and zeros past EOF; write-back
// writes only what the guest changed, only below EOF, and never undoes a host change.
#include "fuse/dax_tail_pages.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>

namespace vfs::host {
namespace {

constexpr uint64_t kPage = DaxTailPages::kPage;

class TailPages : public ::testing::Test {
  protected:
    void SetUp() override {
        char path[] = "/tmp/vfs-dax-tail-XXXXXX";
        fd_ = ::mkstemp(path);
        ASSERT_GE(fd_, 0);
        ::unlink(path);
        ASSERT_TRUE(pages_.ok());
    }
    void TearDown() override { ::close(fd_); }
    void put(uint64_t off, const std::string& s) {
        ASSERT_EQ(::pwrite(fd_, s.data(), s.size(), static_cast<off_t>(off)),
                  static_cast<ssize_t>(s.size()));
    }
    std::string file(uint64_t off, size_t n) {
        std::string s(n, '\0');
        const ssize_t got = ::pread(fd_, s.data(), n, static_cast<off_t>(off));
        s.resize(got > 0 ? static_cast<size_t>(got) : 0);
        return s;
    }
    uint64_t size() {
        struct stat st {};
        ::fstat(fd_, &st);
        return static_cast<uint64_t>(st.st_size);
    }

    int fd_ = -1;
    DaxTailPages pages_{4};
};

TEST_F(TailPages, LoadShowsTheFilesBytesAndZerosPastEof) {
    put(2 * kPage, "hello");
    const int p = pages_.take();
    ASSERT_GE(p, 0);
    memset(pages_.view(p), 0xee, kPage);
    ASSERT_TRUE(pages_.load(p, fd_, 2 * kPage));
    EXPECT_EQ(memcmp(pages_.view(p), "hello", 5), 0);
    for (uint64_t i = 5; i < kPage; ++i)
        ASSERT_EQ(pages_.view(p)[i], 0) << i;
}

TEST_F(TailPages, WriteBackWritesTheGuestsStoresBelowEofOnly) {
    put(0, "0123456789");
    const int p = pages_.take();
    ASSERT_TRUE(pages_.load(p, fd_, 0));
    pages_.view(p)[2] = 'a';
    pages_.view(p)[7] = 'b';
    pages_.view(p)[100] = 'z';  // past EOF: an mmap store that is not the file's
    ASSERT_EQ(pages_.write_back(p, fd_, 0), 2);
    EXPECT_EQ(file(0, 100), "01a3456b89");
    EXPECT_EQ(size(), 10u);
}

TEST_F(TailPages, WriteBackDoesNotUndoAHostChangeTheGuestDidNotOverwrite) {
    put(0, "aaaaaaaa");
    const int p = pages_.take();
    ASSERT_TRUE(pages_.load(p, fd_, 0));
    put(0, "HH");             // the host changes bytes 0-1
    pages_.view(p)[5] = 'g';  // the guest changes byte 5
    ASSERT_EQ(pages_.write_back(p, fd_, 0), 1);
    EXPECT_EQ(file(0, 8), "HHaaagaa");
    // Written back once: a second write-back writes nothing (the host's new byte 5 stays).
    put(5, "X");
    ASSERT_EQ(pages_.write_back(p, fd_, 0), 0);
    EXPECT_EQ(file(0, 8), "HHaaaXaa");
}

TEST_F(TailPages, WriteBackAfterATruncationBelowThePageWritesNothing) {
    put(kPage, "tail");
    const int p = pages_.take();
    ASSERT_TRUE(pages_.load(p, fd_, kPage));
    pages_.view(p)[0] = 'T';
    ASSERT_EQ(::ftruncate(fd_, 10), 0);
    ASSERT_EQ(pages_.write_back(p, fd_, kPage), 0);
    EXPECT_EQ(size(), 10u);
}

TEST_F(TailPages, PagesAreTakenAndGivenBack) {
    int got[4];
    for (int& g : got) {
        g = pages_.take();
        ASSERT_GE(g, 0);
    }
    EXPECT_EQ(pages_.take(), -1);
    pages_.give(got[2]);
    EXPECT_EQ(pages_.take(), got[2]);
    EXPECT_NE(DaxTailPages::offset_of(got[0]), DaxTailPages::offset_of(got[1]));
}

}  // namespace
}  // namespace vfs::host
