#include "migration/state_load.h"

#include <fcntl.h>
#include <sys/stat.h>

#include <spdlog/spdlog.h>

#include <cstring>
#include <unordered_map>

#include "migration/fs_access.h"
#include "migration/host_paths.h"

namespace vfs::host::migration {

using vfs::wire::Error;
using vfs::wire::Result;
using vfs::wire::Status;

namespace {

// Ids past this are refused: the tables count up from them and must never wrap.
constexpr uint64_t kMaxId = 1ull << 62;
// What a reopened handle keeps of the source's F_GETFL: the access mode and the flags an
// OPEN may carry; never O_CREAT, O_TRUNC, O_PATH or anything else with an effect.
constexpr uint32_t kKeptOpenFlags =
    O_ACCMODE | O_APPEND | O_NONBLOCK | O_DIRECT | O_NOATIME | O_SYNC | O_DSYNC | O_LARGEFILE;

bool known_type(uint32_t t) {
    switch (t) {
        case S_IFREG:
        case S_IFDIR:
        case S_IFLNK:
        case S_IFIFO:
        case S_IFSOCK:
        case S_IFCHR:
        case S_IFBLK:
            return true;
        default:
            return false;
    }
}

Status check_consistent(const State& s) {
    if (s.next_nodeid > kMaxId || s.next_fh > kMaxId) return Error{EINVAL};
    std::unordered_map<uint64_t, const InodeRecord*> by_id;
    for (const InodeRecord& i : s.inodes) {
        if (i.nodeid <= 1 || i.nodeid >= s.next_nodeid || !known_type(i.type)) return Error{EINVAL};
        if (!by_id.emplace(i.nodeid, &i).second) return Error{EINVAL};
    }
    std::unordered_map<uint64_t, bool> fhs;
    for (const HandleRecord& h : s.handles) {
        if (h.fh == 0 || h.fh >= s.next_fh || !fhs.emplace(h.fh, true).second) return Error{EINVAL};
        // A handle on the root is allowed (opendir of the share); otherwise it needs a
        // sent inode of its own kind.
        if (h.nodeid == 1) {
            if (!h.is_dir) return Error{EINVAL};
            continue;
        }
        auto it = by_id.find(h.nodeid);
        if (it == by_id.end() || (it->second->type == S_IFDIR) != h.is_dir) return Error{EINVAL};
    }
    return {};
}

// The session must be one this daemon could have negotiated: a minor it speaks and no
// flag its own INIT would not have agreed to with these options.
Status check_session(const SessionRecord& r, const FsOptions& opts) {
    if (!r.initialized) return r.minor == 0 && r.flags == 0 ? Status{} : Status{Error{EINVAL}};
    if (r.minor > FUSE_KERNEL_MINOR_VERSION) return Error{EINVAL};
    fuse_init_in everything{};
    everything.major = FUSE_KERNEL_VERSION;
    everything.minor = r.minor;
    everything.flags = ~0u;
    everything.flags2 = ~0u;
    auto n = negotiate_init(everything, sizeof(everything), opts);
    if (!n || n->proto.minor != r.minor || (r.flags & ~n->flags) != 0) return Error{EINVAL};
    return {};
}

// An O_PATH fd on the inode a record names, checked to be that inode and inside the share.
Result<UniqueFd> resolve(PassthroughFs& fs, const std::string& root_path, const InodeRecord& rec,
                         const Options& opts) {
    const int root = FsAccess::root_fd(fs);
    UniqueFd fd;
    if (rec.locator == Locator::kPath) {
        auto r = open_beneath(root, rec.path);
        if (!r) return Error{r.error()};
        fd = std::move(*r);
    } else if (rec.locator == Locator::kHandle) {
        // open_by_handle_at reaches any inode of the file system, so the result must also
        // be reachable by a path inside the share before it is served.
        auto mount_fd = FsAccess::reopen(fs, *FsAccess::inodes(fs).get(1), O_RDONLY | O_DIRECTORY);
        if (!mount_fd) return Error{mount_fd.error()};
        struct {
            file_handle head;
            unsigned char room[FileHandle::kMaxBytes];
        } buf{};
        buf.head.handle_bytes = rec.handle.size;
        buf.head.handle_type = rec.handle.type;
        std::memcpy(buf.head.f_handle, rec.handle.bytes, rec.handle.size);
        const int raw = ::open_by_handle_at(mount_fd->get(), &buf.head, O_PATH | O_CLOEXEC);
        if (raw < 0) return Error{errno};
        UniqueFd opened(raw);
        auto rel = relative_path(FsAccess::proc_self_fd(fs), root_path, opened.get());
        if (!rel) return Error{rel.error()};
        auto again = open_beneath(root, *rel);
        if (!again) return Error{again.error()};
        struct stat a {
        }, b{};
        if (::fstat(opened.get(), &a) != 0 || ::fstat(again->get(), &b) != 0) return Error{errno};
        if (!same_inode(a, b)) return Error{ESTALE};
        fd = std::move(*again);
    } else {
        return Error{EIO};
    }
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0) return Error{errno};
    if ((st.st_mode & S_IFMT) != rec.type) return Error{ESTALE};
    if (opts.verify_handles && rec.has_handle) {
        auto mine = handle_of(fd.get());
        if (!mine) return Error{mine.error()};
        if (!same_handle(*mine, rec.handle)) return Error{ESTALE};
    }
    return fd;
}

// A lost inode: no fd and no handle, so every operation on it answers EIO.
InodeRef lost_inode(const InodeRecord& rec) {
    auto i = std::make_shared<Inode>();
    i->nodeid = rec.nodeid;
    i->type = rec.type;
    i->nlookup = rec.nlookup;
    return i;
}

// The inode as a lookup of fd would have made it (key, and a file handle instead of the
// fd where the destination holds inodes by handle).
Result<InodeRef> make_inode(PassthroughFs& fs, const InodeRecord& rec, UniqueFd fd) {
    auto key = FsAccess::key_of(fs, fd.get());
    if (!key) return Error{key.error()};
    auto i = std::make_shared<Inode>();
    i->nodeid = rec.nodeid;
    i->key = *key;
    i->type = rec.type;
    i->nlookup = rec.nlookup;
    if (FsAccess::uses_file_handles(fs)) {
        if (auto h = FsAccess::file_handles(fs).encode(fd.get(), key->mnt_id)) {
            i->handle = std::make_unique<const FileHandle>(*h);
            fd.reset();
        }
    }
    FdBudget& budget = fd.valid() ? FsAccess::fd_budget(fs) : FsAccess::handle_budget(fs);
    i->token = budget.take();
    if (!i->token) return Error{EMFILE};
    i->fd = std::move(fd);
    return i;
}

}  // namespace

