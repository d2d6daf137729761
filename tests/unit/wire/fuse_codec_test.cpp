// FUSE codec: a round trip for every opcode (driver builds, device parses and replies,
// driver decodes), the compat forms, and hostile requests and replies.
#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "fuse_test_util.h"
#include "vfs/wire/fuse_client.h"
#include "vfs/wire/fuse_reply.h"
#include "vfs/wire/fuse_request.h"

using namespace vfs::wire;
using namespace vfs::wire::test;

namespace {

constexpr uint64_t kUnique = 0xfeedface12345678ull;

// Builds s with the driver side and returns the request's bytes.
std::vector<uint8_t> build(const Sample& s, const Proto& proto) {
    Segment payload;
    ClientRequest rq = to_request(s, kUnique, &payload);
    std::vector<uint8_t> buf(kRequestBufMax);
    Segment segs[4];
    auto n = build_request(rq, proto, buf.data(), static_cast<uint32_t>(buf.size()), segs, 4);
    EXPECT_TRUE(n.ok()) << n.error();
    if (!n.ok()) return {};
    // The payload is referenced, not copied.
    if (!s.payload.empty()) {
        EXPECT_EQ(*n, 2u);
        EXPECT_EQ(segs[1].data, s.payload.data());
    }
    return flatten(segs, *n);
}

// Raw request bytes: a header with len = total, then body.
std::vector<uint8_t> raw_request(uint32_t opcode, const std::vector<uint8_t>& body,
                                 uint16_t extlen = 0) {
    fuse_in_header h{};
    h.len = static_cast<uint32_t>(sizeof(h) + body.size());
    h.opcode = opcode;
    h.unique = kUnique;
    h.nodeid = 1;
    h.total_extlen = extlen;
    // One allocation of the final size: growing a header-sized vector makes gcc 12 -O3
    // warn (-Warray-bounds) about the memmove inside insert().
    std::vector<uint8_t> out(sizeof(h) + body.size());
    std::memcpy(out.data(), &h, sizeof(h));
    if (!body.empty()) std::memcpy(out.data() + sizeof(h), body.data(), body.size());
    return out;
}

std::vector<uint8_t> bytes_of(const std::string& s, bool nul = true) {
    std::vector<uint8_t> v(s.begin(), s.end());
    if (nul) v.push_back(0);
    return v;
}

std::vector<uint8_t> cat(std::vector<uint8_t> a, const std::vector<uint8_t>& b) {
    a.insert(a.end(), b.begin(), b.end());
    return a;
}

template <class T>
std::vector<uint8_t> struct_bytes(const T& v, size_t n = sizeof(T)) {
    std::vector<uint8_t> out(n);
    std::memcpy(out.data(), &v, n);
    return out;
}

// Parses bytes split as given; returns the status.
Status parse(const std::vector<uint8_t>& bytes, const Proto& proto, ParsedRequest* req,
             std::vector<size_t> cuts = {}) {
    Split split(bytes, cuts);
    SgReader r = split.reader();
    return parse_request(r, proto, req);
}

void check_parsed(const Sample& s, const Proto& proto, const ParsedRequest& req, SgReader& r) {
    const OpInfo& op = *fuse_op(s.opcode);
    ASSERT_TRUE(req.header_valid);
    EXPECT_EQ(req.op, &op);
    EXPECT_EQ(req.header.opcode, s.opcode);
    EXPECT_EQ(req.header.unique, kUnique);
    EXPECT_EQ(req.header.nodeid, 0x1122334455667788ull);
    EXPECT_EQ(req.header.uid, 1000u);
    EXPECT_EQ(req.header.gid, 100u);
    EXPECT_EQ(req.header.pid, 4242u);
    const uint32_t arg_len = fuse_arg_size(op, proto);
    ASSERT_EQ(req.arg_len, arg_len);
    if (arg_len > 0) {
        EXPECT_EQ(0, std::memcmp(req.arg_raw, s.arg.data(), arg_len));
    }
    for (uint32_t i = arg_len; i < kMaxArgSize; ++i)
        EXPECT_EQ(req.arg_raw[i], 0) << i;
    ASSERT_EQ(req.name_count, s.names.size());
    for (uint32_t i = 0; i < req.name_count; ++i) {
        NameView n = req.name(i);
        EXPECT_EQ(std::string(n.data, n.len), s.names[i]);
        EXPECT_EQ(n.data[n.len], '\0');
    }
    ASSERT_EQ(req.payload_len, s.payload.size());
    EXPECT_EQ(r.remaining(), req.payload_len + req.ext_len);
    Segment out[8];
    auto n = r.take_segments(req.payload_len, out, 8);
    ASSERT_TRUE(n.ok());
    EXPECT_EQ(flatten(out, *n), s.payload);
}

// The device's reply for s (success), written into w; the expected struct goes to want.
Status write_reply(const Sample& s, const Proto& proto, SgWriter& w, std::vector<uint8_t>* want,
                   std::vector<uint8_t>* want_data) {
    const OpInfo& op = *fuse_op(s.opcode);
    std::vector<uint8_t> st(kMaxReplyStructSize);
    for (size_t i = 0; i < st.size(); ++i)
        st[i] = static_cast<uint8_t>(s.opcode + 7 * i);
    switch (op.reply) {
        case ReplyKind::kEmpty:
            return reply_empty(w, kUnique);
        case ReplyKind::kStruct: {
            uint32_t size = fuse_reply_size(op, proto.minor);
            if (op.opcode == FUSE_INIT) {
                fuse_init_out init;
                std::memcpy(&init, st.data(), sizeof(init));
                init.minor = proto.minor;
                std::memcpy(st.data(), &init, sizeof(init));
                want->assign(st.begin(), st.begin() + size);
                return reply_init(w, kUnique, init);
            }
            want->assign(st.begin(), st.begin() + size);
            return reply_data(w, kUnique, st.data(), size);
        }
        case ReplyKind::kCreate: {
            fuse_entry_out e;
            fuse_open_out o;
            std::memcpy(&e, st.data(), sizeof(e));
            std::memcpy(&o, st.data() + sizeof(e), sizeof(o));
            const uint32_t esize = fuse_reply_size(op, proto.minor);
            // The decoder spreads a compat entry into CreateOut: expect zeros after it.
            want->assign(sizeof(CreateOut), 0);
            std::memcpy(want->data(), &e, esize);
            std::memcpy(want->data() + offsetof(CreateOut, open), &o, sizeof(o));
            return reply_create(w, kUnique, proto.minor, e, o);
        }
        case ReplyKind::kXattr:
            if (s.data_limit == 0) {
                want->assign(st.begin(), st.begin() + sizeof(fuse_getxattr_out));
                return reply_data(w, kUnique, st.data(), sizeof(fuse_getxattr_out));
            }
            [[fallthrough]];
        case ReplyKind::kData: {
            // The zero-copy path: reserve the header, hand the data area out as segments.
            auto p = reply_begin(w, kUnique);
            if (!p) return Error{p.error()};
            const uint64_t n = s.data_limit / 2 + 1;
            Segment segs[4];
            auto k = w.take_segments(n, segs, 4);
            if (!k) return Error{k.error()};
            want_data->clear();
            for (uint32_t i = 0; i < *k; ++i) {
                for (uint32_t j = 0; j < segs[i].len; ++j) {
                    segs[i].data[j] = static_cast<uint8_t>(want_data->size() * 5 + 1);
                    want_data->push_back(segs[i].data[j]);
                }
            }
            auto total = reply_finish(*p, w, n);
            if (!total) return Error{total.error()};
            EXPECT_EQ(*total, sizeof(fuse_out_header) + n);
            return {};
        }
        case ReplyKind::kIoctl: {
            want->assign(st.begin(), st.begin() + sizeof(fuse_ioctl_out));
            want_data->assign(20, 0x5c);
            const Bytes parts[2] = {{st.data(), sizeof(fuse_ioctl_out)}, {want_data->data(), 20}};
            return reply_parts(w, kUnique, 0, parts, 2);
        }
        case ReplyKind::kNone:
            break;
    }
    return Error{EINVAL};
}

void round_trip(uint32_t opcode, const Proto& proto, std::mt19937& rng) {
    const OpInfo& op = *fuse_op(opcode);
    SCOPED_TRACE(std::string(op.name) + " minor " + std::to_string(proto.minor));
    Sample s = make_sample(opcode);
    std::vector<uint8_t> bytes = build(s, proto);
    ASSERT_FALSE(bytes.empty());

    // Parse it whole, and split at random points (names and structs across segments).
    for (int split = 0; split < 8; ++split) {
        Split sp(bytes, split == 0 ? std::vector<size_t>{} : random_cuts(rng, bytes.size(), 6));
        SgReader r = sp.reader();
        ParsedRequest req;
        Status st = parse_request(r, proto, &req);
        ASSERT_TRUE(st.ok()) << st.error();
        check_parsed(s, proto, req, r);
        EXPECT_EQ(req.wants_reply(), op.reply != ReplyKind::kNone);
    }

    // Reply: the driver posts head + user buffer, the device writes, the driver decodes.
    Segment payload;
    ClientRequest rq = to_request(s, kUnique, &payload);
    uint8_t head[kReplyHeadMax];
    std::vector<uint8_t> user(4096, 0xee);
    Segment user_seg{user.data(), static_cast<uint32_t>(user.size())};
    Segment segs[4];
    auto n = build_reply_segments(rq, proto, head, sizeof(head), &user_seg, 1, segs, 4);
    ASSERT_TRUE(n.ok());
    if (op.reply == ReplyKind::kNone) {
        EXPECT_EQ(*n, 0u);
        return;
    }
    // Split the head further: the device must not care where segments break.
    std::vector<Segment> dev(segs, segs + *n);
    if (dev[0].len > 20) {
        Segment a{dev[0].data, 20}, b{dev[0].data + 20, dev[0].len - 20};
        dev[0] = a;
        dev.insert(dev.begin() + 1, b);
    }
    SgWriter w(dev.data(), static_cast<uint32_t>(dev.size()));
    std::vector<uint8_t> want, want_data;
    Status ws = write_reply(s, proto, w, &want, &want_data);
    ASSERT_TRUE(ws.ok()) << ws.error();
    alignas(8) uint8_t got[kMaxReplyStructSize];
    auto rep = decode_reply(rq, proto, head, user.size(), w.written(), got, sizeof(got));
    ASSERT_TRUE(rep.ok()) << rep.error();
    EXPECT_EQ(rep->error, 0);
    ASSERT_EQ(rep->data_len, want_data.size());
    EXPECT_EQ(std::vector<uint8_t>(user.begin(), user.begin() + want_data.size()), want_data);
    if (!want.empty()) {
        EXPECT_EQ(0, std::memcmp(got, want.data(), want.size()));
    }

    // And an error reply decodes as the errno.
    SgWriter ew(segs, *n);
    ASSERT_TRUE(reply_error(ew, kUnique, ENOENT).ok());
    EXPECT_EQ(ew.written(), sizeof(fuse_out_header));
    auto er = decode_reply(rq, proto, head, user.size(), ew.written(), got, sizeof(got));
    ASSERT_TRUE(er.ok());
    EXPECT_EQ(er->error, ENOENT);
}

}  // namespace

