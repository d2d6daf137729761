#include "fuse_setup_calls.h"

#include <errno.h>

namespace vfs::bench {

namespace {

Result<SyncReply> checked(FusePipeline& f, const FuseCall& c) {
    auto r = f.call(c);
    if (!r) return Error{r.error()};
    if (r->error != 0) return Error{r->error};
    return r;
}

}  // namespace

Result<fuse_entry_out> fuse_lookup(FusePipeline& f, uint64_t parent, std::string_view name) {
    FuseCall c;
    c.opcode = FUSE_LOOKUP;
    c.nodeid = parent;
    if (!c.set_name(name)) return Error{ENAMETOOLONG};
    auto r = checked(f, c);
    if (!r) return Error{r.error()};
    const auto& e = r->as<fuse_entry_out>();
    if (e.nodeid == 0) return Error{EPROTO};
    return e;
}

Result<uint64_t> fuse_open(FusePipeline& f, uint64_t nodeid, uint32_t flags, bool dir) {
    FuseCall c;
    c.opcode = dir ? FUSE_OPENDIR : FUSE_OPEN;
    c.nodeid = nodeid;
    c.arg.open.flags = flags;
    auto r = checked(f, c);
    if (!r) return Error{r.error()};
    return r->as<fuse_open_out>().fh;
}

Result<vfs::wire::CreateOut> fuse_create(FusePipeline& f, uint64_t parent, std::string_view name,
                                         uint32_t flags, uint32_t mode) {
    FuseCall c;
    c.opcode = FUSE_CREATE;
    c.nodeid = parent;
    c.arg.create.flags = flags;
    c.arg.create.mode = mode;
    if (!c.set_name(name)) return Error{ENAMETOOLONG};
    auto r = checked(f, c);
    if (!r) return Error{r.error()};
    return r->as<vfs::wire::CreateOut>();
}

Status fuse_release(FusePipeline& f, uint64_t nodeid, uint64_t fh, bool dir) {
    FuseCall c;
    c.opcode = dir ? FUSE_RELEASEDIR : FUSE_RELEASE;
    c.nodeid = nodeid;
    c.arg.release.fh = fh;
    auto r = checked(f, c);
    if (!r) return Error{r.error()};
    return {};
}

Status fuse_forget(FusePipeline& f, uint64_t nodeid, uint64_t nlookup) {
    FuseCall c;
    c.opcode = FUSE_FORGET;
    c.nodeid = nodeid;
    c.arg.forget.nlookup = nlookup;
    auto r = f.call(c);
    if (!r) return Error{r.error()};
    return {};
}

}  // namespace vfs::bench
