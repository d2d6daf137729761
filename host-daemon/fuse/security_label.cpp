// --security-label: the label a guest sends with a create (FUSE_SECURITY_CTX), taken
// from the request's extension bytes for the filesystem to store with the new inode.
#include <vector>

#include "fuse/fuse_server.h"
#include "vfs/wire/fuse_secctx.h"

namespace vfs::host {

using vfs::wire::Error;
using vfs::wire::Status;

Status FuseServer::take_security_label(const vfs::wire::ParsedRequest& req, vfs::wire::SgReader& r,
                                       SecurityLabel* label, RequestContext* rc) const {
    switch (req.header.opcode) {
        case FUSE_CREATE:
        case FUSE_MKDIR:
        case FUSE_MKNOD:
        case FUSE_SYMLINK:
            break;
        default:
            return {};
    }
    // Without the negotiated flag the guest sends none; any extension is not ours to read.
    if (!(session_.flags() & FUSE_SECURITY_CTX) || req.ext_len == 0) return {};
    if (req.ext_len > vfs::wire::kMaxSecctxExtLen) return Error{EINVAL};
    // Copied out once: guest memory may change under us. These requests carry no payload,
    // so the reader is at the extensions.
    static thread_local std::vector<uint8_t> ext(vfs::wire::kMaxSecctxExtLen);
    if (Status s = r.skip(req.payload_len); !s) return Error{EINVAL};
    if (Status s = r.read(ext.data(), req.ext_len); !s) return Error{EINVAL};
    vfs::wire::SecurityContextView ctx;
    bool found = false;
    if (Status s = vfs::wire::decode_security_context(ext.data(), req.ext_len, &ctx, &found); !s)
        return s;
    if (!found) return {};
    *label = {std::string_view(ctx.name, ctx.name_len), ctx.value, ctx.value_len};
    rc->label = label;
    return {};
}

}  // namespace vfs::host
