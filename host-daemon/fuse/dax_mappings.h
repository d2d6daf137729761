// DAX: the table of file ranges mapped into the device's shared-memory window, and the
// rules a SETUPMAPPING/REMOVEMAPPING must pass before anything reaches the front-end.
//
// The guest asks for a mapping (file range → window offset); the table checks the range
// (aligned, inside the window, no overflow), replaces what it overlaps, and has the
// DaxMapper (the device: BACKEND_SHMEM_MAP over the backend channel) map the file's fd.
// The mapped fd is the host file itself, so the bytes never pass through the daemon; the
// table keeps the grant (DataFile) of each live mapping open.
//
// A range is mapped in pieces (dax_coverage.h): the file's whole pages from the file, the
// page holding EOF from a tail page (dax_tail_pages.h), nothing past EOF; cover() adds what
// the file grew into before a reply can tell the guest the larger size, and the FUSE
// server calls write_back()/refresh() where tail pages must be synced with the file.
//
// Threads: queue workers call setup()/remove()/cover(), which wait for the front-end's
// answer; they are serialized among themselves. drop_all() (ring stop, reset, new session) may
// come from the connection thread and never waits for the front-end: it forgets the
// mappings at once, and the ranges the front-end may still hold are unmapped, best
// effort, before the next map.
#pragma once

#include <stdint.h>

#include <atomic>
#include <map>
#include <mutex>
#include <span>
#include <vector>

#include "fs/data_file.h"
#include "fuse/dax_coverage.h"
#include "fuse/dax_tail_pages.h"
#include "memory/window_files.h"
#include "vfs/wire/result.h"

namespace vfs::host {

// What the device does for the table: map and unmap ranges of its window.
class DaxMapper {
  public:
    virtual ~DaxMapper() = default;
    // The front-end negotiated shared memory (SHMEM, the backend channel, REPLY_ACK) and
    // asked for the window's size: DAX may be announced.
    virtual bool negotiated() const = 0;
    // The device runs (every ring started): maps may be sent. A map sent earlier crashes
    // QEMU 11.1.3.
    virtual bool ready() const = 0;
    virtual vfs::wire::Status map(int fd, uint64_t foffset, uint64_t moffset, uint64_t len,
                                  bool writable) = 0;
    virtual vfs::wire::Status unmap(uint64_t moffset, uint64_t len) = 0;
};

struct DaxRange {
    uint64_t moffset = 0;
    uint64_t len = 0;
};

struct DaxCounters {
    uint64_t maps = 0;     // SETUPMAPPINGs served
    uint64_t unmaps = 0;   // ranges unmapped (REMOVEMAPPING, replacement, stale clean-up)
    uint64_t refused = 0;  // requests refused before reaching the front-end
    uint64_t failed = 0;   // maps or unmaps the front-end refused or never answered
    uint64_t drops = 0;    // times every mapping was forgotten (reset, ring stop, session)
    uint64_t live = 0;
    uint64_t pieces = 0;       // front-end mappings live (a range may need several)
    uint64_t extended = 0;     // pieces added to live ranges because their file grew
    uint64_t tail_pages = 0;   // tail pages live
    uint64_t write_backs = 0;  // tail pages written back that held guest stores
};

class DaxMappings {
  public:
    // Log2 of the mapping alignment announced in INIT (map_alignment): the page size.
    static constexpr uint32_t kAlignShift = 12;
    static constexpr uint64_t kAlign = 1ull << kAlignShift;
    // Live mappings at most: each is one memory slot at the front-end (QEMU has 509).
    static constexpr uint32_t kMaxLive = 256;
    // Ranges in one REMOVEMAPPING at most (Linux's FUSE_REMOVEMAPPING_MAX_ENTRY).
    static constexpr uint32_t kMaxRemoveRanges = 256;
    // Front-end mappings (pieces) live at most, and tail pages.
    static constexpr uint32_t kMaxPieces = 448;
    static constexpr uint32_t kTailPages = 512;
    // cover() etc. for every node.
    static constexpr uint64_t kAnyNode = 0;

    // window_size is a multiple of kAlign (the option parser checked it); both referenced
    // objects outlive the table.
    DaxMappings(uint64_t window_size, DaxMapper& mapper, memory::WindowFiles& files);
    ~DaxMappings();
    DaxMappings(const DaxMappings&) = delete;
    DaxMappings& operator=(const DaxMappings&) = delete;

