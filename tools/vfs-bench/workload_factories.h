// Constructors of each workload implementation, one family per file, and the small
// pieces the native implementations share. workload_registry.cpp maps specs onto these.
#pragma once

#include <stdint.h>

#include <memory>

#include "workload.h"

namespace vfs::bench {

// Per-thread counters for native workloads, a cache line apart so threads share none.
struct alignas(64) ThreadCounter {
    uint64_t n = 0;
};

std::unique_ptr<FuseWorkload> make_fuse_getattr(const CellContext& ctx);
std::unique_ptr<FuseWorkload> make_fuse_lookup_forget(const CellContext& ctx);
std::unique_ptr<NativeWorkload> make_native_getattr(const CellContext& ctx);
std::unique_ptr<NativeWorkload> make_native_lookup(const CellContext& ctx);

std::unique_ptr<FuseWorkload> make_fuse_read(const CellContext& ctx, uint32_t block, bool random);
std::unique_ptr<NativeWorkload> make_native_read(const CellContext& ctx, uint32_t block,
                                                 bool random);
std::unique_ptr<FuseWorkload> make_fuse_write(const CellContext& ctx, uint32_t block);
std::unique_ptr<NativeWorkload> make_native_write(const CellContext& ctx, uint32_t block);

std::unique_ptr<FuseWorkload> make_fuse_create_unlink(const CellContext& ctx);
std::unique_ptr<NativeWorkload> make_native_create_unlink(const CellContext& ctx);

std::unique_ptr<FuseWorkload> make_fuse_readdirplus(const CellContext& ctx, uint32_t bufsize);
std::unique_ptr<NativeWorkload> make_native_readdirplus(const CellContext& ctx);

}  // namespace vfs::bench
