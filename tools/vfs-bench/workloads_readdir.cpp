// READDIRPLUS of the 10,000-entry directory, one whole listing per operation: through
// FUSE (OPENDIR, READDIRPLUS with a 4 KiB buffer as the Linux client uses, until an empty
// reply, RELEASEDIR) and natively (getdents64 plus fstatat per entry, what `ls -l` does).
// Each listing must hold every name exactly once, with the inode number on disk.
//
// The lookups READDIRPLUS entries carry are not given back: a guest kernel forgets them
// lazily, and the backend's table is bounded by the 10,000 inodes anyway.
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstring>
#include <vector>

#include "fuse_setup_calls.h"
#include "share_layout.h"
#include "vfs/wire/fuse_client.h"
#include "workload_factories.h"

namespace vfs::bench {

namespace {

// One listing's bookkeeping: which of the names it has seen.
class ListingCheck {
  public:
    void reset() {
        seen_.assign(ShareLayout::kManyCount, false);
        count_ = 0;
    }
    // false (and a failure recorded) for a stranger, a repeat or a wrong inode number.
    bool add(const ShareLayout& share, const char* name, uint32_t len, uint64_t ino,
             Verification& v) {
        if ((len == 1 && name[0] == '.') || (len == 2 && name[0] == '.' && name[1] == '.'))
            return true;
        const int64_t i = ShareLayout::many_index(name, len);
        if (i < 0 || seen_[i] || share.many_inos[i] != ino) {
            v.fail("listing holds an unknown, repeated or wrong entry: " + std::string(name, len));
            return false;
        }
        seen_[i] = true;
        ++count_;
        return true;
    }
    bool complete(Verification& v) {
        ++v.ops_checked;
        if (count_ == ShareLayout::kManyCount) return true;
        v.fail("listing had " + std::to_string(count_) + " of " +
               std::to_string(ShareLayout::kManyCount) + " entries");
        return false;
    }

  private:
    std::vector<bool> seen_;
    uint32_t count_ = 0;
};

class FuseReaddirplus final : public FuseWorkload {
  public:
    FuseReaddirplus(const CellContext& ctx, uint32_t bufsize)
        : ctx_(ctx), bufsize_(bufsize), state_(ctx.depth) {}

    Status setup(FusePipeline& f) override {
        auto dir = fuse_lookup(f, FUSE_ROOT_ID, ShareLayout::kManyDir);
        if (!dir) return Error{dir.error()};
        dir_ = dir->nodeid;
        return {};
    }

    void begin(uint32_t slot, FuseCall* c) override {
        state_[slot].check.reset();
        c->opcode = FUSE_OPENDIR;
        c->nodeid = dir_;
        c->arg.open.flags = O_RDONLY | O_DIRECTORY;
    }

    Step on_reply(uint32_t slot, const FuseCall& sent, const FuseReply& r,
                  FuseCall* next) override {
        SlotState& s = state_[slot];
        if (r.error != 0) {
            verify_.fail("opcode " + std::to_string(sent.opcode) + " failed: errno " +
                         std::to_string(r.error));
            return Step::kFailed;
        }
        if (sent.opcode == FUSE_RELEASEDIR) return Step::kDone;
        uint64_t offset = 0;
        if (sent.opcode == FUSE_OPENDIR) {
            s.fh = static_cast<const fuse_open_out*>(r.body)->fh;
        } else {  // READDIRPLUS
            if (r.data_len == 0) {
                if (!s.check.complete(verify_)) return Step::kFailed;
                next->opcode = FUSE_RELEASEDIR;
                next->nodeid = dir_;
                next->arg.release.fh = s.fh;
                return Step::kNext;
            }
            vfs::wire::DirentReader rd(r.data, r.data_len, true);
            vfs::wire::DirEntry e;
            for (;;) {
                auto more = rd.next(&e);
                if (!more) {
                    verify_.fail("malformed READDIRPLUS reply");
                    return Step::kFailed;
                }
                if (!*more) break;
                if (!s.check.add(*ctx_.share, e.name, e.namelen, e.ino, verify_))
                    return Step::kFailed;
                offset = e.off;
            }
            verify_.bytes_checked += r.data_len;
        }
        next->opcode = FUSE_READDIRPLUS;
        next->nodeid = dir_;
        next->arg.read.fh = s.fh;
        next->arg.read.offset = offset;
        next->arg.read.size = bufsize_;
        next->reply_data = bufsize_;
        return Step::kNext;
    }

    Status teardown(FusePipeline& f) override { return fuse_forget(f, dir_); }

  private:
    struct SlotState {
        uint64_t fh = 0;
        ListingCheck check;
    };
    CellContext ctx_;
    uint32_t bufsize_;
    uint64_t dir_ = 0;
    std::vector<SlotState> state_;
};

// linux_dirent64 as getdents64 lays it out.
struct LinuxDirent64 {
    uint64_t d_ino;
    int64_t d_off;
    unsigned short d_reclen;
    unsigned char d_type;
    char d_name[];
};

class NativeReaddirplus final : public NativeWorkload {
  public:
    explicit NativeReaddirplus(const CellContext& ctx) : ctx_(ctx), check_(ctx.depth) {}

    Status setup() override { return {}; }

    bool op(uint32_t t, uint8_t* buf, Verification& v) override {
        ListingCheck& check = check_[t];
        check.reset();
        const int fd = ::open(ctx_.share->path(ShareLayout::kManyDir).c_str(),
                              O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0) {
            v.fail("open of the directory failed");
            return false;
        }
        bool ok = true;
        for (;;) {
            // glibc's readdir buffer size: what an application listing natively gets.
            const long n = ::syscall(SYS_getdents64, fd, buf, kNativeBuf);
            if (n <= 0) {
                ok = n == 0;
                break;
            }
            for (long pos = 0; pos < n && ok;) {
                const auto* d = reinterpret_cast<const LinuxDirent64*>(buf + pos);
                pos += d->d_reclen;
                struct stat st;
                if (::fstatat(fd, d->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 ||
                    st.st_ino != d->d_ino) {
                    v.fail("fstatat of a listed entry failed");
                    ok = false;
                    break;
                }
                ok = check.add(*ctx_.share, d->d_name, static_cast<uint32_t>(strlen(d->d_name)),
                               d->d_ino, v);
            }
            if (!ok) break;
            v.bytes_checked += static_cast<uint64_t>(n);
        }
        ::close(fd);
        return ok && check.complete(v);
    }

    Status teardown(Verification&) override { return {}; }

    static constexpr uint32_t kNativeBuf = 32 * 1024;

  private:
    CellContext ctx_;
    std::vector<ListingCheck> check_;
};

}  // namespace

std::unique_ptr<FuseWorkload> make_fuse_readdirplus(const CellContext& ctx, uint32_t bufsize) {
    return std::make_unique<FuseReaddirplus>(ctx, bufsize);
}
std::unique_ptr<NativeWorkload> make_native_readdirplus(const CellContext& ctx) {
    return std::make_unique<NativeReaddirplus>(ctx);
}

}  // namespace vfs::bench
