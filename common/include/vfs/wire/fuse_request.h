// Device side: parse one FUSE request from the readable segments of a descriptor chain.
//
// The segments are guest memory, which the guest may rewrite while we look at it. So the
// header, the fixed args and the names are each copied out exactly once and validated on
// the copy; only data payloads (WRITE data, xattr values, forget arrays, ...) stay in the
// reader, for the I/O layer to take as segments without a bounce copy. Every length is
// checked before use; a bad request yields an errno for the error reply, never a read
// outside the segments. No allocation: ParsedRequest holds bounded name buffers.
#pragma once

#include <linux/fuse.h>
#include <linux/limits.h>
#include <stdint.h>

#include "vfs/wire/fuse_opcodes.h"
#include "vfs/wire/result.h"
#include "vfs/wire/sg.h"

namespace vfs::wire {

// A name copied out of a request: len bytes, NUL-terminated at data[len].
struct NameView {
    const char* data = nullptr;
    uint32_t len = 0;
};

// One parsed request. About 4.5 KiB (the name buffers), so parse into one the caller owns
// and reuses rather than returning it by value; that also keeps the header readable when
// the parse fails, so the error reply can carry its unique. Names live inside it: a view
// from name() points into this object.
struct ParsedRequest {
    fuse_in_header header{};
    bool header_valid = false;   // header read; unique is usable for an error reply
    const OpInfo* op = nullptr;  // nullptr: an unknown opcode, to be answered ENOSYS
    uint32_t arg_len = 0;        // in-arg bytes received; a compat form's tail reads as 0
    uint32_t name_count = 0;
    uint64_t payload_len = 0;  // payload bytes left in the reader after the names
    uint32_t ext_len = 0;      // extension bytes after the payload (minor >= 38)

    // The fixed args as one of the <linux/fuse.h> structs, e.g. arg<fuse_write_in>().
    template <class T>
    T arg() const {
        static_assert(sizeof(T) <= kMaxArgSize);
        T v;
        __builtin_memcpy(&v, arg_raw, sizeof(T));
        return v;
    }

    NameView name(uint32_t i) const {
        if (i >= name_count) return {};
        return {i == 0 ? name0 : name1, name_len[i]};
    }

    // Whether the sender waits for a reply: everything but FORGET-like requests. An
    // unknown opcode or a malformed request with a readable header still gets one.
    bool wants_reply() const {
        if (!header_valid) return false;
        if (op != nullptr) return op->reply != ReplyKind::kNone;
        // The no-reply opcodes are all known; a bad one of them is dropped, not answered.
        const OpInfo* known = fuse_op(header.opcode);
        return known == nullptr || known->reply != ReplyKind::kNone;
    }

    alignas(8) uint8_t arg_raw[kMaxArgSize] = {};
    uint32_t name_len[2] = {};
    char name0[NAME_MAX + 1];  // never a symlink target (checked in the table)
    char name1[PATH_MAX];
};

// Parses the request in r (the whole readable part of one chain) for a session at proto.
// On success the reader holds payload_len payload bytes followed by ext_len extension
// bytes; for an unknown opcode (op == nullptr, still success) it holds the rest of the
// body. On failure the errno says what to reply: EINVAL for a malformed request,
// ENAMETOOLONG/ERANGE for overlong names. header_valid tells whether a reply can be sent.
inline Status parse_request(SgReader& r, const Proto& proto, ParsedRequest* req) {
    req->header_valid = false;
    req->op = nullptr;
    req->arg_len = 0;
    req->name_count = 0;
    req->payload_len = 0;
    req->ext_len = 0;

    const uint64_t total = r.remaining();
    if (total < sizeof(fuse_in_header)) return Error{EINVAL};
    if (Status s = r.read_obj(&req->header); !s) return s;
    req->header_valid = true;
    // The driver puts exactly one request in a chain, so its length must match the
    // readable bytes: longer would read past it, shorter leaves bytes nobody accounts for.
    if (req->header.len != total) return Error{EINVAL};
    uint64_t body = total - sizeof(fuse_in_header);

    // Since 7.38 extensions (security contexts) trail the request, counted in 8-byte units;
    // before that the field was padding and means nothing.
    if (proto.minor >= 38) {
        const uint64_t ext = static_cast<uint64_t>(req->header.total_extlen) * 8;
        if (ext > body) return Error{EINVAL};
        req->ext_len = static_cast<uint32_t>(ext);
        body -= ext;
    }

    const OpInfo* op = fuse_op(req->header.opcode);
    if (op == nullptr) return {};
    req->op = op;

    // Fixed args, copied out once into zeroed storage so a compat prefix reads cleanly.
    __builtin_memset(req->arg_raw, 0, sizeof(req->arg_raw));
    uint32_t want = fuse_arg_size(*op, proto);
    if (op->arg_extensible) {
        if (body < op->arg_compat_size) return Error{EINVAL};
        if (body < want) want = static_cast<uint32_t>(body);
    }
    if (body < want) return Error{EINVAL};
    if (Status s = r.read(req->arg_raw, want); !s) return s;
    req->arg_len = want;
    body -= want;
    if (op->arg_extensible) {
        // A newer kernel's longer INIT: the tail is for features we did not offer.
        if (Status s = r.skip(body); !s) return s;
        body = 0;
    }

    for (uint32_t i = 0; i < op->name_count; ++i) {
        const NameRule rule = op->names[i];
        const uint64_t limit = fuse_name_max(rule);
        char* buf = i == 0 ? req->name0 : req->name1;
        const uint64_t max = body < limit + 1 ? body : limit + 1;
        Result<uint64_t> got = r.read_until(0, buf, max);
        if (!got) {
            // No NUL in limit + 1 bytes with more to come: too long; else unterminated.
            if (max == limit + 1) return Error{rule == NameRule::kXattr ? ERANGE : ENAMETOOLONG};
            return Error{EINVAL};
        }
        const uint64_t len = *got - 1;
        if (int err = fuse_check_name(rule, buf, len); err != 0) return Error{err};
        req->name_len[i] = static_cast<uint32_t>(len);
        req->name_count = i + 1;
        body -= *got;
    }

    // Whatever is left must be exactly the payload the args announce.
    const uint64_t payload = fuse_payload_len(*op, req->arg_raw, req->arg_len);
    if (body != payload) return Error{EINVAL};
    req->payload_len = payload;
    return {};
}

}  // namespace vfs::wire