TEST(FuseOpcodes, TableCoversEveryOpcodeUpToTmpfile) {
    const std::vector<uint32_t> ops = all_opcodes();
    EXPECT_EQ(ops.size(), 49u);  // 1..51 minus the unused 7 and 19
    EXPECT_EQ(fuse_op(7), nullptr);
    EXPECT_EQ(fuse_op(19), nullptr);
    EXPECT_EQ(fuse_op(CUSE_INIT), nullptr);
    EXPECT_EQ(fuse_op(FUSE_TMPFILE + 1), nullptr);
    for (uint32_t o : ops)
        EXPECT_EQ(fuse_op(o)->opcode, o);
    EXPECT_EQ(fuse_op(FUSE_SYMLINK)->name_count, 2);
    EXPECT_EQ(fuse_op(FUSE_RENAME2)->name_count, 2);
    EXPECT_EQ(fuse_op(FUSE_FORGET)->reply, ReplyKind::kNone);
    EXPECT_EQ(fuse_op(FUSE_BATCH_FORGET)->reply, ReplyKind::kNone);
    EXPECT_EQ(fuse_op(FUSE_SETUPMAPPING)->arg_size, sizeof(fuse_setupmapping_in));
}

TEST(FuseOpcodes, CompatSizesFollowTheMinor) {
    Proto old{7, false};
    EXPECT_EQ(fuse_arg_size(*fuse_op(FUSE_GETATTR), old), 0u);
    EXPECT_EQ(fuse_arg_size(*fuse_op(FUSE_WRITE), old), FUSE_COMPAT_WRITE_IN_SIZE);
    EXPECT_EQ(fuse_arg_size(*fuse_op(FUSE_READ), old), 24u);
    EXPECT_EQ(fuse_arg_size(*fuse_op(FUSE_MKNOD), Proto{11, false}), FUSE_COMPAT_MKNOD_IN_SIZE);
    EXPECT_EQ(fuse_arg_size(*fuse_op(FUSE_MKNOD), Proto{12, false}), sizeof(fuse_mknod_in));
    EXPECT_EQ(fuse_arg_size(*fuse_op(FUSE_CREATE), Proto{11, false}), sizeof(fuse_open_in));
    EXPECT_EQ(fuse_arg_size(*fuse_op(FUSE_SETXATTR), Proto{38, false}),
              FUSE_COMPAT_SETXATTR_IN_SIZE);
    EXPECT_EQ(fuse_arg_size(*fuse_op(FUSE_SETXATTR), Proto{38, true}), sizeof(fuse_setxattr_in));
    EXPECT_EQ(fuse_reply_size(*fuse_op(FUSE_LOOKUP), 8), FUSE_COMPAT_ENTRY_OUT_SIZE);
    EXPECT_EQ(fuse_reply_size(*fuse_op(FUSE_GETATTR), 8), FUSE_COMPAT_ATTR_OUT_SIZE);
    EXPECT_EQ(fuse_reply_size(*fuse_op(FUSE_STATFS), 3), FUSE_COMPAT_STATFS_SIZE);
    EXPECT_EQ(fuse_reply_size(*fuse_op(FUSE_INIT), 4), FUSE_COMPAT_INIT_OUT_SIZE);
    EXPECT_EQ(fuse_reply_size(*fuse_op(FUSE_INIT), 22), FUSE_COMPAT_22_INIT_OUT_SIZE);
    EXPECT_EQ(fuse_reply_size(*fuse_op(FUSE_INIT), 38), sizeof(fuse_init_out));
}

