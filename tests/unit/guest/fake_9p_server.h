// A small 9P2000.L server for Fake9pTransport: well-formed answers to what the p9 client
// sends (a flat tree: names starting with 'd' are directories, with 'l' symlinks to
// "dsub", "missing" does not exist, one file of known bytes behind every other name), plus a hook
// that lets a test rewrite any reply before the device writes it back (the hostile cases).
#pragma once

#include <cstring>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "fake_9p_transport.h"
#include "lib/p9/p9_codec.h"
#include "lib/p9/p9_messages.h"

namespace vfs::guest::testing {

// Builds one reply: header first, size patched by done().
class Reply9p {
  public:
    Reply9p(uint8_t type, uint16_t tag) {
        u32(0);
        u8(type);
        u16(tag);
    }
    Reply9p& u8(uint8_t v) { return put(v, 1); }
    Reply9p& u16(uint16_t v) { return put(v, 2); }
    Reply9p& u32(uint32_t v) { return put(v, 4); }
    Reply9p& u64(uint64_t v) { return put(v, 8); }
    Reply9p& str(const std::string& s) {
        u16(static_cast<uint16_t>(s.size()));
        b_.insert(b_.end(), s.begin(), s.end());
        return *this;
    }
    Reply9p& qid(uint8_t type, uint64_t path) { return u8(type).u32(0).u64(path); }
    Reply9p& raw(const std::vector<uint8_t>& v) {
        b_.insert(b_.end(), v.begin(), v.end());
        return *this;
    }
    std::vector<uint8_t> done() {
        const uint32_t n = static_cast<uint32_t>(b_.size());
        std::memcpy(b_.data(), &n, 4);
        return b_;
    }

  private:
    Reply9p& put(uint64_t v, int n) {
        for (int i = 0; i < n; ++i)
            b_.push_back(static_cast<uint8_t>(v >> (8 * i)));
        return *this;
    }
    std::vector<uint8_t> b_;
};

inline void set_le32(std::vector<uint8_t>& b, size_t at, uint32_t v) {
    std::memcpy(b.data() + at, &v, 4);
}

class Fake9pServer {
  public:
    using Mutator = std::function<void(uint8_t request_type, Fake9pReply& reply)>;

    uint32_t max_msize = 1u << 20;
    std::vector<uint8_t> file;
    Mutator mutate;  // rewrites a reply (bytes or used_len) before it goes out
    std::map<uint8_t, int> count;
    std::map<uint32_t, bool> is_dir;  // by fid, as attach and walk made them
    std::map<uint32_t, bool> is_link;

    Fake9pServer() {
        file.resize(100000);
        for (size_t i = 0; i < file.size(); ++i)
            file[i] = static_cast<uint8_t>(i * 7 + 3);
    }

    Fake9pReply operator()(const std::vector<uint8_t>& rq) {
        p9::Reader r(rq.data(), static_cast<uint32_t>(rq.size()));
        (void)r.u32();
        const uint8_t type = r.u8();
        const uint16_t tag = r.u16();
        ++count[type];
        Fake9pReply rep;
        rep.bytes = answer(type, tag, r);
        if (mutate) mutate(type, rep);
        return rep;
    }

    static std::vector<uint8_t> lerror(uint16_t tag, uint32_t err) {
        return Reply9p(p9::kRlerror, tag).u32(err).done();
    }

  private:
    std::vector<uint8_t> answer(uint8_t type, uint16_t tag, p9::Reader& r) {
        Reply9p out(static_cast<uint8_t>(type + 1), tag);
        switch (type) {
            case p9::kTversion: {
                const uint32_t msize = r.u32();
                return out.u32(msize < max_msize ? msize : max_msize).str("9P2000.L").done();
            }
            case p9::kTattach:
                is_dir[r.u32()] = true;
                return out.qid(p9::kQidDir, 1).done();
            case p9::kTwalk: {
                const uint32_t fid = r.u32();
                const uint32_t newfid = r.u32();
                const uint16_t n = r.u16();
                std::vector<std::string> names;
                for (uint16_t i = 0; i < n; ++i) {
                    uint16_t len = 0;
                    const char* s = r.str(&len);
                    names.emplace_back(s, len);
                }
                uint16_t found = 0;
                // A walk stops at a missing name, and after a symlink that is not last (the
                // server does not follow links: the client must).
                while (found < n && names[found] != "missing" &&
                       (found == 0 || names[found - 1][0] != 'l'))
                    ++found;
                if (found == 0 && n > 0) return lerror(tag, ENOENT);
                if (found == n) {
                    is_dir[newfid] = n == 0 ? is_dir[fid] : names[n - 1][0] == 'd';
                    is_link[newfid] = n == 0 ? is_link[fid] : names[n - 1][0] == 'l';
                }
                out.u16(found);
                for (uint16_t i = 0; i < found; ++i)
                    out.qid(names[i][0] == 'd'   ? p9::kQidDir
                            : names[i][0] == 'l' ? p9::kQidSymlink
                                                 : 0,
                            100 + i);
                return out.done();
            }
            case p9::kTlopen:
            case p9::kTlcreate:
                return out.qid(0, 7).u32(0).done();
            case p9::kTread: {
                (void)r.u32();
                const uint64_t off = r.u64();
                const uint32_t want = r.u32();
                const uint64_t left = off < file.size() ? file.size() - off : 0;
                const uint32_t n = static_cast<uint32_t>(want < left ? want : left);
                out.u32(n);
                return out.raw(std::vector<uint8_t>(file.begin() + off, file.begin() + off + n))
                    .done();
            }
            case p9::kTwrite: {
                (void)r.u32();
                (void)r.u64();
                return out.u32(r.u32()).done();
            }
            case p9::kTgetattr: {
                const uint32_t fid = r.u32();
                const bool dir = is_dir[fid], link = is_link[fid];
                out.u64(0x7ff)
                    .qid(dir ? p9::kQidDir : 0, 7)
                    .u32(dir    ? 040755
                         : link ? 0120777
                                : 0100644)
                    .u32(1)
                    .u32(2)
                    .u64(1)
                    .u64(0);
                out.u64(file.size()).u64(4096).u64(200);
                for (int i = 0; i < 10; ++i)
                    out.u64(i);
                return out.done();
            }
            case p9::kTreaddir: {
                (void)r.u32();
                const uint64_t off = r.u64();
                Reply9p entries(0, 0);  // only its bytes after the header are used
                if (off == 0) entries.qid(0, 11).u64(1).u8(8).str("a");
                if (off <= 1) entries.qid(p9::kQidDir, 12).u64(2).u8(4).str("dsub");
                std::vector<uint8_t> e = entries.done();
                e.erase(e.begin(), e.begin() + p9::kHeaderBytes);
                return out.u32(static_cast<uint32_t>(e.size())).raw(e).done();
            }
            case p9::kTstatfs:
                return out.u32(0x01021997)
                    .u32(4096)
                    .u64(1000)
                    .u64(500)
                    .u64(400)
                    .u64(100)
                    .u64(50)
                    .u64(0)
                    .u32(255)
                    .done();
            case p9::kTreadlink:
                return out.str("dsub").done();
            case p9::kTmkdir:
                return out.qid(p9::kQidDir, 9).done();
            default:  // clunk, setattr, unlinkat, renameat, fsync, link: no body
                return out.done();
        }
    }
};

}  // namespace vfs::guest::testing
