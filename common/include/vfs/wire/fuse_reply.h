// Device side: write FUSE replies into the writable segments of a descriptor chain.
//
// A reply is fuse_out_header (len, -errno or 0, unique) and then its body. Whole replies
// are size-checked before the first byte is written, so a reply that does not fit fails
// with ERANGE and leaves nothing behind; replies whose body is produced in place (READ
// straight from a file, READDIR packing) reserve the header first and fill it last, so
// until then it claims nothing. Never reads from the writable segments, never allocates.
#pragma once

#include <linux/fuse.h>
#include <linux/limits.h>
#include <stdint.h>

#include "vfs/wire/checked.h"
#include "vfs/wire/fuse_opcodes.h"
#include "vfs/wire/result.h"
#include "vfs/wire/sg.h"

namespace vfs::wire {

// One piece of a reply body.
struct Bytes {
    const void* data = nullptr;
    uint64_t len = 0;
};

// Writes a complete reply: header then parts. ERANGE, with nothing written, if it does not
// fit in w or in the header's 32-bit len.
inline Status reply_parts(SgWriter& w, uint64_t unique, int32_t error, const Bytes* parts,
                          uint32_t count) {
    uint64_t total = sizeof(fuse_out_header);
    for (uint32_t i = 0; i < count; ++i) {
        if (!checked_add(total, parts[i].len, &total)) return Error{ERANGE};
    }
    if (total > UINT32_MAX || total > w.remaining()) return Error{ERANGE};
    fuse_out_header h{};
    h.len = static_cast<uint32_t>(total);
    h.error = error;
    h.unique = unique;
    if (Status s = w.write_obj(h); !s) return s;
    for (uint32_t i = 0; i < count; ++i) {
        if (Status s = w.write(parts[i].data, parts[i].len); !s) return s;
    }
    return {};
}

// An error reply: the header alone. err is a positive errno; anything outside
// [1, 4095] would be rejected by the driver, so it becomes EIO.
inline Status reply_error(SgWriter& w, uint64_t unique, int err) {
    if (err <= 0 || err > kMaxErrno) err = EIO;
    return reply_parts(w, unique, -err, nullptr, 0);
}

// Success with no body (UNLINK, RELEASE, SETXATTR, ...).
inline Status reply_empty(SgWriter& w, uint64_t unique) {
    return reply_parts(w, unique, 0, nullptr, 0);
}

// Success with bytes copied from data (READLINK targets, xattr values, small replies).
inline Status reply_data(SgWriter& w, uint64_t unique, const void* data, uint64_t len) {
    const Bytes part{data, len};
    return reply_parts(w, unique, 0, &part, 1);
}

// Success with one fixed struct, sent whole.
template <class T>
Status reply_struct(SgWriter& w, uint64_t unique, const T& v) {
    return reply_data(w, unique, &v, sizeof(T));
}

// Replies whose struct shrinks for old minors: the kernel of that minor expects exactly
// the shorter prefix, so send only that.
inline Status reply_entry(SgWriter& w, uint64_t unique, uint32_t minor, const fuse_entry_out& e) {
    return reply_data(w, unique, &e, fuse_reply_size(*fuse_op(FUSE_LOOKUP), minor));
}
inline Status reply_attr(SgWriter& w, uint64_t unique, uint32_t minor, const fuse_attr_out& a) {
    return reply_data(w, unique, &a, fuse_reply_size(*fuse_op(FUSE_GETATTR), minor));
}
inline Status reply_statfs(SgWriter& w, uint64_t unique, uint32_t minor, const fuse_statfs_out& s) {
    return reply_data(w, unique, &s, fuse_reply_size(*fuse_op(FUSE_STATFS), minor));
}
// INIT: sized by the minor the reply announces (init.minor), as the kernel reads it; a
// server answering an old kernel sets init.minor to that kernel's minor.
inline Status reply_init(SgWriter& w, uint64_t unique, const fuse_init_out& init) {
    return reply_data(w, unique, &init, fuse_reply_size(*fuse_op(FUSE_INIT), init.minor));
}
// CREATE and TMPFILE: the entry (compat-sized) then the open handle.
inline Status reply_create(SgWriter& w, uint64_t unique, uint32_t minor, const fuse_entry_out& e,
                           const fuse_open_out& o) {
    const Bytes parts[2] = {{&e, fuse_reply_size(*fuse_op(FUSE_CREATE), minor)}, {&o, sizeof(o)}};
    return reply_parts(w, unique, 0, parts, 2);
}

// A reply whose body is written in place after its header: reserve the header with
// reply_begin, write the body through the same writer (take_segments for zero-copy I/O,
// DirentPacker, write), then reply_finish with the body's real length. If the body cannot
// be produced, reply_abort turns the reserved header into an error reply instead.
struct PendingReply {
    SgWriter header_at;  // a writer positioned at the reserved header
    uint64_t unique = 0;
    uint64_t body_start = 0;  // the writer's written() right after the header
};

inline Result<PendingReply> reply_begin(SgWriter& w, uint64_t unique) {
    PendingReply p;
    p.header_at = w;
    p.unique = unique;
    // Zeroed until finished: a header with len 0 claims nothing.
    if (Status s = w.zero(sizeof(fuse_out_header)); !s) return Error{s.error()};
    p.body_start = w.written();
    return p;
}

// Seals a pending reply with body_len bytes of body (at most what w took since
// reply_begin). Returns the whole reply's length, the used length for the virtqueue.
inline Result<uint32_t> reply_finish(PendingReply& p, const SgWriter& w, uint64_t body_len) {
    if (w.written() < p.body_start || body_len > w.written() - p.body_start) return Error{ERANGE};
    const uint64_t total = sizeof(fuse_out_header) + body_len;
    if (total > UINT32_MAX) return Error{ERANGE};
    fuse_out_header h{};
    h.len = static_cast<uint32_t>(total);
    h.error = 0;
    h.unique = p.unique;
    SgWriter at = p.header_at;
    if (Status s = at.write_obj(h); !s) return Error{s.error()};
    return static_cast<uint32_t>(total);
}

// Turns a pending reply into an error reply; the used length is then the header alone.
inline Status reply_abort(PendingReply& p, int err) {
    SgWriter at = p.header_at;
    return reply_error(at, p.unique, err);
}

// Packs READDIR (fuse_dirent) or READDIRPLUS (fuse_direntplus) records into a reply body,
// each padded to FUSE_DIRENT_ALIGN, never past budget (the size the request asked for)
// nor past the writer's space. add() returns ERANGE, writing nothing, when the record does
// not fit: the caller stops there and remembers the offset for the next request.
class DirentPacker {
  public:
    DirentPacker(SgWriter& w, uint64_t budget) : w_(&w), budget_(budget) {}