TEST(FuseRoundTrip, EveryOpcodeAtCurrentMinor) {
    std::mt19937 rng(1);
    for (uint32_t o : all_opcodes())
        round_trip(o, Proto::current(), rng);
}

TEST(FuseRoundTrip, EveryOpcodeAtOldMinorsAndWithoutSetxattrExt) {
    std::mt19937 rng(2);
    for (Proto p : {Proto{7, false}, Proto{11, false}, Proto{31, false}, Proto{37, true}}) {
        for (uint32_t o : all_opcodes())
            round_trip(o, p, rng);
    }
}

TEST(FuseRequest, CompatPrefixLeavesTheRestZero) {
    Sample s = make_sample(FUSE_WRITE);
    Proto old{8, false};
    std::vector<uint8_t> bytes = build(s, old);
    EXPECT_EQ(bytes.size(), sizeof(fuse_in_header) + FUSE_COMPAT_WRITE_IN_SIZE + 100);
    ParsedRequest req;
    ASSERT_TRUE(parse(bytes, old, &req).ok());
    EXPECT_EQ(req.arg<fuse_write_in>().size, 100u);
    EXPECT_EQ(req.arg<fuse_write_in>().lock_owner, 0u);
}

TEST(FuseRequest, NameSpanningEverySegmentBoundary) {
    Sample s = make_sample(FUSE_SYMLINK);
    std::vector<uint8_t> bytes = build(s, Proto::current());
    std::vector<size_t> cuts;
    for (size_t i = 1; i < bytes.size(); ++i)
        cuts.push_back(i);  // one byte per segment
    ParsedRequest req;
    ASSERT_TRUE(parse(bytes, Proto::current(), &req, cuts).ok());
    EXPECT_EQ(std::string(req.name(0).data, req.name(0).len), "old name");
    EXPECT_EQ(std::string(req.name(1).data, req.name(1).len), "../some/where/else");
}

