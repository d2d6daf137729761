// A small deterministic fuzz loop over the FUSE codec: random and mutated requests split at
// random segment boundaries, random replies and directory records. It asserts only that
// nothing crashes and the invariants hold; ASan+UBSan (build-asan) do the rest.
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

Proto random_proto(std::mt19937& rng) {
    const uint32_t minors[] = {0, 7, 8, 9, 11, 12, 22, 31, 37, 38};
    return Proto{minors[rng() % 10], (rng() & 1) != 0};
}

// Parses bytes split at random points and checks what a successful parse promises.
// Returns whether it parsed (as a known opcode), so the loops can show they get deep.
bool parse_and_check(const std::vector<uint8_t>& bytes, std::mt19937& rng) {
    Split sp(bytes, random_cuts(rng, bytes.size(), 5));
    SgReader r = sp.reader();
    const Proto proto = random_proto(rng);
    ParsedRequest req;
    Status st = parse_request(r, proto, &req);
    if (!st.ok()) {
        EXPECT_GT(st.error(), 0);
        return false;
    }
    EXPECT_TRUE(req.header_valid);
    EXPECT_EQ(req.header.len, bytes.size());
    if (req.op == nullptr) return false;
    EXPECT_EQ(r.remaining(), req.payload_len + req.ext_len);
    EXPECT_LE(req.arg_len, kMaxArgSize);
    for (uint32_t i = 0; i < req.name_count; ++i) {
        NameView n = req.name(i);
        EXPECT_EQ(fuse_check_name(req.op->names[i], n.data, n.len), 0);
    }
    Segment out[16];
    (void)r.take_segments(req.payload_len, out, 16);
    // A reply into a small writer never overflows it.
    uint8_t rbuf[40];
    Segment rs{rbuf, sizeof(rbuf)};
    SgWriter w(&rs, 1);
    (void)reply_error(w, req.header.unique, ENOSYS);
    EXPECT_LE(w.written(), sizeof(rbuf));
    return true;
}

}  // namespace

TEST(FuseFuzz, RandomBytes) {
    std::mt19937 rng(0x5eed);
    int parsed = 0;
    for (int iter = 0; iter < 3000; ++iter) {
        std::vector<uint8_t> bytes(rng() % 200);
        for (auto& b : bytes)
            b = static_cast<uint8_t>(rng());
        // Half the time, a plausible header so the parse gets past it.
        if (bytes.size() >= sizeof(fuse_in_header) && (rng() & 1)) {
            fuse_in_header h;
            std::memcpy(&h, bytes.data(), sizeof(h));
            h.len = static_cast<uint32_t>(bytes.size());
            h.opcode = rng() % 56;
            if (rng() & 1) h.total_extlen = 0;
            std::memcpy(bytes.data(), &h, sizeof(h));
        }
        parsed += parse_and_check(bytes, rng);
    }
    EXPECT_GT(parsed, 10);
}

TEST(FuseFuzz, MutatedValidRequests) {
    std::mt19937 rng(0xf05e);
    const std::vector<uint32_t> ops = all_opcodes();
    std::vector<uint8_t> buf(kRequestBufMax);
    int parsed = 0;
    for (int iter = 0; iter < 3000; ++iter) {
        Sample s = make_sample(ops[rng() % ops.size()]);
        Segment payload, segs[4];
        ClientRequest rq = to_request(s, iter, &payload);
        auto n = build_request(rq, Proto::current(), buf.data(), buf.size(), segs, 4);
        ASSERT_TRUE(n.ok());
        std::vector<uint8_t> bytes = flatten(segs, *n);
        const int flips = 1 + rng() % 4;
        for (int i = 0; i < flips; ++i) {
            switch (rng() % 4) {
                case 0:  // flip a byte
                    bytes[rng() % bytes.size()] ^= static_cast<uint8_t>(1 + rng() % 255);
                    break;
                case 1:  // truncate
                    bytes.resize(rng() % (bytes.size() + 1));
                    break;
                case 2:  // extend
                    bytes.resize(bytes.size() + rng() % 16, static_cast<uint8_t>(rng()));
                    break;
                case 3:  // keep len consistent so the body is what is tested
                    if (bytes.size() >= 4) {
                        uint32_t len = static_cast<uint32_t>(bytes.size());
                        std::memcpy(bytes.data(), &len, 4);
                    }
                    break;
            }
            if (bytes.empty()) break;
        }
        parsed += parse_and_check(bytes, rng);
    }
    EXPECT_GT(parsed, 300);
}

