// The vhost-user protocol, back-end side: feature negotiation, the memory table, vring
// set-up and the ring start/stop cycle, for whatever Device sits behind it (device.h).
// One small handler per request, dispatched from a table indexed by request number.
//
// Only the connection thread calls into it. Every message is validated (messages.h)
// before its handler runs, and a handler refuses anything that the validation could not
// know was wrong (a queue index out of range, a ring outside guest memory, a feature never
// offered). The front-end hears of a refusal where
// the protocol lets it: a REPLY_ACK failure when it asked for an ack, an empty
// GET_CONFIG reply; the connection then keeps serving. A refusal nobody can be told of,
// and a malformed message (wrong size, fd count or version), end the connection: the
// front-end would otherwise drive a device that is not in the state it believes.
// The backend itself never exits, never throws and never trusts a front-end's number.
#pragma once

#include <stdint.h>

#include <algorithm>
#include <memory>

#include "memory/dirty_log.h"
#include "memory/guest_memory.h"
#include "vhost_user/connection.h"
#include "vhost_user/device.h"
#include "vhost_user/messages.h"
#include "vhost_user/vring.h"

namespace vfs::host::vhost_user {

// Protocol features the protocol layer implements for every device.
inline constexpr uint64_t kOfferedProtocolFeatures =
    protocol_feature::kMq | protocol_feature::kReplyAck | protocol_feature::kBackendReq |
    protocol_feature::kBackendSendFd | protocol_feature::kConfigureMemSlots |
    protocol_feature::kResetDevice | protocol_feature::kStatus;
// Protocol features a device may add (Device::protocol_features); others are dropped.
inline constexpr uint64_t kDeviceProtocolFeatures =
    protocol_feature::kConfig | protocol_feature::kShmem | protocol_feature::kDeviceState |
    protocol_feature::kLogShmfd;

class Backend {
  public:
    // device must outlive the backend.
    explicit Backend(Device& device);
    ~Backend();
    Backend(const Backend&) = delete;
    Backend& operator=(const Backend&) = delete;

    // Validates and serves one message, sending its reply (or REPLY_ACK, also for a
    // refusal) on conn. An error means the connection must be closed: the message was
    // malformed, refused without a way to tell the front-end, or the reply failed.
    Status handle(Connection& conn, Message& msg);

    // Stops every started ring and drops the dirty log (disconnect, shutdown, reset).
    void stop_all();

    uint64_t offered_features() const;
    uint64_t offered_protocol_features() const;
    uint64_t acked_features() const { return acked_features_; }
    uint64_t acked_protocol_features() const { return acked_protocol_features_; }
    // The migration's dirty log (SET_LOG_BASE, SET_FEATURES' VHOST_F_LOG_ALL).
    const memory::DirtyLogHandle& dirty_log() const { return dirty_log_; }

  private:
    // A reply payload a handler fills for requests that answer with data.
    struct Reply {
        alignas(
            8) uint8_t data[std::max(sizeof(ConfigHeader) + kMaxConfigBytes, sizeof(ShmemConfig))];
        uint32_t size = 0;
        bool present = false;
        template <class T>
        void set(const T& v) {
            static_assert(sizeof(T) <= sizeof(data));
            __builtin_memcpy(data, &v, sizeof(T));
            size = sizeof(T);
            present = true;
        }
    };
    using Handler = Status (Backend::*)(Message&, Reply&);
    static const Handler kHandlers[];

    Status get_features(Message&, Reply&);
    Status set_features(Message&, Reply&);
    Status set_owner(Message&, Reply&);
    Status reset_owner(Message&, Reply&);
    Status set_mem_table(Message&, Reply&);
    Status set_log_base(Message&, Reply&);
    Status set_log_fd(Message&, Reply&);
    Status set_vring_num(Message&, Reply&);
    Status set_vring_addr(Message&, Reply&);
    Status set_vring_base(Message&, Reply&);
    Status get_vring_base(Message&, Reply&);
    Status set_vring_kick(Message&, Reply&);
    Status set_vring_call(Message&, Reply&);
    Status set_vring_err(Message&, Reply&);
    Status get_protocol_features(Message&, Reply&);
    Status set_protocol_features(Message&, Reply&);
    Status get_queue_num(Message&, Reply&);
    Status set_vring_enable(Message&, Reply&);
    Status set_backend_req_fd(Message&, Reply&);
    Status get_config(Message&, Reply&);
    Status set_config(Message&, Reply&);
    Status reset_device(Message&, Reply&);
    Status get_max_mem_slots(Message&, Reply&);
    Status add_mem_reg(Message&, Reply&);
    Status rem_mem_reg(Message&, Reply&);
    Status set_status(Message&, Reply&);
    Status get_status(Message&, Reply&);
    Status get_shmem_config(Message&, Reply&);
    Status set_device_state_fd(Message&, Reply&);
    Status check_device_state(Message&, Reply&);

    // Tells the front-end of a refused message where it can hear it (see the top); an
    // error if it cannot, which closes the connection.
    Status answer_refusal(Connection& conn, const Header& h, int err);
    bool ack_requested(const Header& h) const;
    // The vring a queue index names, or nullptr (logged) if out of range.
    Vring* vring_at(uint32_t index);
    Status start_ring(uint32_t index);
    void stop_ring(uint32_t index);
    void reset_state();

    Device& device_;
    const uint32_t num_queues_;
    std::unique_ptr<Vring[]> vrings_;
    memory::MemoryHandle memory_;
    memory::DirtyLogHandle dirty_log_;
    uint64_t acked_features_ = 0;
    uint64_t acked_protocol_features_ = 0;
    bool owned_ = false;
    uint8_t status_ = 0;
};

}  // namespace vfs::host::vhost_user
