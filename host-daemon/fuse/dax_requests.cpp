// The FUSE side of DAX: INIT's MAP_ALIGNMENT, SETUPMAPPING and REMOVEMAPPING. The
// checks live in DaxMappings and the Filesystem (map_file); this file decodes and frames.
#include <errno.h>

#include "fs/killpriv.h"
#include "fuse/dax_grant.h"
#include "fuse/fuse_server.h"

namespace vfs::host {

namespace {

uint32_t dax_error(vfs::wire::SgWriter& w, uint64_t unique, int err) {
    (void)vfs::wire::reply_error(w, unique, err);
    return static_cast<uint32_t>(w.written());
}

uint32_t dax_ok(vfs::wire::SgWriter& w, uint64_t unique) {
    if (!vfs::wire::reply_empty(w, unique)) return dax_error(w, unique, EIO);
    return static_cast<uint32_t>(w.written());
}

}  // namespace

void FuseServer::dax_on_init(const fuse_init_in& in, NegotiatedInit& n) {
    if (!dax_) return;
    // A new session (a mount, or a rebooted guest): the old one's mappings mean nothing.
    dax_->drop_all("new FUSE session");
    // The window exists only if the front-end negotiated shared memory and sized it.
    if (!(in.flags & FUSE_MAP_ALIGNMENT) || !dax_->available()) return;
    n.flags |= FUSE_MAP_ALIGNMENT;
    n.out.flags |= FUSE_MAP_ALIGNMENT;
    n.out.map_alignment = DaxMappings::kAlignShift;
}

uint32_t FuseServer::do_setupmapping(RequestState& st, vfs::wire::SgWriter& w) {
    const fuse_in_header& h = st.req.header;
    if (!dax_ || !(session_.flags() & FUSE_MAP_ALIGNMENT)) return dax_error(w, h.unique, ENOSYS);
    const auto in = st.req.arg<fuse_setupmapping_in>();
    constexpr uint64_t kKnownFlags = FUSE_SETUPMAPPING_FLAG_WRITE | FUSE_SETUPMAPPING_FLAG_READ;
    if (in.flags & ~kKnownFlags) return dax_error(w, h.unique, EINVAL);
    const bool write = in.flags & FUSE_SETUPMAPPING_FLAG_WRITE;
    // The range first: a bad one never opens a file.
    if (Status s = DaxMappings::check_range(dax_->window_size(), in.foffset, in.len, in.moffset);
        !s) {
        (void)dax_->refuse(s.error(), "SETUPMAPPING range (alignment, window, overflow)");
        return dax_error(w, h.unique, s.error());
    }
    const RequestContext rc{h.uid, h.gid, h.pid};
    auto file = dax_grant(fs_, rc, h.nodeid, in.fh, write);
    if (!file) {
        (void)dax_->refuse(file.error(), "SETUPMAPPING: the file cannot be mapped");
        return dax_error(w, h.unique, file.error());
    }
    // Guest stores through a writable mapping are the daemon's writes: with KILLPRIV_V2 an
    // unprivileged caller's write mapping drops suid/sgid, as its WRITE would.
    if (write && h.uid != 0 && (session_.flags() & FUSE_HANDLE_KILLPRIV_V2))
        kill_suid_sgid(file->fd());
    if (Status s = dax_->setup(std::move(*file), in.foffset, in.len, in.moffset, write, h.nodeid);
        !s)
        return dax_error(w, h.unique, s.error());
    return dax_ok(w, h.unique);
}

// Linux sends every request about an open file with its node id (RELEASE and FLUSH too).
void FuseServer::dax_before(const fuse_in_header& h) {
    switch (h.opcode) {
        case FUSE_FLUSH:
        case FUSE_FSYNC:
        case FUSE_RELEASE:
        case FUSE_SETATTR:
        case FUSE_WRITE:
        case FUSE_FALLOCATE:
        case FUSE_LSEEK:
            dax_->write_back(h.nodeid);
            break;
        case FUSE_COPY_FILE_RANGE:  // two files; the header names the source only
        case FUSE_SYNCFS:
            dax_->write_back(DaxMappings::kAnyNode);
            break;
        default:
            break;
    }
}

void FuseServer::dax_after(const fuse_in_header& h) {
    switch (h.opcode) {
        case FUSE_GETATTR:
        case FUSE_WRITE:
        case FUSE_FALLOCATE:
            dax_->cover(h.nodeid);
            break;
        // Entries carry the attributes of a node the header does not name.
        case FUSE_LOOKUP:
        case FUSE_CREATE:
        case FUSE_LINK:
        case FUSE_READDIRPLUS:
        case FUSE_COPY_FILE_RANGE:
            dax_->cover(DaxMappings::kAnyNode);
            break;
        // Close to open for the host's changes, and a truncation's zeros.
        case FUSE_OPEN:
        case FUSE_SETATTR:
            dax_->refresh(h.nodeid);
            break;
        default:
            break;
    }
}

uint32_t FuseServer::do_removemapping(RequestState& st, vfs::wire::SgReader& r,
                                      vfs::wire::SgWriter& w) {
    const uint64_t unique = st.req.header.unique;
    if (!dax_ || !(session_.flags() & FUSE_MAP_ALIGNMENT)) return dax_error(w, unique, ENOSYS);
    // The parser checked count * sizeof(fuse_removemapping_one) is the payload given.
    const uint32_t count = st.req.arg<fuse_removemapping_in>().count;
    if (count == 0 || count > DaxMappings::kMaxRemoveRanges) return dax_error(w, unique, EINVAL);
    DaxRange ranges[DaxMappings::kMaxRemoveRanges];
    for (uint32_t i = 0; i < count; ++i) {
        fuse_removemapping_one one{};
        if (!r.read_obj(&one)) return dax_error(w, unique, EINVAL);
        ranges[i] = {one.moffset, one.len};
    }
    if (Status s = dax_->remove(std::span<const DaxRange>(ranges, count)); !s)
        return dax_error(w, unique, s.error());
    return dax_ok(w, unique);
}

}  // namespace vfs::host
