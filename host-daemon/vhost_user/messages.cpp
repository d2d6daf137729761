#include "vhost_user/messages.h"

namespace vfs::host::vhost_user {

namespace {

constexpr const char* kNames[] = {
    "NONE",
    "GET_FEATURES",
    "SET_FEATURES",
    "SET_OWNER",
    "RESET_OWNER",
    "SET_MEM_TABLE",
    "SET_LOG_BASE",
    "SET_LOG_FD",
    "SET_VRING_NUM",
    "SET_VRING_ADDR",
    "SET_VRING_BASE",
    "GET_VRING_BASE",
    "SET_VRING_KICK",
    "SET_VRING_CALL",
    "SET_VRING_ERR",
    "GET_PROTOCOL_FEATURES",
    "SET_PROTOCOL_FEATURES",
    "GET_QUEUE_NUM",
    "SET_VRING_ENABLE",
    "SEND_RARP",
    "NET_SET_MTU",
    "SET_BACKEND_REQ_FD",
    "IOTLB_MSG",
    "SET_VRING_ENDIAN",
    "GET_CONFIG",
    "SET_CONFIG",
    "CREATE_CRYPTO_SESSION",
    "CLOSE_CRYPTO_SESSION",
    "POSTCOPY_ADVISE",
    "POSTCOPY_LISTEN",
    "POSTCOPY_END",
    "GET_INFLIGHT_FD",
    "SET_INFLIGHT_FD",
    "GPU_SET_SOCKET",
    "RESET_DEVICE",
    "VRING_KICK",
    "GET_MAX_MEM_SLOTS",
    "ADD_MEM_REG",
    "REM_MEM_REG",
    "SET_STATUS",
    "GET_STATUS",
    "GET_SHARED_OBJECT",
    "SET_DEVICE_STATE_FD",
    "CHECK_DEVICE_STATE",
    "GET_SHMEM_CONFIG",
};
static_assert(sizeof(kNames) / sizeof(kNames[0]) == static_cast<size_t>(Request::kCount));

Status expect(bool ok) {
    if (!ok) return Error{EINVAL};
    return {};
}

Status exact(const Header& h, uint32_t size, uint32_t nfds, uint32_t want_fds) {
    return expect(h.size == size && nfds == want_fds);
}

Status validate_vring_fd(const Header& h, const uint8_t* payload, uint32_t nfds) {
    if (h.size != sizeof(uint64_t)) return Error{EINVAL};
    const auto v = payload_as<uint64_t>(payload);
    if (v & ~(kVringIndexMask | kVringNoFdFlag)) return Error{EINVAL};
    const uint32_t want = (v & kVringNoFdFlag) ? 0 : 1;
    return expect(nfds == want);
}

Status validate_memory_table(const Header& h, const uint8_t* payload, uint32_t nfds) {
    if (h.size < kMemoryTableHeaderBytes) return Error{EINVAL};
    const auto n = payload_as<uint32_t>(payload);
    if (n > kMaxTableRegions) return Error{EINVAL};
    if (h.size != kMemoryTableHeaderBytes + n * sizeof(MemoryRegion)) return Error{EINVAL};
    if (nfds != n) return Error{EINVAL};
    for (uint32_t i = 0; i < n; ++i) {
        const auto r =
            payload_as<MemoryRegion>(payload + kMemoryTableHeaderBytes + i * sizeof(MemoryRegion));
        if (!is_valid(r)) return Error{EINVAL};
    }
    return {};
}

Status validate_single_region(const Header& h, const uint8_t* payload, uint32_t nfds,
                              uint32_t min_fds, uint32_t max_fds) {
    if (h.size != sizeof(SingleMemoryRegion) || nfds < min_fds || nfds > max_fds)
        return Error{EINVAL};
    return expect(is_valid(payload_as<SingleMemoryRegion>(payload).region));
}

Status validate_config(const Header& h, const uint8_t* payload, uint32_t nfds) {
    if (nfds != 0 || h.size < sizeof(ConfigHeader)) return Error{EINVAL};
    const auto c = payload_as<ConfigHeader>(payload);
    uint32_t end = 0;
    if (c.size > kMaxConfigBytes || !vfs::wire::checked_add(c.offset, c.size, &end) ||
        end > kMaxConfigBytes)
        return Error{EINVAL};
    return expect(h.size == sizeof(ConfigHeader) + c.size);
}

}  // namespace

const char* request_name(uint32_t request) {
    if (request >= static_cast<uint32_t>(Request::kCount)) return "UNKNOWN";
    return kNames[request];
}

Status validate(const Header& h, const uint8_t* payload, uint32_t nfds) {
    if ((h.flags & kVersionMask) != kVersion) return Error{EINVAL};
    if (h.size > kMaxPayloadBytes || nfds > kMaxFdsPerMessage) return Error{EINVAL};
    if (h.request >= static_cast<uint32_t>(Request::kCount)) return Error{ENOSYS};
    switch (static_cast<Request>(h.request)) {
        case Request::kGetFeatures:
        case Request::kSetOwner:
        case Request::kResetOwner:
        case Request::kGetProtocolFeatures:
        case Request::kGetQueueNum:
        case Request::kResetDevice:
        case Request::kGetMaxMemSlots:
        case Request::kGetStatus:
        case Request::kGetShmemConfig:
            return exact(h, 0, nfds, 0);
        case Request::kSetFeatures:
        case Request::kSetProtocolFeatures:
            return exact(h, sizeof(uint64_t), nfds, 0);
        case Request::kSetStatus:
            if (Status s = exact(h, sizeof(uint64_t), nfds, 0); !s) return s;
            return expect(payload_as<uint64_t>(payload) <= 0xff);
        case Request::kSetVringNum:
        case Request::kSetVringBase:
        case Request::kGetVringBase:
        case Request::kSetVringEnable:
            return exact(h, sizeof(VringState), nfds, 0);
        case Request::kSetVringAddr:
            return exact(h, sizeof(VringAddr), nfds, 0);
        case Request::kSetVringKick:
        case Request::kSetVringCall:
        case Request::kSetVringErr:
            return validate_vring_fd(h, payload, nfds);
        case Request::kSetMemTable:
            return validate_memory_table(h, payload, nfds);
        case Request::kAddMemReg:
            return validate_single_region(h, payload, nfds, 1, 1);
        case Request::kRemMemReg:
            // Some front-ends pass the region's fd along; it is closed unused.
            return validate_single_region(h, payload, nfds, 0, 1);
        case Request::kSetBackendReqFd:
            return exact(h, 0, nfds, 1);
        case Request::kSetLogBase:
            // The fd is checked by the handler, which can answer its absence.
            return expect(h.size == sizeof(LogParams) && nfds <= 1);
        case Request::kSetLogFd:
            // No payload in the spec; some front-ends send a u64 beside the fd.
            return expect((h.size == 0 || h.size == sizeof(uint64_t)) && nfds == 1);
        case Request::kSetDeviceStateFd:
            return exact(h, sizeof(DeviceStateParams), nfds, 1);
        case Request::kCheckDeviceState:
            return exact(h, 0, nfds, 0);
        case Request::kGetConfig:
        case Request::kSetConfig:
            return validate_config(h, payload, nfds);
        default:
            return Error{ENOSYS};  // known to the protocol, never offered by us
    }
}

}  // namespace vfs::host::vhost_user
