// ukfuse DAX: turning it on over the device's window, SETUPMAPPING/REMOVEMAPPING, and
// the size DAX accesses are clamped to (see session.h, dax_manager.h).
#include <linux/virtio_fs.h>

#include "lib/ukfuse/session.h"

namespace vfs::guest::ukfuse {
namespace {

constexpr uint32_t kRangeShift = 21;  // log2(kDaxRangeSize)
static_assert(kDaxRangeSize == 1ull << kRangeShift);

}  // namespace

wire::Status SessionDaxWindow::map(uint64_t nodeid, uint64_t fh, uint64_t foffset, uint64_t len,
                                   uint64_t moffset, bool write) {
    return session_->setupmapping(nodeid, fh, foffset, len, moffset, write);
}

wire::Status SessionDaxWindow::unmap(uint64_t nodeid, const fuse_removemapping_one* ranges,
                                     uint32_t count) {
    return session_->removemapping(nodeid, ranges, count);
}

Session::~Session() {
    delete dax_;
}

Status Session::enable_dax(const DaxOptions& opts) {
    if (!dev_ || dax_) return wire::Error{EINVAL};
    if (opts.mode == DaxMode::kNever) return {};
    const bool required = opts.mode == DaxMode::kAlways;
    // The server maps at its alignment; our 2 MiB ranges must be multiples of it.
    if (!(info_.flags & FUSE_MAP_ALIGNMENT) || info_.map_alignment > kRangeShift)
        return required ? wire::Error{ENODEV} : Status{};
    auto region = dev_->transport().shared_memory(VIRTIO_FS_SHMCAP_ID_CACHE);
    if (!region) return required ? wire::Error{ENODEV} : Status{};
    uint64_t size = region->length - region->length % kDaxRangeSize;
    if (opts.max_ranges != 0 && size / kDaxRangeSize > opts.max_ranges)
        size = uint64_t{opts.max_ranges} * kDaxRangeSize;
    if (size == 0) return required ? wire::Error{ENODEV} : Status{};
    dax_window_.session_ = this;
    dax_window_.base_ = reinterpret_cast<uint8_t*>(region->mapped);
    dax_window_.size_ = size;
    auto* m = new DaxManager;
    if (!m) return wire::Error{ENOMEM};
    if (auto s = m->init(&dax_window_, opts.evict_batch); !s) {
        delete m;
        return s;
    }
    dax_ = m;
    return {};
}

Result<uint64_t> Session::file_size(uint64_t nodeid, uint64_t fh, bool fresh) {
    if (!fresh) {
        if (Node* n = nodes_.find(nodeid); n && n->size_known) return n->attr.size;
    }
    auto a = getattr(nodeid, &fh, true);
    if (!a) return wire::Error{a.error()};
    return a->size;
}

void Session::note_size(uint64_t nodeid, uint64_t size) {
    if (Node* n = nodes_.find(nodeid)) {
        n->attr.size = size;
        n->size_known = true;
    }
}

Status Session::setupmapping(uint64_t nodeid, uint64_t fh, uint64_t foffset, uint64_t len,
                             uint64_t moffset, bool write) {
    fuse_setupmapping_in in{};
    in.fh = fh;
    in.foffset = foffset;
    in.len = len;
    in.flags = FUSE_SETUPMAPPING_FLAG_READ | (write ? FUSE_SETUPMAPPING_FLAG_WRITE : 0);
    in.moffset = moffset;
    auto rep = call(request(FUSE_SETUPMAPPING, nodeid, &in), nullptr, 0);
    if (!rep) return wire::Error{rep.error()};
    return {};
}

Status Session::removemapping(uint64_t nodeid, const fuse_removemapping_one* ranges,
                              uint32_t count) {
    if (count == 0 || count > kMaxRemoveMappingBatch) return wire::Error{EINVAL};
    // The array goes to the device: copy it into memory it can reach.
    const uint32_t bytes = count * static_cast<uint32_t>(sizeof(fuse_removemapping_one));
    __builtin_memcpy(scratch_, ranges, bytes);
    fuse_removemapping_in in{};
    in.count = count;
    const wire::Segment seg{scratch_, bytes};
    wire::ClientRequest rq = request(FUSE_REMOVEMAPPING, nodeid, &in);
    rq.data = &seg;
    rq.data_count = 1;
    auto rep = call(rq, nullptr, 0);
    if (!rep) return wire::Error{rep.error()};
    return {};
}

}  // namespace vfs::guest::ukfuse
