// Test helpers for the FUSE codec: sample requests for every opcode, and byte buffers
// split into separately allocated segments so AddressSanitizer sees any overread.
#pragma once

#include <stdint.h>

#include <algorithm>
#include <random>
#include <string>
#include <vector>

#include "vfs/wire/fuse_client.h"
#include "vfs/wire/fuse_opcodes.h"

namespace vfs::wire::test {

// Every opcode the table knows.
inline std::vector<uint32_t> all_opcodes() {
    std::vector<uint32_t> ops;
    for (uint32_t i = 0; i <= FUSE_TMPFILE; ++i) {
        if (fuse_op(i) != nullptr) ops.push_back(i);
    }
    return ops;
}

// A request in owned storage: arg bytes, names and payload for one opcode.
struct Sample {
    uint32_t opcode = 0;
    std::vector<uint8_t> arg;  // the full current struct; the wire takes a prefix
    std::vector<std::string> names;
    std::vector<uint8_t> payload;
    uint64_t data_limit = 0;  // what a data reply may carry
};

template <class T>
void set_field(std::vector<uint8_t>& arg, size_t off, T v) {
    __builtin_memcpy(arg.data() + off, &v, sizeof(v));
}

inline std::string sample_name(NameRule rule, int i) {
    switch (rule) {
        case NameRule::kLookup:
            return "lookup-me.txt";
        case NameRule::kEntry:
            return i == 0 ? "old name" : "new-name";
        case NameRule::kTarget:
            return "../some/where/else";
        case NameRule::kXattr:
            return "user.with/slash";
        case NameRule::kTmpfile:
            return "/";
        case NameRule::kNone:
            break;
    }
    return "";
}

// A valid request for opcode with recognisable bytes everywhere.
inline Sample make_sample(uint32_t opcode) {
    const OpInfo& op = *fuse_op(opcode);
    Sample s;
    s.opcode = opcode;
    s.arg.resize(op.arg_size);
    for (size_t i = 0; i < s.arg.size(); ++i)
        s.arg[i] = static_cast<uint8_t>(opcode * 31 + i);
    for (uint32_t i = 0; i < op.name_count; ++i)
        s.names.push_back(sample_name(op.names[i], i));
    uint64_t payload = 0;
    switch (op.payload) {
        case Payload::kWriteData:
            set_field<uint32_t>(s.arg, offsetof(fuse_write_in, size), 100);
            break;
        case Payload::kXattrValue:
            set_field<uint32_t>(s.arg, offsetof(fuse_setxattr_in, size), 10);
            break;
        case Payload::kIoctlIn:
            set_field<uint32_t>(s.arg, offsetof(fuse_ioctl_in, in_size), 20);
            set_field<uint32_t>(s.arg, offsetof(fuse_ioctl_in, out_size), 48);
            s.data_limit = 48;
            break;
        case Payload::kRetrieveData:
            set_field<uint32_t>(s.arg, offsetof(fuse_notify_retrieve_in, size), 33);
            break;
        case Payload::kForgetArray:
            set_field<uint32_t>(s.arg, offsetof(fuse_batch_forget_in, count), 3);
            break;
        case Payload::kRemovemapArray:
            set_field<uint32_t>(s.arg, offsetof(fuse_removemapping_in, count), 2);
            break;
        case Payload::kNone:
            break;
    }
    payload = fuse_payload_len(op, s.arg.data(), static_cast<uint32_t>(s.arg.size()));
    s.payload.resize(payload);
    for (size_t i = 0; i < payload; ++i)
        s.payload[i] = static_cast<uint8_t>(0xa0 + i * 3);
    if (opcode == FUSE_READ || opcode == FUSE_READDIR || opcode == FUSE_READDIRPLUS) {
        set_field<uint32_t>(s.arg, offsetof(fuse_read_in, size), 4096);
        s.data_limit = 4096;
    }
    if (opcode == FUSE_GETXATTR) {  // a data reply; LISTXATTR keeps size 0: the struct reply
        set_field<uint32_t>(s.arg, offsetof(fuse_getxattr_in, size), 64);
        s.data_limit = 64;
    }
    if (opcode == FUSE_LISTXATTR) set_field<uint32_t>(s.arg, offsetof(fuse_getxattr_in, size), 0);
    if (opcode == FUSE_READLINK) s.data_limit = 4096;
    return s;
}

// A ClientRequest over a Sample (which must outlive it); seg holds the payload segment.
inline ClientRequest to_request(const Sample& s, uint64_t unique, Segment* seg) {
    ClientRequest rq;
    rq.opcode = s.opcode;
    rq.unique = unique;
    rq.nodeid = 0x1122334455667788ull;
    rq.uid = 1000;
    rq.gid = 100;
    rq.pid = 4242;
    rq.arg = s.arg.empty() ? nullptr : s.arg.data();
    for (size_t i = 0; i < s.names.size(); ++i) {
        rq.names[i] = NameView{s.names[i].data(), static_cast<uint32_t>(s.names[i].size())};
    }
    if (!s.payload.empty()) {
        *seg = Segment{const_cast<uint8_t*>(s.payload.data()),
                       static_cast<uint32_t>(s.payload.size())};
        rq.data = seg;
        rq.data_count = 1;
    }
    return rq;
}

// Bytes split into separately allocated, exactly sized segments.
struct Split {
    std::vector<std::vector<uint8_t>> parts;
    std::vector<Segment> segs;

    Split(const std::vector<uint8_t>& bytes, const std::vector<size_t>& cuts) {
        size_t start = 0;
        for (size_t c : cuts) {
            if (c < start || c > bytes.size()) continue;
            parts.emplace_back(bytes.begin() + start, bytes.begin() + c);
            start = c;
        }
        parts.emplace_back(bytes.begin() + start, bytes.end());
        for (auto& p : parts)
            segs.push_back(Segment{p.data(), static_cast<uint32_t>(p.size())});
    }
    SgReader reader() const { return SgReader(segs.data(), static_cast<uint32_t>(segs.size())); }
};

// Sorted random cut points (duplicates make empty segments, which are allowed).
inline std::vector<size_t> random_cuts(std::mt19937& rng, size_t len, int max_cuts) {
    std::vector<size_t> cuts;
    const int n = static_cast<int>(rng() % (max_cuts + 1));
    for (int i = 0; i < n; ++i)
        cuts.push_back(len == 0 ? 0 : rng() % (len + 1));
    std::sort(cuts.begin(), cuts.end());
    return cuts;
}

// The request's segments flattened into one byte vector.
inline std::vector<uint8_t> flatten(const Segment* segs, uint32_t n) {
    std::vector<uint8_t> out;
    for (uint32_t i = 0; i < n; ++i)
        out.insert(out.end(), segs[i].data, segs[i].data + segs[i].len);
    return out;
}

}  // namespace vfs::wire::test
