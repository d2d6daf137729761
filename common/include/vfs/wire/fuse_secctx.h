// FUSE_SECURITY_CTX: the security label a guest sends with CREATE, MKDIR, MKNOD and
// SYMLINK, decoded from the request's extension bytes (protocol 7.38+, total_extlen).
//
// The extensions are a run of records, each starting with fuse_ext_header {size, type};
// size counts the header and is a multiple of 8. A type of 0..FUSE_MAX_NR_SECCTX is a
// fuse_secctx_header whose type field is nr_secctx; each context is a fuse_secctx {size},
// the xattr name NUL-terminated, then `size` bytes of label. Linux sends at most one.
// Everything is checked against the bytes given (a copy the guest can no longer change):
// a record or field that overruns, a name that is empty, unterminated or longer than
// XATTR_NAME_MAX, a label above XATTR_SIZE_MAX, or more than one context is EINVAL.
// Records of other types are skipped: they are for features we did not negotiate.
#pragma once

#include <linux/fuse.h>
#include <linux/limits.h>
#include <stdint.h>

#include "vfs/wire/result.h"

namespace vfs::wire {

struct SecurityContextView {
    const char* name = nullptr;  // NUL-terminated, inside the decoded bytes
    uint32_t name_len = 0;
    const uint8_t* value = nullptr;
    uint32_t value_len = 0;
};

// The largest extension area a single security context can need.
inline constexpr uint32_t kMaxSecctxExtLen =
    (sizeof(fuse_secctx_header) + sizeof(fuse_secctx) + XATTR_NAME_MAX + 1 + XATTR_SIZE_MAX + 7) &
    ~7u;

// Finds the security context in ext[0, len). *found is false when there is none (no
// record, or nr_secctx 0: the guest has no label for this inode).
inline Status decode_security_context(const uint8_t* ext, uint32_t len, SecurityContextView* out,
                                      bool* found) {
    *found = false;
    uint32_t off = 0;
    bool seen = false;
    while (off < len) {
        if (len - off < sizeof(fuse_ext_header)) return Error{EINVAL};
        fuse_ext_header eh;
        __builtin_memcpy(&eh, ext + off, sizeof(eh));
        if (eh.size < sizeof(eh) || eh.size % 8 != 0 || eh.size > len - off) return Error{EINVAL};
        const uint8_t* rec = ext + off;
        const uint32_t rec_len = eh.size;
        off += rec_len;
        if (eh.type > FUSE_MAX_NR_SECCTX) continue;
        if (seen || eh.type > 1) return Error{EINVAL};
        seen = true;
        if (eh.type == 0) continue;
        uint32_t pos = sizeof(fuse_secctx_header);
        if (rec_len - pos < sizeof(fuse_secctx)) return Error{EINVAL};
        fuse_secctx c;
        __builtin_memcpy(&c, rec + pos, sizeof(c));
        pos += sizeof(c);
        const uint8_t* name = rec + pos;
        const uint32_t room = rec_len - pos;
        const uint32_t scan = room < XATTR_NAME_MAX + 1 ? room : XATTR_NAME_MAX + 1;
        const void* nul = __builtin_memchr(name, 0, scan);
        if (nul == nullptr) return Error{EINVAL};
        const uint32_t name_len = static_cast<uint32_t>(static_cast<const uint8_t*>(nul) - name);
        if (name_len == 0) return Error{EINVAL};
        pos += name_len + 1;
        if (c.size > XATTR_SIZE_MAX || c.size > rec_len - pos) return Error{EINVAL};
        out->name = reinterpret_cast<const char*>(name);
        out->name_len = name_len;
        out->value = rec + pos;
        out->value_len = c.size;
        *found = true;
    }
    return {};
}

}  // namespace vfs::wire