TEST(FuseFuzz, RandomRepliesAndDirents) {
    std::mt19937 rng(0xd1e);
    const std::vector<uint32_t> ops = all_opcodes();
    int decoded = 0, records = 0;
    for (int iter = 0; iter < 3000; ++iter) {
        Sample s = make_sample(ops[rng() % ops.size()]);
        Segment payload;
        ClientRequest rq = to_request(s, 42, &payload);
        const Proto proto = random_proto(rng);
        // The head buffer is exactly as big as build_reply_segments says: ASan checks it.
        uint8_t probe[kReplyHeadMax];
        Segment segs[4];
        auto n = build_reply_segments(rq, proto, probe, sizeof(probe), nullptr, 0, segs, 4);
        ASSERT_TRUE(n.ok());
        if (*n == 0) continue;
        std::vector<uint8_t> head(segs[0].len);
        for (auto& b : head)
            b = static_cast<uint8_t>(rng());
        fuse_out_header h;
        std::memcpy(&h, head.data(), sizeof(h));
        if (rng() & 1) h.unique = 42;
        if (rng() & 1) h.error = 0;
        const uint64_t data_cap = rng() % 5000;
        uint64_t used = rng() % (head.size() + data_cap + 8);
        if (rng() & 1) h.len = static_cast<uint32_t>(used);
        std::memcpy(head.data(), &h, sizeof(h));
        alignas(8) uint8_t out[kMaxReplyStructSize];
        auto rep = decode_reply(rq, proto, head.data(), data_cap, used, out, sizeof(out));
        if (rep.ok()) {
            ++decoded;
            EXPECT_LE(rep->data_len, data_cap);
            EXPECT_GE(rep->error, 0);
            EXPECT_LE(rep->error, kMaxErrno);
        }

        // Valid records from the packer, then mutated: a byte flipped or the tail cut.
        const bool plus = (rng() & 1) != 0;
        std::vector<uint8_t> dir(rng() % 600);
        Segment ds{dir.data(), static_cast<uint32_t>(dir.size())};
        SgWriter dw(&ds, 1);
        DirentPacker pack(dw, dir.size());
        for (int k = 0; k < 6; ++k) {
            std::string name(1 + rng() % 20, 'a');
            for (auto& c : name)
                c = static_cast<char>('a' + rng() % 26);
            fuse_entry_out e{};
            Status st = plus ? pack.add_plus(e, k, 0, name.data(), name.size())
                             : pack.add(k, k, 0, name.data(), name.size());
            if (!st.ok()) break;
        }
        dir.resize(pack.bytes());
        if (!dir.empty() && (rng() & 1)) dir[rng() % dir.size()] ^= static_cast<uint8_t>(rng());
        if (rng() % 4 == 0) dir.resize(rng() % (dir.size() + 1));
        DirentReader rd(dir.data(), dir.size(), plus);
        DirEntry e;
        for (int k = 0; k < 64; ++k) {
            auto r = rd.next(&e);
            if (!r.ok() || !*r) break;
            ++records;
            EXPECT_GE(e.name, reinterpret_cast<const char*>(dir.data()));
            EXPECT_LE(e.name + e.namelen, reinterpret_cast<const char*>(dir.data() + dir.size()));
        }
    }
    EXPECT_GT(decoded, 20);
    EXPECT_GT(records, 20);
}
