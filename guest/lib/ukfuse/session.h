// ukfuse: the guest's FUSE client. One Session per mounted virtio-fs device: INIT, then
// one method per FUSE operation, each returning a value or a positive errno (wire::Result).
//
// It owns the protocol, not the transport: requests go out through FsDevice slots, and
// user buffers go to the device in place (READ and WRITE are never copied). Every reply
// is checked (common/'s decode_reply plus the semantic checks here), so a malformed one
// is EPROTO, never a crash. It keeps a small dentry/attr cache bounded by the server's
// timeouts, and counts LOOKUP references so that every one is given back by a FORGET.
// Single-threaded; never allocates after init().
#pragma once

#include <linux/fuse.h>
#include <stdint.h>

#include "drivers/virtio_fs/fs_device.h"
#include "lib/ukfuse/dax_manager.h"
#include "lib/ukfuse/dentry_cache.h"
#include "lib/ukfuse/node_table.h"
#include "lib/ukfuse/write_behind.h"
#include "vfs/wire/fuse_client.h"
#include "vfs/wire/result.h"

namespace vfs::guest::ukfuse {

using wire::Result;
using wire::Status;

inline constexpr uint64_t kRootId = FUSE_ROOT_ID;

// When file data goes through the device's DAX window (mount option dax=...).
enum class DaxMode : uint8_t {
    kNever,
    kAlways,  // mounting fails unless the device has a window and INIT offers MAP_ALIGNMENT
    kAuto,    // the window when there is one, FUSE READ/WRITE otherwise
};

struct DaxOptions {
    DaxMode mode = DaxMode::kAuto;
    uint32_t max_ranges = 0;   // use at most this many 2 MiB ranges of the window (0: all)
    uint32_t evict_batch = 0;  // ranges per eviction REMOVEMAPPING (0: DaxManager's default)
};

class Session;

// The DaxWindow a Session offers its DaxManager: the device's shared-memory region, and
// SETUPMAPPING / REMOVEMAPPING sent on the session.
class SessionDaxWindow final : public DaxWindow {
  public:
    uint8_t* base() override { return base_; }
    uint64_t size() const override { return size_; }
    wire::Status map(uint64_t nodeid, uint64_t fh, uint64_t foffset, uint64_t len, uint64_t moffset,
                     bool write) override;
    wire::Status unmap(uint64_t nodeid, const fuse_removemapping_one* ranges,
                       uint32_t count) override;

  private:
    friend class Session;
    Session* session_ = nullptr;
    uint8_t* base_ = nullptr;
    uint64_t size_ = 0;
};

struct SessionOptions {
    uint32_t max_write = 1u << 20;  // the most we ask for; INIT may lower it
    uint32_t max_in_flight = 8;     // READ/WRITE chunks of one call in flight at once
    uint32_t uid = 0, gid = 0, pid = 1;
};

// What INIT settled.
struct InitInfo {
    uint32_t major = 0, minor = 0;
    uint32_t max_write = 0;      // bytes per WRITE
    uint32_t max_read = 0;       // bytes per READ (max_pages pages)
    uint32_t max_pages = 0;      // 0 when the server did not say
    uint32_t map_alignment = 0;  // log2 of the DAX mapping alignment, if offered
    uint64_t flags = 0;          // the server's flags (flags2 << 32 with INIT_EXT)
    uint32_t time_gran = 0;
    bool readdirplus = false;
};

struct Entry {
    uint64_t nodeid = 0;  // pinned for the caller: give it back with put()
    fuse_attr attr{};
};

struct OpenHandle {
    uint64_t fh = 0;
    uint32_t open_flags = 0;  // FOPEN_*
};

struct Counters {
    uint64_t lookups_counted = 0;  // references the server gave us
    uint64_t forgets_sent = 0;     // references given back
    uint64_t forget_messages = 0, batch_forget_messages = 0;
    uint64_t interrupts_sent = 0;
    uint64_t dentry_hits = 0, attr_hits = 0;
};

class Session {
  public:
    Session() = default;
    ~Session();
    Session(const Session&) = delete;
    Session& operator=(const Session&) = delete;

    Status init(virtio_fs::FsDevice& dev, const SessionOptions& opts = {});
    // Drops every cached entry and forgets every node (then held_lookups() is 0).
    Status shutdown();

    const InitInfo& info() const { return info_; }
    const Counters& counters() const { return counters_; }
    uint64_t held_lookups() const { return nodes_.held_lookups(); }
    virtio_fs::FsDevice& device() { return *dev_; }

