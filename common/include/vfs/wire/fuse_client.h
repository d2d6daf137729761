// Driver side: build FUSE requests as segments and decode the replies (guest ukfuse, and
// the host test frontend playing the guest).
//
// A request is one small segment in a caller buffer (in header, fixed args, names) plus
// the caller's payload segments referenced as they are, so WRITE data never takes a bounce
// copy. Names are copied next to the header, as Linux's virtio-fs driver does: they are
// short, need their NUL anyway, and it saves descriptors. The reply lands in a caller
// buffer (out header and reply struct) followed by the caller's data segments, so READ
// fills the user's buffer directly. Replies come from the other side and are checked
// like any input: a malformed one is EPROTO, never a read past what was posted.
#pragma once

#include <linux/fuse.h>
#include <linux/limits.h>
#include <stdint.h>

#include "vfs/wire/checked.h"
#include "vfs/wire/fuse_opcodes.h"
#include "vfs/wire/fuse_request.h"
#include "vfs/wire/result.h"
#include "vfs/wire/sg.h"

namespace vfs::wire {

// What to send. arg points at the opcode's <linux/fuse.h> in-arg struct in its current
// layout; for an older session only its compat prefix goes on the wire.
struct ClientRequest {
    uint32_t opcode = 0;
    uint64_t unique = 0;
    uint64_t nodeid = 0;
    uint32_t uid = 0;
    uint32_t gid = 0;
    uint32_t pid = 0;
    const void* arg = nullptr;
    NameView names[2] = {};         // as many as the opcode takes; copied, NUL added
    const Segment* data = nullptr;  // payload, referenced: must total what arg announces
    uint32_t data_count = 0;
};

// A request buffer this big fits any request's header, args and names.
inline constexpr uint32_t kRequestBufMax =
    sizeof(fuse_in_header) + kMaxArgSize + (NAME_MAX + 1) + PATH_MAX;
// A reply head buffer this big fits any reply's out header and struct.
inline constexpr uint32_t kReplyHeadMax = sizeof(fuse_out_header) + kMaxReplyStructSize;

namespace detail {

inline uint64_t segments_len(const Segment* segs, uint32_t count) {
    uint64_t n = 0;
    for (uint32_t i = 0; i < count; ++i)
        n += segs[i].len;
    return n;
}

// The reply struct the head buffer holds for this request, 0 for data-only replies.
inline uint32_t reply_head_struct(const OpInfo& op, const ClientRequest& rq, const Proto& p) {
    switch (op.reply) {
        case ReplyKind::kStruct:
            // INIT's reply size follows the server's minor, unknown yet: room for the full one.
            return op.opcode == FUSE_INIT ? sizeof(fuse_init_out) : fuse_reply_size(op, p.minor);
        case ReplyKind::kCreate:
            return fuse_reply_size(op, p.minor) + sizeof(fuse_open_out);
        case ReplyKind::kIoctl:
            return sizeof(fuse_ioctl_out);
        case ReplyKind::kXattr: {
            fuse_getxattr_in in{};
            if (rq.arg != nullptr) __builtin_memcpy(&in, rq.arg, sizeof(in));
            return in.size == 0 ? sizeof(fuse_getxattr_out) : 0;
        }
        default:
            return 0;
    }
}

// The most data a reply may carry for this request (its own request's size limit).
inline uint64_t reply_data_limit(const OpInfo& op, const ClientRequest& rq, uint64_t cap) {
    uint64_t limit = cap;
    uint32_t asked = UINT32_MAX;
    if (rq.arg == nullptr) {
        asked = op.opcode == FUSE_READLINK ? UINT32_MAX : 0;
    } else if (op.opcode == FUSE_READ || op.opcode == FUSE_READDIR ||
               op.opcode == FUSE_READDIRPLUS) {
        fuse_read_in in{};
        __builtin_memcpy(&in, rq.arg, sizeof(in));
        asked = in.size;
    } else if (op.reply == ReplyKind::kXattr) {
        fuse_getxattr_in in{};
        __builtin_memcpy(&in, rq.arg, sizeof(in));
        asked = in.size;
    } else if (op.reply == ReplyKind::kIoctl) {
        fuse_ioctl_in in{};
        __builtin_memcpy(&in, rq.arg, sizeof(in));
        asked = in.out_size;
    }
    return asked < limit ? asked : limit;
}

}  // namespace detail

// Writes header, args and names into buf and lists the request's segments in out: buf's
// used part, then rq.data. Returns the segment count. EINVAL for a request the table
// rejects (unknown opcode, missing arg, bad name count or payload size); the name errors
// are those the device would return (ENAMETOOLONG, ...); ERANGE if buf or out is short.
inline Result<uint32_t> build_request(const ClientRequest& rq, const Proto& proto, uint8_t* buf,
                                      uint32_t buf_cap, Segment* out, uint32_t max_out) {
    const OpInfo* op = fuse_op(rq.opcode);
    if (op == nullptr) return Error{EINVAL};
    const uint32_t arg_len = fuse_arg_size(*op, proto);
    if (arg_len > 0 && rq.arg == nullptr) return Error{EINVAL};

    uint64_t head = sizeof(fuse_in_header) + arg_len;
    for (uint32_t i = 0; i < op->name_count; ++i) {
        const NameView& n = rq.names[i];
        if (n.data == nullptr) return Error{EINVAL};
        if (int err = fuse_check_name(op->names[i], n.data, n.len); err != 0) return Error{err};
        head += n.len + 1ull;
    }
    const uint64_t payload = fuse_payload_len(*op, rq.arg, arg_len);
    if (detail::segments_len(rq.data, rq.data_count) != payload) return Error{EINVAL};
    uint64_t total = 0;
    if (!checked_add(head, payload, &total) || total > UINT32_MAX) return Error{EINVAL};
    if (head > buf_cap) return Error{ERANGE};
    if (1ull + rq.data_count > max_out) return Error{ERANGE};

    fuse_in_header h{};
    h.len = static_cast<uint32_t>(total);
    h.opcode = rq.opcode;
    h.unique = rq.unique;
    h.nodeid = rq.nodeid;
    h.uid = rq.uid;
    h.gid = rq.gid;
    h.pid = rq.pid;
    uint8_t* p = buf;
    __builtin_memcpy(p, &h, sizeof(h));
    p += sizeof(h);
    if (arg_len > 0) {
        __builtin_memcpy(p, rq.arg, arg_len);
        p += arg_len;
    }
    for (uint32_t i = 0; i < op->name_count; ++i) {
        __builtin_memcpy(p, rq.names[i].data, rq.names[i].len);
        p += rq.names[i].len;
        *p++ = 0;
    }
    out[0] = Segment{buf, static_cast<uint32_t>(head)};
    for (uint32_t i = 0; i < rq.data_count; ++i)
        out[1 + i] = rq.data[i];
    return 1 + rq.data_count;
}

// Lists the device-writable segments for rq's reply: the head (out header and reply
// struct) in buf, then the caller's data segments for the data part. Returns the count;
// 0 for requests that get no reply. ERANGE if buf or out is short.
inline Result<uint32_t> build_reply_segments(const ClientRequest& rq, const Proto& proto,
                                             uint8_t* buf, uint32_t buf_cap, const Segment* data,
                                             uint32_t data_count, Segment* out, uint32_t max_out) {
    const OpInfo* op = fuse_op(rq.opcode);
    if (op == nullptr) return Error{EINVAL};
    if (op->reply == ReplyKind::kNone) return 0u;
    const uint32_t head = sizeof(fuse_out_header) + detail::reply_head_struct(*op, rq, proto);
    if (head > buf_cap) return Error{ERANGE};
    if (1ull + data_count > max_out) return Error{ERANGE};
    out[0] = Segment{buf, head};
    for (uint32_t i = 0; i < data_count; ++i)
        out[1 + i] = data[i];
    return 1 + data_count;
}

// A decoded reply. error is the server's positive errno (0: success). On success the
// reply struct (if any) was copied to the caller's struct, zero-filled past a compat
// size, and data_len bytes of data sit at the start of the caller's data segments.
struct ClientReply {
    int error = 0;
    uint32_t struct_len = 0;  // reply struct bytes the server sent
    uint64_t data_len = 0;
};

// Decodes rq's reply. head is the buffer given to build_reply_segments, data_cap the total
// of the data segments given with it, used_len the length the device reported. out_struct
// receives the reply struct in its current layout (CreateOut for CREATE/TMPFILE) and must
// have out_size bytes, at least that struct's size. EPROTO for any malformed reply.
inline Result<ClientReply> decode_reply(const ClientRequest& rq, const Proto& proto,
                                        const uint8_t* head, uint64_t data_cap, uint64_t used_len,
                                        void* out_struct, uint32_t out_size) {
    const OpInfo* op = fuse_op(rq.opcode);
    if (op == nullptr || op->reply == ReplyKind::kNone) return Error{EINVAL};
    const uint32_t head_struct = detail::reply_head_struct(*op, rq, proto);
    if (out_size < head_struct) return Error{EINVAL};

    // The device cannot have written more than it was given, nor less than a header.
    const uint64_t posted = sizeof(fuse_out_header) + head_struct + data_cap;
    if (used_len < sizeof(fuse_out_header) || used_len > posted) return Error{EPROTO};
    fuse_out_header h;
    __builtin_memcpy(&h, head, sizeof(h));
    if (h.len != used_len || h.unique != rq.unique) return Error{EPROTO};
    if (h.error > 0 || h.error < -kMaxErrno) return Error{EPROTO};
    ClientReply rep;
    if (h.error != 0) {
        // As Linux: an error reply is the header alone.
        if (h.len != sizeof(fuse_out_header)) return Error{EPROTO};
        rep.error = -h.error;
        return rep;
    }

    const uint64_t body = h.len - sizeof(fuse_out_header);
    const uint8_t* wire = head + sizeof(fuse_out_header);
    uint32_t expect = 0;  // the struct bytes this reply must carry
    switch (op->reply) {
        case ReplyKind::kEmpty:
            if (body != 0) return Error{EPROTO};
            return rep;
        case ReplyKind::kStruct:
            if (op->opcode == FUSE_INIT) {
                // Sized by the server's minor, which only this reply tells: any form from
                // the 7.0 one to today's.
                if (body < FUSE_COMPAT_INIT_OUT_SIZE || body > sizeof(fuse_init_out)) {
                    return Error{EPROTO};
                }
                expect = static_cast<uint32_t>(body);
            } else {
                expect = head_struct;
            }
            if (body != expect) return Error{EPROTO};
            __builtin_memset(out_struct, 0, out_size);
            __builtin_memcpy(out_struct, wire, expect);
            rep.struct_len = expect;
            return rep;
        case ReplyKind::kCreate: {
            if (body != head_struct) return Error{EPROTO};
            // Spread the compat entry and the handle into the current CreateOut layout.
            const uint32_t entry = fuse_reply_size(*op, proto.minor);
            auto* dst = static_cast<uint8_t*>(out_struct);
            __builtin_memset(dst, 0, out_size);
            __builtin_memcpy(dst, wire, entry);
            __builtin_memcpy(dst + offsetof(CreateOut, open), wire + entry, sizeof(fuse_open_out));
            rep.struct_len = head_struct;
            return rep;
        }
        case ReplyKind::kIoctl:
            expect = head_struct;
            break;
        case ReplyKind::kXattr:
            if (head_struct != 0) {
                if (body != head_struct) return Error{EPROTO};
                __builtin_memset(out_struct, 0, out_size);
                __builtin_memcpy(out_struct, wire, head_struct);
                rep.struct_len = head_struct;
                return rep;
            }
            break;
        case ReplyKind::kData:
        case ReplyKind::kNone:
            break;
    }
    // Struct (kIoctl) then data, which must stay within what the request asked for.
    if (body < expect) return Error{EPROTO};
    const uint64_t data = body - expect;
    if (data > detail::reply_data_limit(*op, rq, data_cap)) return Error{EPROTO};
    if (expect > 0) {
        __builtin_memset(out_struct, 0, out_size);
        __builtin_memcpy(out_struct, wire, expect);
    }
    rep.struct_len = expect;
    rep.data_len = data;
    return rep;
}

// One READDIR/READDIRPLUS record. name points into the reply buffer (not NUL-terminated).
struct DirEntry {
    uint64_t ino = 0;
    uint64_t off = 0;
    uint32_t type = 0;
    const char* name = nullptr;
    uint32_t namelen = 0;
    fuse_entry_out entry{};  // READDIRPLUS only
};

// Walks the records of a READDIR(PLUS) reply body held contiguously in memory. Every
// record is checked against the buffer before use; names must be valid components.
class DirentReader {
  public:
    DirentReader(const uint8_t* data, uint64_t len, bool plus)
        : data_(data), len_(len), plus_(plus) {}

