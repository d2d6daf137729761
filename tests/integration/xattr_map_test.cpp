// --xattrmap and --security-label against the daemon binary through the in-process
// frontend: the guest's xattr names as the rules rename them, checked on the host with
// getxattr(2); labels sent with creates (FUSE_SECURITY_CTX extensions) stored under the
// mapped name before the name appears; malformed labels refused while the daemon serves on.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/fuse.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <vector>

#include "daemon_with_frontend.h"
#include "frontend.h"
#include "raw_fuse.h"

namespace vfs::test {
namespace {

using vfs::frontend::Frontend;
using namespace vfs::slowfs;

constexpr uint32_t kQ = 1;
constexpr uint32_t kCap = 8192;
constexpr char kLabel[] = "system_u:object_r:virtiofs_test_t:s0";

// A request: header, fixed arg bytes, NUL-terminated names, payload, extensions.
std::vector<uint8_t> make_request(uint32_t opcode, uint64_t unique, uint64_t nodeid,
                                  const void* arg, size_t arg_len,
                                  std::initializer_list<std::string_view> names,
                                  std::string_view payload = {},
                                  const std::vector<uint8_t>& ext = {}) {
    std::string tail;
    for (auto n : names) {
        tail += n;
        tail += '\0';
    }
    tail += payload;
    tail.append(ext.begin(), ext.end());
    return edit_header(
        raw_request(opcode, unique, nodeid, arg, arg_len, tail),
        [&](fuse_in_header& h) { h.total_extlen = static_cast<uint16_t>(ext.size() / 8); });
}

// One security context as Linux sends it: fuse_secctx_header, fuse_secctx, name, value,
// padded to 8 bytes.
std::vector<uint8_t> secctx(std::string_view name, std::string_view value) {
    std::vector<uint8_t> rec(sizeof(fuse_secctx_header) + sizeof(fuse_secctx));
    rec.insert(rec.end(), name.begin(), name.end());
    rec.push_back(0);
    rec.insert(rec.end(), value.begin(), value.end());
    rec.resize((rec.size() + 7) & ~size_t{7}, 0);
    fuse_secctx_header h{static_cast<uint32_t>(rec.size()), 1};
    fuse_secctx c{static_cast<uint32_t>(value.size()), 0};
    memcpy(rec.data(), &h, sizeof(h));
    memcpy(rec.data() + sizeof(h), &c, sizeof(c));
    return rec;
}

std::string body_text(const std::vector<uint8_t>& r) {
    if (r.size() <= sizeof(fuse_out_header)) return {};
    return std::string(r.begin() + sizeof(fuse_out_header), r.end());
}

std::string host_xattr(const std::string& path, const char* name) {
    char buf[512];
    const ssize_t n = ::lgetxattr(path.c_str(), name, buf, sizeof(buf));
    return n < 0 ? "errno " + std::to_string(errno) : std::string(buf, static_cast<size_t>(n));
}

class XattrMapDaemon : public ::testing::Test {
  protected:
    void start(const std::vector<std::string>& extra, bool offer_secctx = false) {
        dir_ = make_temp_dir("vfs-xattrmap");
        ASSERT_FALSE(dir_.empty());
        share_ = dir_ + "/share";
        std::filesystem::create_directory(share_);
        std::vector<std::string> args = extra;
        args.push_back("--log-level=debug");
        spawn_daemon_and_connect(daemon_, dir_ + "/vhost.sock", share_, dir_ + "/daemon.log", args,
                                 &fe_);
        if (HasFatalFailure()) return;
        fuse_init_in in{};
        in.major = FUSE_KERNEL_VERSION;
        in.minor = FUSE_KERNEL_MINOR_VERSION;
        in.max_readahead = 128 * 1024;
        in.flags = FUSE_INIT_EXT;
        if (offer_secctx) in.flags2 = static_cast<uint32_t>(FUSE_SECURITY_CTX >> 32);
        const auto r = call(make_request(FUSE_INIT, fe_->next_unique(), 0, &in, sizeof(in), {}));
        init_ = reply_body<fuse_init_out>(r);
    }
    void TearDown() override { disconnect_and_stop(fe_, daemon_, dir_); }
    std::vector<uint8_t> call(const std::vector<uint8_t>& req, int want = 0) {
        return call_daemon(*fe_, daemon_, kQ, req, kCap, want);
    }
    uint64_t lookup(const char* name) {
        const auto e = reply_body<fuse_entry_out>(
            call(make_request(FUSE_LOOKUP, fe_->next_unique(), FUSE_ROOT_ID, nullptr, 0, {name})));
        EXPECT_NE(e.nodeid, 0u) << name;
        return e.nodeid;
    }
    void setxattr(uint64_t node, std::string_view name, std::string_view value, int want = 0) {
        // The 8-byte compat form: FUSE_SETXATTR_EXT is not negotiated.
        const uint32_t in[2] = {static_cast<uint32_t>(value.size()), 0};
        call(make_request(FUSE_SETXATTR, fe_->next_unique(), node, in, sizeof(in), {name}, value),
             want);
    }
    std::vector<uint8_t> getxattr(uint64_t node, std::string_view name, uint32_t size,
                                  int want = 0) {
        fuse_getxattr_in in{};
        in.size = size;
        return call(make_request(FUSE_GETXATTR, fe_->next_unique(), node, &in, sizeof(in), {name}),
                    want);
    }
    std::vector<uint8_t> listxattr(uint64_t node, uint32_t size, int want = 0) {
        fuse_getxattr_in in{};
        in.size = size;
        return call(make_request(FUSE_LISTXATTR, fe_->next_unique(), node, &in, sizeof(in), {}),
                    want);
    }
    std::set<std::string> names_of(const std::vector<uint8_t>& list_reply) {
        std::set<std::string> names;
        const std::string t = body_text(list_reply);
        for (size_t pos = 0; pos < t.size();) {
            const size_t end = t.find('\0', pos);
            names.insert(t.substr(pos, end - pos));
            pos = end + 1;
        }
        return names;
    }
    std::vector<std::string> share_entries() {
        std::vector<std::string> out;
        for (const auto& de : std::filesystem::directory_iterator(share_))
            out.push_back(de.path().filename());
        std::sort(out.begin(), out.end());
        return out;
    }

