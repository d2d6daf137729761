// A 9P2000.L client over one virtio-9p device: version (msize negotiation), attach, and
// the operations the vfs backend needs, each one synchronous round trip (reads and writes
// split at msize). Fids are numbers this client hands out; 0 is the attached root.
//
// Every reply is checked before use: its size against what the device wrote and the
// negotiated msize, its tag against the request's, its type against the request's reply
// type, every count and string against the bytes present. A malformed reply is EPROTO,
// an Rlerror its errno. Buffers are allocated once, at init(); data buffers go to the
// device in place. Single-threaded.
#pragma once

#include <stdint.h>

#include "drivers/virtio_9p/p9_device.h"
#include "lib/p9/p9_codec.h"
#include "vfs/wire/result.h"

namespace vfs::guest::p9 {

inline constexpr uint32_t kMinMsize = 4096;
inline constexpr uint32_t kDefaultMsize = 512 * 1024 + 4096;
inline constexpr uint32_t kMaxFids = 512;
inline constexpr uint32_t kRootFid = 0;

struct Attr {
    Qid qid;
    uint32_t mode = 0, uid = 0, gid = 0;
    uint64_t nlink = 0, rdev = 0, size = 0, blksize = 0, blocks = 0;
    uint64_t atime_sec = 0, atime_nsec = 0, mtime_sec = 0, mtime_nsec = 0;
    uint64_t ctime_sec = 0, ctime_nsec = 0;
};

struct StatFs {
    uint32_t type = 0, bsize = 0;
    uint64_t blocks = 0, bfree = 0, bavail = 0, files = 0, ffree = 0, fsid = 0;
    uint32_t namelen = 0;
};

struct Name {
    const char* s = nullptr;
    uint32_t len = 0;
};

// One Rreaddir entry; name points into the reply buffer.
struct DirEntry {
    Qid qid;
    uint64_t offset = 0;  // where the next readdir continues after this entry
    uint8_t type = 0;     // DT_*
    const char* name = nullptr;
    uint16_t namelen = 0;
};

// Walks the entries of an Rreaddir payload: next() is true with *e filled, false at the
// end, EPROTO for an entry that runs past the payload or has an impossible name.
class DirReader {
  public:
    DirReader(const uint8_t* p, uint32_t len) : r_(p, len) {}
    wire::Result<bool> next(DirEntry* e);
    uint32_t consumed() const { return r_.pos(); }

  private:
    Reader r_;
};

// How far a walk got: names walked and the qid of the last one (for a symlink in the way).
struct WalkInfo {
    uint32_t walked = 0;
    Qid last;
};

class Client {
  public:
    Client() = default;
    Client(const Client&) = delete;
    Client& operator=(const Client&) = delete;

    // Tversion asking for msize_wanted (the server may lower it), then Tattach as fid 0.
    wire::Status init(virtio_9p::P9Device& dev, uint32_t msize_wanted = kDefaultMsize);

    virtio_9p::P9Device& device() { return *dev_; }
    uint32_t msize() const { return msize_; }
    uint32_t max_read() const { return msize_ - 11; }   // Rread payload per message
    uint32_t max_write() const { return msize_ - 23; }  // Twrite payload per message
    uint64_t messages() const { return messages_; }

    // A new fid for fid/names...; n may be 0 (a clone). ENOENT or ENOTDIR when a name is
    // missing (the partial walk is undone).
    wire::Result<uint32_t> walk(uint32_t fid, const Name* names, uint32_t n,
                                WalkInfo* info = nullptr);
    wire::Result<Qid> lopen(uint32_t fid, uint32_t flags);
    // fid (a directory) becomes the new file, opened with flags.
    wire::Result<Qid> lcreate(uint32_t fid, Name name, uint32_t flags, uint32_t mode);
    wire::Result<uint64_t> read(uint32_t fid, uint64_t off, void* buf, uint64_t len);
    wire::Result<uint64_t> write(uint32_t fid, uint64_t off, const void* buf, uint64_t len);
    // Frees the fid whatever the server says.
    wire::Status clunk(uint32_t fid);
    wire::Result<Attr> getattr(uint32_t fid);
    wire::Status setattr(uint32_t fid, uint32_t valid, uint32_t mode, uint64_t size);
    // Directory entries from cookie off into buf (cap bytes at most, clipped to msize);
    // returns the payload length, 0 at the end.
    wire::Result<uint32_t> readdir(uint32_t fid, uint64_t off, uint8_t* buf, uint32_t cap);
    wire::Status mkdir(uint32_t dfid, Name name, uint32_t mode);
    wire::Status unlinkat(uint32_t dfid, Name name, uint32_t flags);
    wire::Status renameat(uint32_t odfid, Name oname, uint32_t ndfid, Name nname);
    wire::Status link(uint32_t dfid, uint32_t fid, Name name);
    wire::Status symlink(uint32_t dfid, Name name, Name target);
    // The target into buf (not NUL-terminated); ENAMETOOLONG past cap.
    wire::Result<uint32_t> readlink(uint32_t fid, char* buf, uint32_t cap);
    wire::Result<StatFs> statfs(uint32_t fid);
    wire::Status fsync(uint32_t fid);

    uint32_t fids_in_use() const;

  private:
    uint16_t begin(uint8_t type);
    // Sends the message in req_ (plus data_out, if any) and checks the reply's header.
    // The reply lands in reply_[0..head_cap) then data_in. On success *body reads the
    // reply's fixed part (within reply_) and *size is the reply's size field.
    wire::Status rpc(uint8_t type, uint16_t tag, const wire::Segment* data_out, uint32_t head_cap,
                     const wire::Segment* data_in, Reader* body, uint32_t* size);
    wire::Status simple(uint8_t type, uint16_t tag);  // a reply with no body
    wire::Result<uint32_t> alloc_fid();
    void free_fid(uint32_t fid);

    virtio_9p::P9Device* dev_ = nullptr;
    uint8_t* req_ = nullptr;
    uint8_t* reply_ = nullptr;
    Writer w_{nullptr, 0};
    uint32_t msize_ = 0;
    uint16_t next_tag_ = 0;
    uint64_t messages_ = 0;
    uint64_t fid_bits_[kMaxFids / 64] = {};
};

}  // namespace vfs::guest::p9
