// --translate-uid/--translate-gid rules (fs/id_translation.h) and --uid-map/--gid-map
// values (sandbox/id_map.h): every rule form as virtiofsd's --help defines it, overlaps,
// ranges that run past the last id, and forbidden ids.
#include <gtest/gtest.h>

#include "fs/id_translation.h"
#include "sandbox/id_map.h"

namespace vfs::host {
namespace {

IdTranslation table(std::initializer_list<const char*> rules) {
    IdTranslation t;
    for (const char* r : rules) {
        auto err = t.add(r);
        EXPECT_FALSE(err) << r << ": " << *err;
    }
    return t;
}

std::string refused(std::initializer_list<const char*> rules) {
    IdTranslation t;
    std::optional<std::string> err;
    for (const char* r : rules)
        err = t.add(r);
    EXPECT_TRUE(err) << "the last rule was accepted";
    return err.value_or("");
}

TEST(IdTranslation, EmptyIsIdentity) {
    IdTranslation t;
    EXPECT_TRUE(t.empty());
    EXPECT_EQ(t.to_host(0), 0u);
    EXPECT_EQ(t.to_host(4294967294u), 4294967294u);
    EXPECT_EQ(t.to_guest(1000), 1000u);
}

TEST(IdTranslation, MapIsBothWaysGuestBaseFirst) {
    const auto t = table({"map:1000:101000:10"});
    EXPECT_EQ(t.to_host(1000), 101000u);
    EXPECT_EQ(t.to_host(1009), 101009u);
    EXPECT_EQ(t.to_host(1010), 1010u);  // past the range: unchanged
    EXPECT_EQ(t.to_host(999), 999u);
    EXPECT_EQ(t.to_guest(101000), 1000u);
    EXPECT_EQ(t.to_guest(101009), 1009u);
    EXPECT_EQ(t.to_guest(1000), 1000u);  // the host's own 1000 is not in the host range
}

TEST(IdTranslation, GuestAndHostAreOneWayEach) {
    // guest:<guest base>:<host base>:<count>; host:<host base>:<guest base>:<count>.
    const auto t = table({"guest:0:5000:100", "host:7000:50:5"});
    EXPECT_EQ(t.to_host(10), 5010u);
    EXPECT_EQ(t.to_guest(5010), 5010u);  // no host->guest rule for it
    EXPECT_EQ(t.to_guest(7004), 54u);
    EXPECT_EQ(t.to_host(54), 5054u);  // the guest rule, not the host one
}

TEST(IdTranslation, SquashesMapARangeToOneId) {
    const auto t = table({"squash-guest:0:65534:1000", "squash-host:100000:1000:65536"});
    EXPECT_EQ(t.to_host(0), 65534u);
    EXPECT_EQ(t.to_host(999), 65534u);
    EXPECT_EQ(t.to_host(1000), 1000u);
    EXPECT_EQ(t.to_guest(100000), 1000u);
    EXPECT_EQ(t.to_guest(165535), 1000u);
    EXPECT_EQ(t.to_guest(165536), 165536u);
}

TEST(IdTranslation, ForbidGuestRefusesItsRangeOnly) {
    const auto t =
        table({"forbid-guest:0:1000", "map:1000:101000:1", "forbid-guest:1001:4294966294"});
    EXPECT_FALSE(t.to_host(0));
    EXPECT_FALSE(t.to_host(999));
    EXPECT_EQ(t.to_host(1000), 101000u);
    EXPECT_FALSE(t.to_host(1001));
    EXPECT_FALSE(t.to_host(4294967294u));
    // Host ids are untouched by forbid-guest.
    EXPECT_EQ(t.to_guest(0), 0u);
}

TEST(IdTranslation, OverlapsInOneDirectionAreRefusedNamingBothRules) {
    const std::string msg = refused({"forbid-guest:1001:1999", "map:2000:2000:1"});
    EXPECT_NE(msg.find("'map:2000:2000:1'"), std::string::npos) << msg;
    EXPECT_NE(msg.find("'forbid-guest:1001:1999'"), std::string::npos) << msg;
    EXPECT_NE(refused({"guest:10:0:5", "squash-guest:0:1:11"}).find("overlap"), std::string::npos);
    EXPECT_NE(refused({"host:10:0:5", "squash-host:14:1:1"}).find("host ids"), std::string::npos);
    // Adjacent ranges and the two directions never clash.
    table({"guest:10:0:5", "guest:15:100:5", "guest:5:200:5", "host:10:0:5"});
}

TEST(IdTranslation, AMapRefusedOnOneSideLeavesNoHalf) {
    IdTranslation t;
    ASSERT_FALSE(t.add("host:101000:7:1"));
    EXPECT_TRUE(t.add("map:1000:101000:1"));  // its host side clashes
    EXPECT_EQ(t.to_host(1000), 1000u);        // so its guest side was not kept either
    EXPECT_FALSE(t.add("guest:1000:5:1"));
}

TEST(IdTranslation, RangesMayNotReachTheNoIdValue) {
    EXPECT_NE(refused({"map:4294967295:1:1"}).find("past 4294967295"), std::string::npos);
    EXPECT_NE(refused({"map:1:4294967295:2"}).find("target"), std::string::npos);
    EXPECT_NE(refused({"guest:0:4294967000:296"}).find("target"), std::string::npos);
    EXPECT_NE(refused({"squash-guest:0:4294967295:1"}).find("no id"), std::string::npos);
    EXPECT_NE(refused({"forbid-guest:4294967295:1"}).find("past"), std::string::npos);
    // The largest ranges that fit.
    const auto t = table({"forbid-guest:2001:4294965294", "guest:0:4294967294:1"});
    EXPECT_FALSE(t.to_host(4294967294u));
    EXPECT_EQ(t.to_host(0), 4294967294u);
}

TEST(IdTranslation, SyntaxErrorsPointAtTheBadPart) {
    EXPECT_NE(refused({"bogus:1:2:3"}).find("unknown type 'bogus'"), std::string::npos);
    EXPECT_NE(refused({"map:1:2"}).find("takes 3 numbers"), std::string::npos);
    EXPECT_NE(refused({"map:1:2:3:4"}).find("got 4"), std::string::npos);
    EXPECT_NE(refused({"forbid-guest:1:2:3"}).find("forbid-guest:<guest base>:<count>"),
              std::string::npos);
    EXPECT_NE(refused({"map:1:0x10:1"}).find("field 3 '0x10'"), std::string::npos);
    EXPECT_NE(refused({"map:-1:1:1"}).find("'-1'"), std::string::npos);
    EXPECT_NE(refused({"map:1:2:4294967296"}).find("'4294967296'"), std::string::npos);
    EXPECT_NE(refused({"map::2:3"}).find("field 2 ''"), std::string::npos);
    EXPECT_NE(refused({"map:1:2:0"}).find("count is 0"), std::string::npos);
    EXPECT_NE(refused({""}).find("unknown type"), std::string::npos);
}

TEST(IdTranslation, ManyRulesStaySorted) {
    IdTranslation t;
    for (uint32_t i = 100; i-- > 0;)
        ASSERT_FALSE(
            t.add("guest:" + std::to_string(i * 10) + ":" + std::to_string(50000 + i) + ":5"));
    for (uint32_t i = 0; i < 100; ++i) {
        EXPECT_EQ(t.to_host(i * 10 + 4), 50004u + i);
        EXPECT_EQ(t.to_host(i * 10 + 5), i * 10 + 5);
    }
}

}  // namespace

namespace sandbox {
namespace {

TEST(IdMap, ParsesThePaddedForm) {
    IdMapRange r;
    ASSERT_FALSE(parse_id_map(":0:100000:65536:", &r));
    EXPECT_EQ(r.inside, 0u);
    EXPECT_EQ(r.outside, 100000u);
    EXPECT_EQ(r.count, 65536u);
    // Any separator, as virtiofsd: the first character picks it.
    ASSERT_FALSE(parse_id_map("/1/2/3/", &r));
    EXPECT_EQ(r.count, 3u);
    EXPECT_EQ(id_map_text({{0, 100000, 65536}, {65536, 1000, 1}}),
              "0 100000 65536\n65536 1000 1\n");
}

TEST(IdMap, ErrorsPointAtTheBadPart) {
    IdMapRange r;
    auto msg = [&](const char* t) { return parse_id_map(t, &r).value_or("accepted"); };
    EXPECT_NE(msg(":0:100000:1").find("end with the separator"), std::string::npos);
    EXPECT_NE(msg("0:100000:1").find("starts with ('0')"), std::string::npos);
    EXPECT_NE(msg(":0:100000:65536::").find("exactly 3 numbers"), std::string::npos);
    EXPECT_NE(msg(":0:1:").find("exactly 3 numbers"), std::string::npos);
    EXPECT_NE(msg(":0:x:1:").find("host id 'x'"), std::string::npos);
    EXPECT_NE(msg(":0:1:0:").find("count is 0"), std::string::npos);
    EXPECT_NE(msg(":0:4294967295:1:").find("past 4294967294"), std::string::npos);
    EXPECT_NE(msg(":").find("e.g."), std::string::npos);
}

TEST(IdMap, OverlapsAreRefusedEitherSide) {
    std::vector<IdMapRange> out;
    EXPECT_FALSE(parse_id_maps("--uid-map", {":0:100000:10:", ":10:1000:1:"}, &out));
    EXPECT_EQ(out.size(), 2u);
    auto inside = parse_id_maps("--uid-map", {":0:100000:10:", ":9:1000:1:"}, &out);
    ASSERT_TRUE(inside);
    EXPECT_NE(inside->find("--uid-map ':9:1000:1:' overlaps"), std::string::npos) << *inside;
    EXPECT_TRUE(parse_id_maps("--gid-map", {":0:100000:10:", ":20:100009:1:"}, &out));
    auto bad = parse_id_maps("--gid-map", {":0:x:1:"}, &out);
    ASSERT_TRUE(bad);
    EXPECT_EQ(bad->rfind("--gid-map ':0:x:1:'", 0), 0u) << *bad;
}

}  // namespace
}  // namespace sandbox
}  // namespace vfs::host