TEST(FuseRequest, TruncatedHeader) {
    std::vector<uint8_t> bytes = raw_request(FUSE_GETATTR, std::vector<uint8_t>(16));
    for (size_t n = 0; n < sizeof(fuse_in_header); ++n) {
        std::vector<uint8_t> part(bytes.begin(), bytes.begin() + n);
        ParsedRequest req;
        EXPECT_EQ(parse(part, Proto::current(), &req).error(), EINVAL);
        EXPECT_FALSE(req.header_valid);
        EXPECT_FALSE(req.wants_reply());
    }
}

TEST(FuseRequest, HeaderLenMustMatchTheReadableBytes) {
    std::vector<uint8_t> bytes = raw_request(FUSE_GETATTR, std::vector<uint8_t>(16));
    for (uint32_t len : {0u, 1u, 39u, 40u, 55u, 57u, 4096u, 0xffffffffu}) {
        std::vector<uint8_t> b = bytes;
        std::memcpy(b.data(), &len, 4);
        ParsedRequest req;
        EXPECT_EQ(parse(b, Proto::current(), &req).error(), EINVAL) << len;
        EXPECT_TRUE(req.header_valid);
        EXPECT_TRUE(req.wants_reply());  // answerable: the unique is known
        EXPECT_EQ(req.header.unique, kUnique);
    }
}

TEST(FuseRequest, TruncatedOrOversizedArgs) {
    for (size_t n : {0, 8, 15, 17, 24}) {
        ParsedRequest req;
        EXPECT_EQ(parse(raw_request(FUSE_GETATTR, std::vector<uint8_t>(n)), Proto::current(), &req)
                      .error(),
                  EINVAL)
            << n;
    }
    ParsedRequest req;
    EXPECT_EQ(parse(raw_request(FUSE_STATFS, {0}), Proto::current(), &req).error(), EINVAL);
    EXPECT_TRUE(parse(raw_request(FUSE_STATFS, {}), Proto::current(), &req).ok());
}

TEST(FuseRequest, UnknownOpcodeIsNotAParseError) {
    for (uint32_t opcode : {0u, 7u, 19u, 52u, 4096u, 0xffffffffu}) {
        ParsedRequest req;
        std::vector<uint8_t> bytes = raw_request(opcode, {1, 2, 3});
        Split sp(bytes, {});
        SgReader r = sp.reader();
        ASSERT_TRUE(parse_request(r, Proto::current(), &req).ok());
        EXPECT_EQ(req.op, nullptr);
        EXPECT_TRUE(req.wants_reply());  // with ENOSYS
        EXPECT_EQ(r.remaining(), 3u);
    }
}

TEST(FuseRequest, MalformedNoReplyRequestsAreDropped) {
    ParsedRequest req;
    EXPECT_EQ(parse(raw_request(FUSE_FORGET, {1, 2}), Proto::current(), &req).error(), EINVAL);
    EXPECT_TRUE(req.header_valid);
    EXPECT_FALSE(req.wants_reply());
}

