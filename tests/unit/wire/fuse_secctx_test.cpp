// FUSE_SECURITY_CTX extension decoding: what Linux sends, and every way a hostile guest
// can get the lengths wrong.
#include "vfs/wire/fuse_secctx.h"

#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <string_view>
#include <vector>

using vfs::wire::decode_security_context;
using vfs::wire::SecurityContextView;

namespace {

std::vector<uint8_t> record(std::string_view name, std::string_view value, uint32_t nr = 1) {
    std::vector<uint8_t> r(sizeof(fuse_secctx_header) + sizeof(fuse_secctx));
    r.insert(r.end(), name.begin(), name.end());
    r.push_back(0);
    r.insert(r.end(), value.begin(), value.end());
    r.resize((r.size() + 7) & ~size_t{7});
    const fuse_secctx_header h{static_cast<uint32_t>(r.size()), nr};
    const fuse_secctx c{static_cast<uint32_t>(value.size()), 0};
    memcpy(r.data(), &h, sizeof(h));
    memcpy(r.data() + sizeof(h), &c, sizeof(c));
    return r;
}

int decode(const std::vector<uint8_t>& ext, SecurityContextView* v, bool* found) {
    auto s = decode_security_context(ext.data(), static_cast<uint32_t>(ext.size()), v, found);
    return s ? 0 : s.error();
}

TEST(FuseSecctx, DecodesWhatLinuxSends) {
    const auto ext = record("security.selinux", "system_u:object_r:x_t:s0");
    SecurityContextView v;
    bool found = false;
    ASSERT_EQ(decode(ext, &v, &found), 0);
    ASSERT_TRUE(found);
    EXPECT_EQ(std::string_view(v.name, v.name_len), "security.selinux");
    EXPECT_EQ(std::string_view(reinterpret_cast<const char*>(v.value), v.value_len),
              "system_u:object_r:x_t:s0");
}

TEST(FuseSecctx, NoneWhenEmptyOrZeroContexts) {
    SecurityContextView v;
    bool found = true;
    EXPECT_EQ(decode({}, &v, &found), 0);
    EXPECT_FALSE(found);
    std::vector<uint8_t> zero(8);
    const fuse_secctx_header h{8, 0};
    memcpy(zero.data(), &h, sizeof(h));
    EXPECT_EQ(decode(zero, &v, &found), 0);
    EXPECT_FALSE(found);
}

TEST(FuseSecctx, OtherExtensionsAreSkipped) {
    std::vector<uint8_t> ext(16);
    const fuse_ext_header other{16, 32};  // FUSE_EXT_GROUPS, never negotiated here
    memcpy(ext.data(), &other, sizeof(other));
    const auto rec = record("security.x", "v");
    ext.insert(ext.end(), rec.begin(), rec.end());
    SecurityContextView v;
    bool found = false;
    ASSERT_EQ(decode(ext, &v, &found), 0);
    EXPECT_TRUE(found);
    EXPECT_EQ(std::string_view(v.name, v.name_len), "security.x");
}

TEST(FuseSecctx, HostileLengthsAreEinval) {
    const auto good = record("security.selinux", "label");
    std::vector<std::vector<uint8_t>> bad;
    bad.push_back({1, 2, 3});  // shorter than a header
    auto b = good;             // record longer than the bytes
    fuse_secctx_header h{static_cast<uint32_t>(good.size() + 8), 1};
    memcpy(b.data(), &h, sizeof(h));
    bad.push_back(b);
    b = good;  // record size not a multiple of 8, and zero
    h = {static_cast<uint32_t>(good.size() - 1), 1};
    memcpy(b.data(), &h, sizeof(h));
    bad.push_back(b);
    h = {0, 1};
    memcpy(b.data(), &h, sizeof(h));
    bad.push_back(b);
    b = good;  // label longer than the record
    fuse_secctx c{static_cast<uint32_t>(good.size()), 0};
    memcpy(b.data() + sizeof(h), &c, sizeof(c));
    bad.push_back(b);
    bad.push_back(record("security.selinux", "label", 2));  // two contexts
    bad.push_back(record("", "label"));                     // empty name
    std::vector<uint8_t> header_only(8);                    // nr 1 with no fuse_secctx
    h = {8, 1};
    memcpy(header_only.data(), &h, sizeof(h));
    bad.push_back(header_only);
    auto twice = good;  // a second security record
    twice.insert(twice.end(), good.begin(), good.end());
    bad.push_back(twice);
    auto noterm = record(std::string(300, 'n'), "");  // name above XATTR_NAME_MAX
    bad.push_back(noterm);
    for (size_t i = 0; i < bad.size(); ++i) {
        SecurityContextView v;
        bool found = false;
        EXPECT_EQ(decode(bad[i], &v, &found), EINVAL) << "case " << i;
    }
}

}  // namespace
