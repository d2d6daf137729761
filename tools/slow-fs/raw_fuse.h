// FUSE requests as bytes for Frontend::submit/request, and their replies' headers: the one
// request builder of the integration tests that drive a daemon through tools/frontend,
// and of the pool benchmark.
#pragma once

#include <linux/fuse.h>
#include <stdint.h>
#include <string.h>

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace vfs::slowfs {

// A request from raw parts: the header, arg_len bytes of the fixed argument, then `tail` as
// it is (names with their NULs, payloads, or whatever a hostile guest sends); the header's
// length covers all of it.
inline std::vector<uint8_t> raw_request(uint32_t opcode, uint64_t unique, uint64_t nodeid,
                                        const void* arg, size_t arg_len,
                                        std::string_view tail = {}) {
    fuse_in_header h{};
    h.opcode = opcode;
    h.unique = unique;
    h.nodeid = nodeid;
    h.len = static_cast<uint32_t>(sizeof(h) + arg_len + tail.size());
    std::vector<uint8_t> out(h.len, 0);
    memcpy(out.data(), &h, sizeof(h));
    if (arg_len) memcpy(out.data() + sizeof(h), arg, arg_len);
    if (!tail.empty()) memcpy(out.data() + sizeof(h) + arg_len, tail.data(), tail.size());
    return out;
}

// The fixed argument, then a NUL-terminated name if one is given. Arg char: no argument.
template <class Arg>
std::vector<uint8_t> fuse_request(uint32_t opcode, uint64_t unique, uint64_t nodeid, const Arg& arg,
                                  std::string_view name = {}) {
    const size_t arg_len = sizeof(Arg) == 1 ? 0 : sizeof(Arg);
    std::string tail(name);
    if (!name.empty()) tail.push_back('\0');
    return raw_request(opcode, unique, nodeid, &arg, arg_len, tail);
}

// req with its header changed by edit(fuse_in_header&).
template <class Edit>
std::vector<uint8_t> edit_header(std::vector<uint8_t> req, Edit edit) {
    fuse_in_header h;
    memcpy(&h, req.data(), sizeof(h));
    edit(h);
    memcpy(req.data(), &h, sizeof(h));
    return req;
}
// A request as guest user uid/gid (the header's credentials).
inline std::vector<uint8_t> as_user(std::vector<uint8_t> req, uint32_t uid, uint32_t gid) {
    return edit_header(std::move(req), [&](fuse_in_header& h) {
        h.uid = uid;
        h.gid = gid;
    });
}
// req with bytes after what it holds (a WRITE's data, an xattr's value), its length fixed.
inline std::vector<uint8_t> with_payload(std::vector<uint8_t> req,
                                         const std::vector<uint8_t>& data) {
    req.insert(req.end(), data.begin(), data.end());
    const auto len = static_cast<uint32_t>(req.size());
    return edit_header(std::move(req), [&](fuse_in_header& h) { h.len = len; });
}

inline std::vector<uint8_t> lookup_request(uint64_t unique, uint64_t parent,
                                           std::string_view name) {
    return fuse_request(FUSE_LOOKUP, unique, parent, char{0}, name);
}
inline std::vector<uint8_t> getattr_request(uint64_t unique, uint64_t nodeid) {
    return fuse_request(FUSE_GETATTR, unique, nodeid, fuse_getattr_in{});
}
inline std::vector<uint8_t> open_request(uint64_t unique, uint64_t nodeid, uint32_t flags) {
    fuse_open_in in{};
    in.flags = flags;
    return fuse_request(FUSE_OPEN, unique, nodeid, in);
}
inline std::vector<uint8_t> read_request(uint64_t unique, uint64_t nodeid, uint64_t fh,
                                         uint64_t offset, uint32_t size) {
    fuse_read_in in{};
    in.fh = fh;
    in.offset = offset;
    in.size = size;
    return fuse_request(FUSE_READ, unique, nodeid, in);
}

inline std::vector<uint8_t> write_request(uint64_t unique, uint64_t nodeid, uint64_t fh,
                                          uint64_t offset, const std::vector<uint8_t>& data,
                                          uint32_t write_flags = 0) {
    fuse_write_in in{};
    in.write_flags = write_flags;
    in.fh = fh;
    in.offset = offset;
    in.size = static_cast<uint32_t>(data.size());
    return with_payload(fuse_request(FUSE_WRITE, unique, nodeid, in), data);
}
inline std::vector<uint8_t> setattr_request(uint64_t unique, uint64_t nodeid,
                                            const fuse_setattr_in& in, uint32_t uid = 0) {
    return as_user(fuse_request(FUSE_SETATTR, unique, nodeid, in), uid, uid);
}
inline std::vector<uint8_t> mknod_request(uint64_t unique, uint64_t parent, std::string_view name,
                                          uint32_t mode, uint32_t rdev) {
    fuse_mknod_in in{};
    in.mode = mode;
    in.rdev = rdev;
    return fuse_request(FUSE_MKNOD, unique, parent, in, name);
}
inline std::vector<uint8_t> destroy_request(uint64_t unique) {
    return fuse_request(FUSE_DESTROY, unique, 0, char{0});
}

// The reply's header, and its body as T (zeroed if the reply is shorter).
inline fuse_out_header reply_header(const std::vector<uint8_t>& r) {
    fuse_out_header h{};
    if (r.size() >= sizeof(h)) memcpy(&h, r.data(), sizeof(h));
    return h;
}
template <class T>
T reply_body(const std::vector<uint8_t>& r) {
    T t{};
    if (r.size() >= sizeof(fuse_out_header) + sizeof(T))
        memcpy(&t, r.data() + sizeof(fuse_out_header), sizeof(T));
    return t;
}

}  // namespace vfs::slowfs
