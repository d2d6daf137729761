// The vhost-user wire format: request numbers, feature bits, payload structs, and the one
// place that decides whether a message is well formed (payload size, fd count, overflow in
// every address range) before any handler sees it.
//
// Both the daemon and the test frontend use these types, so the two sides can never
// disagree on a layout. Everything here is pure: no I/O, no allocation, no logging. A
// message that fails validate() must never reach a handler.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "vfs/wire/checked.h"
#include "vfs/wire/result.h"
#include "vfs/wire/virtio_features.h"

namespace vfs::host::vhost_user {

using vfs::wire::Error;
using vfs::wire::Result;
using vfs::wire::Status;

// Front-end → back-end requests (QEMU docs/interop/vhost-user.rst, "Front-end message types").
enum class Request : uint32_t {
    kNone = 0,
    kGetFeatures = 1,
    kSetFeatures = 2,
    kSetOwner = 3,
    kResetOwner = 4,
    kSetMemTable = 5,
    kSetLogBase = 6,
    kSetLogFd = 7,
    kSetVringNum = 8,
    kSetVringAddr = 9,
    kSetVringBase = 10,
    kGetVringBase = 11,
    kSetVringKick = 12,
    kSetVringCall = 13,
    kSetVringErr = 14,
    kGetProtocolFeatures = 15,
    kSetProtocolFeatures = 16,
    kGetQueueNum = 17,
    kSetVringEnable = 18,
    kSendRarp = 19,
    kNetSetMtu = 20,
    kSetBackendReqFd = 21,
    kIotlbMsg = 22,
    kSetVringEndian = 23,
    kGetConfig = 24,
    kSetConfig = 25,
    kCreateCryptoSession = 26,
    kCloseCryptoSession = 27,
    kPostcopyAdvise = 28,
    kPostcopyListen = 29,
    kPostcopyEnd = 30,
    kGetInflightFd = 31,
    kSetInflightFd = 32,
    kGpuSetSocket = 33,
    kResetDevice = 34,
    kVringKick = 35,
    kGetMaxMemSlots = 36,
    kAddMemReg = 37,
    kRemMemReg = 38,
    kSetStatus = 39,
    kGetStatus = 40,
    kGetSharedObject = 41,
    kSetDeviceStateFd = 42,
    kCheckDeviceState = 43,
    kGetShmemConfig = 44,  // QEMU 11.1: the device's shared-memory regions (DAX window)
    kCount,                // one past the last known request
};

// A readable name for logs; "UNKNOWN" for anything out of range.
const char* request_name(uint32_t request);

// Back-end → front-end requests on the backend channel (SET_BACKEND_REQ_FD).
enum class BackendRequest : uint32_t {
    kIotlbMsg = 1,
    kConfigChangeMsg = 2,
    kVringHostNotifierMsg = 3,
    kShmemMap = 9,
    kShmemUnmap = 10,
};

// Header flags: a 2-bit version, then REPLY and NEED_REPLY.
inline constexpr uint32_t kVersion = 0x1;
inline constexpr uint32_t kVersionMask = 0x3;
inline constexpr uint32_t kFlagReply = 1u << 2;
inline constexpr uint32_t kFlagNeedReply = 1u << 3;

// Feature bits in GET/SET_FEATURES: vhost-user's own, and the virtio ones from their one
// definition (vfs/wire/virtio_features.h).
namespace feature {
using vfs::wire::virtio_feature::kRingEventIdx;
using vfs::wire::virtio_feature::kRingIndirectDesc;
using vfs::wire::virtio_feature::kVersion1;
inline constexpr uint64_t kLogAll = 1ull << 26;            // VHOST_F_LOG_ALL: log guest writes
inline constexpr uint64_t kProtocolFeatures = 1ull << 30;  // VHOST_USER_F_PROTOCOL_FEATURES
}  // namespace feature

namespace protocol_feature {
inline constexpr uint64_t kMq = 1ull << 0;
inline constexpr uint64_t kLogShmfd = 1ull << 1;  // SET_LOG_BASE brings the log's fd
inline constexpr uint64_t kReplyAck = 1ull << 3;
inline constexpr uint64_t kBackendReq = 1ull << 5;
inline constexpr uint64_t kConfig = 1ull << 9;
inline constexpr uint64_t kBackendSendFd = 1ull << 10;
inline constexpr uint64_t kHostNotifier = 1ull << 11;
inline constexpr uint64_t kInflightShmfd = 1ull << 12;
inline constexpr uint64_t kResetDevice = 1ull << 13;
inline constexpr uint64_t kInbandNotifications = 1ull << 14;
inline constexpr uint64_t kConfigureMemSlots = 1ull << 15;
inline constexpr uint64_t kStatus = 1ull << 16;
inline constexpr uint64_t kDeviceState = 1ull << 19;  // SET_DEVICE_STATE_FD, CHECK_DEVICE_STATE
inline constexpr uint64_t kShmem = 1ull << 22;        // GET_SHMEM_CONFIG, BACKEND_SHMEM_MAP/UNMAP
}  // namespace protocol_feature

struct Header {
    uint32_t request = 0;
    uint32_t flags = 0;
    uint32_t size = 0;
};
static_assert(sizeof(Header) == 12);

// SET_VRING_NUM/BASE/ENABLE, GET_VRING_BASE and its reply.
struct VringState {
    uint32_t index = 0;
    uint32_t num = 0;
};
static_assert(sizeof(VringState) == 8);

// SET_VRING_ADDR. The three ring addresses are front-end virtual addresses.
struct VringAddr {
    uint32_t index = 0;
    uint32_t flags = 0;
    uint64_t desc_user_addr = 0;
    uint64_t used_user_addr = 0;
    uint64_t avail_user_addr = 0;
    uint64_t log_guest_addr = 0;
};
static_assert(sizeof(VringAddr) == 40);
inline constexpr uint32_t kVringAddrFlagLog = 1u << 0;

// SET_LOG_BASE under LOG_SHMFD (with the log's fd): the bitmap is [offset, offset + size)
// of the fd, guest address 0 logged at its first bit.
struct LogParams {
    uint64_t mmap_size = 0;
    uint64_t mmap_offset = 0;
};
static_assert(sizeof(LogParams) == 16);

struct MemoryRegion {
    uint64_t guest_phys_addr = 0;
    uint64_t memory_size = 0;
    uint64_t userspace_addr = 0;
    uint64_t mmap_offset = 0;
};
static_assert(sizeof(MemoryRegion) == 32);

// SET_MEM_TABLE: at most this many regions, one fd each, in one message.
inline constexpr uint32_t kMaxTableRegions = 8;
struct MemoryTable {
    uint32_t num_regions = 0;
    uint32_t padding = 0;
    MemoryRegion regions[kMaxTableRegions];
};
inline constexpr size_t kMemoryTableHeaderBytes = 8;

// ADD_MEM_REG / REM_MEM_REG.
struct SingleMemoryRegion {
    uint64_t padding = 0;
    MemoryRegion region;
};
static_assert(sizeof(SingleMemoryRegion) == 40);

// GET_CONFIG / SET_CONFIG: this header, then `size` bytes of device config space.
struct ConfigHeader {
    uint32_t offset = 0;
    uint32_t size = 0;
    uint32_t flags = 0;
};
static_assert(sizeof(ConfigHeader) == 12);
inline constexpr uint32_t kMaxConfigBytes = 256;

// GET_SHMEM_CONFIG's reply: the size of each shared-memory region, indexed by shmid (0 =
// unused), page multiples.
inline constexpr uint32_t kMaxShmemRegions = 256;
struct ShmemConfig {
    uint32_t nregions = 0;
    uint32_t padding = 0;
    uint64_t memory_sizes[kMaxShmemRegions] = {};
};
static_assert(sizeof(ShmemConfig) == 8 + 8 * kMaxShmemRegions);

// BACKEND_SHMEM_MAP (with the file's fd) and BACKEND_SHMEM_UNMAP: map [fd_offset,
// fd_offset + len) of the file at shm_offset of region shmid, or unmap that range.
struct ShmemMap {
    uint8_t shmid = 0;
    uint8_t padding[7] = {};
    uint64_t fd_offset = 0;
    uint64_t shm_offset = 0;
    uint64_t len = 0;
    uint64_t flags = 0;
};
static_assert(sizeof(ShmemMap) == 40);
inline constexpr uint64_t kShmemMapFlagWrite = 1ull << 0;  // read-write; 0 is read-only

// SET_DEVICE_STATE_FD (with the front-end's pipe end): which way and in which phase. The
// reply's u64: bits 0-7 an error (0 = success), kDeviceStateNoFd when no fd comes back.
struct DeviceStateParams {
    uint32_t direction = 0;  // 0 save (back-end writes), 1 load (back-end reads)
    uint32_t phase = 0;      // 0: the device is stopped
};
static_assert(sizeof(DeviceStateParams) == 8);
inline constexpr uint64_t kDeviceStateNoFd = 1ull << 8;

// The u64 payload of SET_VRING_KICK/CALL/ERR: a queue index and a "no fd" flag.
inline constexpr uint64_t kVringIndexMask = 0xff;
inline constexpr uint64_t kVringNoFdFlag = 1ull << 8;

// The largest payload any request may carry; anything larger is refused unread.
inline constexpr uint32_t kMaxPayloadBytes = 4096;
// The most fds any one message may carry (a full SET_MEM_TABLE).
inline constexpr uint32_t kMaxFdsPerMessage = kMaxTableRegions;
// Memory slots offered through GET_MAX_MEM_SLOTS (QEMU wants at least 509 for hotplug).
inline constexpr uint32_t kMaxMemSlots = 509;

// A region's three ranges must not wrap, and an empty region means nothing.
constexpr bool is_valid(const MemoryRegion& r) {
    uint64_t end = 0;
    return r.memory_size != 0 &&
           vfs::wire::checked_add(r.guest_phys_addr, r.memory_size - 1, &end) &&
           vfs::wire::checked_add(r.userspace_addr, r.memory_size - 1, &end) &&
           vfs::wire::checked_add(r.mmap_offset, r.memory_size, &end);
}

// Checks the payload size, the fd count and every range in the payload of one message,
// against what that request carries. Queue indices are checked by the device, which
// knows how many queues it has. EINVAL for anything malformed, ENOSYS for a request this
// layer does not know.
Status validate(const Header& h, const uint8_t* payload, uint32_t nfds);

// Copies a payload of exactly sizeof(T) bytes out of the message buffer (the buffer has
// no alignment guarantee; validate() has checked the size).
template <class T>
T payload_as(const uint8_t* payload) {
    T v;
    __builtin_memcpy(&v, payload, sizeof(T));
    return v;
}

}  // namespace vfs::host::vhost_user
