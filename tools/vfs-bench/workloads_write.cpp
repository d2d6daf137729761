// Sequential writes (4 KiB and 1 MiB) into a fresh file per cell, through FUSE WRITE and
// with pwrite. The data is this cell's pattern (a seed no other cell uses), and the file
// is read back from disk afterwards: every byte the run covered must be the pattern.
//
// The payload comes straight from one pattern buffer (in guest memory for FUSE), as a
// guest's page cache would hand it over: no per-request copy on either side.
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include <atomic>
#include <memory>
#include <vector>

#include "content_pattern.h"
#include "fuse_setup_calls.h"
#include "share_layout.h"
#include "workload_factories.h"

namespace vfs::bench {

namespace {

constexpr uint64_t kWrap = ShareLayout::kWriteWrapBytes;

std::string file_name(const CellContext& ctx, uint32_t block) {
    return "w-" + ctx.backend + "-" + std::to_string(block) + "-qd" + std::to_string(ctx.depth) +
           "-" + std::to_string(ctx.seed);
}

// Reads back [0, covered) of path and compares it with the pattern in expected.
void check_on_disk(const std::string& path, const uint8_t* expected, uint64_t covered,
                   Verification& v) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        v.fail("written file missing on disk: " + path);
        return;
    }
    std::unique_ptr<uint8_t[]> buf(new uint8_t[1 << 20]);
    for (uint64_t off = 0; off < covered;) {
        const uint64_t want = covered - off < (1u << 20) ? covered - off : (1u << 20);
        const ssize_t n = ::pread(fd, buf.get(), want, static_cast<off_t>(off));
        if (n != static_cast<ssize_t>(want) || memcmp(buf.get(), expected + off, want) != 0) {
            v.fail("file on disk differs from what was written, in the MiB at " +
                   std::to_string(off));
            break;
        }
        off += want;
        v.bytes_checked += want;
    }
    ::close(fd);
}

class FuseWrite final : public FuseWorkload {
  public:
    FuseWrite(const CellContext& ctx, uint32_t block) : ctx_(ctx), block_(block) {}

    Status setup(FusePipeline& f) override {
        pattern_ = f.scratch();
        fill_pattern(pattern_, ctx_.seed, 0, kWrap);
        auto dir = fuse_lookup(f, FUSE_ROOT_ID, ShareLayout::kWriteDir);
        if (!dir) return Error{dir.error()};
        dir_ = dir->nodeid;
        name_ = file_name(ctx_, block_);
        auto c = fuse_create(f, dir_, name_, O_RDWR | O_CREAT | O_TRUNC, S_IFREG | 0644);
        if (!c) return Error{c.error()};
        node_ = c->entry.nodeid;
        fh_ = c->open.fh;
        return {};
    }

    void begin(uint32_t, FuseCall* c) override {
        const uint64_t off = (written_ops_issued_++ * block_) % kWrap;
        c->opcode = FUSE_WRITE;
        c->nodeid = node_;
        c->arg.write.fh = fh_;
        c->arg.write.offset = off;
        c->arg.write.size = block_;
        c->arg.write.flags = O_RDWR;
        c->write_data = pattern_ + off;
    }

    Step on_reply(uint32_t, const FuseCall&, const FuseReply& r, FuseCall*) override {
        ++verify_.ops_checked;
        if (r.error != 0) {
            verify_.fail("WRITE failed: errno " + std::to_string(r.error));
            return Step::kFailed;
        }
        if (static_cast<const fuse_write_out*>(r.body)->size != block_) {
            verify_.fail("short WRITE");
            return Step::kFailed;
        }
        return Step::kDone;
    }

    Status teardown(FusePipeline& f) override {
        Status s = fuse_release(f, node_, fh_);
        if (s) s = fuse_forget(f, node_);
        if (s) s = fuse_forget(f, dir_);
        // Every issued write completed (the pipeline drains), so the file holds the
        // pattern up to what was issued, wrapped.
        const uint64_t total = written_ops_issued_ * block_;
        const std::string path = ctx_.share->path(ShareLayout::kWriteDir) + "/" + name_;
        check_on_disk(path, pattern_, total < kWrap ? total : kWrap, verify_);
        ::unlink(path.c_str());
        return s;
    }

  private:
    CellContext ctx_;
    uint32_t block_;
    uint8_t* pattern_ = nullptr;
    std::string name_;
    uint64_t dir_ = 0, node_ = 0, fh_ = 0;
    uint64_t written_ops_issued_ = 0;
};

class NativeWrite final : public NativeWorkload {
  public:
    NativeWrite(const CellContext& ctx, uint32_t block)
        : ctx_(ctx), block_(block), pattern_(new uint8_t[kWrap]) {}
    ~NativeWrite() override {
        if (fd_ >= 0) ::close(fd_);
    }

    Status setup() override {
        fill_pattern(pattern_.get(), ctx_.seed, 0, kWrap);
        path_ = ctx_.share->path(ShareLayout::kWriteDir) + "/" + file_name(ctx_, block_);
        fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        return fd_ < 0 ? Status(Error{errno}) : Status{};
    }

    bool op(uint32_t, uint8_t*, Verification& v) override {
        const uint64_t n = issued_.fetch_add(1, std::memory_order_relaxed);
        const uint64_t off = (n * block_) % kWrap;
        ++v.ops_checked;
        if (::pwrite(fd_, pattern_.get() + off, block_, static_cast<off_t>(off)) !=
            static_cast<ssize_t>(block_)) {
            v.fail("pwrite failed or was short");
            return false;
        }
        return true;
    }

    Status teardown(Verification& v) override {
        ::close(fd_);
        fd_ = -1;
        const uint64_t total = issued_.load() * block_;
        check_on_disk(path_, pattern_.get(), total < kWrap ? total : kWrap, v);
        ::unlink(path_.c_str());
        return {};
    }

  private:
    CellContext ctx_;
    uint32_t block_;
    std::unique_ptr<uint8_t[]> pattern_;
    std::string path_;
    int fd_ = -1;
    std::atomic<uint64_t> issued_{0};
};

}  // namespace

std::unique_ptr<FuseWorkload> make_fuse_write(const CellContext& ctx, uint32_t block) {
    return std::make_unique<FuseWrite>(ctx, block);
}
std::unique_ptr<NativeWorkload> make_native_write(const CellContext& ctx, uint32_t block) {
    return std::make_unique<NativeWrite>(ctx, block);
}

}  // namespace vfs::bench
