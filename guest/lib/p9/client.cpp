// The 9P2000.L client (see client.h). Message layouts: the 9P2000.L protocol (diod's
// protocol.md, Linux net/9p, QEMU hw/9pfs/9p.c).
#include "lib/p9/client.h"

#include "lib/p9/p9_messages.h"

namespace vfs::guest::p9 {
namespace {

constexpr uint32_t kBufCap = 8192;  // requests (16 names of 255 bytes fit) and reply heads
constexpr char kVersion[] = "9P2000.L";
constexpr uint32_t kVersionLen = sizeof(kVersion) - 1;

wire::Error proto() {
    return wire::Error{EPROTO};
}

uint32_t le32(const uint8_t* p) {
    return static_cast<uint32_t>(p[0]) | static_cast<uint32_t>(p[1]) << 8 |
           static_cast<uint32_t>(p[2]) << 16 | static_cast<uint32_t>(p[3]) << 24;
}

}  // namespace

wire::Result<bool> DirReader::next(DirEntry* e) {
    if (r_.remaining() == 0) return false;
    e->qid = r_.qid();
    e->offset = r_.u64();
    e->type = r_.u8();
    e->name = r_.str(&e->namelen);
    if (!r_.ok() || e->namelen == 0 || e->namelen > 255) return proto();
    for (uint16_t i = 0; i < e->namelen; ++i)
        if (e->name[i] == '/' || e->name[i] == '\0') return proto();
    return true;
}

wire::Result<uint32_t> Client::alloc_fid() {
    for (uint32_t i = 0; i < kMaxFids / 64; ++i) {
        if (fid_bits_[i] == ~0ull) continue;
        const int b = __builtin_ctzll(~fid_bits_[i]);
        fid_bits_[i] |= 1ull << b;
        return i * 64 + static_cast<uint32_t>(b);
    }
    return wire::Error{ENFILE};
}

void Client::free_fid(uint32_t fid) {
    if (fid < kMaxFids) fid_bits_[fid / 64] &= ~(1ull << (fid % 64));
}

uint32_t Client::fids_in_use() const {
    uint32_t n = 0;
    for (uint64_t b : fid_bits_)
        for (; b; b &= b - 1)  // no popcount builtin: the freestanding build has no libgcc
            ++n;
    return n;
}

uint16_t Client::begin(uint8_t type) {
    uint16_t tag = kNoTag;
    if (type != kTversion) {
        tag = next_tag_++;
        if (next_tag_ == kNoTag) next_tag_ = 0;
    }
    w_ = Writer(req_, kBufCap);
    w_.begin(type, tag);
    return tag;
}

wire::Status Client::rpc(uint8_t type, uint16_t tag, const wire::Segment* data_out,
                         uint32_t head_cap, const wire::Segment* data_in, Reader* body,
                         uint32_t* size) {
    const uint32_t head = w_.finish(data_out ? data_out->len : 0);
    if (head == 0) return wire::Error{ENAMETOOLONG};  // only names can overflow req_
    wire::Segment out[2] = {{req_, head}, {}};
    if (data_out) out[1] = *data_out;
    wire::Segment in[2] = {{reply_, head_cap}, {}};
    if (data_in) in[1] = *data_in;
    __builtin_memset(reply_, 0, kHeaderBytes + 4);  // no stale header if the device writes less
    ++messages_;
    auto used = dev_->transact(out, data_out ? 2 : 1, in, data_in ? 2 : 1);
    if (!used) return wire::Error{used.error()};
    if (*used < kHeaderBytes) return proto();
    const uint32_t sz = le32(reply_);
    if (sz < kHeaderBytes || sz > *used || (msize_ && sz > msize_)) return proto();
    const uint8_t rtype = reply_[4];
    const uint16_t rtag = static_cast<uint16_t>(reply_[5] | reply_[6] << 8);
    if (rtag != tag) return proto();
    if (rtype == kRlerror) {
        if (sz < kHeaderBytes + 4) return proto();
        const uint32_t ecode = le32(reply_ + kHeaderBytes);
        if (ecode == 0 || ecode > kMaxErrno) return proto();
        return wire::Error{static_cast<int>(ecode)};
    }
    if (rtype != type + 1) return proto();
    const uint32_t in_head = sz < head_cap ? sz : head_cap;
    *body = Reader(reply_ + kHeaderBytes, in_head - kHeaderBytes);
    *size = sz;
    return {};
}

wire::Status Client::simple(uint8_t type, uint16_t tag) {
    Reader r;
    uint32_t size = 0;
    if (auto s = rpc(type, tag, nullptr, kBufCap, nullptr, &r, &size); !s) return s;
    return size == kHeaderBytes ? wire::Status{} : proto();
}

wire::Status Client::init(virtio_9p::P9Device& dev, uint32_t msize_wanted) {
    if (dev_) return wire::Error{EBUSY};
    if (msize_wanted < kMinMsize) return wire::Error{EINVAL};
    dev_ = &dev;
    req_ = static_cast<uint8_t*>(dev.dma().allocate_zeroed(kBufCap, 64));
    reply_ = static_cast<uint8_t*>(dev.dma().allocate_zeroed(kBufCap, 64));
    if (!req_ || !reply_) return wire::Error{ENOMEM};

    const uint16_t vtag = begin(kTversion);
    w_.u32(msize_wanted);
    w_.str(kVersion, kVersionLen);
    msize_ = msize_wanted;  // bounds the Rversion itself
    Reader r;
    uint32_t size = 0;
    if (auto s = rpc(kTversion, vtag, nullptr, kBufCap, nullptr, &r, &size); !s) return s;
    const uint32_t msize = r.u32();
    uint16_t vlen = 0;
    const char* v = r.str(&vlen);
    if (!r.ok() || msize < kMinMsize || msize > msize_wanted) return proto();
    if (vlen != kVersionLen || __builtin_memcmp(v, kVersion, vlen) != 0)
        return wire::Error{EPROTONOSUPPORT};
    msize_ = msize;

    fid_bits_[0] |= 1;  // kRootFid
    const uint16_t tag = begin(kTattach);
    w_.u32(kRootFid);
    w_.u32(kNoFid);
    w_.str("", 0);  // uname: n_uname below says who
    w_.str("", 0);  // aname: the export's root
    w_.u32(0);
    if (auto s = rpc(kTattach, tag, nullptr, kBufCap, nullptr, &r, &size); !s) {
        free_fid(kRootFid);
        return s;
    }
    const Qid root = r.qid();
    if (!r.ok() || !(root.type & kQidDir)) return proto();
    return {};
}

wire::Result<uint32_t> Client::walk(uint32_t fid, const Name* names, uint32_t n, WalkInfo* info) {
    WalkInfo scratch;
    if (!info) info = &scratch;
    *info = WalkInfo{};
    auto nf = alloc_fid();
    if (!nf) return nf;
    const uint32_t newfid = *nf;
    uint32_t from = fid, done = 0;
    bool created = false;
    do {
        const uint32_t chunk = n - done < kMaxWalkNames ? n - done : kMaxWalkNames;
        const uint16_t tag = begin(kTwalk);
        w_.u32(from);
        w_.u32(newfid);
        w_.u16(static_cast<uint16_t>(chunk));
        for (uint32_t i = 0; i < chunk; ++i)
            w_.str(names[done + i].s, names[done + i].len);
        Reader r;
        uint32_t size = 0;
        wire::Status s = rpc(kTwalk, tag, nullptr, kBufCap, nullptr, &r, &size);
        int err = s ? 0 : s.error();
        Qid last;
        uint16_t nwqid = 0;
        if (s) {
            nwqid = r.u16();
            if (!r.ok() || nwqid > chunk) {
                err = EPROTO;
            } else {
                for (uint16_t i = 0; i < nwqid; ++i)
                    last = r.qid();
                if (!r.ok()) err = EPROTO;
                if (!err && nwqid > 0) {
                    info->walked = done + nwqid;
                    info->last = last;
                }
            }
            // A partial walk leaves newfid as it was (unmade on the first message).
            if (!err && nwqid < chunk) err = nwqid > 0 && !(last.type & kQidDir) ? ENOTDIR : ENOENT;
            if (!err && chunk == 0 && nwqid != 0) err = EPROTO;
        }
        if (err) {
            // After a malformed reply whether newfid exists is unknown: clunk to be sure.
            if (created || err == EPROTO) {
                (void)clunk(newfid);
            } else {
                free_fid(newfid);
            }
            return wire::Error{err};
        }
        created = true;
        from = newfid;
        done += chunk;
    } while (done < n);
    return newfid;
}

wire::Result<Qid> Client::lopen(uint32_t fid, uint32_t flags) {
    const uint16_t tag = begin(kTlopen);
    w_.u32(fid);
    w_.u32(flags);
    Reader r;
    uint32_t size = 0;
    if (auto s = rpc(kTlopen, tag, nullptr, kBufCap, nullptr, &r, &size); !s)
        return wire::Error{s.error()};
    const Qid q = r.qid();
    (void)r.u32();  // iounit: msize bounds every message anyway
    if (!r.ok()) return proto();
    return q;
}

wire::Result<Qid> Client::lcreate(uint32_t fid, Name name, uint32_t flags, uint32_t mode) {
    const uint16_t tag = begin(kTlcreate);
    w_.u32(fid);
    w_.str(name.s, name.len);
    w_.u32(flags);
    w_.u32(mode);
    w_.u32(0);  // gid
    Reader r;
    uint32_t size = 0;
    if (auto s = rpc(kTlcreate, tag, nullptr, kBufCap, nullptr, &r, &size); !s)
        return wire::Error{s.error()};
    const Qid q = r.qid();
    (void)r.u32();
    if (!r.ok()) return proto();
    return q;
}

wire::Result<uint64_t> Client::read(uint32_t fid, uint64_t off, void* buf, uint64_t len) {
    auto* p = static_cast<uint8_t*>(buf);
    uint64_t done = 0;
    while (done < len) {
        const uint32_t chunk =
            static_cast<uint32_t>(len - done < max_read() ? len - done : max_read());
        const uint16_t tag = begin(kTread);
        w_.u32(fid);
        w_.u64(off + done);
        w_.u32(chunk);
        const wire::Segment data{p + done, chunk};
        Reader r;
        uint32_t size = 0;
        // The head segment holds exactly size, type, tag and count; the data follows.
        if (auto s = rpc(kTread, tag, nullptr, kReadHeadBytes, &data, &r, &size); !s) {
            if (done) break;  // what arrived stays valid; the error shows next time
            return wire::Error{s.error()};
        }
        const uint32_t count = r.u32();
        if (!r.ok() || count > chunk || size != kReadHeadBytes + count) return proto();
        done += count;
        if (count < chunk) break;
    }
    return done;
}

wire::Result<uint64_t> Client::write(uint32_t fid, uint64_t off, const void* buf, uint64_t len) {
    auto* p = static_cast<uint8_t*>(const_cast<void*>(buf));  // device-readable only
    uint64_t done = 0;
    while (done < len) {
        const uint32_t chunk =
            static_cast<uint32_t>(len - done < max_write() ? len - done : max_write());
        const uint16_t tag = begin(kTwrite);
        w_.u32(fid);
        w_.u64(off + done);
        w_.u32(chunk);
        const wire::Segment data{p + done, chunk};
        Reader r;
        uint32_t size = 0;
        if (auto s = rpc(kTwrite, tag, &data, kBufCap, nullptr, &r, &size); !s) {
            if (done) break;
            return wire::Error{s.error()};
        }
        const uint32_t count = r.u32();
        if (!r.ok() || count > chunk || size != kHeaderBytes + 4) return proto();
        done += count;
        if (count < chunk) break;
    }
    return done;
}

wire::Status Client::clunk(uint32_t fid) {
    const uint16_t tag = begin(kTclunk);
    w_.u32(fid);
    free_fid(fid);  // a failed Tclunk still frees the fid (the protocol says so)
    return simple(kTclunk, tag);
}

wire::Result<Attr> Client::getattr(uint32_t fid) {
    const uint16_t tag = begin(kTgetattr);
    w_.u32(fid);
    w_.u64(kGetattrBasic);
    Reader r;
    uint32_t size = 0;
    if (auto s = rpc(kTgetattr, tag, nullptr, kBufCap, nullptr, &r, &size); !s)
        return wire::Error{s.error()};
    Attr a;
    (void)r.u64();  // valid
    a.qid = r.qid();
    a.mode = r.u32();
    a.uid = r.u32();
    a.gid = r.u32();
    a.nlink = r.u64();
    a.rdev = r.u64();
    a.size = r.u64();
    a.blksize = r.u64();
    a.blocks = r.u64();
    a.atime_sec = r.u64();
    a.atime_nsec = r.u64();
    a.mtime_sec = r.u64();
    a.mtime_nsec = r.u64();
    a.ctime_sec = r.u64();
    a.ctime_nsec = r.u64();
    for (int i = 0; i < 4; ++i)
        (void)r.u64();  // btime, gen, data_version: reserved for future use
    if (!r.ok()) return proto();
    return a;
}

wire::Status Client::setattr(uint32_t fid, uint32_t valid, uint32_t mode, uint64_t size) {
    const uint16_t tag = begin(kTsetattr);
    w_.u32(fid);
    w_.u32(valid);
    w_.u32(mode);
    w_.u32(0);  // uid
    w_.u32(0);  // gid
    w_.u64(size);
    for (int i = 0; i < 4; ++i)
        w_.u64(0);  // atime, mtime
    return simple(kTsetattr, tag);
}

wire::Result<uint32_t> Client::readdir(uint32_t fid, uint64_t off, uint8_t* buf, uint32_t cap) {
    if (cap > max_read()) cap = max_read();
    const uint16_t tag = begin(kTreaddir);
    w_.u32(fid);
    w_.u64(off);
    w_.u32(cap);
    const wire::Segment data{buf, cap};
    Reader r;
    uint32_t size = 0;
    if (auto s = rpc(kTreaddir, tag, nullptr, kReadHeadBytes, &data, &r, &size); !s)
        return wire::Error{s.error()};
    const uint32_t count = r.u32();
    if (!r.ok() || count > cap || size != kReadHeadBytes + count) return proto();
    return count;
}

wire::Status Client::mkdir(uint32_t dfid, Name name, uint32_t mode) {
    const uint16_t tag = begin(kTmkdir);
    w_.u32(dfid);
    w_.str(name.s, name.len);
    w_.u32(mode);
    w_.u32(0);
    Reader r;
    uint32_t size = 0;
    if (auto s = rpc(kTmkdir, tag, nullptr, kBufCap, nullptr, &r, &size); !s) return s;
    (void)r.qid();
    return r.ok() ? wire::Status{} : proto();
}

wire::Status Client::unlinkat(uint32_t dfid, Name name, uint32_t flags) {
    const uint16_t tag = begin(kTunlinkat);
    w_.u32(dfid);
    w_.str(name.s, name.len);
    w_.u32(flags);
    return simple(kTunlinkat, tag);
}

wire::Status Client::renameat(uint32_t odfid, Name oname, uint32_t ndfid, Name nname) {
    const uint16_t tag = begin(kTrenameat);
    w_.u32(odfid);
    w_.str(oname.s, oname.len);
    w_.u32(ndfid);
    w_.str(nname.s, nname.len);
    return simple(kTrenameat, tag);
}

wire::Status Client::link(uint32_t dfid, uint32_t fid, Name name) {
    const uint16_t tag = begin(kTlink);
    w_.u32(dfid);
    w_.u32(fid);
    w_.str(name.s, name.len);
    return simple(kTlink, tag);
}

wire::Status Client::symlink(uint32_t dfid, Name name, Name target) {
    const uint16_t tag = begin(kTsymlink);
    w_.u32(dfid);
    w_.str(name.s, name.len);
    w_.str(target.s, target.len);
    w_.u32(0);  // gid
    Reader r;
    uint32_t size = 0;
    if (auto s = rpc(kTsymlink, tag, nullptr, kBufCap, nullptr, &r, &size); !s) return s;
    (void)r.qid();
    return r.ok() ? wire::Status{} : proto();
}

wire::Result<uint32_t> Client::readlink(uint32_t fid, char* buf, uint32_t cap) {
    const uint16_t tag = begin(kTreadlink);
    w_.u32(fid);
    Reader r;
    uint32_t size = 0;
    if (auto s = rpc(kTreadlink, tag, nullptr, kBufCap, nullptr, &r, &size); !s)
        return wire::Error{s.error()};
    uint16_t len = 0;
    const char* t = r.str(&len);
    if (!r.ok() || len == 0) return proto();
    if (len > cap) return wire::Error{ENAMETOOLONG};
    __builtin_memcpy(buf, t, len);
    return static_cast<uint32_t>(len);
}

wire::Result<StatFs> Client::statfs(uint32_t fid) {
    const uint16_t tag = begin(kTstatfs);
    w_.u32(fid);
    Reader r;
    uint32_t size = 0;
    if (auto s = rpc(kTstatfs, tag, nullptr, kBufCap, nullptr, &r, &size); !s)
        return wire::Error{s.error()};
    StatFs f;
    f.type = r.u32();
    f.bsize = r.u32();
    f.blocks = r.u64();
    f.bfree = r.u64();
    f.bavail = r.u64();
    f.files = r.u64();
    f.ffree = r.u64();
    f.fsid = r.u64();
    f.namelen = r.u32();
    if (!r.ok()) return proto();
    return f;
}

wire::Status Client::fsync(uint32_t fid) {
    const uint16_t tag = begin(kTfsync);
    w_.u32(fid);
    w_.u32(0);  // datasync: no, everything
    return simple(kTfsync, tag);
}

}  // namespace vfs::guest::p9
