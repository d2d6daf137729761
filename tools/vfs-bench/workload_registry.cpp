// The workload table (names as the command line and the JSON use them) and the mapping
// from a spec to its FUSE and native implementations.
#include "workload_factories.h"

namespace vfs::bench {

namespace {

// The Linux client's READDIR(PLUS) buffer: one page.
constexpr uint32_t kReaddirBuf = 4096;

}  // namespace

const std::vector<WorkloadSpec>& all_workloads() {
    static const std::vector<WorkloadSpec> table = {
        {WorkloadKind::kGetattr, "getattr", 0, 0},
        {WorkloadKind::kLookupForget, "lookup_forget", 0, 0},
        {WorkloadKind::kRandRead4k, "randread_4k", 4096, 4096},
        {WorkloadKind::kSeqRead4k, "seqread_4k", 4096, 4096},
        {WorkloadKind::kSeqRead64k, "seqread_64k", 64 << 10, 64 << 10},
        {WorkloadKind::kSeqRead1m, "seqread_1m", 1 << 20, 1 << 20},
        {WorkloadKind::kSeqWrite4k, "seqwrite_4k", 4096, 0},
        {WorkloadKind::kSeqWrite1m, "seqwrite_1m", 1 << 20, 0},
        {WorkloadKind::kCreateUnlink, "create_unlink", 0, 0},
        {WorkloadKind::kReaddirplus10k, "readdirplus_10k", 0, kReaddirBuf},
    };
    return table;
}

const WorkloadSpec* find_workload(std::string_view name) {
    for (const WorkloadSpec& w : all_workloads())
        if (name == w.name) return &w;
    return nullptr;
}

std::unique_ptr<FuseWorkload> make_fuse_workload(const WorkloadSpec& spec, const CellContext& ctx) {
    switch (spec.kind) {
        case WorkloadKind::kGetattr:
            return make_fuse_getattr(ctx);
        case WorkloadKind::kLookupForget:
            return make_fuse_lookup_forget(ctx);
        case WorkloadKind::kRandRead4k:
            return make_fuse_read(ctx, spec.block_bytes, true);
        case WorkloadKind::kSeqRead4k:
        case WorkloadKind::kSeqRead64k:
        case WorkloadKind::kSeqRead1m:
            return make_fuse_read(ctx, spec.block_bytes, false);
        case WorkloadKind::kSeqWrite4k:
        case WorkloadKind::kSeqWrite1m:
            return make_fuse_write(ctx, spec.block_bytes);
        case WorkloadKind::kCreateUnlink:
            return make_fuse_create_unlink(ctx);
        case WorkloadKind::kReaddirplus10k:
            return make_fuse_readdirplus(ctx, spec.reply_bytes);
    }
    return nullptr;
}

std::unique_ptr<NativeWorkload> make_native_workload(const WorkloadSpec& spec,
                                                     const CellContext& ctx) {
    switch (spec.kind) {
        case WorkloadKind::kGetattr:
            return make_native_getattr(ctx);
        case WorkloadKind::kLookupForget:
            return make_native_lookup(ctx);
        case WorkloadKind::kRandRead4k:
            return make_native_read(ctx, spec.block_bytes, true);
        case WorkloadKind::kSeqRead4k:
        case WorkloadKind::kSeqRead64k:
        case WorkloadKind::kSeqRead1m:
            return make_native_read(ctx, spec.block_bytes, false);
        case WorkloadKind::kSeqWrite4k:
        case WorkloadKind::kSeqWrite1m:
            return make_native_write(ctx, spec.block_bytes);
        case WorkloadKind::kCreateUnlink:
            return make_native_create_unlink(ctx);
        case WorkloadKind::kReaddirplus10k:
            return make_native_readdirplus(ctx);
    }
    return nullptr;
}

}  // namespace vfs::bench
