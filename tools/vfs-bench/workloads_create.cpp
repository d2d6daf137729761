// create+release+unlink, through FUSE (CREATE, RELEASE, UNLINK, then the FORGET the guest
// kernel sends once the dentry goes, so the backend does not hold one inode per file
// ever created) and with openat/close/unlinkat. Each name is used once. Every step's
// reply is checked, and the directory must be empty on disk afterwards.
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <vector>

#include "fuse_setup_calls.h"
#include "share_layout.h"
#include "workload_factories.h"

namespace vfs::bench {

namespace {

constexpr uint32_t kCreateFlags = O_WRONLY | O_CREAT | O_EXCL;

// Nothing but . and .. left in dir.
void check_empty(const std::string& dir, Verification& v) {
    DIR* d = ::opendir(dir.c_str());
    if (!d) {
        v.fail("cannot list " + dir);
        return;
    }
    while (dirent* e = ::readdir(d)) {
        const std::string n = e->d_name;
        if (n != "." && n != "..") {
            v.fail("a created file was not removed: " + n);
            break;
        }
    }
    ::closedir(d);
}

class FuseCreateUnlink final : public FuseWorkload {
  public:
    explicit FuseCreateUnlink(const CellContext& ctx) : ctx_(ctx), state_(ctx.depth) {}

    Status setup(FusePipeline& f) override {
        auto dir = fuse_lookup(f, FUSE_ROOT_ID, ShareLayout::kCreateDir);
        if (!dir) return Error{dir.error()};
        dir_ = dir->nodeid;
        return {};
    }

    void begin(uint32_t slot, FuseCall* c) override {
        SlotState& s = state_[slot];
        s.name_len = static_cast<uint32_t>(snprintf(s.name, sizeof(s.name), "c%u-%llu", slot,
                                                    static_cast<unsigned long long>(s.seq++)));
        c->opcode = FUSE_CREATE;
        c->nodeid = dir_;
        c->arg.create.flags = kCreateFlags;
        c->arg.create.mode = S_IFREG | 0644;
        c->set_name({s.name, s.name_len});
    }

    Step on_reply(uint32_t slot, const FuseCall& sent, const FuseReply& r,
                  FuseCall* next) override {
        SlotState& s = state_[slot];
        if (sent.opcode == FUSE_FORGET) return Step::kDone;
        if (r.error != 0) {
            verify_.fail("opcode " + std::to_string(sent.opcode) + " failed: errno " +
                         std::to_string(r.error));
            return Step::kFailed;
        }
        switch (sent.opcode) {
            case FUSE_CREATE: {
                ++verify_.ops_checked;
                const auto& c = *static_cast<const vfs::wire::CreateOut*>(r.body);
                if (c.entry.nodeid == 0 || !S_ISREG(c.entry.attr.mode)) {
                    verify_.fail("CREATE did not return a regular file");
                    return Step::kFailed;
                }
                s.node = c.entry.nodeid;
                next->opcode = FUSE_RELEASE;
                next->nodeid = s.node;
                next->arg.release.fh = c.open.fh;
                next->arg.release.flags = kCreateFlags & ~(O_CREAT | O_EXCL);
                return Step::kNext;
            }
            case FUSE_RELEASE:
                next->opcode = FUSE_UNLINK;
                next->nodeid = dir_;
                next->set_name({s.name, s.name_len});
                return Step::kNext;
            default:  // UNLINK
                next->opcode = FUSE_FORGET;
                next->nodeid = s.node;
                next->arg.forget.nlookup = 1;
                return Step::kNext;
        }
    }

    Status teardown(FusePipeline& f) override {
        check_empty(ctx_.share->path(ShareLayout::kCreateDir), verify_);
        return fuse_forget(f, dir_);
    }

  private:
    struct SlotState {
        char name[32];
        uint32_t name_len = 0;
        uint64_t seq = 0;
        uint64_t node = 0;
    };
    CellContext ctx_;
    uint64_t dir_ = 0;
    std::vector<SlotState> state_;
};

class NativeCreateUnlink final : public NativeWorkload {
  public:
    explicit NativeCreateUnlink(const CellContext& ctx) : ctx_(ctx), seq_(ctx.depth) {}
    ~NativeCreateUnlink() override {
        if (dir_ >= 0) ::close(dir_);
    }

    Status setup() override {
        dir_ = ::open(ctx_.share->path(ShareLayout::kCreateDir).c_str(),
                      O_PATH | O_DIRECTORY | O_CLOEXEC);
        return dir_ < 0 ? Status(Error{errno}) : Status{};
    }

    bool op(uint32_t t, uint8_t*, Verification& v) override {
        char name[32];
        snprintf(name, sizeof(name), "n%u-%llu", t, static_cast<unsigned long long>(seq_[t].n++));
        ++v.ops_checked;
        const int fd = ::openat(dir_, name, kCreateFlags | O_CLOEXEC, 0644);
        if (fd < 0) {
            v.fail("openat(O_CREAT|O_EXCL) failed");
            return false;
        }
        ::close(fd);
        if (::unlinkat(dir_, name, 0) != 0) {
            v.fail("unlinkat failed");
            return false;
        }
        return true;
    }

    Status teardown(Verification& v) override {
        check_empty(ctx_.share->path(ShareLayout::kCreateDir), v);
        return {};
    }

  private:
    CellContext ctx_;
    int dir_ = -1;
    std::vector<ThreadCounter> seq_;
};

}  // namespace

std::unique_ptr<FuseWorkload> make_fuse_create_unlink(const CellContext& ctx) {
    return std::make_unique<FuseCreateUnlink>(ctx);
}
std::unique_ptr<NativeWorkload> make_native_create_unlink(const CellContext& ctx) {
    return std::make_unique<NativeCreateUnlink>(ctx);
}

}  // namespace vfs::bench
