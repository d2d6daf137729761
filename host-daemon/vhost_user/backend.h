// The vhost-user-fs device as the front-end sees it: feature negotiation, the memory
// table, vring set-up and the ring start/stop cycle. One small handler per request,
// dispatched from a table indexed by request number.
//
// Only the connection thread calls into it. Every message is validated (messages.h)
// before its handler runs, and a handler refuses anything that the validation could not
// know was wrong (a queue index out of range, a ring outside guest memory, a feature never
// offered). A refused message is an error the caller answers by closing the connection;
// the backend itself never exits, never throws and never trusts a front-end's number.
#pragma once

#include <stdint.h>

#include <memory>
#include <optional>
#include <string>

#include "queue/request_handler.h"
#include "vhost_user/connection.h"
#include "vhost_user/guest_memory.h"
#include "vhost_user/messages.h"
#include "vhost_user/vring.h"

namespace vfs::host::vhost_user {

struct BackendConfig {
    // Queues reported by GET_QUEUE_NUM: the high-priority queue plus request queues.
    uint32_t max_queues = 65;
    // The virtio-fs tag; when set, CONFIG is offered and GET_CONFIG serves the tag.
    std::optional<std::string> tag;
    RequestHandler* handler = nullptr;
};

// Virtio features offered to every front-end.
inline constexpr uint64_t kOfferedFeatures = feature::kVersion1 | feature::kRingIndirectDesc |
                                             feature::kRingEventIdx | feature::kProtocolFeatures;
// Protocol features offered; CONFIG is added only with a tag.
inline constexpr uint64_t kOfferedProtocolFeatures =
    protocol_feature::kMq | protocol_feature::kReplyAck | protocol_feature::kBackendReq |
    protocol_feature::kBackendSendFd | protocol_feature::kConfigureMemSlots |
    protocol_feature::kResetDevice | protocol_feature::kStatus;

class Backend {
  public:
    explicit Backend(BackendConfig config);
    ~Backend();
    Backend(const Backend&) = delete;
    Backend& operator=(const Backend&) = delete;

    // Validates and serves one message, sending its reply (or REPLY_ACK) on conn. An
    // error means the message was refused and the connection must be closed.
    Status handle(Connection& conn, Message& msg);

    // Stops every started ring (disconnect, shutdown).
    void stop_all();

    // The backend request channel (SET_BACKEND_REQ_FD), kept for the planned DAX map
    // requests (nothing sends on it yet); -1 if none.
    int backend_req_fd() const { return backend_req_.get(); }
    uint64_t acked_features() const { return acked_features_; }
    uint64_t acked_protocol_features() const { return acked_protocol_features_; }

  private:
    // A reply payload a handler fills for requests that answer with data.
    struct Reply {
        alignas(8) uint8_t data[sizeof(ConfigHeader) + kMaxConfigBytes];
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

    uint64_t offered_protocol_features() const;
    // The vring a queue index names, or nullptr (logged) if out of range.
    Vring* vring_at(uint32_t index);
    Status start_ring(uint32_t index);
    void stop_ring(uint32_t index);
    void reset_state();

    BackendConfig cfg_;
    std::unique_ptr<Vring[]> vrings_;
    MemoryHandle memory_;
    UniqueFd backend_req_;
    uint64_t acked_features_ = 0;
    uint64_t acked_protocol_features_ = 0;
    bool owned_ = false;
    uint8_t status_ = 0;
};

}  // namespace vfs::host::vhost_user
