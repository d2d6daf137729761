// A small well-behaved filesystem for the fake device (fake_fs_transport.h): "/f" a
// regular file of 100 bytes, "/d" a directory. Tests override single requests through
// FakeFs::special to play a hostile or unusual server.
#pragma once

#include <linux/fuse.h>

#include <cstdint>
#include <cstring>
#include <functional>
#include <vector>

#include "fake_fs_transport.h"
#include "lib/ukfuse/file_type.h"

namespace vfs::guest::testing {

inline constexpr uint64_t kFileNode = 7, kDirNode = 8;

inline fuse_entry_out entry(uint64_t node, uint32_t mode, uint64_t size = 0) {
    fuse_entry_out e{};
    e.nodeid = node;
    e.attr.ino = node;
    e.attr.mode = mode;
    e.attr.size = size;
    e.attr.nlink = 1;
    return e;
}

struct FakeFs {
    std::function<bool(const FakeRequest&, FakeReply*)> special;
    uint16_t max_pages = 32;
    uint32_t init_flags = 0;

    FakeReply operator()(const FakeRequest& rq) {
        FakeReply r;
        if (special && special(rq, &r)) return r;
        const uint64_t u = rq.in.unique;
        switch (rq.in.opcode) {
            case FUSE_INIT:
                return testing::init_reply(rq, max_pages, init_flags);
            case FUSE_LOOKUP: {
                const char* name = reinterpret_cast<const char*>(rq.body.data());
                fuse_entry_out e{};
                if (std::strcmp(name, "f") == 0)
                    e = entry(kFileNode, ukfuse::kTypeReg | 0644, 100);
                else if (std::strcmp(name, "d") == 0)
                    e = entry(kDirNode, ukfuse::kTypeDir | 0755);
                else
                    return FakeReply::error(u, ENOENT);
                return FakeReply::ok(u, &e, sizeof(e));
            }
            case FUSE_GETATTR: {
                fuse_attr_out a{};
                a.attr = rq.in.nodeid == kFileNode
                             ? entry(kFileNode, ukfuse::kTypeReg | 0644, 100).attr
                             : entry(rq.in.nodeid, ukfuse::kTypeDir | 0755).attr;
                return FakeReply::ok(u, &a, sizeof(a));
            }
            case FUSE_OPEN:
            case FUSE_OPENDIR: {
                fuse_open_out o{};
                o.fh = 42;
                return FakeReply::ok(u, &o, sizeof(o));
            }
            case FUSE_READ: {
                const auto in = rq.arg<fuse_read_in>();
                std::vector<uint8_t> data(in.size, 0xab);
                return FakeReply::ok(u, data.data(), data.size());
            }
            case FUSE_WRITE: {
                const auto in = rq.arg<fuse_write_in>();
                fuse_write_out o{};
                o.size = in.size;
                return FakeReply::ok(u, &o, sizeof(o));
            }
            case FUSE_READDIR:
                return FakeReply::ok(u);  // empty: the end
            case FUSE_FORGET:
            case FUSE_BATCH_FORGET:
            case FUSE_INTERRUPT:
                return FakeReply::ok(u);  // no reply buffers: nothing is written
            default:
                return FakeReply::ok(u);  // RELEASE, FLUSH, ...: empty success
        }
    }
};

}  // namespace vfs::guest::testing
