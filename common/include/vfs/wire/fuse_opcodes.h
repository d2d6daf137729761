// The FUSE opcode table: what each request carries and what its reply looks like.
//
// One constexpr row per opcode of <linux/fuse.h> from FUSE_LOOKUP to FUSE_TMPFILE
// (including the DAX pair SETUPMAPPING/REMOVEMAPPING; CUSE is not served): the fixed
// in-arg size and the shorter form older protocol minors use, the NUL-terminated names
// that follow and the rule each obeys, the payload, and the reply's shape. The device-side
// parser, the reply writer and the driver-side builder all read this one table, so the two
// ends cannot disagree. Every size is a sizeof() of the uapi struct: never retype them.
#pragma once

#include <linux/errno.h>
#include <linux/fuse.h>
#include <linux/limits.h>
#include <stddef.h>
#include <stdint.h>

namespace vfs::wire {

// The parts of the negotiated session that change the wire layout. minor is the
// negotiated minor (min of both sides' INIT), 0 before INIT.
struct Proto {
    uint32_t minor = 0;
    // FUSE_SETXATTR_EXT was negotiated: SETXATTR carries the 16-byte fuse_setxattr_in
    // instead of the 8-byte compat form. It is a flag, not a minor, in the kernel.
    bool setxattr_ext = false;

