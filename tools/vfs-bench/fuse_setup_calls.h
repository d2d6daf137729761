// The untimed FUSE calls workloads make around a timed run (lookups, opens, releases,
// forgets), each one synchronous and checked.
#pragma once

#include <linux/fuse.h>
#include <stdint.h>

#include <string_view>

#include "fuse_pipeline.h"
#include "vfs/wire/fuse_opcodes.h"

namespace vfs::bench {

Result<fuse_entry_out> fuse_lookup(FusePipeline& f, uint64_t parent, std::string_view name);
// OPEN (or OPENDIR): the file handle.
Result<uint64_t> fuse_open(FusePipeline& f, uint64_t nodeid, uint32_t flags, bool dir = false);
Result<vfs::wire::CreateOut> fuse_create(FusePipeline& f, uint64_t parent, std::string_view name,
                                         uint32_t flags, uint32_t mode);
Status fuse_release(FusePipeline& f, uint64_t nodeid, uint64_t fh, bool dir = false);
Status fuse_forget(FusePipeline& f, uint64_t nodeid, uint64_t nlookup = 1);

}  // namespace vfs::bench