TEST(FuseRequest, BadNames) {
    struct Case {
        uint32_t opcode;
        std::vector<uint8_t> body;
        int err;
    };
    const std::vector<uint8_t> mkdir_in(sizeof(fuse_mkdir_in), 0);
    const std::vector<uint8_t> getx_in(sizeof(fuse_getxattr_in), 0);
    const std::string n255(255, 'n'), n256(256, 'n');
    const std::string t4095(4095, 't'), t4096(4096, 't');
    const std::vector<Case> cases = {
        {FUSE_LOOKUP, bytes_of("abc", false), EINVAL},  // no NUL
        {FUSE_LOOKUP, bytes_of(""), EINVAL},            // empty
        {FUSE_LOOKUP, {}, EINVAL},                      // missing
        {FUSE_LOOKUP, bytes_of("a/b"), EINVAL},         // '/'
        {FUSE_LOOKUP, bytes_of("/"), EINVAL},           //
        {FUSE_LOOKUP, bytes_of(".."), 0},               // lookups may go up
        {FUSE_LOOKUP, bytes_of("."), 0},                //
        {FUSE_LOOKUP, bytes_of(n255), 0},               // longest
        {FUSE_LOOKUP, bytes_of(n256), ENAMETOOLONG},    //
        {FUSE_LOOKUP, bytes_of(n256 + n256, false), ENAMETOOLONG},
        {FUSE_LOOKUP, cat(bytes_of("a"), {0}), EINVAL},      // trailing byte
        {FUSE_UNLINK, bytes_of(".."), EINVAL},               // no dot names to remove
        {FUSE_MKDIR, cat(mkdir_in, bytes_of(".")), EINVAL},  //
        {FUSE_MKDIR, cat(mkdir_in, bytes_of("...")), 0},     // a plain name
        {FUSE_RENAME, cat(std::vector<uint8_t>(8), bytes_of("a")), EINVAL},  // one of two
        {FUSE_RENAME, cat(std::vector<uint8_t>(8), cat(bytes_of("a"), bytes_of("b/c"))), EINVAL},
        {FUSE_SYMLINK, cat(bytes_of("l"), bytes_of("/abs/target")), 0},
        {FUSE_SYMLINK, cat(bytes_of("l"), bytes_of(t4095)), 0},
        {FUSE_SYMLINK, cat(bytes_of("l"), bytes_of(t4096)), ENAMETOOLONG},
        {FUSE_SYMLINK, cat(bytes_of("l"), bytes_of("")), EINVAL},
        {FUSE_SYMLINK, cat(bytes_of("l/x"), bytes_of("t")), EINVAL},
        {FUSE_GETXATTR, cat(getx_in, bytes_of("user.a/b")), 0},  // xattr names may hold '/'
        {FUSE_GETXATTR, cat(getx_in, bytes_of(n256)), ERANGE},
        {FUSE_REMOVEXATTR, bytes_of(""), EINVAL},
        {FUSE_TMPFILE, cat(std::vector<uint8_t>(16), bytes_of("/")), 0},
    };
    for (const Case& c : cases) {
        ParsedRequest req;
        Status st = parse(raw_request(c.opcode, c.body), Proto::current(), &req);
        EXPECT_EQ(st.ok() ? 0 : st.error(), c.err)
            << fuse_op(c.opcode)->name << " body " << c.body.size();
    }
}

TEST(FuseRequest, BatchForgetCountMustMatchTheArray) {
    auto forget = [](uint32_t count, size_t entries) {
        fuse_batch_forget_in in{};
        in.count = count;
        // One allocation of the final size: growing a struct-sized vector made gcc 12 -O2
        // warn (-Warray-bounds) about the memmove inside resize().
        std::vector<uint8_t> body(sizeof(in) + entries * sizeof(fuse_forget_one), 0x11);
        std::memcpy(body.data(), &in, sizeof(in));
        return raw_request(FUSE_BATCH_FORGET, body);
    };
    ParsedRequest req;
    EXPECT_TRUE(parse(forget(2, 2), Proto::current(), &req).ok());
    EXPECT_EQ(req.payload_len, 32u);
    EXPECT_TRUE(parse(forget(0, 0), Proto::current(), &req).ok());
    EXPECT_EQ(parse(forget(3, 2), Proto::current(), &req).error(), EINVAL);
    EXPECT_EQ(parse(forget(1, 2), Proto::current(), &req).error(), EINVAL);
    // count * 16 wraps in 32 bits to 0 and to 16: must not be mistaken for those.
    EXPECT_EQ(parse(forget(0x10000000u, 0), Proto::current(), &req).error(), EINVAL);
    EXPECT_EQ(parse(forget(0x10000001u, 1), Proto::current(), &req).error(), EINVAL);
    EXPECT_EQ(parse(forget(0xffffffffu, 1), Proto::current(), &req).error(), EINVAL);
    EXPECT_FALSE(req.wants_reply());
}

TEST(FuseRequest, PayloadSizesMustMatch) {
    fuse_write_in w{};
    w.size = 10;
    ParsedRequest req;
    std::vector<uint8_t> arg = struct_bytes(w);
    EXPECT_TRUE(
        parse(raw_request(FUSE_WRITE, cat(arg, std::vector<uint8_t>(10))), Proto::current(), &req)
            .ok());
    EXPECT_EQ(
        parse(raw_request(FUSE_WRITE, cat(arg, std::vector<uint8_t>(9))), Proto::current(), &req)
            .error(),
        EINVAL);
    EXPECT_EQ(
        parse(raw_request(FUSE_WRITE, cat(arg, std::vector<uint8_t>(11))), Proto::current(), &req)
            .error(),
        EINVAL);
    fuse_setxattr_in sx{};
    sx.size = 4;
    std::vector<uint8_t> body = cat(struct_bytes(sx), cat(bytes_of("user.k"), {1, 2, 3, 4}));
    EXPECT_TRUE(parse(raw_request(FUSE_SETXATTR, body), Proto::current(), &req).ok());
    EXPECT_EQ(req.payload_len, 4u);
    // Without FUSE_SETXATTR_EXT the same bytes misparse: the name starts 8 bytes early.
    EXPECT_FALSE(parse(raw_request(FUSE_SETXATTR, body), Proto{38, false}, &req).ok());
}

