// FUSE requests as bytes for Frontend::submit, and their replies' headers: the few calls
// the thread-pool and conformance tests and the pool benchmark make.
#pragma once

#include <linux/fuse.h>
#include <stdint.h>
#include <string.h>

#include <string_view>
#include <vector>

namespace vfs::slowfs {

template <class Arg>
std::vector<uint8_t> fuse_request(uint32_t opcode, uint64_t unique, uint64_t nodeid, const Arg& arg,
                                  std::string_view name = {}) {
    fuse_in_header h{};
    h.opcode = opcode;
    h.unique = unique;
    h.nodeid = nodeid;
    const size_t arg_len = sizeof(Arg) == 1 ? 0 : sizeof(Arg);  // char: no argument struct
    h.len = static_cast<uint32_t>(sizeof(h) + arg_len + (name.empty() ? 0 : name.size() + 1));
    std::vector<uint8_t> out(h.len, 0);
    memcpy(out.data(), &h, sizeof(h));
    if (arg_len) memcpy(out.data() + sizeof(h), &arg, arg_len);
    if (!name.empty()) memcpy(out.data() + sizeof(h) + arg_len, name.data(), name.size());
    return out;
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
    auto out = fuse_request(FUSE_WRITE, unique, nodeid, in);
    out.insert(out.end(), data.begin(), data.end());
    fuse_in_header h;
    memcpy(&h, out.data(), sizeof(h));
    h.len = static_cast<uint32_t>(out.size());
    memcpy(out.data(), &h, sizeof(h));
    return out;
}
inline std::vector<uint8_t> setattr_request(uint64_t unique, uint64_t nodeid,
                                            const fuse_setattr_in& in, uint32_t uid = 0) {
    auto out = fuse_request(FUSE_SETATTR, unique, nodeid, in);
    fuse_in_header h;
    memcpy(&h, out.data(), sizeof(h));
    h.uid = uid;
    h.gid = uid;
    memcpy(out.data(), &h, sizeof(h));
    return out;
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
