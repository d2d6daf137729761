// ukfuse::WriteBehind's policy against a stub sink: what it takes, what one flush sends
// (byte for byte), short writes carried on, and a failed flush's error kept for its handle
// and handed out once.
#include "lib/ukfuse/write_behind.h"

#include <gtest/gtest.h>
#include <linux/errno.h>

#include <cstdint>
#include <vector>

#include "test_bytes.h"

namespace vfs::guest::ukfuse {
namespace {

using testing::ramp_bytes;

struct Sent {
    uint64_t nodeid, fh, off;
    std::vector<uint8_t> data;
};

class StubSink final : public WriteBehindSink {
  public:
    std::vector<Sent> sent;
    int fail = 0;           // errno to answer with
    uint64_t max_each = 0;  // nonzero: write at most this much per call (short writes)
    bool zero = false;      // answer 0 bytes written
    wire::Result<uint64_t> sink_write(uint64_t nodeid, uint64_t fh, uint64_t off, const void* buf,
                                      uint64_t len) override {
        if (fail) return wire::Error{fail};
        if (zero) return uint64_t{0};
        const uint64_t n = max_each && len > max_each ? max_each : len;
        const auto* p = static_cast<const uint8_t*>(buf);
        sent.push_back({nodeid, fh, off, std::vector<uint8_t>(p, p + n)});
        return n;
    }
};

class WriteBehindTest : public ::testing::Test {
  protected:
    static constexpr uint32_t kCap = 16384;
    std::vector<uint8_t> buf_ = std::vector<uint8_t>(kCap);
    WriteBehind wb_;
    StubSink sink_;
    void SetUp() override { wb_.init(buf_.data(), kCap); }
    // Takes a write the way Session::write does; false if refused.
    bool add(uint64_t node, uint64_t fh, uint64_t off, const std::vector<uint8_t>& d) {
        if (!wb_.pending()) wb_.note_write(node, fh, off);  // as if a write ended here
        if (!wb_.can_take(node, fh, off, d.size()) || !wb_.fits(d.size())) return false;
        wb_.take(node, fh, off, d.data(), d.size());
        return true;
    }
};

TEST_F(WriteBehindTest, ContiguousWritesGoOutAsOneWrite) {
    const auto a = ramp_bytes(4096, 1), b = ramp_bytes(4096, 2), c = ramp_bytes(100, 3);
    ASSERT_TRUE(add(7, 42, 1000, a));
    ASSERT_TRUE(add(7, 42, 5096, b));
    ASSERT_TRUE(add(7, 42, 9192, c));
    EXPECT_TRUE(sink_.sent.empty());  // nothing before the flush
    EXPECT_TRUE(wb_.pending_for(7));
    EXPECT_FALSE(wb_.pending_for(8));
    ASSERT_TRUE(wb_.flush(sink_));
    ASSERT_EQ(sink_.sent.size(), 1u);
    EXPECT_EQ(sink_.sent[0].nodeid, 7u);
    EXPECT_EQ(sink_.sent[0].fh, 42u);
    EXPECT_EQ(sink_.sent[0].off, 1000u);
    std::vector<uint8_t> want(a);
    want.insert(want.end(), b.begin(), b.end());
    want.insert(want.end(), c.begin(), c.end());
    EXPECT_EQ(sink_.sent[0].data, want);
    EXPECT_FALSE(wb_.pending());
    ASSERT_TRUE(wb_.flush(sink_));  // nothing pending: nothing sent
    EXPECT_EQ(sink_.sent.size(), 1u);
    EXPECT_EQ(wb_.stats().writes_taken, 3u);
    EXPECT_EQ(wb_.stats().bytes_flushed, want.size());
}

TEST_F(WriteBehindTest, RefusesWhatWouldNotContinueTheRun) {
    ASSERT_TRUE(add(7, 42, 0, ramp_bytes(4096, 1)));
    EXPECT_FALSE(wb_.can_take(7, 42, 8192, 10));  // a gap
    EXPECT_FALSE(wb_.can_take(7, 42, 0, 10));     // overwrites the run
    EXPECT_FALSE(wb_.can_take(7, 43, 4096, 10));  // another handle
    EXPECT_FALSE(wb_.can_take(9, 42, 4096, 10));  // another file
    EXPECT_TRUE(wb_.can_take(7, 42, 4096, 10));
    EXPECT_FALSE(wb_.can_take(7, 42, 4096, kCap));  // as big as the buffer: not buffered
    EXPECT_FALSE(wb_.can_take(7, 42, 4096, 0));
    EXPECT_FALSE(wb_.fits(kCap - 4096 + 1));
    EXPECT_TRUE(wb_.fits(kCap - 4096));
    WriteBehind off;
    EXPECT_FALSE(off.on());
    EXPECT_FALSE(off.can_take(7, 42, 0, 10));
}

TEST_F(WriteBehindTest, OnlyASequentialWriterStartsARun) {
    EXPECT_FALSE(wb_.can_take(7, 42, 0, 10));  // no write before it
    wb_.note_write(7, 42, 4096);
    EXPECT_FALSE(wb_.can_take(7, 42, 0, 10));     // not where the last one ended
    EXPECT_FALSE(wb_.can_take(7, 43, 4096, 10));  // another handle's end
    EXPECT_TRUE(wb_.can_take(7, 42, 4096, 10));
}

TEST_F(WriteBehindTest, FillsToCapacity) {
    for (uint64_t off = 0; off < kCap; off += 4096)
        ASSERT_TRUE(add(7, 42, off, ramp_bytes(4096, static_cast<uint8_t>(off >> 12))));
    EXPECT_TRUE(wb_.full());
    EXPECT_FALSE(wb_.fits(1));
    ASSERT_TRUE(wb_.flush(sink_));
    ASSERT_EQ(sink_.sent.size(), 1u);
    EXPECT_EQ(sink_.sent[0].data.size(), kCap);
}

TEST_F(WriteBehindTest, ShortWritesAreCarriedOnToTheEnd) {
    const auto a = ramp_bytes(10000, 5);
    ASSERT_TRUE(add(7, 42, 300, a));
    sink_.max_each = 3000;
    ASSERT_TRUE(wb_.flush(sink_));
    ASSERT_EQ(sink_.sent.size(), 4u);
    std::vector<uint8_t> got;
    uint64_t expect_off = 300;
    for (const Sent& s : sink_.sent) {
        EXPECT_EQ(s.off, expect_off);
        expect_off += s.data.size();
        got.insert(got.end(), s.data.begin(), s.data.end());
    }
    EXPECT_EQ(got, a);
}

TEST_F(WriteBehindTest, FailedFlushKeepsTheErrorForItsHandleOnce) {
    ASSERT_TRUE(add(7, 42, 0, ramp_bytes(4096, 1)));
    sink_.fail = ENOSPC;
    auto s = wb_.flush(sink_);
    ASSERT_FALSE(s);
    EXPECT_EQ(s.error(), ENOSPC);
    EXPECT_FALSE(wb_.pending());  // the bytes are gone; the error says so
    EXPECT_TRUE(wb_.error_kept());
    // Another handle gets no error, and is not buffered while this one is kept.
    EXPECT_TRUE(wb_.take_error(7, 43));
    EXPECT_TRUE(wb_.take_error(8, 42));
    wb_.note_write(8, 1, 0);
    EXPECT_FALSE(wb_.can_take(8, 1, 0, 10));
    // The handle that wrote gets it once.
    wb_.note_write(7, 42, 4096);
    EXPECT_TRUE(wb_.can_take(7, 42, 4096, 10));
    auto e = wb_.take_error(7, 42);
    ASSERT_FALSE(e);
    EXPECT_EQ(e.error(), ENOSPC);
    EXPECT_TRUE(wb_.take_error(7, 42));
    wb_.note_write(8, 1, 0);
    EXPECT_TRUE(wb_.can_take(8, 1, 0, 10));  // the other handle may buffer again
    EXPECT_EQ(wb_.stats().errors, 1u);
}

TEST_F(WriteBehindTest, NoProgressIsEio) {
    ASSERT_TRUE(add(7, 42, 0, ramp_bytes(100, 1)));
    sink_.zero = true;
    auto s = wb_.flush(sink_);
    ASSERT_FALSE(s);
    EXPECT_EQ(s.error(), EIO);
    auto e = wb_.take_error(7, 42);
    ASSERT_FALSE(e);
    EXPECT_EQ(e.error(), EIO);
}

TEST_F(WriteBehindTest, ShortThenFailureKeepsWhatWasWritten) {
    const auto a = ramp_bytes(8000, 9);
    ASSERT_TRUE(add(7, 42, 0, a));
    // One short write of 3000 bytes, then the server fails.
    struct OnceShort final : WriteBehindSink {
        int calls = 0;
        wire::Result<uint64_t> sink_write(uint64_t, uint64_t, uint64_t, const void*,
                                          uint64_t) override {
            if (calls++ == 0) return uint64_t{3000};
            return wire::Error{EIO};
        }
    } sink;
    ASSERT_FALSE(wb_.flush(sink));
    EXPECT_EQ(sink.calls, 2);
    EXPECT_EQ(wb_.stats().bytes_flushed, 3000u);
    EXPECT_FALSE(wb_.take_error(7, 42));
}

}  // namespace
}  // namespace vfs::guest::ukfuse
