// Sequential and 4 KiB random reads of read.dat, through FUSE READ and with pread.
//
// Every reply is checked cheaply (length, and each 4 KiB block's first pattern word);
// one operation in kFullCheckEvery, or all with --verify-all, is compared byte for byte,
// so the harness's own memcmp does not dominate what is measured.
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include <atomic>
#include <vector>

#include "content_pattern.h"
#include "fuse_setup_calls.h"
#include "share_layout.h"
#include "workload_factories.h"

namespace vfs::bench {

namespace {

constexpr uint64_t kFullCheckEvery = 8;
constexpr uint64_t kFileBytes = ShareLayout::kReadBytes;

uint64_t xorshift(uint64_t* s) {
    uint64_t x = *s;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return *s = x;
}

// Where the next read goes, shared by FUSE slots and native threads alike.
class Offsets {
  public:
    Offsets(uint32_t block, bool random, uint32_t streams)
        : block_(block), random_(random), rng_(streams) {
        for (uint32_t i = 0; i < streams; ++i)
            rng_[i].n = 0x9e3779b97f4a7c15ull * (i + 1);
    }
    uint64_t next(uint32_t stream) {
        if (random_) return (xorshift(&rng_[stream].n) % (kFileBytes / block_)) * block_;
        return cursor_.fetch_add(block_, std::memory_order_relaxed) % kFileBytes;
    }

  private:
    uint32_t block_;
    bool random_;
    std::atomic<uint64_t> cursor_{0};
    std::vector<ThreadCounter> rng_;
};

// Checks one read's bytes; counts and records what it checked.
bool check_read(const CellContext& ctx, const uint8_t* data, uint64_t len, uint64_t off,
                uint64_t want, uint64_t op_index, Verification& v) {
    ++v.ops_checked;
    if (len != want) {
        v.fail("short read: " + std::to_string(len) + " of " + std::to_string(want) + " bytes at " +
               std::to_string(off));
        return false;
    }
    if (!block_stamps_match(data, ctx.share->read_seed, off, len)) {
        v.fail("wrong data at offset " + std::to_string(off));
        return false;
    }
    if (ctx.verify_all || op_index % kFullCheckEvery == 0) {
        if (memcmp(data, ctx.share->read_expected.get() + off, len) != 0) {
            v.fail("wrong data inside the block read at " + std::to_string(off));
            return false;
        }
        v.bytes_checked += len;
    }
    return true;
}

class FuseRead final : public FuseWorkload {
  public:
    FuseRead(const CellContext& ctx, uint32_t block, bool random)
        : ctx_(ctx), block_(block), offsets_(block, random, ctx.depth), off_(ctx.depth) {}

    Status setup(FusePipeline& f) override {
        auto e = fuse_lookup(f, FUSE_ROOT_ID, ShareLayout::kReadFile);
        if (!e) return Error{e.error()};
        node_ = e->nodeid;
        auto fh = fuse_open(f, node_, O_RDONLY);
        if (!fh) return Error{fh.error()};
        fh_ = *fh;
        return {};
    }

    void begin(uint32_t slot, FuseCall* c) override {
        off_[slot] = offsets_.next(slot);
        c->opcode = FUSE_READ;
        c->nodeid = node_;
        c->arg.read.fh = fh_;
        c->arg.read.offset = off_[slot];
        c->arg.read.size = block_;
        c->arg.read.flags = O_RDONLY;
        c->reply_data = block_;
    }

    Step on_reply(uint32_t slot, const FuseCall&, const FuseReply& r, FuseCall*) override {
        if (r.error != 0) {
            verify_.fail("READ failed: errno " + std::to_string(r.error));
            return Step::kFailed;
        }
        return check_read(ctx_, r.data, r.data_len, off_[slot], block_, ops_++, verify_)
                   ? Step::kDone
                   : Step::kFailed;
    }

    Status teardown(FusePipeline& f) override {
        if (Status s = fuse_release(f, node_, fh_); !s) return s;
        return fuse_forget(f, node_);
    }

  private:
    CellContext ctx_;
    uint32_t block_;
    Offsets offsets_;
    std::vector<uint64_t> off_;  // per slot
    uint64_t node_ = 0, fh_ = 0, ops_ = 0;
};

class NativeRead final : public NativeWorkload {
  public:
    NativeRead(const CellContext& ctx, uint32_t block, bool random)
        : ctx_(ctx), block_(block), offsets_(block, random, ctx.depth), ops_(ctx.depth) {}
    ~NativeRead() override {
        if (fd_ >= 0) ::close(fd_);
    }

    Status setup() override {
        fd_ = ::open(ctx_.share->path(ShareLayout::kReadFile).c_str(), O_RDONLY | O_CLOEXEC);
        return fd_ < 0 ? Status(Error{errno}) : Status{};
    }

    bool op(uint32_t t, uint8_t* buf, Verification& v) override {
        const uint64_t off = offsets_.next(t);
        const ssize_t n = ::pread(fd_, buf, block_, static_cast<off_t>(off));
        const uint64_t got = n < 0 ? 0 : static_cast<uint64_t>(n);
        return check_read(ctx_, buf, got, off, block_, ops_[t].n++, v);
    }

    Status teardown(Verification&) override { return {}; }

  private:
    CellContext ctx_;
    uint32_t block_;
    Offsets offsets_;
    std::vector<ThreadCounter> ops_;
    int fd_ = -1;
};

}  // namespace

std::unique_ptr<FuseWorkload> make_fuse_read(const CellContext& ctx, uint32_t block, bool random) {
    return std::make_unique<FuseRead>(ctx, block, random);
}
std::unique_ptr<NativeWorkload> make_native_read(const CellContext& ctx, uint32_t block,
                                                 bool random) {
    return std::make_unique<NativeRead>(ctx, block, random);
}

}  // namespace vfs::bench
