#include "vhost_user/backend.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <new>

#include <spdlog/spdlog.h>

#include "util/proc_self_fd.h"
#include "vfs/wire/virtqueue_layout.h"

namespace vfs::host::vhost_user {

namespace {

Status refuse(int err, const char* why) {
    spdlog::error("vhost-user: {}", why);
    return Error{err};
}

// False only when the fd is provably not an eventfd: /proc/self/fd names every eventfd
// "anon_inode:[eventfd]" (util/proc_self_fd.h reaches it inside the sandbox too). Without
// /proc only fds with a file type (pipes, sockets, files: an anonymous inode has none) are
// refused, and the device must still cope (virtio-fs: a kick read must return 8 bytes, or
// the queue breaks).
bool is_eventfd(int fd) {
    char name[16];
    snprintf(name, sizeof(name), "%d", fd);
    char target[64];
    const ssize_t n = ::readlinkat(proc_self_fd(), name, target, sizeof(target));
    if (n < 0) {
        struct stat st {};
        return ::fstat(fd, &st) == 0 && (st.st_mode & S_IFMT) == 0;
    }
    static constexpr char kEventfd[] = "anon_inode:[eventfd]";
    return static_cast<size_t>(n) == sizeof(kEventfd) - 1 &&
           memcmp(target, kEventfd, sizeof(kEventfd) - 1) == 0;
}

// A call or err fd: an eventfd (a pipe's write would block a worker once full), and
// non-blocking, so a front-end that saturates the counter (a write of 2^64-2) gets EAGAIN
// from the worker's signal, not a worker blocked for good. O_NONBLOCK is a property of the
// open file the front-end shares; its own reads of an eventfd are poll-driven anyway.
Status adopt_notifier_fd(const UniqueFd& fd, const char* request) {
    if (!is_eventfd(fd.get())) {
        spdlog::error("vhost-user: {}: the fd is not an eventfd", request);
        return Error{EINVAL};
    }
    const int fl = ::fcntl(fd.get(), F_GETFL);
    if (fl < 0 || ::fcntl(fd.get(), F_SETFL, fl | O_NONBLOCK) < 0) return Error{errno};
    return {};
}

// Requests whose answer is a reply of their own, whatever features were negotiated (the
// spec's list): a REPLY_ACK cannot stand in for it. SET_LOG_BASE replies only under
// LOG_SHMFD, and its handler then always answers (a u64 status, as libvhost-user's).
bool has_own_reply(uint32_t request) {
    switch (static_cast<Request>(request)) {
        case Request::kGetFeatures:
        case Request::kGetProtocolFeatures:
        case Request::kGetVringBase:
        case Request::kGetQueueNum:
        case Request::kGetConfig:
        case Request::kCreateCryptoSession:
        case Request::kPostcopyAdvise:
        case Request::kPostcopyEnd:
        case Request::kGetInflightFd:
        case Request::kGetMaxMemSlots:
        case Request::kGetStatus:
        case Request::kSetDeviceStateFd:
        case Request::kCheckDeviceState:
        case Request::kGetShmemConfig:
            return true;
        default:
            return false;
    }
}

memory::GuestRegion guest_region(const MemoryRegion& r) {
    return {r.guest_phys_addr, r.memory_size, r.userspace_addr, r.mmap_offset};
}

// A region of the memory table added to map: mmapped, or, when its fd is a file the
// device has mapped into its shared-memory window (a DAX mapping, which the front-end
// reports as memory), recorded without being mapped: the file may be shorter than the
// range, and nothing the device serves needs to reach it.
Result<std::shared_ptr<const memory::MemoryMap>> add_region(
    const std::shared_ptr<const memory::MemoryMap>& map, const MemoryRegion& r, int fd,
    memory::WindowFiles* window_files) {
    const memory::GuestRegion desc = guest_region(r);
    if (window_files && window_files->holds(fd)) {
        window_files->reported();
        spdlog::debug(
            "vhost-user: region gpa {:#x} size {:#x} is a shared-memory mapping: not mapped",
            r.guest_phys_addr, r.memory_size);
        return map->with_unmapped_region(desc);
    }
    auto region = memory::map_region(desc, fd);
    if (!region) return Error{region.error()};
    return map->with_region(std::move(*region));
}

}  // namespace

static_assert(kMaxMemSlots <= memory::kMaxRegions, "GET_MAX_MEM_SLOTS promises more than fits");

// Indexed by request number; a null entry is a request we never offered.
const Backend::Handler Backend::kHandlers[] = {
    nullptr,                          // 0
    &Backend::get_features,           // GET_FEATURES
    &Backend::set_features,           // SET_FEATURES
    &Backend::set_owner,              // SET_OWNER
    &Backend::reset_owner,            // RESET_OWNER
    &Backend::set_mem_table,          // SET_MEM_TABLE
    &Backend::set_log_base,           // SET_LOG_BASE (only with LOG_SHMFD acked)
    &Backend::set_log_fd,             // SET_LOG_FD
    &Backend::set_vring_num,          // SET_VRING_NUM
    &Backend::set_vring_addr,         // SET_VRING_ADDR
    &Backend::set_vring_base,         // SET_VRING_BASE
    &Backend::get_vring_base,         // GET_VRING_BASE
    &Backend::set_vring_kick,         // SET_VRING_KICK
    &Backend::set_vring_call,         // SET_VRING_CALL
    &Backend::set_vring_err,          // SET_VRING_ERR
    &Backend::get_protocol_features,  // GET_PROTOCOL_FEATURES
    &Backend::set_protocol_features,  // SET_PROTOCOL_FEATURES
    &Backend::get_queue_num,          // GET_QUEUE_NUM
    &Backend::set_vring_enable,       // SET_VRING_ENABLE
    nullptr,                          // SEND_RARP
    nullptr,                          // NET_SET_MTU
    &Backend::set_backend_req_fd,     // SET_BACKEND_REQ_FD
    nullptr,                          // IOTLB_MSG
    nullptr,                          // SET_VRING_ENDIAN
    &Backend::get_config,             // GET_CONFIG
    &Backend::set_config,             // SET_CONFIG
    nullptr,                          // CREATE_CRYPTO_SESSION
    nullptr,                          // CLOSE_CRYPTO_SESSION
    nullptr,                          // POSTCOPY_ADVISE
    nullptr,                          // POSTCOPY_LISTEN
    nullptr,                          // POSTCOPY_END
    nullptr,                          // GET_INFLIGHT_FD
    nullptr,                          // SET_INFLIGHT_FD
    nullptr,                          // GPU_SET_SOCKET
    &Backend::reset_device,           // RESET_DEVICE
    nullptr,                          // VRING_KICK: INBAND_NOTIFICATIONS not offered
    &Backend::get_max_mem_slots,      // GET_MAX_MEM_SLOTS
    &Backend::add_mem_reg,            // ADD_MEM_REG
    &Backend::rem_mem_reg,            // REM_MEM_REG
    &Backend::set_status,             // SET_STATUS
    &Backend::get_status,             // GET_STATUS
    nullptr,                          // GET_SHARED_OBJECT
    &Backend::set_device_state_fd,    // SET_DEVICE_STATE_FD (only with DEVICE_STATE acked)
    &Backend::check_device_state,     // CHECK_DEVICE_STATE
    &Backend::get_shmem_config,       // GET_SHMEM_CONFIG (only with SHMEM acked)
};

Backend::Backend(Device& device)
    : device_(device), num_queues_(device.num_queues()), vrings_(new Vring[num_queues_]) {}

Backend::~Backend() {
    stop_all();
}

Status Backend::handle(Connection& conn, Message& msg) {
    static_assert(sizeof(kHandlers) / sizeof(kHandlers[0]) == static_cast<size_t>(Request::kCount));
    const Header& h = msg.hdr;
    const char* name = request_name(h.request);
    Status v = validate(h, msg.payload, msg.nfds);
    // A request we do not serve is a refusal; anything else validate() finds is a
    // malformed message, which ends the connection.
    if (!v && v.error() != ENOSYS) {
        spdlog::error("vhost-user: malformed {} (request {}, size {}, {} fds, flags {:#x}): {}",
                      name, h.request, h.size, msg.nfds, h.flags, strerror(v.error()));
        return v;
    }
    const Handler fn = v ? kHandlers[h.request] : nullptr;
    if (!fn) {
        msg.clear_fds();
        spdlog::error("vhost-user: unsupported request {} ({})", name, h.request);
        return answer_refusal(conn, h, ENOSYS);
    }
    spdlog::debug("vhost-user: {}", name);

    Reply reply;
    // Out of memory (a memory map, a queue's worker): refused like any other failure.
    auto run = [&]() -> Status {
        try {
            return (this->*fn)(msg, reply);
        } catch (const std::bad_alloc&) {
            return Error{ENOMEM};
        }
    };
    Status s = run();
    msg.clear_fds();  // whatever a handler did not take is closed now
    if (!s) {
        spdlog::error("vhost-user: {} refused: {}", name, strerror(s.error()));
        return answer_refusal(conn, h, s.error());
    }
    if (reply.present) return conn.send_reply(h.request, reply.data, reply.size);
    if (ack_requested(h)) {
        const uint64_t ok = 0;
        return conn.send_reply(h.request, &ok, sizeof(ok));
    }
    return {};
}

bool Backend::ack_requested(const Header& h) const {
    return (h.flags & kFlagNeedReply) && (acked_protocol_features_ & protocol_feature::kReplyAck);
}

Status Backend::answer_refusal(Connection& conn, const Header& h, int err) {
    // The spec's failure answer for GET_CONFIG is a reply without payload.
    if (h.request == static_cast<uint32_t>(Request::kGetConfig))
        return conn.send_reply(h.request, nullptr, 0);
    if (has_own_reply(h.request) || !ack_requested(h)) {
        spdlog::error("vhost-user: the front-end cannot be told {} was refused",
                      request_name(h.request));
        return Error{err};
    }
    // A non-zero ack is a failure; the errno says which.
    const uint64_t failed = err != 0 ? static_cast<uint64_t>(err) : EIO;
    return conn.send_reply(h.request, &failed, sizeof(failed));
}

uint64_t Backend::offered_features() const {
    return device_.features() | feature::kProtocolFeatures;
}

uint64_t Backend::offered_protocol_features() const {
    return kOfferedProtocolFeatures | (device_.protocol_features() & kDeviceProtocolFeatures);
}

Vring* Backend::vring_at(uint32_t index) {
    if (index >= num_queues_) {
        spdlog::error("vhost-user: queue index {} out of range (max {})", index, num_queues_);
        return nullptr;
    }
    return &vrings_[index];
}

Status Backend::get_features(Message&, Reply& r) {
    r.set(offered_features());
    return {};
}

Status Backend::set_features(Message& m, Reply&) {
    const auto v = payload_as<uint64_t>(m.payload);
    if (v & ~offered_features()) return refuse(EINVAL, "SET_FEATURES acks features never offered");
    acked_features_ = v;
    // QEMU sets and clears LOG_ALL on running rings as a migration starts and ends.
    const bool log_all = (v & feature::kLogAll) != 0;
    if (log_all != dirty_log_.logging())
        spdlog::info("vhost-user: dirty-page logging {}{}", log_all ? "on" : "off",
                     log_all && !dirty_log_.get() ? " (no log yet)" : "");
    dirty_log_.set_logging(log_all);
    spdlog::info("vhost-user: features set {:#x}", v);
    return {};
}

Status Backend::set_owner(Message&, Reply&) {
    owned_ = true;
    return {};
}

Status Backend::reset_owner(Message&, Reply&) {
    reset_state();
    return {};
}

Status Backend::reset_device(Message&, Reply&) {
    reset_state();
    spdlog::info("vhost-user: device reset");
    return {};
}

Status Backend::get_protocol_features(Message&, Reply& r) {
    r.set(offered_protocol_features());
    return {};
}

Status Backend::set_protocol_features(Message& m, Reply&) {
    const auto v = payload_as<uint64_t>(m.payload);
    if (v & ~offered_protocol_features())
        return refuse(EINVAL, "SET_PROTOCOL_FEATURES acks features never offered");
    acked_protocol_features_ = v;
    device_.set_protocol_features(v);
    spdlog::info("vhost-user: protocol features set {:#x}", v);
    return {};
}

Status Backend::get_queue_num(Message&, Reply& r) {
    r.set(uint64_t{num_queues_});
    return {};
}

Status Backend::get_max_mem_slots(Message&, Reply& r) {
    r.set(uint64_t{kMaxMemSlots});
    return {};
}

Status Backend::set_mem_table(Message& m, Reply&) {
    MemoryTable t;
    __builtin_memcpy(&t, m.payload, m.hdr.size);  // validate() bounded size to the table
    auto map = std::make_shared<const memory::MemoryMap>();
    for (uint32_t i = 0; i < t.num_regions; ++i) {
        auto next = add_region(map, t.regions[i], m.fds[i].get(), device_.window_files());
        if (!next) return refuse(next.error(), "cannot map a memory region (or regions overlap)");
        map = std::move(*next);
    }
    memory_.set(std::move(map));
    spdlog::info("vhost-user: memory table received: {} regions", t.num_regions);
    for (uint32_t i = 0; i < t.num_regions; ++i) {
        const auto& r = t.regions[i];
        spdlog::debug("  region {}: gpa {:#x} size {:#x} uva {:#x} offset {:#x}", i,
                      r.guest_phys_addr, r.memory_size, r.userspace_addr, r.mmap_offset);
    }
    return {};
}

// Under LOG_SHMFD the request has a reply of its own: a u64, 0 for success, else the errno
// of the refusal (the connection serves on; a front-end that checks it learns why). QEMU
// sends a new log whenever guest memory grows during a migration: it replaces the old.
Status Backend::set_log_base(Message& m, Reply& r) {
    if (!(acked_protocol_features_ & protocol_feature::kLogShmfd))
        return refuse(EINVAL, "SET_LOG_BASE without the LOG_SHMFD protocol feature");
    const auto p = payload_as<LogParams>(m.payload);
    int err = 0;
    if (m.nfds != 1) {
        spdlog::error("vhost-user: SET_LOG_BASE without the log's fd");
        err = EINVAL;
    } else if (auto log = memory::DirtyLog::map(m.fds[0].get(), p.mmap_size, p.mmap_offset); !log) {
        spdlog::error("vhost-user: SET_LOG_BASE: cannot map {:#x} bytes at offset {:#x}: {}",
                      p.mmap_size, p.mmap_offset, strerror(log.error()));
        err = log.error();
    } else {
        // It must cover every guest page the daemon can write: the front-end sizes it from
        // its memory table (the spec: "from address 0 to the maximum of guest regions").
        // The last byte of the highest region (is_valid: it does not wrap).
        bool any = false;
        uint64_t last = 0;
        for (const auto& reg : memory_.get()->regions())
            if (reg->host()) {
                any = true;
                last = std::max(last, reg->desc().guest_phys_addr + (reg->desc().memory_size - 1));
            }
        if (any && (*log)->covered_bytes() <= last) {
            spdlog::error(
                "vhost-user: SET_LOG_BASE: a log of {:#x} bytes covers {:#x} bytes of guest "
                "memory, the memory table reaches {:#x}",
                p.mmap_size, (*log)->covered_bytes(), last + 1);
            err = EINVAL;
        } else {
            dirty_log_.set_log(std::move(*log));
            spdlog::info("vhost-user: dirty log of {:#x} bytes mapped (covers {:#x})", p.mmap_size,
                         dirty_log_.get()->covered_bytes());
        }
    }
    r.set(uint64_t{static_cast<uint64_t>(err)});
    return {};
}

Status Backend::set_log_fd(Message& m, Reply&) {
    if (Status s = adopt_notifier_fd(m.fds[0], "SET_LOG_FD"); !s) return s;
    dirty_log_.log_call().set(std::move(m.fds[0]));
    return {};
}

Status Backend::add_mem_reg(Message& m, Reply&) {
    const auto d = payload_as<SingleMemoryRegion>(m.payload).region;
    auto next = add_region(memory_.get(), d, m.fds[0].get(), device_.window_files());
    if (!next)
        return refuse(next.error(),
                      "ADD_MEM_REG cannot be mapped, overlaps a region or exceeds the slots");
    memory_.set(std::move(*next));
    spdlog::info("vhost-user: memory region added: gpa {:#x} size {:#x}", d.guest_phys_addr,
                 d.memory_size);
    return {};
}

Status Backend::rem_mem_reg(Message& m, Reply&) {
    const auto d = payload_as<SingleMemoryRegion>(m.payload).region;
    auto next = memory_.get()->without_region(guest_region(d));
    if (!next) return refuse(next.error(), "REM_MEM_REG names no mapped region");
    memory_.set(std::move(*next));
    spdlog::info("vhost-user: memory region removed: gpa {:#x} size {:#x}", d.guest_phys_addr,
                 d.memory_size);
    return {};
}

Status Backend::set_vring_num(Message& m, Reply&) {
    const auto s = payload_as<VringState>(m.payload);
    Vring* v = vring_at(s.index);
    if (!v) return Error{EINVAL};
    if (s.num == 0 || !vfs::wire::valid_queue_size(s.num))
        return refuse(EINVAL, "SET_VRING_NUM: size is not a power of two up to 32768");
    if (v->started) return refuse(EBUSY, "SET_VRING_NUM on a started ring");
    v->num = s.num;
    return {};
}

Status Backend::set_vring_addr(Message& m, Reply&) {
    const auto a = payload_as<VringAddr>(m.payload);
    Vring* v = vring_at(a.index);
    if (!v) return Error{EINVAL};
    if (a.flags & ~kVringAddrFlagLog) return refuse(EINVAL, "SET_VRING_ADDR: unknown flags");
    const bool log = (a.flags & kVringAddrFlagLog) != 0;
    if (log && !(offered_features() & feature::kLogAll))
        return refuse(EINVAL, "SET_VRING_ADDR: logging not offered");
    if (v->started) {
        // Logging starts and stops on running rings: only the log flag and address may
        // change there.
        if (a.desc_user_addr != v->addr.desc_user_addr ||
            a.used_user_addr != v->addr.used_user_addr ||
            a.avail_user_addr != v->addr.avail_user_addr)
            return refuse(EBUSY, "SET_VRING_ADDR moves the rings of a started ring");
        spdlog::info("vhost-user: queue {}: used ring logging {} (guest address {:#x})", a.index,
                     log ? "on" : "off", a.log_guest_addr);
    }
    v->addr = a;
    v->addr_set = true;
    v->used_log.set(log, a.log_guest_addr);
    return {};
}

Status Backend::set_vring_base(Message& m, Reply&) {
    const auto s = payload_as<VringState>(m.payload);
    Vring* v = vring_at(s.index);
    if (!v) return Error{EINVAL};
    if (s.num > 0xffff) return refuse(EINVAL, "SET_VRING_BASE: index above 65535");
    if (v->started) return refuse(EBUSY, "SET_VRING_BASE on a started ring");
    v->base = static_cast<uint16_t>(s.num);
    return {};
}

Status Backend::get_vring_base(Message& m, Reply& r) {
    const auto s = payload_as<VringState>(m.payload);
    Vring* v = vring_at(s.index);
    if (!v) return Error{EINVAL};
    stop_ring(s.index);
    r.set(VringState{s.index, v->base});
    return {};
}

Status Backend::set_vring_kick(Message& m, Reply&) {
    const auto u = payload_as<uint64_t>(m.payload);
    const auto index = static_cast<uint32_t>(u & kVringIndexMask);
    Vring* v = vring_at(index);
    if (!v) return Error{EINVAL};
    if (u & kVringNoFdFlag)
        return refuse(EINVAL, "SET_VRING_KICK without an fd: polling not supported");
    if (!is_eventfd(m.fds[0].get()))
        return refuse(EINVAL, "SET_VRING_KICK: the fd is not an eventfd");
    // A new kick fd on a started ring: restart it where it stands.
    if (v->started) stop_ring(index);
    v->kick = std::move(m.fds[0]);
    return start_ring(index);
}

Status Backend::set_vring_call(Message& m, Reply&) {
    const auto u = payload_as<uint64_t>(m.payload);
    Vring* v = vring_at(static_cast<uint32_t>(u & kVringIndexMask));
    if (!v) return Error{EINVAL};
    if (u & kVringNoFdFlag) {
        v->call.clear();
    } else {
        if (Status s = adopt_notifier_fd(m.fds[0], "SET_VRING_CALL"); !s) return s;
        v->call.set(std::move(m.fds[0]));
    }
    return {};
}

Status Backend::set_vring_err(Message& m, Reply&) {
    const auto u = payload_as<uint64_t>(m.payload);
    Vring* v = vring_at(static_cast<uint32_t>(u & kVringIndexMask));
    if (!v) return Error{EINVAL};
    if (u & kVringNoFdFlag) {
        v->err.clear();
    } else {
        if (Status s = adopt_notifier_fd(m.fds[0], "SET_VRING_ERR"); !s) return s;
        v->err.set(std::move(m.fds[0]));
    }
    return {};
}

Status Backend::set_vring_enable(Message& m, Reply&) {
    const auto s = payload_as<VringState>(m.payload);
    Vring* v = vring_at(s.index);
    if (!v) return Error{EINVAL};
    if (s.num > 1) return refuse(EINVAL, "SET_VRING_ENABLE: state is neither 0 nor 1");
    v->enabled = s.num == 1;
    if (v->started) device_.enable_queue(s.index, v->enabled);
    spdlog::debug("vhost-user: queue {} {}", s.index, v->enabled ? "enabled" : "disabled");
    return {};
}

Status Backend::set_backend_req_fd(Message& m, Reply&) {
    device_.set_backend_channel(std::move(m.fds[0]));
    spdlog::info("vhost-user: backend request channel received");
    return {};
}

Status Backend::get_config(Message& m, Reply& r) {
    if (!(acked_protocol_features_ & protocol_feature::kConfig))
        return refuse(EINVAL, "GET_CONFIG without the CONFIG protocol feature");
    const auto h = payload_as<ConfigHeader>(m.payload);
    // validate() checked offset + size <= kMaxConfigBytes.
    if (Status s = device_.read_config(h.offset, std::span(r.data + sizeof(h), h.size)); !s)
        return refuse(s.error(), "GET_CONFIG: the device has no such config bytes");
    __builtin_memcpy(r.data, &h, sizeof(h));
    r.size = static_cast<uint32_t>(sizeof(h) + h.size);
    r.present = true;
    return {};
}

Status Backend::set_config(Message& m, Reply&) {
    if (!(acked_protocol_features_ & protocol_feature::kConfig))
        return refuse(EINVAL, "SET_CONFIG without the CONFIG protocol feature");
    const auto h = payload_as<ConfigHeader>(m.payload);
    if (Status s =
            device_.write_config(h.offset, std::span<const uint8_t>(m.payload + sizeof(h), h.size));
        !s)
        return refuse(s.error(), "SET_CONFIG refused by the device");
    return {};
}

Status Backend::set_status(Message& m, Reply&) {
    status_ = static_cast<uint8_t>(payload_as<uint64_t>(m.payload));
    spdlog::info("vhost-user: device status {:#x}", status_);
    return {};
}

Status Backend::get_shmem_config(Message&, Reply& r) {
    if (!(acked_protocol_features_ & protocol_feature::kShmem))
        return refuse(EINVAL, "GET_SHMEM_CONFIG without the SHMEM protocol feature");
    const std::span<const uint64_t> sizes = device_.shmem_regions();
    ShmemConfig c;
    c.nregions = static_cast<uint32_t>(std::min<size_t>(sizes.size(), kMaxShmemRegions));
    for (uint32_t i = 0; i < c.nregions; ++i)
        c.memory_sizes[i] = sizes[i];
    r.set(c);
    spdlog::info("vhost-user: shared memory: {} region(s), region 0 {:#x} bytes", c.nregions,
                 c.nregions ? c.memory_sizes[0] : 0);
    return {};
}

Status Backend::get_status(Message&, Reply& r) {
    r.set(uint64_t{status_});
    return {};
}

Status Backend::start_ring(uint32_t index) {
    Vring& v = vrings_[index];
    if (v.num == 0 || !v.addr_set)
        return refuse(EINVAL, "ring started before its size and addresses");
    auto mem = memory_.get();
    vfs::wire::DeviceQueue::Rings rings;
    rings.desc = reinterpret_cast<vring_desc*>(
        mem->translate_uva(v.addr.desc_user_addr, vfs::wire::desc_table_bytes(v.num)));
    rings.avail = reinterpret_cast<vring_avail*>(
        mem->translate_uva(v.addr.avail_user_addr, vfs::wire::avail_ring_bytes(v.num)));
    rings.used = reinterpret_cast<vring_used*>(
        mem->translate_uva(v.addr.used_user_addr, vfs::wire::used_ring_bytes(v.num)));
    if (!rings.desc || !rings.avail || !rings.used)
        return refuse(EFAULT,
                      fmt::format("queue {}: ring addresses outside guest memory", index).c_str());

    const int kick = ::fcntl(v.kick.get(), F_DUPFD_CLOEXEC, 0);
    if (kick < 0) return refuse(errno, "cannot duplicate the kick fd");
    QueueSetup q;
    q.index = index;
    q.size = v.num;
    q.rings = rings;
    q.ring_memory = mem;
    q.base = v.base;
    q.features = acked_features_;
    // Without PROTOCOL_FEATURES there is no SET_VRING_ENABLE: a started ring is enabled.
    q.enabled = !(acked_features_ & feature::kProtocolFeatures) || v.enabled;
    q.kick = UniqueFd(kick);
    q.call = &v.call;
    q.err = &v.err;
    q.memory = &memory_;
    q.dirty_log = &dirty_log_;
    q.used_log = &v.used_log;
    if (Status s = device_.start_queue(std::move(q)); !s)
        return refuse(s.error(),
                      fmt::format("queue {}: the device cannot serve it", index).c_str());
    v.started = true;
    spdlog::info("vhost-user: queue {} started (size {}, base {}, event_idx {})", index, v.num,
                 v.base, (acked_features_ & feature::kRingEventIdx) != 0);
    return {};
}

void Backend::stop_ring(uint32_t index) {
    Vring& v = vrings_[index];
    if (!v.started) return;
    v.base = device_.stop_queue(index);
    v.started = false;
    spdlog::info("vhost-user: queue {} stopped at avail index {}", index, v.base);
}

void Backend::stop_all() {
    for (uint32_t i = 0; i < num_queues_; ++i)
        stop_ring(i);
    // Nothing writes guest memory now: the front-end's log is unmapped.
    dirty_log_.set_logging(false);
    dirty_log_.set_log(nullptr);
}

void Backend::reset_state() {
    stop_all();
    device_.reset();
    for (uint32_t i = 0; i < num_queues_; ++i) {
        Vring& v = vrings_[i];
        v.num = 0;
        v.addr = VringAddr{};
        v.addr_set = false;
        v.base = 0;
        v.enabled = false;
        v.kick.reset();
        v.call.clear();
        v.err.clear();
        v.used_log.set(false, 0);
    }
    // A reset ends any migration (stop_all dropped the log).
    dirty_log_.log_call().clear();
    // The front-end re-sends SET_FEATURES (and the memory table) when it starts the
    // device again, but not the protocol features, which belong to the connection.
    acked_features_ = 0;
    status_ = 0;
}

// Both answer with their own u64 (never a REPLY_ACK), so a refusal is a failure value in
// the reply and the connection serves on: QEMU then fails the migration, and the source
// resumes.
Status Backend::set_device_state_fd(Message& m, Reply& r) {
    const auto p = payload_as<DeviceStateParams>(m.payload);
    UniqueFd fd = std::move(m.fds[0]);
    DeviceStateHandler* state = device_.device_state();
    int err = 0;
    if (!(acked_protocol_features_ & protocol_feature::kDeviceState) || !state) {
        spdlog::error("vhost-user: SET_DEVICE_STATE_FD without the DEVICE_STATE protocol feature");
        err = EINVAL;
    } else if (p.direction > 1 || p.phase != kStatePhaseStopped) {
        spdlog::error("vhost-user: SET_DEVICE_STATE_FD: direction {} phase {} not served",
                      p.direction, p.phase);
        err = EINVAL;
    } else if (std::any_of(vrings_.get(), vrings_.get() + num_queues_,
                           [](const Vring& v) { return v.started; })) {
        spdlog::error("vhost-user: SET_DEVICE_STATE_FD while a ring runs");
        err = EBUSY;
    } else if (Status s =
                   state->begin_transfer(static_cast<StateDirection>(p.direction), std::move(fd));
               !s) {
        err = s.error();
    }
    if (!err)
        spdlog::info("vhost-user: device state {} started", p.direction == 0 ? "save" : "load");
    // The front-end's own pipe is used: no fd comes back.
    r.set(uint64_t{kDeviceStateNoFd | (err ? 1u : 0u)});
    return {};
}

Status Backend::check_device_state(Message&, Reply& r) {
    DeviceStateHandler* state = device_.device_state();
    Status s = Error{EINVAL};
    if ((acked_protocol_features_ & protocol_feature::kDeviceState) && state)
        s = state->finish_transfer();
    if (!s)
        spdlog::error("vhost-user: device state transfer failed: {}", strerror(s.error()));
    else
        spdlog::info("vhost-user: device state transfer done");
    r.set(uint64_t{s ? 0u : 1u});
    return {};
}

}  // namespace vfs::host::vhost_user