TEST(FuseRequest, InitAcceptsShortAndLongForms) {
    fuse_init_in in{};
    in.major = 7;
    in.minor = 38;
    in.flags = FUSE_INIT_EXT;
    in.flags2 = 3;
    std::vector<uint8_t> full = struct_bytes(in);
    ParsedRequest req;
    // Before INIT the minor is 0; the short 7.6+ form is 16 bytes.
    ASSERT_TRUE(
        parse(raw_request(FUSE_INIT, {full.begin(), full.begin() + 16}), Proto{}, &req).ok());
    EXPECT_EQ(req.arg_len, 16u);
    EXPECT_EQ(req.arg<fuse_init_in>().minor, 38u);
    EXPECT_EQ(req.arg<fuse_init_in>().flags2, 0u);
    ASSERT_TRUE(parse(raw_request(FUSE_INIT, full), Proto{}, &req).ok());
    EXPECT_EQ(req.arg<fuse_init_in>().flags2, 3u);
    ASSERT_TRUE(
        parse(raw_request(FUSE_INIT, cat(full, std::vector<uint8_t>(40, 9))), Proto{}, &req).ok());
    EXPECT_EQ(req.arg_len, sizeof(fuse_init_in));
    EXPECT_EQ(
        parse(raw_request(FUSE_INIT, {full.begin(), full.begin() + 8}), Proto{}, &req).error(),
        EINVAL);
}

TEST(FuseRequest, ExtensionsTrailThePayloadFromMinor38) {
    std::vector<uint8_t> body = cat(bytes_of("name"), std::vector<uint8_t>(16, 0x77));
    ParsedRequest req;
    std::vector<uint8_t> bytes = raw_request(FUSE_UNLINK, body, 2);
    Split sp(bytes, {});
    SgReader r = sp.reader();
    ASSERT_TRUE(parse_request(r, Proto{38, true}, &req).ok());
    EXPECT_EQ(req.ext_len, 16u);
    EXPECT_EQ(r.remaining(), 16u);
    // Before 7.38 the field is padding: the 16 bytes are then garbage after the name.
    EXPECT_EQ(parse(bytes, Proto{37, true}, &req).error(), EINVAL);
    // Longer than the body.
    EXPECT_EQ(parse(raw_request(FUSE_UNLINK, body, 3), Proto{38, true}, &req).error(), EINVAL);
    EXPECT_EQ(parse(raw_request(FUSE_UNLINK, body, 0xffff), Proto{38, true}, &req).error(), EINVAL);
}

TEST(FuseClient, BuildRejectsWhatTheDeviceWould) {
    uint8_t buf[kRequestBufMax];
    Segment segs[4];
    ClientRequest rq;
    rq.opcode = FUSE_MKDIR;
    fuse_mkdir_in in{};
    rq.arg = &in;
    rq.names[0] = NameView{"a/b", 3};
    EXPECT_EQ(build_request(rq, Proto::current(), buf, sizeof(buf), segs, 4).error(), EINVAL);
    std::string longname(256, 'x');
    rq.names[0] = NameView{longname.data(), 256};
    EXPECT_EQ(build_request(rq, Proto::current(), buf, sizeof(buf), segs, 4).error(), ENAMETOOLONG);
    rq.names[0] = NameView{"ok", 2};
    EXPECT_EQ(build_request(rq, Proto::current(), buf, 45, segs, 4).error(), ERANGE);
    EXPECT_TRUE(build_request(rq, Proto::current(), buf, sizeof(buf), segs, 4).ok());
    rq.arg = nullptr;
    EXPECT_EQ(build_request(rq, Proto::current(), buf, sizeof(buf), segs, 4).error(), EINVAL);
    // A WRITE whose data does not match its size.
    fuse_write_in w{};
    w.size = 5;
    uint8_t data[4] = {};
    Segment d{data, 4};
    ClientRequest wr;
    wr.opcode = FUSE_WRITE;
    wr.arg = &w;
    wr.data = &d;
    wr.data_count = 1;
    EXPECT_EQ(build_request(wr, Proto::current(), buf, sizeof(buf), segs, 4).error(), EINVAL);
    wr.opcode = 7;
    EXPECT_EQ(build_request(wr, Proto::current(), buf, sizeof(buf), segs, 4).error(), EINVAL);
}

TEST(FuseReply, TooBigForTheSpaceWritesNothing) {
    std::vector<uint8_t> a(10, 0xee), b(10, 0xee);
    Segment segs[] = {{a.data(), 10}, {b.data(), 10}};
    SgWriter w(segs, 2);
    fuse_attr_out attr{};
    EXPECT_EQ(reply_struct(w, 1, attr).error(), ERANGE);
    EXPECT_EQ(w.written(), 0u);
    EXPECT_EQ(a, std::vector<uint8_t>(10, 0xee));
    EXPECT_EQ(b, std::vector<uint8_t>(10, 0xee));
    // The 16-byte error reply fits across the two segments.
    ASSERT_TRUE(reply_error(w, 9, ENOSPC).ok());
    fuse_out_header h;
    std::memcpy(&h, a.data(), 10);
    std::memcpy(reinterpret_cast<uint8_t*>(&h) + 10, b.data(), 6);
    EXPECT_EQ(h.len, 16u);
    EXPECT_EQ(h.error, -ENOSPC);
    EXPECT_EQ(h.unique, 9u);
}