    // --- nodes and names (lookup counts) ---------------------------------------------
    // parent/name -> a pinned child, from the dentry cache while its timeout holds.
    Result<Entry> lookup(uint64_t parent, const char* name, uint32_t len);
    // Another pin on a node the caller already holds (e.g. a path walk keeping its start).
    void hold(uint64_t nodeid);
    // Gives back a pin from lookup/create/hold; may queue a FORGET.
    void put(uint64_t nodeid);
    // Accounts a READDIRPLUS record's entry (a lookup the server counted), then drops it
    // unless the dentry cache keeps it.
    void absorb_direntplus(uint64_t parent, const char* name, uint32_t len,
                           const fuse_entry_out& e);
    // Sends the queued forgets now (FORGET for one, BATCH_FORGET for more).
    Status flush_forgets();

    // --- attributes --------------------------------------------------------------------
    Result<fuse_attr> getattr(uint64_t nodeid, const uint64_t* fh = nullptr, bool fresh = false);
    Result<fuse_attr> setattr(uint64_t nodeid, const fuse_setattr_in& in);

    // --- namespace -----------------------------------------------------------------------
    Result<Entry> mkdir(uint64_t parent, const char* name, uint32_t len, uint32_t mode);
    Result<Entry> mknod(uint64_t parent, const char* name, uint32_t len, uint32_t mode,
                        uint32_t rdev);
    Result<Entry> symlink(uint64_t parent, const char* name, uint32_t len, const char* target,
                          uint32_t target_len);
    Result<Entry> link(uint64_t nodeid, uint64_t newparent, const char* name, uint32_t len);
    Status unlink(uint64_t parent, const char* name, uint32_t len);
    Status rmdir(uint64_t parent, const char* name, uint32_t len);
    Status rename(uint64_t parent, const char* name, uint32_t len, uint64_t newparent,
                  const char* newname, uint32_t newlen, uint32_t flags);
    // The target into buf (not NUL-terminated); buf need not be device-reachable.
    Result<uint32_t> readlink(uint64_t nodeid, char* buf, uint32_t cap);
    Result<fuse_kstatfs> statfs(uint64_t nodeid);

    // --- open files and directories ------------------------------------------------------
    Result<OpenHandle> open(uint64_t nodeid, uint32_t flags, bool dir);
    Status release(uint64_t nodeid, const OpenHandle& h, uint32_t flags, bool dir);
    // CREATE: a new (or, without O_EXCL, existing) file, opened. The entry is pinned.
    Result<Entry> create(uint64_t parent, const char* name, uint32_t len, uint32_t flags,
                         uint32_t mode, OpenHandle* h);
    // len bytes at off, split into max_read / max_write chunks that are all in flight at
    // once across the request queues. buf must be device-reachable. Short at EOF.
    Result<uint64_t> read(uint64_t nodeid, uint64_t fh, uint64_t off, void* buf, uint64_t len);
    Result<uint64_t> write(uint64_t nodeid, uint64_t fh, uint64_t off, const void* buf,
                           uint64_t len);
    Status flush(uint64_t nodeid, uint64_t fh);
    Status fsync(uint64_t nodeid, uint64_t fh, bool datasync, bool dir);
    Result<uint64_t> lseek(uint64_t nodeid, uint64_t fh, uint64_t off, uint32_t whence);
    Status fallocate(uint64_t nodeid, uint64_t fh, uint32_t mode, uint64_t off, uint64_t len);
    // One READDIR or READDIRPLUS (info().readdirplus) reply's records into buf (device-
    // reachable); returns their length, 0 at the end. Walk them with wire::DirentReader.
    Result<uint32_t> readdir(uint64_t nodeid, uint64_t fh, uint64_t off, uint8_t* buf,
                             uint32_t cap);

    // --- DAX ---------------------------------------------------------------------------
    // Turns DAX on as opts.mode says: with kAuto, no window (or no MAP_ALIGNMENT) leaves
    // it off and succeeds; with kAlways that is ENODEV. After init().
    Status enable_dax(const DaxOptions& opts);
    DaxManager* dax() { return dax_; }  // null unless DAX is on
    // The file's size for DAX accesses: as of the last reply if nothing changed it since,
    // else (or with fresh) from a GETATTR.
    Result<uint64_t> file_size(uint64_t nodeid, uint64_t fh, bool fresh = false);
    // What file_size says next without a GETATTR: the size our own write just left (a
    // FUSE WRITE drops the cached attributes; the rest of them stay dropped).
    void note_size(uint64_t nodeid, uint64_t size);
    // FUSE_SETUPMAPPING (flags READ, and WRITE if write) and FUSE_REMOVEMAPPING.
    Status setupmapping(uint64_t nodeid, uint64_t fh, uint64_t foffset, uint64_t len,
                        uint64_t moffset, bool write);
    Status removemapping(uint64_t nodeid, const fuse_removemapping_one* ranges, uint32_t count);