    uint64_t window_size() const { return window_size_; }
    // INIT may announce MAP_ALIGNMENT.
    bool available() const { return window_size_ != 0 && mapper_.negotiated(); }

    // The pure range rule: len non-zero, all three aligned, [moffset, moffset+len) inside
    // the window, foffset+len neither wraps nor passes INT64_MAX. EINVAL otherwise.
    static vfs::wire::Status check_range(uint64_t window_size, uint64_t foffset, uint64_t len,
                                         uint64_t moffset);

    // Maps file's [foffset, foffset+len) at moffset (as far as the file reaches, see the
    // top), replacing any mapping it overlaps. nodeid names the file for cover() and the
    // syncs. EINVAL for a bad range, EIO if the device is not running or the front-end
    // refused, ENOSPC past kMaxLive or kMaxPieces.
    vfs::wire::Status setup(DataFile file, uint64_t foffset, uint64_t len, uint64_t moffset,
                            bool writable, uint64_t nodeid = kAnyNode);
    // Before a reply that may tell the guest nodeid's size (kAnyNode: any node's): maps
    // what the file grew into since its ranges were covered, and loads tail pages again
    // if the size changed.
    void cover(uint64_t nodeid);
    // Writes the guest's stores to nodeid's tail pages back to the file.
    void write_back(uint64_t nodeid);
    // write_back(), then loads nodeid's tail pages from the file again, then cover().
    void refresh(uint64_t nodeid);
    // Unmaps each range, each of which must be exactly a live mapping (ENOENT, and nothing
    // unmapped, if one is not).
    vfs::wire::Status remove(std::span<const DaxRange> ranges);
    // Forgets every mapping (see the top). Any thread.
    void drop_all(const char* why);

    // Counts and logs a request refused before it reached the table; returns err.
    vfs::wire::Status refuse(int err, const char* why);

    DaxCounters counters() const;
    // One log line with the counters (tests and benchmarks read it).
    void log_counters(const char* when) const;

  private:
    struct Piece {
        uint64_t offset = 0;  // from the range's start
        uint64_t len = 0;
        int tail_page = -1;  // a tail page, or -1: the file
    };
    struct Live {
        uint64_t len = 0;
        memory::FileId id;
        DataFile file;  // keeps the mapped file open
        uint64_t foffset = 0;
        uint64_t nodeid = kAnyNode;
        bool writable = false;
        DaxCoverage coverage;
        std::vector<Piece> pieces;
        uint64_t seen_size = 0;  // the file's size when the tail pages were last loaded
        bool open_ended() const { return !coverage.complete() || has_tail(); }
        bool has_tail() const {
            for (const Piece& p : pieces)
                if (p.tail_page >= 0) return true;
            return false;
        }
    };
    struct Stale {
        DaxRange range;
        memory::FileId id;
        int tail_page = -1;
    };

    // Unmaps what drop_all() left for the front-end; op_mu_ held.
    void unmap_stale();
    // Maps piece p of the range at moffset (file offset foffset): for a tail piece
    // (tail_page >= 0 on entry) takes and loads a tail page, whose number it leaves in
    // tail_page. op_mu_ held, mu_ not. EIO, with nothing mapped, on failure.
    vfs::wire::Status map_piece(const DataFile& file, uint64_t foffset, uint64_t moffset,
                                const memory::FileId& id, bool writable, Piece* p);
    // Unmaps every piece of l (tail pages written back first if l is writable); op_mu_
    // held, mu_ not. False if the front-end refused one.
    bool unmap_live(uint64_t moffset, Live& l);
    // mu_ held: writes l's tail pages back if l is writable; and loads them again, size
    // being the file's size now.
    void write_back_locked(Live& l);
    void reload_tails(Live& l, uint64_t size);
    // Recounts live ranges, pieces, tail pages and open-ended ranges; mu_ held.
    void count_locked();
    const uint64_t window_size_;
    DaxMapper& mapper_;
    memory::WindowFiles& files_;
    std::mutex op_mu_;       // serializes setup()/remove() (held while the front-end answers)
    mutable std::mutex mu_;  // guards the fields below; never held while waiting
    std::map<uint64_t, Live> live_;  // by moffset; disjoint
    std::vector<Stale> stale_;
    uint64_t epoch_ = 0;  // bumped by drop_all()
    DaxCounters counters_;
    DaxTailPages tails_{kTailPages};       // guarded by mu_
    std::atomic<uint32_t> open_ended_{0};  // live ranges cover() may have to extend
};

}  // namespace vfs::host
