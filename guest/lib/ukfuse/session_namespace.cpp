// ukfuse namespace operations: mkdir, mknod, symlink, link, unlink, rmdir, rename,
// readlink, statfs (see session.h).
#include <linux/fcntl.h>

#include "lib/ukfuse/session.h"

namespace vfs::guest::ukfuse {

Result<Entry> Session::mkdir(uint64_t parent, const char* name, uint32_t len, uint32_t mode) {
    fuse_mkdir_in in{};
    in.mode = mode;
    return make_entry(FUSE_MKDIR, parent, &in, name, len);
}

Result<Entry> Session::mknod(uint64_t parent, const char* name, uint32_t len, uint32_t mode,
                             uint32_t rdev) {
    fuse_mknod_in in{};
    in.mode = mode;
    in.rdev = rdev;
    return make_entry(FUSE_MKNOD, parent, &in, name, len);
}

Result<Entry> Session::symlink(uint64_t parent, const char* name, uint32_t len, const char* target,
                               uint32_t target_len) {
    return make_entry(FUSE_SYMLINK, parent, nullptr, name, len, target, target_len);
}

Result<Entry> Session::link(uint64_t nodeid, uint64_t newparent, const char* name, uint32_t len) {
    fuse_link_in in{};
    in.oldnodeid = nodeid;
    auto e = make_entry(FUSE_LINK, newparent, &in, name, len);
    if (e) drop_attr(nodeid);  // nlink changed
    return e;
}

Status Session::unlink(uint64_t parent, const char* name, uint32_t len) {
    // The child's link count changes: forget its attributes along with the name.
    if (Dentry* d = dentries_.find(parent, name, len)) drop_attr(d->child);
    drop_dentry(parent, name, len);
    wire::ClientRequest rq = request(FUSE_UNLINK, parent, nullptr);
    rq.names[0] = wire::NameView{name, len};
    auto rep = call(rq, nullptr, 0);
    drop_attr(parent);
    if (!rep) return wire::Error{rep.error()};
    return {};
}

Status Session::rmdir(uint64_t parent, const char* name, uint32_t len) {
    drop_dentry(parent, name, len);
    wire::ClientRequest rq = request(FUSE_RMDIR, parent, nullptr);
    rq.names[0] = wire::NameView{name, len};
    auto rep = call(rq, nullptr, 0);
    drop_attr(parent);
    if (!rep) return wire::Error{rep.error()};
    return {};
}

Status Session::rename(uint64_t parent, const char* name, uint32_t len, uint64_t newparent,
                       const char* newname, uint32_t newlen, uint32_t flags) {
    drop_dentry(parent, name, len);
    drop_dentry(newparent, newname, newlen);
    wire::ClientRequest rq;
    fuse_rename_in in{};
    fuse_rename2_in in2{};
    if (flags == 0) {
        in.newdir = newparent;
        rq = request(FUSE_RENAME, parent, &in);
    } else {
        in2.newdir = newparent;
        in2.flags = flags;
        rq = request(FUSE_RENAME2, parent, &in2);
    }
    rq.names[0] = wire::NameView{name, len};
    rq.names[1] = wire::NameView{newname, newlen};
    auto rep = call(rq, nullptr, 0);
    drop_attr(parent);
    drop_attr(newparent);
    if (!rep) return wire::Error{rep.error()};
    return {};
}

Result<uint32_t> Session::readlink(uint64_t nodeid, char* buf, uint32_t cap) {
    // The target lands in the session's device-reachable scratch, then the caller's buf.
    const wire::Segment data{scratch_, 4096};
    auto rep = call(request(FUSE_READLINK, nodeid, nullptr), nullptr, 0, &data, 1);
    if (!rep) return wire::Error{rep.error()};
    if (rep->data_len == 0) return wire::Error{EPROTO};
    if (rep->data_len > cap) return wire::Error{ENAMETOOLONG};
    for (uint64_t i = 0; i < rep->data_len; ++i) {
        if (scratch_[i] == 0) return wire::Error{EPROTO};  // a target has no NUL inside
    }
    __builtin_memcpy(buf, scratch_, rep->data_len);
    return static_cast<uint32_t>(rep->data_len);
}

Result<fuse_kstatfs> Session::statfs(uint64_t nodeid) {
    fuse_statfs_out out{};
    auto rep = call(request(FUSE_STATFS, nodeid, nullptr), &out, sizeof(out));
    if (!rep) return wire::Error{rep.error()};
    return out.st;
}

}  // namespace vfs::guest::ukfuse
