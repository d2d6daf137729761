#pragma once
// What a guest actually sends, per queue: a count per opcode, and for READ and WRITE a
// count per size (the power of two at or above the request's size, 4 KiB to 1 MiB) and
// the bytes asked for. A few additions per request on the queue's own thread; the table is
// logged at debug level when the queue stops (docs/benchmarks.md, "session 6").
#include <array>
#include <cstdint>
#include <string>

namespace vfs::host {

class RequestCounts {
  public:
    static constexpr uint32_t kOpcodes = 64;     // FUSE's opcodes all sit below this
    static constexpr uint32_t kSizeBuckets = 9;  // <=4K, <=8K, ..., <=1M (and above)

    // `data_size`: a READ's or WRITE's size field; ignored for other opcodes.
    void add(uint32_t opcode, uint32_t data_size);

    uint64_t ops(uint32_t opcode) const { return opcode < kOpcodes ? ops_[opcode] : other_ops_; }
    // READ or WRITE requests of up to 4 KiB << bucket (the last bucket holds bigger ones too).
    uint64_t sized(uint32_t opcode, uint32_t bucket) const;
    uint64_t bytes(uint32_t opcode) const;
    static uint32_t bucket_of(uint32_t size);

    // One line: "LOOKUP 1000, READ 256 [128K 256] (32 MiB), ..."; empty if nothing came.
    std::string summary() const;

  private:
    struct Data {
        std::array<uint64_t, kSizeBuckets> sized{};
        uint64_t bytes = 0;
    };
    Data* data_of(uint32_t opcode);
    const Data* data_of(uint32_t opcode) const;

    std::array<uint64_t, kOpcodes> ops_{};
    uint64_t other_ops_ = 0;
    Data read_, write_;
};

}  // namespace vfs::host
