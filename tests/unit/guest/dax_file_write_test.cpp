// DAX file writes (ukfuse/dax_file_write.h) against the stub window and a FUSE WRITE that
// writes the stub's host file: growing writes go over FUSE and leave the file exactly as
// long as what was written, writes inside it go through the window, and every byte
// reaches the host file, whichever path it took.
#include <gtest/gtest.h>

#include <cstring>
#include <utility>
#include <vector>

#include "lib/ukfuse/dax_file_write.h"
#include "stub_dax_window.h"
#include "test_bytes.h"

namespace vfs::guest {
namespace {

using testing::lcg_bytes;
using testing::StubDaxWindow;
using ukfuse::DaxManager;
constexpr uint64_t kRange = ukfuse::kDaxRangeSize;
constexpr uint64_t kPage = 4096;
constexpr uint64_t kNode = 2;

// FUSE WRITE as the daemon does it: a pwrite of the host file.
class HostFuse final : public ukfuse::DaxFuseWriter {
  public:
    explicit HostFuse(StubDaxWindow& w) : w_(w) {}
    wire::Result<uint64_t> fuse_write(uint64_t off, const void* buf, uint64_t len) override {
        calls.emplace_back(off, len);
        if (fail_errno) return wire::Error{fail_errno};
        w_.host_write(kNode, off, buf, len);
        return len;
    }
    std::vector<std::pair<uint64_t, uint64_t>> calls;  // (offset, length) of each WRITE
    int fail_errno = 0;

  private:
    StubDaxWindow& w_;
};

class DaxFileWrite : public ::testing::Test {
  protected:
    void SetUp() override {
        w.expected_fh = ukfuse::kDaxInodeFh;
        ASSERT_TRUE(m.init(&w));
    }
    // Writes model[off, off + len) as the vfs does; the size must become what pwrite's is.
    void write(uint64_t off, uint64_t len) {
        const uint64_t before = size;
        auto r = ukfuse::dax_file_write(m, fuse, kNode, off, model.data() + off, len, &size);
        ASSERT_TRUE(r) << r.error();
        ASSERT_EQ(*r, len);
        const uint64_t end = off + len > before ? off + len : before;
        ASSERT_EQ(size, end);
        ASSERT_EQ(w.file(kNode).size(), end) << "the host file must be exactly as long";
    }
    // The whole pages of the file read back through the window, then the host file after
    // every mapping is given back: both must be the model, byte for byte.
    void expect_file_is_model() {
        const uint64_t pages = size & ~(kPage - 1);
        std::vector<uint8_t> got(pages);
        if (pages) {
            auto n = m.read(kNode, ukfuse::kDaxInodeFh, 0, got.data(), pages, size);
            ASSERT_TRUE(n);
            ASSERT_EQ(*n, pages);
            EXPECT_EQ(0, std::memcmp(got.data(), model.data(), pages)) << "through the window";
        }
        ASSERT_TRUE(m.unmap_all());
        ASSERT_EQ(w.file(kNode).size(), size);
        EXPECT_EQ(0, std::memcmp(w.file(kNode).data(), model.data(), size)) << "on the host";
        EXPECT_EQ(w.ro_violations, 0u);
    }