TEST(FuseReply, ErrorOutsideTheErrnoRangeBecomesEio) {
    for (int err : {0, -5, 4096, 100000}) {
        uint8_t buf[16];
        Segment seg{buf, 16};
        SgWriter w(&seg, 1);
        ASSERT_TRUE(reply_error(w, 1, err).ok());
        fuse_out_header h;
        std::memcpy(&h, buf, 16);
        EXPECT_EQ(h.error, -EIO) << err;
    }
}

TEST(FuseReply, PendingReplyFinishAndAbort) {
    std::vector<uint8_t> buf(64, 0xee);
    Segment seg{buf.data(), 64};
    SgWriter w(&seg, 1);
    auto p = reply_begin(w, 77);
    ASSERT_TRUE(p.ok());
    fuse_out_header h;
    std::memcpy(&h, buf.data(), 16);
    EXPECT_EQ(h.len, 0u);  // claims nothing until finished
    ASSERT_TRUE(w.zero(40).ok());
    EXPECT_EQ(reply_finish(*p, w, 41).error(), ERANGE);  // more than was taken
    auto total = reply_finish(*p, w, 30);                // a short read
    ASSERT_TRUE(total.ok());
    EXPECT_EQ(*total, 46u);
    std::memcpy(&h, buf.data(), 16);
    EXPECT_EQ(h.len, 46u);
    EXPECT_EQ(h.unique, 77u);
    ASSERT_TRUE(reply_abort(*p, EIO).ok());
    std::memcpy(&h, buf.data(), 16);
    EXPECT_EQ(h.len, 16u);
    EXPECT_EQ(h.error, -EIO);
    uint8_t tiny[15];
    Segment ts{tiny, 15};
    SgWriter tw(&ts, 1);
    EXPECT_EQ(reply_begin(tw, 1).error(), ERANGE);
}

TEST(FuseDirents, PackStopsWhenFullAndReadsBack) {
    for (bool plus : {false, true}) {
        SCOPED_TRACE(plus ? "plus" : "plain");
        std::vector<uint8_t> a(100), b(300);  // packed across two segments
        Segment segs[] = {{a.data(), 100}, {b.data(), 300}};
        SgWriter w(segs, 2);
        const uint64_t budget = plus ? 400 : 150;
        DirentPacker pack(w, budget);
        const std::vector<std::string> names = {".", "..", "file", "a-longer-name.txt", "x"};
        size_t added = 0;
        for (size_t i = 0; i < names.size(); ++i) {
            fuse_entry_out e{};
            e.nodeid = 100 + i;
            e.attr.ino = 200 + i;
            Status st = plus ? pack.add_plus(e, i + 1, 4, names[i].data(), names[i].size())
                             : pack.add(200 + i, i + 1, 4, names[i].data(), names[i].size());
            if (!st.ok()) {
                EXPECT_EQ(st.error(), ERANGE);
                break;
            }
            ++added;
        }
        EXPECT_GT(added, 0u);
        EXPECT_LT(added, names.size());
        EXPECT_LE(pack.bytes(), budget);
        EXPECT_EQ(pack.bytes() % 8, 0u);
        EXPECT_EQ(w.written(), pack.bytes());
        std::vector<uint8_t> flat = cat(a, b);
        DirentReader rd(flat.data(), pack.bytes(), plus);
        DirEntry e;
        for (size_t i = 0; i < added; ++i) {
            auto r = rd.next(&e);
            ASSERT_TRUE(r.ok());
            ASSERT_TRUE(*r);
            EXPECT_EQ(std::string(e.name, e.namelen), names[i]);
            EXPECT_EQ(e.ino, 200 + i);
            EXPECT_EQ(e.off, i + 1);
            if (plus) {
                EXPECT_EQ(e.entry.nodeid, 100 + i);
            }
        }
        auto end = rd.next(&e);
        ASSERT_TRUE(end.ok());
        EXPECT_FALSE(*end);
    }
}

TEST(FuseDirents, PackRejectsBadNames) {
    uint8_t buf[128];
    Segment seg{buf, 128};
    SgWriter w(&seg, 1);
    DirentPacker pack(w, 128);
    EXPECT_EQ(pack.add(1, 1, 0, "a/b", 3).error(), EINVAL);
    EXPECT_EQ(pack.add(1, 1, 0, "", 0).error(), EINVAL);
    EXPECT_EQ(w.written(), 0u);
}

TEST(FuseDirents, HostileRecords) {
    auto record = [](uint32_t namelen, const std::string& name, size_t pad) {
        fuse_dirent d{};
        d.ino = 1;
        d.namelen = namelen;
        // Sized up front and filled with memcpy: vector::insert here trips a GCC 12
        // -Warray-bounds false positive at -O2.
        std::vector<uint8_t> out(sizeof(d) + name.size() + pad, 0);
        std::memcpy(out.data(), &d, sizeof(d));
        if (!name.empty()) std::memcpy(out.data() + sizeof(d), name.data(), name.size());
        return out;
    };
    DirEntry e;
    struct Case {
        std::vector<uint8_t> bytes;
        bool ok;
    };
    const std::vector<Case> cases = {
        {record(3, "abc", 5), true},
        {record(3, "abc", 4), false},                    // padding cut off
        {record(3, "ab", 0), false},                     // name cut off
        {record(0xffffffffu, "abc", 5), false},          // huge namelen, reclen would wrap
        {record(0xfffffff9u, "abc", 5), false},          //
        {record(256, std::string(256, 'n'), 0), false},  // longer than NAME_MAX
        {record(0, "", 0), false},                       // empty
        {record(3, "a/c", 5), false},                    // '/'
        {record(3, std::string("a\0c", 3), 5), false},   // NUL
        {std::vector<uint8_t>(23), false},               // partial header
    };
    for (const Case& c : cases) {
        std::vector<uint8_t> bytes = c.bytes;  // exactly sized: ASan catches overreads
        DirentReader rd(bytes.data(), bytes.size(), false);
        auto r = rd.next(&e);
        EXPECT_EQ(r.ok(), c.ok) << bytes.size();
    }
    // The plus form with only the plain header's worth of bytes.
    std::vector<uint8_t> plain = record(3, "abc", 5);
    DirentReader rd(plain.data(), plain.size(), true);
    EXPECT_EQ(rd.next(&e).error(), EPROTO);
}

