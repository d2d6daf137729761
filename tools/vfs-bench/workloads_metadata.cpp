// GETATTR storm and LOOKUP+FORGET storm, through FUSE and with fstat/fstatat.
//
// GETATTR rotates over 64 files of dir10k so concurrent requests hit different inodes;
// LOOKUP walks all 10,000 names and gives every lookup back with FORGET (on the
// high-priority queue, as the guest kernel does), so the backend's inode table stays the
// size it would in a guest. Every reply's inode number is checked against the disk.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <vector>

#include "fuse_setup_calls.h"
#include "share_layout.h"
#include "workload_factories.h"

namespace vfs::bench {

namespace {

constexpr uint32_t kGetattrTargets = 64;

class FuseGetattr final : public FuseWorkload {
  public:
    explicit FuseGetattr(const CellContext& ctx) : ctx_(ctx), target_(ctx.depth) {}

    Status setup(FusePipeline& f) override {
        auto dir = fuse_lookup(f, FUSE_ROOT_ID, ShareLayout::kManyDir);
        if (!dir) return Error{dir.error()};
        dir_ = dir->nodeid;
        for (uint32_t i = 0; i < kGetattrTargets; ++i) {
            auto e = fuse_lookup(f, dir_, ctx_.share->many_names[i]);
            if (!e) return Error{e.error()};
            nodes_.push_back(e->nodeid);
        }
        return {};
    }

    void begin(uint32_t slot, FuseCall* c) override {
        const uint32_t t = static_cast<uint32_t>(next_++ % kGetattrTargets);
        target_[slot] = t;
        c->opcode = FUSE_GETATTR;
        c->nodeid = nodes_[t];
    }

    Step on_reply(uint32_t slot, const FuseCall&, const FuseReply& r, FuseCall*) override {
        ++verify_.ops_checked;
        if (r.error != 0) {
            verify_.fail("GETATTR failed: errno " + std::to_string(r.error));
            return Step::kFailed;
        }
        const auto& a = *static_cast<const fuse_attr_out*>(r.body);
        if (a.attr.ino != ctx_.share->many_inos[target_[slot]] || !S_ISREG(a.attr.mode)) {
            verify_.fail("GETATTR returned another file's attributes");
            return Step::kFailed;
        }
        return Step::kDone;
    }

    Status teardown(FusePipeline& f) override {
        for (uint64_t n : nodes_)
            if (Status s = fuse_forget(f, n); !s) return s;
        return fuse_forget(f, dir_);
    }

  private:
    CellContext ctx_;
    uint64_t dir_ = 0;
    std::vector<uint64_t> nodes_;
    std::vector<uint32_t> target_;  // per slot
    uint64_t next_ = 0;
};

class FuseLookupForget final : public FuseWorkload {
  public:
    explicit FuseLookupForget(const CellContext& ctx) : ctx_(ctx), target_(ctx.depth) {}

    Status setup(FusePipeline& f) override {
        auto dir = fuse_lookup(f, FUSE_ROOT_ID, ShareLayout::kManyDir);
        if (!dir) return Error{dir.error()};
        dir_ = dir->nodeid;
        return {};
    }

    void begin(uint32_t slot, FuseCall* c) override {
        const uint32_t t = static_cast<uint32_t>(next_++ % ShareLayout::kManyCount);
        target_[slot] = t;
        c->opcode = FUSE_LOOKUP;
        c->nodeid = dir_;
        c->set_name(ctx_.share->many_names[t]);
    }

    Step on_reply(uint32_t slot, const FuseCall& sent, const FuseReply& r,
                  FuseCall* next) override {
        if (sent.opcode == FUSE_FORGET) return Step::kDone;
        ++verify_.ops_checked;
        if (r.error != 0) {
            verify_.fail("LOOKUP failed: errno " + std::to_string(r.error));
            return Step::kFailed;
        }
        const auto& e = *static_cast<const fuse_entry_out*>(r.body);
        if (e.nodeid == 0 || e.attr.ino != ctx_.share->many_inos[target_[slot]]) {
            verify_.fail("LOOKUP returned another file");
            return Step::kFailed;
        }
        next->opcode = FUSE_FORGET;
        next->nodeid = e.nodeid;
        next->arg.forget.nlookup = 1;
        return Step::kNext;
    }

