// What a benchmark workload is: a name, the I/O size it moves per operation, and two
// implementations of the same operations, one through FUSE (a small state machine per
// in-flight slot, driven by FusePipeline) and one with plain syscalls on the shared
// directory (driven by NativeRunner). Both check what they read or wrote.
#pragma once

#include <linux/fuse.h>
#include <stdint.h>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "vfs/wire/fuse_opcodes.h"
#include "vfs/wire/result.h"

namespace vfs::bench {

using vfs::wire::Error;
using vfs::wire::Result;
using vfs::wire::Status;

enum class WorkloadKind {
    kGetattr,
    kLookupForget,
    kRandRead4k,
    kSeqRead4k,
    kSeqRead64k,
    kSeqRead1m,
    kSeqWrite4k,
    kSeqWrite1m,
    kCreateUnlink,
    kReaddirplus10k,
};

struct WorkloadSpec {
    WorkloadKind kind;
    const char* name;      // as --workloads and the JSON name it
    uint32_t block_bytes;  // data moved per operation (0: metadata only)
    uint32_t reply_bytes;  // data buffer a reply needs (READ size, READDIRPLUS buffer)
};

const std::vector<WorkloadSpec>& all_workloads();
const WorkloadSpec* find_workload(std::string_view name);

// What a cell checked, and the first thing that was wrong.
struct Verification {
    uint64_t ops_checked = 0;    // operations whose result was checked at all
    uint64_t bytes_checked = 0;  // bytes compared in full against the pattern
    uint64_t failures = 0;
    std::string first_failure;

    void fail(std::string what) {
        if (failures++ == 0) first_failure = std::move(what);
    }
    bool ok() const { return failures == 0 && ops_checked > 0; }
};

// The files the benchmark prepared in the shared directory (see share_layout.h).
struct ShareLayout;

// Everything a workload instance needs for one cell.
struct CellContext {
    const ShareLayout* share = nullptr;
    std::string backend;      // for per-cell file names
    uint32_t depth = 1;       // requests in flight (FUSE) or threads (native)
    uint64_t seed = 1;        // this cell's pattern seed for written data
    bool verify_all = false;  // compare every byte of every read, not a sample
};

// One FUSE request a workload wants sent from a slot. The pipeline builds it with the
// codec into the slot's guest buffers.
struct FuseCall {
    uint32_t opcode = 0;
    uint64_t nodeid = 0;
    union Arg {
        fuse_getattr_in getattr;
        fuse_forget_in forget;
        fuse_open_in open;
        fuse_create_in create;
        fuse_read_in read;
        fuse_write_in write;
        fuse_release_in release;
    } arg{};
    char name[64] = {};  // the request's one name, if its opcode takes one
    uint32_t name_len = 0;
    const uint8_t* write_data = nullptr;  // in guest memory; arg.write.size bytes
    uint32_t reply_data = 0;              // data bytes the reply may carry (READ, READDIR)

    // Copies n; false (and nothing set) if it does not fit.
    bool set_name(std::string_view n);
};

// A decoded reply as the workload sees it.
struct FuseReply {
    int error = 0;                  // positive errno from the server
    const void* body = nullptr;     // the reply struct (entry, attr, open, ...)
    const uint8_t* data = nullptr;  // reply data (READ bytes, dirents)
    uint64_t data_len = 0;
};

class FusePipeline;

class FuseWorkload {
  public:
    enum class Step { kNext, kDone, kFailed };

    virtual ~FuseWorkload() = default;
    // Untimed: lookups, opens and file creation the operations need.
    virtual Status setup(FusePipeline& fuse) = 0;
    // The first request of a new operation in slot.
    virtual void begin(uint32_t slot, FuseCall* call) = 0;
    // slot's last request was answered: fill *next and return kNext, or kDone when the
    // operation is complete, or kFailed (recorded in verification()).
    virtual Step on_reply(uint32_t slot, const FuseCall& sent, const FuseReply& reply,
                          FuseCall* next) = 0;
    // Untimed: handles released, nodes forgotten, written files checked on disk.
    virtual Status teardown(FusePipeline& fuse) = 0;

    Verification& verification() { return verify_; }

  protected:
    Verification verify_;
};

class NativeWorkload {
  public:
    virtual ~NativeWorkload() = default;
    // Untimed: files opened, names and inode numbers gathered.
    virtual Status setup() = 0;
    // One whole operation on thread t, with a scratch buffer of the workload's reply_bytes
    // and that thread's own Verification (threads share nothing mutable but atomics).
    // False if it failed.
    virtual bool op(uint32_t thread, uint8_t* scratch, Verification& v) = 0;
    // Untimed: files closed, written files checked on disk.
    virtual Status teardown(Verification& v) = 0;
};

std::unique_ptr<FuseWorkload> make_fuse_workload(const WorkloadSpec& spec, const CellContext& ctx);
std::unique_ptr<NativeWorkload> make_native_workload(const WorkloadSpec& spec,
                                                     const CellContext& ctx);

}  // namespace vfs::bench