TEST(FuseClient, HostileReplies) {
    Sample s = make_sample(FUSE_GETATTR);
    Segment payload;
    ClientRequest rq = to_request(s, kUnique, &payload);
    const Proto proto = Proto::current();
    uint8_t head[kReplyHeadMax];
    fuse_attr_out got;
    auto decode = [&](fuse_out_header h, uint64_t used) {
        std::memset(head, 0, sizeof(head));
        std::memcpy(head, &h, sizeof(h));
        return decode_reply(rq, proto, head, 0, used, &got, sizeof(got));
    };
    const uint32_t full = sizeof(fuse_out_header) + sizeof(fuse_attr_out);
    EXPECT_TRUE(decode({full, 0, kUnique}, full).ok());
    EXPECT_EQ(decode({full, 0, kUnique}, full - 1).error(), EPROTO);      // len lies
    EXPECT_EQ(decode({full - 1, 0, kUnique}, full - 1).error(), EPROTO);  // short struct
    EXPECT_EQ(decode({full + 8, 0, kUnique}, full + 8).error(), EPROTO);  // more than posted
    EXPECT_EQ(decode({full, 0, kUnique + 1}, full).error(), EPROTO);      // wrong unique
    EXPECT_EQ(decode({16, 5, kUnique}, 16).error(), EPROTO);              // positive error
    EXPECT_EQ(decode({16, -4096, kUnique}, 16).error(), EPROTO);          // out of range
    EXPECT_EQ(decode({full, -EIO, kUnique}, full).error(), EPROTO);       // error with a body
    EXPECT_EQ(decode({16, 0, kUnique}, 16).error(), EPROTO);              // success, no struct
    EXPECT_EQ(decode({8, 0, kUnique}, 8).error(), EPROTO);                // under a header
    EXPECT_EQ(decode({0xffffffffu, 0, kUnique}, 0xffffffffu).error(), EPROTO);
    auto ok = decode({16, -4095, kUnique}, 16);
    ASSERT_TRUE(ok.ok());
    EXPECT_EQ(ok->error, 4095);

    // READ: data beyond what the request asked for is a protocol error.
    Sample rs = make_sample(FUSE_READ);
    set_field<uint32_t>(rs.arg, offsetof(fuse_read_in, size), 100);
    ClientRequest rr = to_request(rs, kUnique, &payload);
    fuse_out_header h{16 + 101, 0, kUnique};
    std::memcpy(head, &h, sizeof(h));
    EXPECT_EQ(decode_reply(rr, proto, head, 4096, 16 + 101, &got, sizeof(got)).error(), EPROTO);
    h.len = 16 + 100;
    std::memcpy(head, &h, sizeof(h));
    auto rd = decode_reply(rr, proto, head, 4096, 16 + 100, &got, sizeof(got));
    ASSERT_TRUE(rd.ok());
    EXPECT_EQ(rd->data_len, 100u);

    // INIT from an old server: the 24-byte 7.22 form is fine, 7 bytes is not.
    Sample is = make_sample(FUSE_INIT);
    ClientRequest ri = to_request(is, kUnique, &payload);
    fuse_init_out init;
    h = {16 + FUSE_COMPAT_22_INIT_OUT_SIZE, 0, kUnique};
    std::memcpy(head, &h, sizeof(h));
    std::memset(head + 16, 0x42, FUSE_COMPAT_22_INIT_OUT_SIZE);
    auto ir = decode_reply(ri, Proto{}, head, 0, h.len, &init, sizeof(init));
    ASSERT_TRUE(ir.ok());
    EXPECT_EQ(ir->struct_len, FUSE_COMPAT_22_INIT_OUT_SIZE);
    EXPECT_EQ(init.max_write, 0x42424242u);
    EXPECT_EQ(init.flags2, 0u);  // zero past the compat size
    h.len = 16 + 7;
    std::memcpy(head, &h, sizeof(h));
    EXPECT_EQ(decode_reply(ri, Proto{}, head, 0, h.len, &init, sizeof(init)).error(), EPROTO);

    // No reply is expected for FORGET: decoding one is a caller error.
    Sample fs = make_sample(FUSE_FORGET);
    ClientRequest rf = to_request(fs, kUnique, &payload);
    EXPECT_EQ(decode_reply(rf, proto, head, 0, 16, &got, sizeof(got)).error(), EINVAL);
}
