#include "vhost_user/backend_channel.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <chrono>
#include <memory>

#include <spdlog/spdlog.h>

namespace vfs::host::vhost_user {

BackendChannel::BackendChannel(UniqueFd sock)
    : conn_(std::move(sock)), cancel_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {}

Status BackendChannel::shmem_map(const ShmemMap& m, int fd) {
    return request(BackendRequest::kShmemMap, m, &fd, 1);
}

Status BackendChannel::shmem_unmap(const ShmemMap& m) {
    return request(BackendRequest::kShmemUnmap, m, nullptr, 0);
}

void BackendChannel::cancel() {
    cancelled_.store(true, std::memory_order_release);
    const uint64_t one = 1;
    [[maybe_unused]] ssize_t n = ::write(cancel_.get(), &one, sizeof(one));
}

void BackendChannel::resume() {
    // The eventfd stays readable while cancelled, so every wait sees it (poll does not
    // consume it); only this ends it.
    cancelled_.store(false, std::memory_order_release);
    uint64_t drained = 0;
    [[maybe_unused]] ssize_t n = ::read(cancel_.get(), &drained, sizeof(drained));
}

Status BackendChannel::request(BackendRequest req, const ShmemMap& m, const int* fds,
                               uint32_t nfds) {
    std::lock_guard lock(mu_);
    if (broken_ || !conn_.valid() || !cancel_.valid()) return Error{EIO};
    // A cancel is never drained here: it may be meant for this very request (its ring is
    // stopping and the front-end may not answer until the stop is done).
    if (cancelled()) return Error{ECANCELED};
    Header h;
    h.request = static_cast<uint32_t>(req);
    h.flags = kVersion | kFlagNeedReply;
    h.size = sizeof(m);
    if (Status s = conn_.send(h, &m, fds, nfds); !s) {
        spdlog::error("vhost-user: backend channel: sending request {} failed: {}", h.request,
                      strerror(s.error()));
        broken_ = true;
        return s;
    }
    return await_reply(h.request);
}

Status BackendChannel::await_reply(uint32_t req) {
    using Clock = std::chrono::steady_clock;
    const auto deadline = Clock::now() + std::chrono::milliseconds(kReplyTimeoutMs);
    auto msg = std::make_unique<Message>();
    for (;;) {
        const auto left =
            std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
        if (left <= 0) {
            ++owed_;
            spdlog::error("vhost-user: backend channel: no answer to request {} in {} ms", req,
                          kReplyTimeoutMs);
            return Error{ETIMEDOUT};
        }
        pollfd p[2] = {{conn_.fd(), POLLIN, 0}, {cancel_.get(), POLLIN, 0}};
        const int r = ::poll(p, 2, static_cast<int>(left));
        if (r < 0) {
            if (errno == EINTR) continue;
            ++owed_;
            return Error{errno};
        }
        if (p[1].revents & POLLIN) {
            ++owed_;
            spdlog::warn("vhost-user: backend channel: request {} given up (ring stopping)", req);
            return Error{ECANCELED};
        }
        if (!(p[0].revents & (POLLIN | POLLHUP | POLLERR))) continue;
        auto got = conn_.receive(msg.get());
        if (!got || !*got) {
            spdlog::error("vhost-user: backend channel closed by the front-end");
            broken_ = true;
            return Error{EIO};
        }
        msg->clear_fds();
        const Header& h = msg->hdr;
        if (owed_ > 0 && (h.flags & kFlagReply)) {  // the answer to one given up on
            --owed_;
            continue;
        }
        if (h.request != req || !(h.flags & kFlagReply) || h.size != sizeof(uint64_t)) {
            spdlog::error("vhost-user: backend channel: malformed reply (request {}, size {})",
                          h.request, h.size);
            broken_ = true;
            return Error{EIO};
        }
        const auto v = payload_as<uint64_t>(msg->payload);
        if (v != 0) return Error{EIO};
        return {};
    }
}

}  // namespace vfs::host::vhost_user