    // EINVAL for a name that is not a valid component (empty, too long, '/' or NUL).
    Status add(uint64_t ino, uint64_t off, uint32_t type, const char* name, uint32_t namelen) {
        return add_record(nullptr, ino, off, type, name, namelen);
    }
    Status add_plus(const fuse_entry_out& entry, uint64_t off, uint32_t type, const char* name,
                    uint32_t namelen) {
        return add_record(&entry, entry.attr.ino, off, type, name, namelen);
    }

    uint64_t bytes() const { return used_; }
    uint32_t count() const { return count_; }

  private:
    Status add_record(const fuse_entry_out* entry, uint64_t ino, uint64_t off, uint32_t type,
                      const char* name, uint32_t namelen) {
        // "." and ".." are legitimate directory entries, so check as a lookup name.
        if (fuse_check_name(NameRule::kLookup, name, namelen) != 0) return Error{EINVAL};
        static_assert(sizeof(fuse_dirent) == FUSE_NAME_OFFSET);
        static_assert(sizeof(fuse_direntplus) == FUSE_NAME_OFFSET_DIRENTPLUS);
        const uint64_t fixed = entry ? FUSE_NAME_OFFSET_DIRENTPLUS : FUSE_NAME_OFFSET;
        const uint64_t reclen = FUSE_DIRENT_ALIGN(fixed + namelen);
        if (reclen > budget_ - used_ || reclen > w_->remaining()) return Error{ERANGE};
        if (entry) {
            if (Status s = w_->write_obj(*entry); !s) return s;
        }
        fuse_dirent d{};
        d.ino = ino;
        d.off = off;
        d.namelen = namelen;
        d.type = type;
        if (Status s = w_->write_obj(d); !s) return s;
        if (Status s = w_->write(name, namelen); !s) return s;
        if (Status s = w_->zero(reclen - fixed - namelen); !s) return s;
        used_ += reclen;
        ++count_;
        return {};
    }

    SgWriter* w_;
    uint64_t budget_;
    uint64_t used_ = 0;
    uint32_t count_ = 0;
};

}  // namespace vfs::wire
