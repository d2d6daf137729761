// vhost-user message validation: payload sizes, fd counts and payload ranges, per request.
#include "vhost_user/messages.h"

#include <gtest/gtest.h>

#include <cstring>

namespace vfs::host::vhost_user {
namespace {

struct Buf {
    alignas(8) uint8_t data[kMaxPayloadBytes] = {};
    template <class T>
    Buf& put(const T& v, size_t off = 0) {
        memcpy(data + off, &v, sizeof(T));
        return *this;
    }
};

Header h(Request r, uint32_t size, uint32_t flags = kVersion) {
    return Header{static_cast<uint32_t>(r), flags, size};
}

TEST(Messages, FixedSizesAndFdCounts) {
    Buf b;
    EXPECT_TRUE(validate(h(Request::kGetFeatures, 0), b.data, 0));
    EXPECT_FALSE(validate(h(Request::kGetFeatures, 8), b.data, 0));
    EXPECT_FALSE(validate(h(Request::kGetFeatures, 0), b.data, 1));
    EXPECT_TRUE(validate(h(Request::kSetFeatures, 8), b.data, 0));
    EXPECT_FALSE(validate(h(Request::kSetFeatures, 4), b.data, 0));
    EXPECT_TRUE(validate(h(Request::kSetVringAddr, sizeof(VringAddr)), b.data, 0));
    EXPECT_FALSE(validate(h(Request::kSetVringAddr, 32), b.data, 0));
    EXPECT_TRUE(validate(h(Request::kSetBackendReqFd, 0), b.data, 1));
    EXPECT_FALSE(validate(h(Request::kSetBackendReqFd, 0), b.data, 0));
    EXPECT_FALSE(validate(h(Request::kSetStatus, 8), b.put(uint64_t{0x100}).data, 0));
}

TEST(Messages, VersionAndSizeBounds) {
    Buf b;
    EXPECT_FALSE(validate(h(Request::kGetFeatures, 0, 0), b.data, 0));
    EXPECT_FALSE(validate(h(Request::kGetFeatures, 0, 2), b.data, 0));
    EXPECT_TRUE(validate(h(Request::kGetFeatures, 0, kVersion | kFlagNeedReply), b.data, 0));
    EXPECT_FALSE(validate(h(Request::kSetFeatures, kMaxPayloadBytes + 1), b.data, 0));
    EXPECT_EQ(validate(h(static_cast<Request>(200), 0), b.data, 0).error(), ENOSYS);
    EXPECT_EQ(validate(h(Request::kSendRarp, 8), b.data, 0).error(), ENOSYS);
}

TEST(Messages, LogRequestsCarryTheirFd) {
    Buf b;
    EXPECT_TRUE(validate(h(Request::kSetLogBase, 16), b.data, 1));
    EXPECT_TRUE(validate(h(Request::kSetLogBase, 16), b.data, 0)) << "the handler refuses it";
    EXPECT_FALSE(validate(h(Request::kSetLogBase, 8), b.data, 1));
    EXPECT_FALSE(validate(h(Request::kSetLogBase, 16), b.data, 2));
    EXPECT_TRUE(validate(h(Request::kSetLogFd, 0), b.data, 1));
    EXPECT_TRUE(validate(h(Request::kSetLogFd, 8), b.data, 1));
    EXPECT_FALSE(validate(h(Request::kSetLogFd, 0), b.data, 0));
    EXPECT_FALSE(validate(h(Request::kSetLogFd, 4), b.data, 1));
}

TEST(Messages, VringFdFlagDecidesFdCount) {
    Buf b;
    b.put(uint64_t{3});
    EXPECT_TRUE(validate(h(Request::kSetVringKick, 8), b.data, 1));
    EXPECT_FALSE(validate(h(Request::kSetVringKick, 8), b.data, 0));
    b.put(uint64_t{3} | kVringNoFdFlag);
    EXPECT_TRUE(validate(h(Request::kSetVringCall, 8), b.data, 0));
    EXPECT_FALSE(validate(h(Request::kSetVringCall, 8), b.data, 1));
    b.put(uint64_t{3} | (1ull << 9));  // reserved bit
    EXPECT_FALSE(validate(h(Request::kSetVringErr, 8), b.data, 1));
}

TEST(Messages, MemoryTable) {
    Buf b;
    MemoryRegion r{0x0, 0x1000, 0x7f0000000000, 0};
    b.put(uint32_t{2}).put(r, 8).put(MemoryRegion{0x1000, 0x1000, 0x7f0000001000, 0x1000}, 40);
    EXPECT_TRUE(validate(h(Request::kSetMemTable, 8 + 64), b.data, 2));
    EXPECT_FALSE(validate(h(Request::kSetMemTable, 8 + 64), b.data, 1));  // fd per region
    EXPECT_FALSE(validate(h(Request::kSetMemTable, 8 + 32), b.data, 2));  // size vs count
    EXPECT_FALSE(validate(h(Request::kSetMemTable, 4), b.data, 0));
    b.put(uint32_t{9});
    EXPECT_FALSE(validate(h(Request::kSetMemTable, 8 + 9 * 32), b.data, 8));
    b.put(uint32_t{1}).put(MemoryRegion{~0ull - 10, 0x1000, 0, 0}, 8);
    EXPECT_FALSE(validate(h(Request::kSetMemTable, 8 + 32), b.data, 1));  // gpa wraps
    b.put(MemoryRegion{0, 0, 0, 0}, 8);
    EXPECT_FALSE(validate(h(Request::kSetMemTable, 8 + 32), b.data, 1));  // empty region
    b.put(MemoryRegion{0, 0x1000, 0, ~0ull - 0x10}, 8);
    EXPECT_FALSE(validate(h(Request::kSetMemTable, 8 + 32), b.data, 1));  // offset wraps
}

TEST(Messages, SingleRegionAndConfig) {
    Buf b;
    b.put(SingleMemoryRegion{0, MemoryRegion{0, 0x1000, 0x1000, 0}});
    EXPECT_TRUE(validate(h(Request::kAddMemReg, 40), b.data, 1));
    EXPECT_FALSE(validate(h(Request::kAddMemReg, 40), b.data, 0));
    EXPECT_TRUE(validate(h(Request::kRemMemReg, 40), b.data, 0));
    EXPECT_TRUE(validate(h(Request::kRemMemReg, 40), b.data, 1));
    EXPECT_FALSE(validate(h(Request::kRemMemReg, 40), b.data, 2));

    Buf c;
    c.put(ConfigHeader{0, 40, 0});
    EXPECT_TRUE(validate(h(Request::kGetConfig, 12 + 40), c.data, 0));
    EXPECT_FALSE(validate(h(Request::kGetConfig, 12 + 39), c.data, 0));
    c.put(ConfigHeader{250, 10, 0});
    EXPECT_FALSE(validate(h(Request::kGetConfig, 12 + 10), c.data, 0));  // past config space
    c.put(ConfigHeader{0xfffffff0u, 0x20, 0});
    EXPECT_FALSE(validate(h(Request::kGetConfig, 12 + 0x20), c.data, 0));  // offset wraps
}

TEST(Messages, RequestNames) {
    EXPECT_STREQ(request_name(1), "GET_FEATURES");
    EXPECT_STREQ(request_name(40), "GET_STATUS");
    EXPECT_STREQ(request_name(44), "GET_SHMEM_CONFIG");
    EXPECT_STREQ(request_name(45), "UNKNOWN");
    EXPECT_STREQ(request_name(0xffffffffu), "UNKNOWN");
}

}  // namespace
}  // namespace vfs::host::vhost_user