    std::string dir_, share_;
    DaemonProcess daemon_;
    std::unique_ptr<Frontend> fe_;
    fuse_init_out init_{};
};

// virtiofsd's example 2 (its `map` form): the guest's trusted.* lives under
// user.virtiofs.trusted.* on the host, the guest cannot reach user.virtiofs.* directly,
// the host's own trusted.* is hidden, everything else passes.
TEST_F(XattrMapDaemon, TrustedIsStoredUnderUserVirtiofs) {
    start({"--xattrmap=/map/trusted./user.virtiofs./"});
    const std::string path = share_ + "/f";
    std::ofstream(path) << "x";
    ASSERT_EQ(::setxattr(path.c_str(), "user.plain", "p", 1, 0), 0);
    ASSERT_EQ(::setxattr(path.c_str(), "trusted.host_own", "h", 1, 0), 0);
    const uint64_t f = lookup("f");

    setxattr(f, "trusted.foo", "bar");
    EXPECT_EQ(host_xattr(path, "user.virtiofs.trusted.foo"), "bar");
    EXPECT_EQ(host_xattr(path, "trusted.foo"), "errno " + std::to_string(ENODATA));
    EXPECT_EQ(reply_body<fuse_getxattr_out>(getxattr(f, "trusted.foo", 0)).size, 3u);
    EXPECT_EQ(body_text(getxattr(f, "trusted.foo", 64)), "bar");
    EXPECT_EQ(body_text(getxattr(f, "user.plain", 64)), "p");
    // The prefix's own namespace is closed to the guest (EPERM; reads as absent).
    setxattr(f, "user.virtiofs.evil", "e", -EPERM);
    getxattr(f, "user.virtiofs.trusted.foo", 64, -ENODATA);
    EXPECT_EQ(host_xattr(path, "user.virtiofs.evil"), "errno " + std::to_string(ENODATA));

    // LISTXATTR: translated, the host's trusted.* hidden, the size probe of the mapped list.
    const std::set<std::string> want{"trusted.foo", "user.plain"};
    const uint32_t want_size = sizeof("trusted.foo") + sizeof("user.plain");
    EXPECT_EQ(reply_body<fuse_getxattr_out>(listxattr(f, 0)).size, want_size);
    EXPECT_EQ(names_of(listxattr(f, want_size)), want);
    listxattr(f, want_size - 1, -ERANGE);

    call(make_request(FUSE_REMOVEXATTR, fe_->next_unique(), f, nullptr, 0, {"trusted.foo"}));
    EXPECT_EQ(host_xattr(path, "user.virtiofs.trusted.foo"), "errno " + std::to_string(ENODATA));
    EXPECT_EQ(host_xattr(path, "trusted.host_own"), "h");
    call(make_request(FUSE_REMOVEXATTR, fe_->next_unique(), f, nullptr, 0, {"trusted.host_own"}),
         -ENODATA);  // means user.virtiofs.trusted.host_own, which does not exist
    EXPECT_EQ(host_xattr(path, "trusted.host_own"), "h");
}

// Example 1: every guest name under user.virtiofs., the host's other names invisible;
// a guest's security.selinux never touches the host's.
TEST_F(XattrMapDaemon, EverythingPrefixedAndTheRestHidden) {
    start({"-o", "xattrmap=:prefix:all::user.virtiofs.::bad:all:::"});
    const std::string path = share_ + "/g";
    std::ofstream(path) << "x";
    ASSERT_EQ(::setxattr(path.c_str(), "user.host", "h", 1, 0), 0);
    const uint64_t g = lookup("g");
    EXPECT_EQ(reply_body<fuse_getxattr_out>(listxattr(g, 0)).size, 0u);
    setxattr(g, "security.selinux", kLabel);
    EXPECT_EQ(host_xattr(path, "user.virtiofs.security.selinux"), kLabel);
    EXPECT_EQ(names_of(listxattr(g, 256)), std::set<std::string>{"security.selinux"});
    getxattr(g, "user.host", 64, -ENODATA);  // user.virtiofs.user.host
}

// --security-label with a map: CREATE and MKDIR store the label under the mapped name,
// and the directory never holds anything but the final names.
TEST_F(XattrMapDaemon, SecurityLabelStoredWithTheCreate) {
    start({"--security-label", "--xattrmap=:map:security.:user.virtiofs.:"}, true);
    ASSERT_TRUE(init_.flags2 & (FUSE_SECURITY_CTX >> 32)) << "FUSE_SECURITY_CTX not negotiated";
    const auto ctx = secctx("security.selinux", kLabel);

    fuse_create_in ci{};
    ci.flags = O_RDWR;
    ci.mode = S_IFREG | 0644;
    const auto c = call(make_request(FUSE_CREATE, fe_->next_unique(), FUSE_ROOT_ID, &ci, sizeof(ci),
                                     {"labelled"}, {}, ctx));
    EXPECT_NE(reply_body<fuse_entry_out>(c).nodeid, 0u);
    EXPECT_EQ(host_xattr(share_ + "/labelled", "user.virtiofs.security.selinux"), kLabel);

    fuse_mkdir_in mi{};
    mi.mode = 0755;
    call(make_request(FUSE_MKDIR, fe_->next_unique(), FUSE_ROOT_ID, &mi, sizeof(mi), {"dir"}, {},
                      ctx));
    EXPECT_EQ(host_xattr(share_ + "/dir", "user.virtiofs.security.selinux"), kLabel);

    fuse_mknod_in ni{};
    ni.mode = S_IFREG | 0600;
    call(make_request(FUSE_MKNOD, fe_->next_unique(), FUSE_ROOT_ID, &ni, sizeof(ni), {"node"}, {},
                      ctx));
    EXPECT_EQ(host_xattr(share_ + "/node", "user.virtiofs.security.selinux"), kLabel);
    // The guest reads its label back under its own name.
    EXPECT_EQ(body_text(getxattr(lookup("dir"), "security.selinux", 256)), kLabel);

    // A symlink cannot be labelled through an fd: the create fails rather than leave an
    // unlabelled link.
    call(make_request(FUSE_SYMLINK, fe_->next_unique(), FUSE_ROOT_ID, nullptr, 0,
                      {"link", "target"}, {}, ctx),
         -EOPNOTSUPP);
    // An existing name: CREATE without O_EXCL opens it, MKDIR is EEXIST; nothing is left.
    call(make_request(FUSE_CREATE, fe_->next_unique(), FUSE_ROOT_ID, &ci, sizeof(ci), {"labelled"},
                      {}, ctx));
    call(make_request(FUSE_MKDIR, fe_->next_unique(), FUSE_ROOT_ID, &mi, sizeof(mi), {"dir"}, {},
                      ctx),
         -EEXIST);
    // A header with no context (the guest's LSM had no label): a plain create.
    std::vector<uint8_t> none(sizeof(fuse_secctx_header), 0);
    const fuse_secctx_header empty{8, 0};
    memcpy(none.data(), &empty, sizeof(empty));
    call(make_request(FUSE_MKDIR, fe_->next_unique(), FUSE_ROOT_ID, &mi, sizeof(mi), {"plain"}, {},
                      none));
    EXPECT_EQ(host_xattr(share_ + "/plain", "user.virtiofs.security.selinux"),
              "errno " + std::to_string(ENODATA));
    EXPECT_EQ(share_entries(), (std::vector<std::string>{"dir", "labelled", "node", "plain"}));
}

// Hostile contexts: each is EINVAL, nothing is created, and the daemon serves on.
TEST_F(XattrMapDaemon, MalformedSecurityContextsAreRefused) {
    start({"--security-label", "--xattrmap=:map::user.virtiofs.:"}, true);
    const auto good = secctx("security.selinux", kLabel);
    std::vector<std::vector<uint8_t>> bad;
    {  // the label claims more bytes than its record holds
        auto b = good;
        fuse_secctx c{static_cast<uint32_t>(b.size()), 0};
        memcpy(b.data() + sizeof(fuse_secctx_header), &c, sizeof(c));
        bad.push_back(b);
    }
    {  // the record claims more bytes than the extensions hold
        auto b = good;
        fuse_secctx_header h{static_cast<uint32_t>(b.size() + 8), 1};
        memcpy(b.data(), &h, sizeof(h));
        bad.push_back(b);
    }
    {  // a name with no NUL in the record
        std::vector<uint8_t> b(sizeof(fuse_secctx_header) + sizeof(fuse_secctx) + 16, 'a');
        fuse_secctx_header h{static_cast<uint32_t>(b.size()), 1};
        fuse_secctx c{0, 0};
        memcpy(b.data(), &h, sizeof(h));
        memcpy(b.data() + sizeof(h), &c, sizeof(c));
        bad.push_back(b);
    }
    {  // two contexts, which Linux never sends
        auto b = good;
        fuse_secctx_header h{static_cast<uint32_t>(b.size()), 2};
        memcpy(b.data(), &h, sizeof(h));
        bad.push_back(b);
    }
    {  // a record size that is not a multiple of 8
        auto b = good;
        fuse_secctx_header h{static_cast<uint32_t>(b.size() - 4), 1};
        memcpy(b.data(), &h, sizeof(h));
        bad.push_back(b);
    }
    {  // a label above XATTR_SIZE_MAX
        auto b = secctx("security.selinux", std::string(XATTR_SIZE_MAX + 8, 'x'));
        fuse_secctx c{XATTR_SIZE_MAX + 1, 0};
        memcpy(b.data() + sizeof(fuse_secctx_header), &c, sizeof(c));
        bad.push_back(b);
    }
    fuse_mkdir_in mi{};
    mi.mode = 0755;
    for (size_t i = 0; i < bad.size(); ++i) {
        auto r = fe_->request(kQ,
                              make_request(FUSE_MKDIR, fe_->next_unique(), FUSE_ROOT_ID, &mi,
                                           sizeof(mi), {"d" + std::to_string(i)}, {}, bad[i]),
                              kCap);
        ASSERT_TRUE(r) << "case " << i << ": " << strerror(r.error()) << daemon_.log();
        EXPECT_EQ(reply_header(*r).error, -EINVAL) << "case " << i;
    }
    EXPECT_TRUE(share_entries().empty());
    // Still serving: a good one works.
    call(make_request(FUSE_MKDIR, fe_->next_unique(), FUSE_ROOT_ID, &mi, sizeof(mi), {"ok"}, {},
                      good));
    EXPECT_EQ(host_xattr(share_ + "/ok", "user.virtiofs.security.selinux"), kLabel);
}

// Without --security-label the flag is never negotiated, even when offered.
TEST_F(XattrMapDaemon, NoSecurityCtxWithoutTheOption) {
    start({}, true);
    EXPECT_FALSE(init_.flags2 & (FUSE_SECURITY_CTX >> 32));
}

}  // namespace
}  // namespace vfs::test
