// A test and benchmark Filesystem: the real passthrough, whose LOOKUP of one name waits
// before it is passed on, as a call to a network file system or a cold disk does. Either a
// fixed delay per call, or (gated) until release(), so a test can hold a call for as long
// as it checks what else the daemon serves meanwhile. Every other call goes straight
// through. Never part of the daemon.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>

#include "fs/filesystem.h"

namespace vfs::slowfs {

using vfs::host::CreateResult;
using vfs::host::DataAccess;
using vfs::host::DataFile;
using vfs::host::DirEntrySink;
using vfs::host::Filesystem;
using vfs::host::RequestContext;
using vfs::wire::Result;
using vfs::wire::Status;

class SlowLookupFs final : public Filesystem {
  public:
    // gated: LOOKUPs of slow_name wait for release() (at most 30 s); otherwise each sleeps
    // for `delay`.
    SlowLookupFs(std::unique_ptr<Filesystem> inner, std::string slow_name,
                 std::chrono::milliseconds delay, bool gated)
        : inner_(std::move(inner)),
          slow_name_(std::move(slow_name)),
          delay_(delay),
          gated_(gated) {}

    // LOOKUPs of the slow name that have started waiting, and that have finished.
    uint64_t slow_started() const { return started_.load(); }
    uint64_t slow_finished() const { return finished_.load(); }
    // Blocks until `n` slow LOOKUPs have started, at most timeout; false on a timeout.
    bool wait_started(uint64_t n, std::chrono::milliseconds timeout);
    // Lets every gated LOOKUP, present and future, through.
    void release();

    Result<fuse_entry_out> lookup(const RequestContext& ctx, uint64_t parent,
                                  std::string_view name) override;
    void forget(uint64_t nodeid, uint64_t nlookup) override { inner_->forget(nodeid, nlookup); }
    Result<fuse_attr_out> getattr(uint64_t nodeid, const uint64_t* fh) override {
        return inner_->getattr(nodeid, fh);
    }
    Result<fuse_attr_out> setattr(const RequestContext& ctx, uint64_t nodeid,
                                  const fuse_setattr_in& in) override {
        return inner_->setattr(ctx, nodeid, in);
    }
    Result<size_t> readlink(uint64_t nodeid, char* buf, size_t cap) override {
        return inner_->readlink(nodeid, buf, cap);
    }
    Result<fuse_entry_out> mknod(const RequestContext& ctx, uint64_t parent, std::string_view name,
                                 uint32_t mode, uint32_t rdev, uint32_t umask) override {
        return inner_->mknod(ctx, parent, name, mode, rdev, umask);
    }
    Result<fuse_entry_out> mkdir(const RequestContext& ctx, uint64_t parent, std::string_view name,
                                 uint32_t mode, uint32_t umask) override {
        return inner_->mkdir(ctx, parent, name, mode, umask);
    }
    Result<fuse_entry_out> symlink(const RequestContext& ctx, uint64_t parent,
                                   std::string_view name, std::string_view target) override {
        return inner_->symlink(ctx, parent, name, target);
    }
    Result<fuse_entry_out> link(const RequestContext& ctx, uint64_t nodeid, uint64_t newparent,
                                std::string_view newname) override {
        return inner_->link(ctx, nodeid, newparent, newname);
    }
    Status unlink(const RequestContext& ctx, uint64_t parent, std::string_view name) override {
        return inner_->unlink(ctx, parent, name);
    }
    Status rmdir(const RequestContext& ctx, uint64_t parent, std::string_view name) override {
        return inner_->rmdir(ctx, parent, name);
    }
    Status rename(const RequestContext& ctx, uint64_t parent, std::string_view name,
                  uint64_t newparent, std::string_view newname, uint32_t flags) override {
        return inner_->rename(ctx, parent, name, newparent, newname, flags);
    }
    Result<fuse_open_out> open(const RequestContext& ctx, uint64_t nodeid,
                               uint32_t flags) override {
        return inner_->open(ctx, nodeid, flags);
    }
    Result<CreateResult> create(const RequestContext& ctx, uint64_t parent, std::string_view name,
                                uint32_t mode, uint32_t flags, uint32_t umask) override {
        return inner_->create(ctx, parent, name, mode, flags, umask);
    }
    Result<CreateResult> tmpfile(const RequestContext& ctx, uint64_t parent, uint32_t mode,
                                 uint32_t flags, uint32_t umask) override {
        return inner_->tmpfile(ctx, parent, mode, flags, umask);
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
    Status setxattr(uint64_t nodeid, std::string_view name, const void* value, size_t size,
                    uint32_t flags, uint32_t setxattr_flags) override {
        return inner_->setxattr(nodeid, name, value, size, flags, setxattr_flags);
    }
    Result<size_t> getxattr(uint64_t nodeid, std::string_view name, void* buf,
                            size_t cap) override {
        return inner_->getxattr(nodeid, name, buf, cap);
    }
    Result<size_t> listxattr(uint64_t nodeid, char* buf, size_t cap) override {
        return inner_->listxattr(nodeid, buf, cap);
    }
    Status removexattr(uint64_t nodeid, std::string_view name) override {
        return inner_->removexattr(nodeid, name);
    }
    Result<uint64_t> lseek(uint64_t fh, uint64_t offset, uint32_t whence) override {
        return inner_->lseek(fh, offset, whence);
    }
    Result<size_t> copy_file_range(uint64_t fh_in, uint64_t off_in, uint64_t fh_out,
                                   uint64_t off_out, size_t len, uint32_t flags) override {
        return inner_->copy_file_range(fh_in, off_in, fh_out, off_out, len, flags);
    }
    Status syncfs() override { return inner_->syncfs(); }
    Result<fuse_file_lock> getlk(uint64_t nodeid, const fuse_lk_in& in) override {
        return inner_->getlk(nodeid, in);
    }
    Status setlk(uint64_t nodeid, const fuse_lk_in& in, bool wait) override {
        return inner_->setlk(nodeid, in, wait);
    }
    Status kill_suid_sgid(uint64_t fh) override { return inner_->kill_suid_sgid(fh); }
    void reset() override { inner_->reset(); }
    Result<DataFile> data_file(uint64_t fh, DataAccess access) override {
        return inner_->data_file(fh, access);
    }

  private:
    std::unique_ptr<Filesystem> inner_;
    const std::string slow_name_;
    const std::chrono::milliseconds delay_;
    const bool gated_;
    std::mutex mu_;
    std::condition_variable cv_;
    bool released_ = false;
    std::atomic<uint64_t> started_{0};
    std::atomic<uint64_t> finished_{0};
};

}  // namespace vfs::slowfs
