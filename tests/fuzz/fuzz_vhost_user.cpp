// Fuzzes vhost-user message validation and dispatch: each input is a sequence of messages
// (header, payload, and fds of chosen kinds) sent over a socketpair to a vhost_user::Backend,
// which receives, validates and serves them as the daemon's connection thread does. The
// device behind it reads and writes every byte of each ring it is given, so ASan sees a ring
// the protocol layer wrongly took to be inside guest memory.
#include <fcntl.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fuzzer/FuzzedDataProvider.h>

#include <cstring>
#include <memory>
#include <vector>

#include <spdlog/spdlog.h>

#include "vhost_user/backend.h"

namespace vu = vfs::host::vhost_user;

namespace {

constexpr size_t kGuestBytes = 64 << 10;
int g_memfd = -1;

class RingTouchingDevice final : public vu::Device {
  public:
    uint32_t num_queues() const override { return 2; }
    uint64_t features() const override {
        return vu::feature::kVersion1 | vu::feature::kRingEventIdx;
    }
    uint64_t protocol_features() const override { return vu::protocol_feature::kConfig; }
    vfs::wire::Status read_config(uint32_t offset, std::span<uint8_t> out) const override {
        if (offset > 64 || out.size() > 64 - offset) return vfs::wire::Error{EINVAL};
        memset(out.data(), 0x5a, out.size());
        return {};
    }
    vfs::wire::Status start_queue(vu::QueueSetup q) override {
        // Every byte the protocol layer vouched for: desc table, avail ring, used ring.
        volatile uint8_t sink = 0;
        const auto* d = reinterpret_cast<const uint8_t*>(q.rings.desc);
        for (size_t i = 0; i < size_t{16} * q.size; ++i)
            sink = sink + d[i];
        const auto* a = reinterpret_cast<const uint8_t*>(q.rings.avail);
        for (size_t i = 0; i < 6 + size_t{2} * q.size; ++i)
            sink = sink + a[i];
        auto* u = reinterpret_cast<uint8_t*>(q.rings.used);
        for (size_t i = 0; i < 6 + size_t{8} * q.size; ++i)
            u[i] = static_cast<uint8_t>(u[i] + sink);
        if (q.call) q.call->signal();
        started_ = true;
        return {};
    }
    uint16_t stop_queue(uint32_t) override { return 0; }
    void enable_queue(uint32_t, bool) override {}
    void reset() override {}
    void set_backend_channel(vfs::host::UniqueFd) override {}

  private:
    bool started_ = false;
};

// An fd of the kind the fuzzer picks: what front-ends send, and what they should not.
int make_fd(uint8_t kind) {
    switch (kind % 5) {
        case 0:
            return ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        case 1:
            return ::fcntl(g_memfd, F_DUPFD_CLOEXEC, 0);
        case 2: {
            int p[2];
            if (::pipe2(p, O_CLOEXEC) < 0) return -1;
            ::close(p[0]);
            return p[1];
        }
        case 3:
            return ::open("/dev/null", O_RDWR | O_CLOEXEC);
        default: {
            int sv[2];
            if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) return -1;
            ::close(sv[1]);
            return sv[0];
        }
    }
}

void drain(int fd) {
    char buf[8192];
    while (::recv(fd, buf, sizeof(buf), MSG_DONTWAIT) > 0) {
    }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
    spdlog::set_level(spdlog::level::off);
    g_memfd = ::memfd_create("fuzz-guest", MFD_CLOEXEC);
    if (g_memfd < 0 || ::ftruncate(g_memfd, kGuestBytes) < 0) abort();
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    FuzzedDataProvider in(data, size);
    int sv[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) return 0;
    vu::Connection daemon_end{vfs::host::UniqueFd(sv[0])}, frontend_end{vfs::host::UniqueFd(sv[1])};
    RingTouchingDevice device;
    vu::Backend backend(device);
    auto msg = std::make_unique<vu::Message>();
    for (int n = 0; n < 64 && in.remaining_bytes() > 0; ++n) {
        vu::Header h;
        // Mostly known requests; sometimes anything.
        h.request = in.ConsumeBool() ? in.ConsumeIntegralInRange<uint32_t>(0, 45)
                                     : in.ConsumeIntegral<uint32_t>();
        h.flags = in.ConsumeBool() ? (vu::kVersion | (in.ConsumeBool() ? vu::kFlagNeedReply : 0))
                                   : in.ConsumeIntegral<uint32_t>();
        const uint8_t fd_spec = in.ConsumeIntegral<uint8_t>();
        const uint32_t nfds = fd_spec % 4;
        std::vector<uint8_t> payload =
            in.ConsumeBytes<uint8_t>(in.ConsumeIntegralInRange<size_t>(0, vu::kMaxPayloadBytes));
        h.size = static_cast<uint32_t>(payload.size());
        int fds[4];
        uint32_t made = 0;
        for (uint32_t i = 0; i < nfds; ++i) {
            const int fd = make_fd(static_cast<uint8_t>(fd_spec >> (2 + i * 2)));
            if (fd >= 0) fds[made++] = fd;
        }
        const bool sent = frontend_end.send(h, payload.data(), fds, made).ok();
        for (uint32_t i = 0; i < made; ++i)
            ::close(fds[i]);
        if (!sent) break;
        auto got = daemon_end.receive(msg.get());
        if (!got || !*got) break;
        const bool ok = backend.handle(daemon_end, *msg).ok();
        msg->clear_fds();
        drain(frontend_end.fd());
        if (!ok) break;  // the daemon closes the connection here
    }
    backend.stop_all();
    return 0;
}