Status load_state(PassthroughFs& fs, Session& session, const State& s, const Options& opts) {
    if (FsAccess::inodes(fs).size() > 1 || FsAccess::handles(fs).size() != 0 ||
        session.initialized()) {
        spdlog::error("migration: the destination already serves a guest; state refused");
        return Error{EBUSY};
    }
    if (Status c = check_consistent(s); !c) {
        spdlog::error("migration: inconsistent state refused");
        return c;
    }
    if (Status c = check_session(s.session, FsAccess::options(fs)); !c) {
        spdlog::error("migration: the session's protocol or flags are not ours; state refused");
        return c;
    }
    auto root_path = fd_path(FsAccess::proc_self_fd(fs), FsAccess::root_fd(fs));
    if (!root_path) return Error{root_path.error()};

    size_t lost = 0;
    auto give_up = [&](uint64_t what, const char* kind, int err) -> bool {
        spdlog::error("migration: {} {} cannot be re-established: {}", kind, what, strerror(err));
        ++lost;
        return opts.on_error == OnError::kAbort;
    };
    std::unordered_map<uint64_t, InodeRef> inodes;
    for (const InodeRecord& rec : s.inodes) {
        InodeRef made;
        if (rec.locator == Locator::kLost) {
            if (give_up(rec.nodeid, "node", EIO)) return Error{EIO};
            made = lost_inode(rec);
        } else {
            auto fd = resolve(fs, *root_path, rec, opts);
            Result<InodeRef> in = fd ? make_inode(fs, rec, std::move(*fd)) : Error{fd.error()};
            if (!in) {
                if (give_up(rec.nodeid, "node", in.error())) return Error{in.error()};
                made = lost_inode(rec);
            } else {
                made = std::move(*in);
            }
        }
        inodes.emplace(rec.nodeid, std::move(made));
    }

    struct Opened {
        uint64_t fh;
        HandleRef h;
    };
    std::vector<Opened> handles;
    handles.reserve(s.handles.size());
    for (const HandleRecord& rec : s.handles) {
        auto h = std::make_shared<Handle>(rec.is_dir);
        h->inode = rec.nodeid == 1 ? FsAccess::inodes(fs).get(1) : inodes.at(rec.nodeid);
        const int flags = rec.is_dir ? (O_RDONLY | O_DIRECTORY)
                                     : static_cast<int>(rec.open_flags & kKeptOpenFlags);
        h->direct = !rec.is_dir && (flags & O_DIRECT);
        const bool inode_lost = !h->inode->fd.valid() && !h->inode->handle;
        Result<UniqueFd> fd =
            inode_lost ? Result<UniqueFd>(Error{EIO}) : FsAccess::reopen(fs, *h->inode, flags);
        if (fd) {
            h->fd_token = FsAccess::fd_budget(fs).take();
            if (!h->fd_token) fd = Error{EMFILE};
        }
        if (fd) {
            h->fd = std::move(*fd);
        } else if (!inode_lost && give_up(rec.fh, "open handle", fd.error())) {
            return Error{fd.error()};
        }
        handles.push_back({rec.fh, std::move(h)});
    }

    // Everything resolved: install it.
    for (auto& [id, inode] : inodes) {
        if (inode->nlookup == 0) continue;  // only its handles hold it
        const bool index = inode->fd.valid() || inode->handle;
        if (!FsAccess::inodes(fs).restore(inode, index, s.next_nodeid)) return Error{EINVAL};
    }
    for (auto& o : handles)
        if (!FsAccess::handles(fs).restore(o.fh, std::move(o.h), s.next_fh)) return Error{EINVAL};
    if (s.session.initialized) {
        NegotiatedInit n;
        n.flags = s.session.flags;
        n.proto.minor = s.session.minor;
        session.begin(n);
    }
    spdlog::info("migration: loaded {} inodes, {} open handles ({} entries lost), session {}",
                 s.inodes.size(), s.handles.size(), lost,
                 s.session.initialized ? "resumed" : "not initialized");
    return {};
}

}  // namespace vfs::host::migration
