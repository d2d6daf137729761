#include "fuse/request_counts.h"

#include <bit>

#include "vfs/wire/fuse_opcodes.h"

namespace vfs::host {

uint32_t RequestCounts::bucket_of(uint32_t size) {
    if (size <= 4096) return 0;
    const uint32_t b = static_cast<uint32_t>(std::bit_width(size - 1)) - 12;
    return b < kSizeBuckets ? b : kSizeBuckets - 1;
}

RequestCounts::Data* RequestCounts::data_of(uint32_t opcode) {
    if (opcode == FUSE_READ) return &read_;
    if (opcode == FUSE_WRITE) return &write_;
    return nullptr;
}

const RequestCounts::Data* RequestCounts::data_of(uint32_t opcode) const {
    return const_cast<RequestCounts*>(this)->data_of(opcode);
}

void RequestCounts::add(uint32_t opcode, uint32_t data_size) {
    if (opcode >= kOpcodes) {
        ++other_ops_;
        return;
    }
    ++ops_[opcode];
    if (Data* d = data_of(opcode)) {
        ++d->sized[bucket_of(data_size)];
        d->bytes += data_size;
    }
}

uint64_t RequestCounts::sized(uint32_t opcode, uint32_t bucket) const {
    const Data* d = data_of(opcode);
    return d && bucket < kSizeBuckets ? d->sized[bucket] : 0;
}

uint64_t RequestCounts::bytes(uint32_t opcode) const {
    const Data* d = data_of(opcode);
    return d ? d->bytes : 0;
}

std::string RequestCounts::summary() const {
    std::string s;
    const auto sep = [&s] {
        if (!s.empty()) s += ", ";
    };
    for (uint32_t op = 0; op < kOpcodes; ++op) {
        if (ops_[op] == 0) continue;
        sep();
        const vfs::wire::OpInfo* info = vfs::wire::fuse_op(op);
        s += info ? info->name : "opcode " + std::to_string(op);
        s += ' ' + std::to_string(ops_[op]);
        const Data* d = data_of(op);
        if (!d) continue;
        s += " [";
        bool first = true;
        for (uint32_t b = 0; b < kSizeBuckets; ++b) {
            if (d->sized[b] == 0) continue;
            if (!first) s += ' ';
            first = false;
            s += std::to_string(4u << b) + "K:" + std::to_string(d->sized[b]);
        }
        s += "] " + std::to_string(d->bytes) + " bytes";
    }
    if (other_ops_ != 0) {
        sep();
        s += "other " + std::to_string(other_ops_);
    }
    return s;
}

}  // namespace vfs::host
