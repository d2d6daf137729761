#include "migration/state_save.h"

#include <fcntl.h>
#include <sys/stat.h>

#include <spdlog/spdlog.h>

#include <cstring>
#include <unordered_set>

#include "migration/fs_access.h"
#include "migration/host_paths.h"

namespace vfs::host::migration {

using vfs::wire::Error;
using vfs::wire::Result;

namespace {

// Fills in how the destination finds `inode`, or returns why it cannot be named.
Result<InodeRecord> name_inode(PassthroughFs& fs, const Inode& inode, const std::string& root_path,
                               const Options& opts) {
    InodeRecord rec;
    rec.nodeid = inode.nodeid;
    rec.nlookup = inode.nlookup;
    rec.type = inode.type;
    auto fd = FsAccess::path_fd(fs, inode);
    if (!fd) return Error{fd.error()};
    if (opts.mode == Mode::kFileHandles || opts.verify_handles) {
        auto h = handle_of(fd->get());
        if (!h) return Error{h.error()};
        rec.handle = *h;
        rec.has_handle = true;
    }
    if (opts.mode == Mode::kFileHandles) {
        rec.locator = Locator::kHandle;
        return rec;
    }
    auto rel = relative_path(FsAccess::proc_self_fd(fs), root_path, fd->get());
    if (!rel) return Error{rel.error()};
    if (opts.confirm_paths) {
        // Someone else may write the share: check the path still leads to this inode.
        struct stat want {
        }, got{};
        auto again = open_beneath(FsAccess::root_fd(fs), *rel);
        if (!again) return Error{again.error()};
        if (::fstat(fd->get(), &want) != 0 || ::fstat(again->get(), &got) != 0) return Error{errno};
        if (!same_inode(want, got)) return Error{ESTALE};
    }
    rec.locator = Locator::kPath;
    rec.path = std::move(*rel);
    return rec;
}

}  // namespace

Result<State> save_state(PassthroughFs& fs, const Session& session, const Options& opts) {
    State s;
    s.session.initialized = session.initialized();
    s.session.minor = session.proto().minor;
    s.session.flags = session.flags();
    auto root_path = fd_path(FsAccess::proc_self_fd(fs), FsAccess::root_fd(fs));
    if (!root_path) return Error{root_path.error()};

    // The table's inodes, then those only open handles still hold (the guest forgot
    // them while a file stayed open): sent with no lookups, to back their handles.
    std::vector<InodeRef> inodes;
    std::unordered_set<uint64_t> in_table;
    FsAccess::inodes(fs).for_each([&](const InodeRef& i) {
        inodes.push_back(i);
        in_table.insert(i->nodeid);
    });
    FsAccess::handles(fs).for_each([&](uint64_t fh, const HandleRef& h) {
        HandleRecord rec;
        rec.fh = fh;
        rec.nodeid = h->inode->nodeid;
        rec.is_dir = h->is_dir;
        const int fl = h->is_dir ? (O_RDONLY | O_DIRECTORY) : ::fcntl(h->fd.get(), F_GETFL);
        rec.open_flags = fl < 0 ? 0 : static_cast<uint32_t>(fl);
        s.handles.push_back(rec);
        if (h->inode->nodeid != 1 && in_table.insert(h->inode->nodeid).second)
            inodes.push_back(h->inode);
    });
    s.next_nodeid = FsAccess::inodes(fs).next_id();
    s.next_fh = FsAccess::handles(fs).next_fh();

    s.inodes.reserve(inodes.size());
    size_t lost = 0;
    for (const InodeRef& i : inodes) {
        auto rec = name_inode(fs, *i, *root_path, opts);
        if (!rec) {
            spdlog::error("migration: node {} cannot be named for the destination: {}", i->nodeid,
                          strerror(rec.error()));
            if (opts.on_error == OnError::kAbort) return Error{rec.error()};
            InodeRecord gone;
            gone.nodeid = i->nodeid;
            gone.type = i->type;
            gone.locator = Locator::kLost;
            rec = std::move(gone);
            ++lost;
        }
        // A forgotten inode still lives on as its handles' (nlookup counts only lookups).
        rec->nlookup = FsAccess::inodes(fs).get(i->nodeid) == i ? i->nlookup : 0;
        s.inodes.push_back(std::move(*rec));
    }
    spdlog::info("migration: saved {} inodes ({} lost), {} open handles, session {}",
                 s.inodes.size(), lost, s.handles.size(),
                 s.session.initialized ? "up" : "not initialized");
    return s;
}

}  // namespace vfs::host::migration
