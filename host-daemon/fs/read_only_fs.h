// --readonly as a wrapper: every mutation answers EROFS before it reaches the
// passthrough layer, so no code path in the passthrough can be missed by an if.
#pragma once

#include <fcntl.h>
#include <memory>

#include "fs/filesystem.h"

namespace vfs::host {

class ReadOnlyFs final : public Filesystem {
  public:
    explicit ReadOnlyFs(std::unique_ptr<Filesystem> inner) : inner_(std::move(inner)) {}

    Result<fuse_entry_out> lookup(const RequestContext& ctx, uint64_t parent,
                                  std::string_view name) override {
        return inner_->lookup(ctx, parent, name);
    }
    void forget(uint64_t nodeid, uint64_t nlookup) override { inner_->forget(nodeid, nlookup); }
    Result<fuse_attr_out> getattr(uint64_t nodeid, const uint64_t* fh) override {
        return inner_->getattr(nodeid, fh);
    }
    Result<fuse_attr_out> setattr(const RequestContext&, uint64_t,
                                  const fuse_setattr_in&) override {
        return Error{EROFS};
    }
    Result<size_t> readlink(uint64_t nodeid, char* buf, size_t cap) override {
        return inner_->readlink(nodeid, buf, cap);
    }
    Result<fuse_entry_out> mknod(const RequestContext&, uint64_t, std::string_view, uint32_t,
                                 uint32_t, uint32_t) override {
        return Error{EROFS};
    }
    Result<fuse_entry_out> mkdir(const RequestContext&, uint64_t, std::string_view, uint32_t,
                                 uint32_t) override {
        return Error{EROFS};
    }
    Result<fuse_entry_out> symlink(const RequestContext&, uint64_t, std::string_view,
                                   std::string_view) override {
        return Error{EROFS};
    }
    Result<fuse_entry_out> link(const RequestContext&, uint64_t, uint64_t,
                                std::string_view) override {
        return Error{EROFS};
    }
    Status unlink(const RequestContext&, uint64_t, std::string_view) override {
        return Error{EROFS};
    }
    Status rmdir(const RequestContext&, uint64_t, std::string_view) override {
        return Error{EROFS};
    }
    Status rename(const RequestContext&, uint64_t, std::string_view, uint64_t, std::string_view,
                  uint32_t) override {
        return Error{EROFS};
    }
    Result<fuse_open_out> open(const RequestContext& ctx, uint64_t nodeid, uint32_t flags) override;
    Result<CreateResult> create(const RequestContext&, uint64_t, std::string_view, uint32_t,
                                uint32_t, uint32_t) override {
        return Error{EROFS};
    }
    Result<CreateResult> tmpfile(const RequestContext&, uint64_t, uint32_t, uint32_t,
                                 uint32_t) override {
        return Error{EROFS};
    }
    Status release(uint64_t fh, uint32_t release_flags, uint64_t lock_owner) override {
        return inner_->release(fh, release_flags, lock_owner);
    }
    Status flush(uint64_t fh, uint64_t lock_owner) override {
        return inner_->flush(fh, lock_owner);
    }
    Result<fuse_open_out> opendir(const RequestContext& ctx, uint64_t nodeid,
                                  uint32_t flags) override {
        return inner_->opendir(ctx, nodeid, flags);
    }
    Status readdir(const RequestContext& ctx, uint64_t fh, uint64_t offset, bool plus,
                   const DirEntrySink& sink) override {
        return inner_->readdir(ctx, fh, offset, plus, sink);
    }
    Status releasedir(uint64_t fh) override { return inner_->releasedir(fh); }
    Result<fuse_kstatfs> statfs(uint64_t nodeid) override { return inner_->statfs(nodeid); }
    Status setxattr(uint64_t, std::string_view, const void*, size_t, uint32_t, uint32_t) override {
        return Error{EROFS};
    }
    Result<size_t> getxattr(uint64_t nodeid, std::string_view name, void* buf,
                            size_t cap) override {
        return inner_->getxattr(nodeid, name, buf, cap);
    }
    Result<size_t> listxattr(uint64_t nodeid, char* buf, size_t cap) override {
        return inner_->listxattr(nodeid, buf, cap);
    }
    Status removexattr(uint64_t, std::string_view) override { return Error{EROFS}; }
    Result<uint64_t> lseek(uint64_t fh, uint64_t offset, uint32_t whence) override {
        return inner_->lseek(fh, offset, whence);
    }
    Result<size_t> copy_file_range(uint64_t, uint64_t, uint64_t, uint64_t, size_t,
                                   uint32_t) override {
        return Error{EROFS};
    }
    Status syncfs() override { return inner_->syncfs(); }
    // Locks change no data, and a read-only share may still be locked by its readers.
    Result<fuse_file_lock> getlk(uint64_t nodeid, const fuse_lk_in& in) override {
        return inner_->getlk(nodeid, in);
    }
    // A POSIX write lock needs a file open for writing, which no file of a read-only
    // share is: EBADF, as Linux answers. (The passthrough would take it on a descriptor
    // root reopened read-write, and the guest's lock would block the host's readers.)
    Status setlk(uint64_t nodeid, const fuse_lk_in& in, bool wait) override {
        if (!(in.lk_flags & FUSE_LK_FLOCK) && in.lk.type == F_WRLCK) return Error{EBADF};
        return inner_->setlk(nodeid, in, wait);
    }
    Status kill_suid_sgid(uint64_t) override { return Error{EROFS}; }
    void reset() override { inner_->reset(); }
    // Reading and syncing are granted as the share grants them; writing and allocating
    // never, whatever the handle (handles are read-only anyway, see open()).
    Result<DataFile> data_file(uint64_t fh, DataAccess access) override;
    // Read-only mappings as the share grants them; a writable mapping never.
    Result<DataFile> map_file(const RequestContext& ctx, uint64_t nodeid, uint64_t fh,
                              DataAccess access) override {
        if (access != DataAccess::kRead) return Error{EROFS};
        return inner_->map_file(ctx, nodeid, fh, access);
    }

  private:
    std::unique_ptr<Filesystem> inner_;
};

}  // namespace vfs::host