    StubDaxWindow w{4 * kRange};
    DaxManager m;
    HostFuse fuse{w};
    std::vector<uint8_t> model = lcg_bytes(3 * kRange, 1);
    uint64_t size = 0;
};

// Into a new file, in steps that cross pages and a 2 MiB range: one FUSE WRITE per call,
// no mapping at all; then an overwrite across the range boundary goes through the window.
TEST_F(DaxFileWrite, GrowingWritesGoOverFuseAndOverwritesThroughTheWindow) {
    const uint64_t steps[] = {kPage, 1000, 2 * kPage, 3000, 64 * 1024, kPage};
    uint64_t off = 0, calls = 0;
    for (int i = 0; off + 64 * 1024 < kRange + 300 * 1024; ++i, ++calls) {
        write(off, steps[i % 6]);
        off += steps[i % 6];
    }
    EXPECT_EQ(fuse.calls.size(), calls);
    EXPECT_EQ(w.map_calls, 0u) << "growing a file maps nothing";
    const uint64_t from = kRange - 5000;
    std::vector<uint8_t> fresh = lcg_bytes(10000, 2);
    std::memcpy(model.data() + from, fresh.data(), fresh.size());
    write(from, fresh.size());
    EXPECT_EQ(fuse.calls.size(), calls) << "a write inside the file is the window's";
    EXPECT_EQ(w.map_calls, 2u);
    expect_file_is_model();
}

// A write that starts inside the file and ends past it goes over FUSE whole, and a range
// mapped before is read again longer, with the new bytes.
TEST_F(DaxFileWrite, AWriteAcrossTheEndGoesWholeOverFuse) {
    w.file(kNode).assign(model.begin(), model.begin() + 3 * kPage);
    size = 3 * kPage;
    std::vector<uint8_t> fresh = lcg_bytes(3 * kPage, 3);
    std::memcpy(model.data(), fresh.data(), kPage);
    write(0, kPage);  // inside: the window
    EXPECT_TRUE(fuse.calls.empty());
    std::memcpy(model.data() + 2 * kPage, fresh.data(), 2 * kPage + 10);
    write(2 * kPage, 2 * kPage + 10);
    ASSERT_EQ(fuse.calls.size(), 1u);
    EXPECT_EQ(fuse.calls[0], std::make_pair(2 * kPage, 2 * kPage + 10));
    expect_file_is_model();
}

// The last partial page cannot be mapped (the host file does not hold all of it): the
// window takes the whole pages, FUSE the rest.
TEST_F(DaxFileWrite, TheLastPartialPageGoesOverFuse) {
    w.file(kNode).assign(model.begin(), model.begin() + 10000);
    size = 10000;
    std::vector<uint8_t> fresh = lcg_bytes(2000, 4);
    std::memcpy(model.data() + 7000, fresh.data(), fresh.size());
    write(7000, 2000);
    ASSERT_EQ(fuse.calls.size(), 1u);
    EXPECT_EQ(fuse.calls[0], std::make_pair(2 * kPage, 9000 - 2 * kPage));
    expect_file_is_model();
}

// Another writer grew the file past the size we know: our write there is FUSE's (it
// cannot shrink the file) and the other writer's bytes after it stay.
TEST_F(DaxFileWrite, AFileGrownByAnotherWriterIsNotCutBack) {
    write(0, kPage);
    w.host_write(kNode, kPage, model.data() + kPage, 4 * kPage);
    std::vector<uint8_t> fresh = lcg_bytes(kPage, 5);
    std::memcpy(model.data() + kPage, fresh.data(), kPage);
    auto r = ukfuse::dax_file_write(m, fuse, kNode, kPage, fresh.data(), kPage, &size);
    ASSERT_TRUE(r);
    EXPECT_EQ(*r, kPage);
    EXPECT_EQ(size, 2 * kPage);  // still only what we know
    size = 5 * kPage;
    EXPECT_EQ(w.file(kNode).size(), size);
    expect_file_is_model();
}

// A window that refuses mappings leaves the write to FUSE; a FUSE error is the result
// when nothing was written.
TEST_F(DaxFileWrite, FailuresFallBackOrSayWhy) {
    w.file(kNode).assign(model.begin(), model.begin() + 2 * kPage);
    size = 2 * kPage;
    w.fail_map_errno = EIO;
    std::vector<uint8_t> fresh = lcg_bytes(100, 6);
    std::memcpy(model.data() + 100, fresh.data(), fresh.size());
    write(100, 100);
    EXPECT_EQ(fuse.calls.size(), 1u);
    fuse.fail_errno = ENOSPC;
    auto r = ukfuse::dax_file_write(m, fuse, kNode, size, model.data(), kPage, &size);
    EXPECT_EQ(r.error(), ENOSPC);
    EXPECT_EQ(size, 2 * kPage);
    w.fail_map_errno = 0;
    expect_file_is_model();
}

}  // namespace
}  // namespace vfs::guest