    // true and *e filled, false at the end, or EPROTO for a malformed record (a partial
    // trailing record included: a server only sends whole ones).
    Result<bool> next(DirEntry* e) {
        if (pos_ == len_) return false;
        const uint64_t fixed = plus_ ? FUSE_NAME_OFFSET_DIRENTPLUS : FUSE_NAME_OFFSET;
        const uint64_t left = len_ - pos_;
        if (left < fixed) return Error{EPROTO};
        const uint8_t* p = data_ + pos_;
        if (plus_) {
            __builtin_memcpy(&e->entry, p, sizeof(fuse_entry_out));
            p += sizeof(fuse_entry_out);
        }
        fuse_dirent d;
        __builtin_memcpy(&d, p, sizeof(d));
        if (d.namelen == 0 || d.namelen > NAME_MAX) return Error{EPROTO};
        const uint64_t reclen = FUSE_DIRENT_ALIGN(fixed + d.namelen);
        if (reclen > left) return Error{EPROTO};
        const char* name = reinterpret_cast<const char*>(p + sizeof(d));
        if (fuse_check_name(NameRule::kLookup, name, d.namelen) != 0) return Error{EPROTO};
        e->ino = d.ino;
        e->off = d.off;
        e->type = d.type;
        e->name = name;
        e->namelen = d.namelen;
        pos_ += reclen;
        return true;
    }

  private:
    const uint8_t* data_;
    uint64_t len_;
    bool plus_;
    uint64_t pos_ = 0;
};

}  // namespace vfs::wire