    // --- write-behind (mount option write_behind; write_behind.h) ---------------------
    // Turns it on with a buffer of max_write bytes (at most 1 MiB). After init().
    Status enable_write_behind();
    const WriteBehind& write_behind() const { return wb_; }
    // Sends the pending run now. Every request (start()), a stat of its file, fsync,
    // close, seek and a DAX window access of its file call this first.
    Status flush_write_behind();
    // Before a DAX window access of nodeid at off: the file's pending run goes out first
    // (unless this write continues it); for a write, the handle's kept error, once.
    Status before_window(uint64_t nodeid, uint64_t fh, uint64_t off, bool write);
    // A seek on an open file of nodeid: its pending run goes out.
    void write_behind_seek(uint64_t nodeid);

    // FUSE_INTERRUPT for a request that timed out (hiprio, no reply).
    Status interrupt(uint64_t unique);

  private:
    // The FUSE WRITEs of a flushed run: straight to rw(), past write()'s buffering.
    class WriteBehindWrites final : public WriteBehindSink {
      public:
        explicit WriteBehindWrites(Session* s) : s_(s) {}
        wire::Result<uint64_t> sink_write(uint64_t nodeid, uint64_t fh, uint64_t off,
                                          const void* buf, uint64_t len) override;

      private:
        Session* s_;
    };
    // For fsync and close of (nodeid, fh): its file's run out, then its kept error.
    Status write_behind_sync(uint64_t nodeid, uint64_t fh);

    // A request between submit and its reply.
    struct Pending {
        virtio_fs::RequestSlot* slot = nullptr;
        wire::ClientRequest rq;
        uint8_t arg[wire::kMaxArgSize] = {};
        uint64_t data_cap = 0;
    };
    wire::ClientRequest request(uint32_t opcode, uint64_t nodeid, const void* arg);
    // may_wait false: EAGAIN at once when no request slot is free.
    Status start(const wire::ClientRequest& rq, const wire::Segment* reply_data, uint32_t n,
                 Pending* p, bool may_wait = true);
    // The decoded reply; an error reply becomes its errno.
    Result<wire::ClientReply> finish(Pending* p, void* out_struct, uint32_t out_size);
    Result<wire::ClientReply> call(const wire::ClientRequest& rq, void* out_struct,
                                   uint32_t out_size, const wire::Segment* reply_data = nullptr,
                                   uint32_t n = 0);
    // A free slot, polling completions for up to the device timeout (ETIMEDOUT); with
    // may_wait false, one poll and then EAGAIN.
    Result<virtio_fs::RequestSlot*> acquire_slot(bool may_wait = true);
    Status send_hiprio(const wire::ClientRequest& rq);

    // Takes in a reply's entry (a lookup the server counted): pinned for the caller, and
    // cached under parent/name while its entry timeout holds.
    Result<Entry> absorb_entry(uint64_t parent, const char* name, uint32_t len,
                               const fuse_entry_out& e);
    void cache_attr(uint64_t nodeid, const fuse_attr& a, uint64_t valid, uint32_t nsec);
    void drop_attr(uint64_t nodeid);
    void drop_dentry(uint64_t parent, const char* name, uint32_t len);
    void queue_forget(uint64_t nodeid, uint64_t nlookup);
    Result<Entry> make_entry(uint32_t opcode, uint64_t parent, const void* arg, const char* name,
                             uint32_t len, const char* name2 = nullptr, uint32_t len2 = 0);
    Result<uint64_t> rw(bool is_write, uint64_t nodeid, uint64_t fh, uint64_t off, uint8_t* buf,
                        uint64_t len);

    virtio_fs::FsDevice* dev_ = nullptr;
    SessionOptions opts_;
    InitInfo info_;
    wire::Proto proto_;
    uint64_t next_unique_ = 2;
    NodeTable nodes_;
    DentryCache dentries_;
    static constexpr uint32_t kForgetBatch = 64;
    fuse_forget_one forgets_[kForgetBatch] = {};
    uint32_t forget_count_ = 0;
    uint8_t* scratch_ = nullptr;  // device-reachable, for readlink and REMOVEMAPPING
    SessionDaxWindow dax_window_;
    DaxManager* dax_ = nullptr;
    WriteBehind wb_;
    WriteBehindWrites wb_writes_{this};
    Counters counters_;
};

}  // namespace vfs::guest::ukfuse
