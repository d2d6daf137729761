#include "backend_channel.h"

#include <errno.h>
#include <sys/socket.h>

namespace vfs::frontend {

namespace vu = vfs::host::vhost_user;

Result<std::unique_ptr<BackendChannel>> BackendChannel::create(Hook hook, AfterReply after) {
    int sv[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
        return vfs::wire::Error{errno};
    std::unique_ptr<BackendChannel> c(new BackendChannel());
    c->ours_ = vu::Connection(UniqueFd(sv[0]));
    c->backend_end_.reset(sv[1]);
    c->hook_ = std::move(hook);
    c->after_ = std::move(after);
    c->thread_ = std::thread([raw = c.get()] { raw->run(); });
    return c;
}

BackendChannel::~BackendChannel() {
    // Wakes the listener's recvmsg with EOF.
    ::shutdown(ours_.fd(), SHUT_RDWR);
    if (thread_.joinable()) thread_.join();
}

std::vector<RecordedBackendRequest> BackendChannel::recorded() const {
    std::lock_guard<std::mutex> lock(mu_);
    return recorded_;
}

void BackendChannel::run() {
    auto msg = std::make_unique<vu::Message>();
    for (;;) {
        auto got = ours_.receive(msg.get());
        if (!got || !*got) return;
        uint64_t result = 1;  // refused unless a hook says otherwise
        if (hook_) result = hook_(*msg);
        {
            std::lock_guard<std::mutex> lock(mu_);
            recorded_.push_back(RecordedBackendRequest{
                msg->hdr, std::vector<uint8_t>(msg->payload, msg->payload + msg->hdr.size),
                msg->nfds});
        }
        if (msg->hdr.flags & vu::kFlagNeedReply) {
            if (!ours_.send_reply(msg->hdr.request, &result, sizeof(result))) return;
        }
        if (after_) after_(*msg, result);
        msg->clear_fds();
    }
}

}  // namespace vfs::frontend
