// --xattrmap's parser and matcher against virtiofsd's documented rule sets.
#include "fs/xattr_map.h"

#include <errno.h>
#include <gtest/gtest.h>

#include <string>

using vfs::host::XattrMap;
using Type = XattrMap::Type;

namespace {

XattrMap parsed(std::string_view text) {
    auto r = XattrMap::parse(text);
    if (auto* err = std::get_if<std::string>(&r)) ADD_FAILURE() << text << ": " << *err;
    return std::get_if<XattrMap>(&r) ? std::get<XattrMap>(r) : XattrMap{};
}

std::string error_of(std::string_view text) {
    auto r = XattrMap::parse(text);
    if (auto* err = std::get_if<std::string>(&r)) return *err;
    ADD_FAILURE() << text << " parsed";
    return {};
}

std::string host(const XattrMap& m, std::string_view name) {
    auto c = m.map_client(name);
    return c.error ? "errno " + std::to_string(c.error) : c.host_name;
}

std::string list(std::initializer_list<std::string_view> names) {
    std::string out;
    for (auto n : names) {
        out.append(n);
        out.push_back('\0');
    }
    return out;
}

TEST(XattrMap, ParsesOneRuleOfEachScope) {
    auto m = parsed(":prefix:client:trusted.:user.virtiofs.:");
    ASSERT_EQ(m.rules().size(), 1u);
    EXPECT_EQ(m.rules()[0],
              (XattrMap::Rule{Type::kPrefix, true, false, "trusted.", "user.virtiofs."}));
    m = parsed(" :ok:server::security.: ");
    EXPECT_EQ(m.rules()[0], (XattrMap::Rule{Type::kOk, false, true, "", "security."}));
    m = parsed(":unsupported:all:security.selinux:security.selinux:");
    EXPECT_EQ(m.rules()[0], (XattrMap::Rule{Type::kUnsupported, true, true, "security.selinux",
                                            "security.selinux"}));
}

// virtiofsd's example 1: everything under user.virtiofs., the host's other names hidden.
TEST(XattrMap, Example1PrefixEverything) {
    for (auto text : {":prefix:all::user.virtiofs.::bad:all:::", ":map::user.virtiofs.:"}) {
        auto m = parsed(text);
        EXPECT_EQ(host(m, "security.selinux"), "user.virtiofs.security.selinux") << text;
        EXPECT_EQ(host(m, "trusted.foo"), "user.virtiofs.trusted.foo") << text;
        EXPECT_EQ(host(m, "user.x"), "user.virtiofs.user.x") << text;
        EXPECT_EQ(m.map_server_list(list({"user.virtiofs.trusted.foo", "security.selinux",
                                          "user.plain", "user.virtiofs.user.x"})),
                  list({"trusted.foo", "user.x"}))
            << text;
    }
}

// Example 2, with '/' as separator and rules on separate lines, and its map shorthand.
TEST(XattrMap, Example2PrefixTrustedOnly) {
    for (auto text : {"/prefix/all/trusted./user.virtiofs./\n"
                      "            /bad/server//trusted./\n"
                      "            /bad/client/user.virtiofs.//\n"
                      "            /ok/all///",
                      "/map/trusted./user.virtiofs./"}) {
        auto m = parsed(text);
        EXPECT_EQ(host(m, "trusted.foo"), "user.virtiofs.trusted.foo") << text;
        EXPECT_EQ(host(m, "user.virtiofs.trusted.foo"), "errno " + std::to_string(EPERM)) << text;
        EXPECT_EQ(host(m, "security.selinux"), "security.selinux") << text;
        EXPECT_EQ(host(m, "user.plain"), "user.plain") << text;
        EXPECT_EQ(m.map_server_list(list({"user.virtiofs.trusted.foo", "trusted.host_own",
                                          "user.plain", "security.selinux"})),
                  list({"trusted.foo", "user.plain", "security.selinux"}))
            << text;
    }
}

// Example 3: security. hidden both ways, the rest passed.
TEST(XattrMap, Example3HideSecurity) {
    auto m = parsed("/bad/all/security./security./\n/ok/all///");
    EXPECT_EQ(host(m, "security.selinux"), "errno " + std::to_string(EPERM));
    EXPECT_EQ(host(m, "user.a"), "user.a");
    EXPECT_EQ(m.map_server_list(list({"security.selinux", "user.a"})), list({"user.a"}));
}

TEST(XattrMap, FirstMatchWinsAndUnsupportedIsEnotsup) {
    auto m = parsed(":unsupported:all:security.selinux:security.selinux::ok:all:::");
    EXPECT_EQ(host(m, "security.selinux"), "errno " + std::to_string(ENOTSUP));
    EXPECT_EQ(host(m, "security.ima"), "security.ima");
    EXPECT_EQ(m.map_server_list(list({"security.selinux", "security.ima"})),
              list({"security.ima"}));
    // The earlier rule wins even though the later one would match too.
    m = parsed(":ok:client:user.a::;bad;client;user.;;");
    EXPECT_EQ(host(m, "user.a1"), "user.a1");
    EXPECT_EQ(host(m, "user.b"), "errno " + std::to_string(EPERM));
}

TEST(XattrMap, NoMatchRefusesClientAndHidesServer) {
    auto m = parsed(":ok:client:user.::");  // no server rule at all
    EXPECT_EQ(host(m, "trusted.x"), "errno " + std::to_string(EPERM));
    EXPECT_EQ(m.map_server_list(list({"user.a", "trusted.x"})), "");
}

TEST(XattrMap, EachRuleHasItsOwnSeparator) {
    auto m = parsed(
        ":prefix:all:trusted.:user.virtiofs.: /prefix/all/trusted./user.virtiofs./"
        "|ok|all|||");
    ASSERT_EQ(m.rules().size(), 3u);
    EXPECT_EQ(m.rules()[0], m.rules()[1]);
    // The separator may occur in no field, but ':' may be inside a '/' rule.
    m = parsed("/prefix/client/a:b/c:d//ok/all///");
    EXPECT_EQ(host(m, "a:b.x"), "c:da:b.x");
}

TEST(XattrMap, ServerListEdgeCases) {
    auto m = parsed(":prefix:server::user.virtiofs.::ok:all:::");
    // A name that is the whole prefix leaves nothing and is hidden; the empty and the
    // unterminated last name are handled.
    EXPECT_EQ(m.map_server_list(std::string("user.virtiofs.\0\0user.virtiofs.x", 32)), list({"x"}));
    EXPECT_EQ(m.map_server_list(""), "");
}

TEST(XattrMap, ErrorsSayWhichRuleAndWhere) {
    EXPECT_EQ(error_of(""), "--xattrmap has no rules");
    EXPECT_EQ(error_of("  \n "), "--xattrmap has no rules");
    EXPECT_NE(error_of(":prefix:client:hi").find("rule 1 (character 17)"), std::string::npos);
    EXPECT_NE(error_of(":prefix:client:hi").find("its key field"), std::string::npos);
    EXPECT_NE(error_of(":prefix:client:hi:").find("its prepend field"), std::string::npos);
    EXPECT_NE(error_of(":ok:all::: :TOMATO:all:::")
                  .find("rule 2 (character 12): unknown type "
                        "'TOMATO'"),
              std::string::npos);
    EXPECT_NE(error_of("/prefix/helloworld///")
                  .find("rule 1 (character 8): unknown scope "
                        "'helloworld'"),
              std::string::npos);
    EXPECT_NE(error_of(":map:a.:b.: :ok:all:::")
                  .find("rule 1 (character 12): a map rule must be "
                        "the last"),
              std::string::npos);
    EXPECT_NE(error_of(":map:trusted.:virtiofs.user.::map:trusted.:virtiofs.user.:")
                  .find("must be the last"),
              std::string::npos);
    EXPECT_NE(error_of(":map:a").find("key"), std::string::npos);
    EXPECT_NE(error_of(":ok").find("type"), std::string::npos);
}

}  // namespace