    Status teardown(FusePipeline& f) override { return fuse_forget(f, dir_); }

  private:
    CellContext ctx_;
    uint64_t dir_ = 0;
    std::vector<uint32_t> target_;
    uint64_t next_ = 0;
};

class NativeGetattr final : public NativeWorkload {
  public:
    explicit NativeGetattr(const CellContext& ctx) : ctx_(ctx), counters_(ctx.depth) {}
    ~NativeGetattr() override {
        for (int fd : fds_)
            ::close(fd);
    }

    Status setup() override {
        const std::string dir = ctx_.share->path(ShareLayout::kManyDir) + "/";
        for (uint32_t i = 0; i < kGetattrTargets; ++i) {
            const int fd = ::open((dir + ctx_.share->many_names[i]).c_str(), O_PATH | O_CLOEXEC);
            if (fd < 0) return Error{errno};
            fds_.push_back(fd);
        }
        return {};
    }

    bool op(uint32_t t, uint8_t*, Verification& v) override {
        const uint32_t i = static_cast<uint32_t>(counters_[t].n++ % kGetattrTargets);
        struct stat st;
        ++v.ops_checked;
        if (::fstat(fds_[i], &st) != 0 || st.st_ino != ctx_.share->many_inos[i]) {
            v.fail("fstat failed or returned another file");
            return false;
        }
        return true;
    }

    Status teardown(Verification&) override { return {}; }

  private:
    CellContext ctx_;
    std::vector<int> fds_;
    std::vector<ThreadCounter> counters_;
};

class NativeLookup final : public NativeWorkload {
  public:
    explicit NativeLookup(const CellContext& ctx) : ctx_(ctx), counters_(ctx.depth) {}
    ~NativeLookup() override {
        if (dir_ >= 0) ::close(dir_);
    }

    Status setup() override {
        dir_ = ::open(ctx_.share->path(ShareLayout::kManyDir).c_str(),
                      O_PATH | O_DIRECTORY | O_CLOEXEC);
        return dir_ < 0 ? Status(Error{errno}) : Status{};
    }

    bool op(uint32_t t, uint8_t*, Verification& v) override {
        // Threads take interleaved names, as the FUSE slots do.
        const uint64_t k = counters_[t].n++ * ctx_.depth + t;
        const uint32_t i = static_cast<uint32_t>(k % ShareLayout::kManyCount);
        struct stat st;
        ++v.ops_checked;
        if (::fstatat(dir_, ctx_.share->many_names[i].c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0 ||
            st.st_ino != ctx_.share->many_inos[i]) {
            v.fail("fstatat failed or returned another file");
            return false;
        }
        return true;
    }

    Status teardown(Verification&) override { return {}; }

  private:
    CellContext ctx_;
    int dir_ = -1;
    std::vector<ThreadCounter> counters_;
};

}  // namespace

std::unique_ptr<FuseWorkload> make_fuse_getattr(const CellContext& ctx) {
    return std::make_unique<FuseGetattr>(ctx);
}
std::unique_ptr<FuseWorkload> make_fuse_lookup_forget(const CellContext& ctx) {
    return std::make_unique<FuseLookupForget>(ctx);
}
std::unique_ptr<NativeWorkload> make_native_getattr(const CellContext& ctx) {
    return std::make_unique<NativeGetattr>(ctx);
}
std::unique_ptr<NativeWorkload> make_native_lookup(const CellContext& ctx) {
    return std::make_unique<NativeLookup>(ctx);
}

}  // namespace vfs::bench