    static constexpr Proto current() { return {FUSE_KERNEL_MINOR_VERSION, true}; }
};

// How a NUL-terminated name in a request is validated.
enum class NameRule : uint8_t {
    kNone,
    kLookup,   // a path component; "." and ".." allowed (the kernel looks up ".." for exports)
    kEntry,    // a component to create, remove or rename: no "." or "..", never sent by Linux
    kTarget,   // a symlink target: any bytes but NUL, '/' allowed, shorter than PATH_MAX
    kXattr,    // an xattr name: not a path component, so '/' is allowed; <= XATTR_NAME_MAX
    kTmpfile,  // TMPFILE's unnamed dentry, which Linux sends as "/"; carries no meaning
};

// What follows the names, left in the reader for zero-copy handling.
enum class Payload : uint8_t {
    kNone,
    kWriteData,       // fuse_write_in.size bytes
    kXattrValue,      // fuse_setxattr_in.size bytes
    kIoctlIn,         // fuse_ioctl_in.in_size bytes
    kRetrieveData,    // fuse_notify_retrieve_in.size bytes (NOTIFY_REPLY)
    kForgetArray,     // fuse_batch_forget_in.count x fuse_forget_one
    kRemovemapArray,  // fuse_removemapping_in.count x fuse_removemapping_one
};

// The shape of a successful reply. Error replies are the out header alone.
enum class ReplyKind : uint8_t {
    kNone,    // no reply at all: FORGET, BATCH_FORGET, INTERRUPT, NOTIFY_REPLY
    kEmpty,   // the out header alone
    kStruct,  // one fixed struct of reply_size (reply_compat_size below reply_compat_below)
    kCreate,  // fuse_entry_out (compat-sized like kStruct) then fuse_open_out
    kData,    // up to the size the request asked for (READLINK: up to the buffer)
    kXattr,   // GETXATTR/LISTXATTR: size 0 asks for fuse_getxattr_out, else data up to size
    kIoctl,   // fuse_ioctl_out then data up to fuse_ioctl_in.out_size
};

struct OpInfo {
    uint32_t opcode = 0;  // 0: an unused slot (no such opcode)
    const char* name = nullptr;
    uint16_t arg_size = 0;         // fixed in-arg at the current minor
    uint16_t arg_compat_size = 0;  // its size when minor < arg_compat_below
    uint8_t arg_compat_below = 0;  // 0: no compat form
    bool arg_extensible = false;   // INIT: anything from arg_compat_size up; surplus ignored
    uint8_t name_count = 0;
    NameRule names[2] = {NameRule::kNone, NameRule::kNone};
    Payload payload = Payload::kNone;
    ReplyKind reply = ReplyKind::kEmpty;
    uint16_t reply_size = 0;
    uint16_t reply_compat_size = 0;
    uint8_t reply_compat_below = 0;
};

// CREATE and TMPFILE reply with these two back to back. The struct adds no padding, so
// its bytes are exactly the wire layout at the current minor.
struct CreateOut {
    fuse_entry_out entry;
    fuse_open_out open;
};
static_assert(sizeof(CreateOut) == sizeof(fuse_entry_out) + sizeof(fuse_open_out));

// Largest fixed in-arg struct (fuse_setattr_in), for storage that holds any of them.
inline constexpr uint32_t kMaxArgSize = sizeof(fuse_setattr_in);
// Largest fixed reply part (CreateOut), likewise.
inline constexpr uint32_t kMaxReplyStructSize = sizeof(CreateOut);
// Longest error a reply may carry, as Linux's MAX_ERRNO.
inline constexpr int kMaxErrno = 4095;

namespace detail {

// Builder for table rows, so each row reads as one line of facts.
struct Row {
    OpInfo o;
    constexpr Row(uint32_t code, const char* name) {
        o.opcode = code;
        o.name = name;
    }
    constexpr Row in(size_t size, size_t compat = 0, uint8_t below = 0) const {
        Row r = *this;
        r.o.arg_size = static_cast<uint16_t>(size);
        r.o.arg_compat_size = static_cast<uint16_t>(compat);
        r.o.arg_compat_below = below;
        return r;
    }
    constexpr Row extensible(size_t min) const {
        Row r = *this;
        r.o.arg_compat_size = static_cast<uint16_t>(min);
        r.o.arg_extensible = true;
        return r;
    }
    constexpr Row name(NameRule a) const {
        Row r = *this;
        r.o.name_count = 1;
        r.o.names[0] = a;
        return r;
    }
    constexpr Row names(NameRule a, NameRule b) const {
        Row r = *this;
        r.o.name_count = 2;
        r.o.names[0] = a;
        r.o.names[1] = b;
        return r;
    }
    constexpr Row payload(Payload p) const {
        Row r = *this;
        r.o.payload = p;
        return r;
    }
    constexpr Row reply(ReplyKind k, size_t size = 0, size_t compat = 0, uint8_t below = 0) const {
        Row r = *this;
        r.o.reply = k;
        r.o.reply_size = static_cast<uint16_t>(size);
        r.o.reply_compat_size = static_cast<uint16_t>(compat);
        r.o.reply_compat_below = below;
        return r;
    }
};

using N = NameRule;
using P = Payload;
using K = ReplyKind;

// Compat sizes the header does not name. fuse_read_in grew lock_owner/flags in 7.9 (the
// 24-byte prefix, like FUSE_COMPAT_WRITE_IN_SIZE); fuse_release_in grew release_flags and
// lock_owner in 7.8; fuse_lk_in grew lk_flags in 7.9; fuse_create_in was fuse_open_in
// (flags, mode) before 7.12. Each older form is a prefix of today's struct.
inline constexpr size_t kCompatReadIn = FUSE_COMPAT_WRITE_IN_SIZE;
inline constexpr size_t kCompatReleaseIn = 16;
inline constexpr size_t kCompatLkIn = offsetof(fuse_lk_in, lk_flags);
inline constexpr size_t kCompatCreateIn = sizeof(fuse_open_in);
static_assert(offsetof(fuse_read_in, lock_owner) == kCompatReadIn);
static_assert(offsetof(fuse_release_in, lock_owner) == kCompatReleaseIn);

inline constexpr size_t kEntryOut = sizeof(fuse_entry_out);
inline constexpr size_t kAttrOut = sizeof(fuse_attr_out);

// Indexed by opcode; unused numbers (0, 7, 19) are empty rows.
inline constexpr OpInfo kFuseOps[] = {
    {},
    Row(FUSE_LOOKUP, "LOOKUP")
        .name(N::kLookup)
        .reply(K::kStruct, kEntryOut, FUSE_COMPAT_ENTRY_OUT_SIZE, 9)
        .o,
    Row(FUSE_FORGET, "FORGET").in(sizeof(fuse_forget_in)).reply(K::kNone).o,
    Row(FUSE_GETATTR, "GETATTR")
        .in(sizeof(fuse_getattr_in), 0, 9)
        .reply(K::kStruct, kAttrOut, FUSE_COMPAT_ATTR_OUT_SIZE, 9)
        .o,
    Row(FUSE_SETATTR, "SETATTR")
        .in(sizeof(fuse_setattr_in))
        .reply(K::kStruct, kAttrOut, FUSE_COMPAT_ATTR_OUT_SIZE, 9)
        .o,
    Row(FUSE_READLINK, "READLINK").reply(K::kData).o,
    Row(FUSE_SYMLINK, "SYMLINK")
        .names(N::kEntry, N::kTarget)
        .reply(K::kStruct, kEntryOut, FUSE_COMPAT_ENTRY_OUT_SIZE, 9)
        .o,
    {},
    Row(FUSE_MKNOD, "MKNOD")
        .in(sizeof(fuse_mknod_in), FUSE_COMPAT_MKNOD_IN_SIZE, 12)
        .name(N::kEntry)
        .reply(K::kStruct, kEntryOut, FUSE_COMPAT_ENTRY_OUT_SIZE, 9)
        .o,
    Row(FUSE_MKDIR, "MKDIR")
        .in(sizeof(fuse_mkdir_in))
        .name(N::kEntry)
        .reply(K::kStruct, kEntryOut, FUSE_COMPAT_ENTRY_OUT_SIZE, 9)
        .o,
    Row(FUSE_UNLINK, "UNLINK").name(N::kEntry).o,
    Row(FUSE_RMDIR, "RMDIR").name(N::kEntry).o,
    Row(FUSE_RENAME, "RENAME").in(sizeof(fuse_rename_in)).names(N::kEntry, N::kEntry).o,
    Row(FUSE_LINK, "LINK")
        .in(sizeof(fuse_link_in))
        .name(N::kEntry)
        .reply(K::kStruct, kEntryOut, FUSE_COMPAT_ENTRY_OUT_SIZE, 9)
        .o,
    Row(FUSE_OPEN, "OPEN").in(sizeof(fuse_open_in)).reply(K::kStruct, sizeof(fuse_open_out)).o,
    Row(FUSE_READ, "READ").in(sizeof(fuse_read_in), kCompatReadIn, 9).reply(K::kData).o,
    Row(FUSE_WRITE, "WRITE")
        .in(sizeof(fuse_write_in), FUSE_COMPAT_WRITE_IN_SIZE, 9)
        .payload(P::kWriteData)
        .reply(K::kStruct, sizeof(fuse_write_out))
        .o,
    Row(FUSE_STATFS, "STATFS")
        .reply(K::kStruct, sizeof(fuse_statfs_out), FUSE_COMPAT_STATFS_SIZE, 4)
        .o,
    Row(FUSE_RELEASE, "RELEASE").in(sizeof(fuse_release_in), kCompatReleaseIn, 8).o,
    {},
    Row(FUSE_FSYNC, "FSYNC").in(sizeof(fuse_fsync_in)).o,
    // The in-arg size depends on FUSE_SETXATTR_EXT, not the minor: see fuse_arg_size().
    Row(FUSE_SETXATTR, "SETXATTR")
        .in(sizeof(fuse_setxattr_in), FUSE_COMPAT_SETXATTR_IN_SIZE)
        .name(N::kXattr)
        .payload(P::kXattrValue)
        .o,
    Row(FUSE_GETXATTR, "GETXATTR")
        .in(sizeof(fuse_getxattr_in))
        .name(N::kXattr)
        .reply(K::kXattr, sizeof(fuse_getxattr_out))
        .o,
    Row(FUSE_LISTXATTR, "LISTXATTR")
        .in(sizeof(fuse_getxattr_in))
        .reply(K::kXattr, sizeof(fuse_getxattr_out))
        .o,
    Row(FUSE_REMOVEXATTR, "REMOVEXATTR").name(N::kXattr).o,
    Row(FUSE_FLUSH, "FLUSH").in(sizeof(fuse_flush_in)).o,
    // INIT arrives before the minor is known: a 7.6..7.35 kernel sends the 16-byte prefix,
    // 7.36+ the full struct, a newer kernel maybe more. The reply shrinks likewise.
    Row(FUSE_INIT, "INIT")
        .in(sizeof(fuse_init_in))
        .extensible(offsetof(fuse_init_in, flags2))
        .reply(K::kStruct, sizeof(fuse_init_out), FUSE_COMPAT_INIT_OUT_SIZE)
        .o,
    Row(FUSE_OPENDIR, "OPENDIR")
        .in(sizeof(fuse_open_in))
        .reply(K::kStruct, sizeof(fuse_open_out))
        .o,
    Row(FUSE_READDIR, "READDIR").in(sizeof(fuse_read_in), kCompatReadIn, 9).reply(K::kData).o,
    Row(FUSE_RELEASEDIR, "RELEASEDIR").in(sizeof(fuse_release_in), kCompatReleaseIn, 8).o,
    Row(FUSE_FSYNCDIR, "FSYNCDIR").in(sizeof(fuse_fsync_in)).o,
    Row(FUSE_GETLK, "GETLK")
        .in(sizeof(fuse_lk_in), kCompatLkIn, 9)
        .reply(K::kStruct, sizeof(fuse_lk_out))
        .o,
    Row(FUSE_SETLK, "SETLK").in(sizeof(fuse_lk_in), kCompatLkIn, 9).o,
    Row(FUSE_SETLKW, "SETLKW").in(sizeof(fuse_lk_in), kCompatLkIn, 9).o,
    Row(FUSE_ACCESS, "ACCESS").in(sizeof(fuse_access_in)).o,
    Row(FUSE_CREATE, "CREATE")
        .in(sizeof(fuse_create_in), kCompatCreateIn, 12)
        .name(N::kEntry)
        .reply(K::kCreate, kEntryOut, FUSE_COMPAT_ENTRY_OUT_SIZE, 9)
        .o,
    // The kernel takes no reply to INTERRUPT except an EAGAIN error, which is optional.
    Row(FUSE_INTERRUPT, "INTERRUPT").in(sizeof(fuse_interrupt_in)).reply(K::kNone).o,
    Row(FUSE_BMAP, "BMAP").in(sizeof(fuse_bmap_in)).reply(K::kStruct, sizeof(fuse_bmap_out)).o,
    Row(FUSE_DESTROY, "DESTROY").o,
    Row(FUSE_IOCTL, "IOCTL")
        .in(sizeof(fuse_ioctl_in))
        .payload(P::kIoctlIn)
        .reply(K::kIoctl, sizeof(fuse_ioctl_out))
        .o,
    Row(FUSE_POLL, "POLL").in(sizeof(fuse_poll_in)).reply(K::kStruct, sizeof(fuse_poll_out)).o,
    Row(FUSE_NOTIFY_REPLY, "NOTIFY_REPLY")
        .in(sizeof(fuse_notify_retrieve_in))
        .payload(P::kRetrieveData)
        .reply(K::kNone)
        .o,
    Row(FUSE_BATCH_FORGET, "BATCH_FORGET")
        .in(sizeof(fuse_batch_forget_in))
        .payload(P::kForgetArray)
        .reply(K::kNone)
        .o,
    Row(FUSE_FALLOCATE, "FALLOCATE").in(sizeof(fuse_fallocate_in)).o,
    Row(FUSE_READDIRPLUS, "READDIRPLUS")
        .in(sizeof(fuse_read_in), kCompatReadIn, 9)
        .reply(K::kData)
        .o,
    Row(FUSE_RENAME2, "RENAME2").in(sizeof(fuse_rename2_in)).names(N::kEntry, N::kEntry).o,
    Row(FUSE_LSEEK, "LSEEK").in(sizeof(fuse_lseek_in)).reply(K::kStruct, sizeof(fuse_lseek_out)).o,
    Row(FUSE_COPY_FILE_RANGE, "COPY_FILE_RANGE")
        .in(sizeof(fuse_copy_file_range_in))
        .reply(K::kStruct, sizeof(fuse_write_out))
        .o,
    Row(FUSE_SETUPMAPPING, "SETUPMAPPING").in(sizeof(fuse_setupmapping_in)).o,
    Row(FUSE_REMOVEMAPPING, "REMOVEMAPPING")
        .in(sizeof(fuse_removemapping_in))
        .payload(P::kRemovemapArray)
        .o,
    Row(FUSE_SYNCFS, "SYNCFS").in(sizeof(fuse_syncfs_in)).o,
    Row(FUSE_TMPFILE, "TMPFILE")
        .in(sizeof(fuse_create_in))
        .name(N::kTmpfile)
        .reply(K::kCreate, kEntryOut, FUSE_COMPAT_ENTRY_OUT_SIZE, 9)
        .o,
};

constexpr bool table_is_well_formed() {
    for (uint32_t i = 0; i < sizeof(kFuseOps) / sizeof(kFuseOps[0]); ++i) {
        const OpInfo& o = kFuseOps[i];
        if (o.opcode != 0 && o.opcode != i) return false;
        if (o.arg_size > kMaxArgSize) return false;
        // The first name is stored in a NAME_MAX buffer; only a second may be a target.
        if (o.names[0] == NameRule::kTarget) return false;
    }
    return true;
}
static_assert(table_is_well_formed());
static_assert(sizeof(kFuseOps) / sizeof(kFuseOps[0]) == FUSE_TMPFILE + 1);

}  // namespace detail

// The row for an opcode, or nullptr if this table does not know it (reply ENOSYS).
constexpr const OpInfo* fuse_op(uint32_t opcode) {
    constexpr uint32_t n = sizeof(detail::kFuseOps) / sizeof(detail::kFuseOps[0]);
    if (opcode >= n || detail::kFuseOps[opcode].opcode == 0) return nullptr;
    return &detail::kFuseOps[opcode];
}

// The fixed in-arg size on the wire for this session (for INIT: the largest accepted).
constexpr uint32_t fuse_arg_size(const OpInfo& op, const Proto& proto) {
    if (op.opcode == FUSE_SETXATTR) return proto.setxattr_ext ? op.arg_size : op.arg_compat_size;
    if (op.arg_compat_below != 0 && proto.minor < op.arg_compat_below) return op.arg_compat_size;
    return op.arg_size;
}

// The fixed reply struct size for this minor (kStruct, and the entry part of kCreate).
// INIT's reply is sized by the minor the server answers with, as the kernel reads it.
constexpr uint32_t fuse_reply_size(const OpInfo& op, uint32_t minor) {
    if (op.opcode == FUSE_INIT) {
        if (minor < 5) return FUSE_COMPAT_INIT_OUT_SIZE;
        if (minor < 23) return FUSE_COMPAT_22_INIT_OUT_SIZE;
        return sizeof(fuse_init_out);
    }
    if (op.reply_compat_below != 0 && minor < op.reply_compat_below) return op.reply_compat_size;
    return op.reply_size;
}

// Longest valid name under a rule, without its NUL.
constexpr uint32_t fuse_name_max(NameRule rule) {
    switch (rule) {
        case NameRule::kTarget:
            return PATH_MAX - 1;
        case NameRule::kXattr:
            return XATTR_NAME_MAX;
        default:
            return NAME_MAX;
    }
}

// 0 if s[0..len) is a valid name under the rule, else the errno to reply with: EINVAL for
// empty names, NULs inside, '/' or dot names in a component; ENAMETOOLONG for long paths
// and ERANGE for long xattr names (what the syscalls return for each).
constexpr int fuse_check_name(NameRule rule, const char* s, uint64_t len) {
    if (rule == NameRule::kNone) return EINVAL;
    if (len == 0) return EINVAL;
    if (len > fuse_name_max(rule)) return rule == NameRule::kXattr ? ERANGE : ENAMETOOLONG;
    const bool component = rule == NameRule::kLookup || rule == NameRule::kEntry;
    for (uint64_t i = 0; i < len; ++i) {
        if (s[i] == '\0') return EINVAL;
        if (component && s[i] == '/') return EINVAL;
    }
    if (rule == NameRule::kEntry && s[0] == '.' && (len == 1 || (len == 2 && s[1] == '.'))) {
        return EINVAL;
    }
    return 0;
}

// The payload length a request's fixed args announce. arg holds arg_len wire bytes (a
// compat prefix is fine: every count/size field lies inside the oldest form).
inline uint64_t fuse_payload_len(const OpInfo& op, const void* arg, uint32_t arg_len) {
    // Copy into a zeroed, aligned buffer: the wire bytes may be short or unaligned.
    alignas(8) uint8_t raw[kMaxArgSize] = {};
    if (arg != nullptr && arg_len > 0) {
        __builtin_memcpy(raw, arg, arg_len < kMaxArgSize ? arg_len : kMaxArgSize);
    }
    auto field32 = [&](size_t off) {
        uint32_t v;
        __builtin_memcpy(&v, raw + off, sizeof(v));
        return static_cast<uint64_t>(v);
    };
    switch (op.payload) {
        case Payload::kWriteData:
            return field32(offsetof(fuse_write_in, size));
        case Payload::kXattrValue:
            return field32(offsetof(fuse_setxattr_in, size));
        case Payload::kIoctlIn:
            return field32(offsetof(fuse_ioctl_in, in_size));
        case Payload::kRetrieveData:
            return field32(offsetof(fuse_notify_retrieve_in, size));
        case Payload::kForgetArray:
            // A u32 count times 16 fits in 64 bits: no overflow to check.
            return field32(offsetof(fuse_batch_forget_in, count)) * sizeof(fuse_forget_one);
        case Payload::kRemovemapArray:
            return field32(offsetof(fuse_removemapping_in, count)) * sizeof(fuse_removemapping_one);
        case Payload::kNone:
            break;
    }
    return 0;
}

}  // namespace vfs::wire
