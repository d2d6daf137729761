// Fuzzes the guest's reply decoding, where the device (the host, maybe hostile) speaks:
//   mode 0: common/'s FUSE decoders, decode_reply for any opcode and DirentReader over the
//           data, with exact-size buffers so ASan sees any read or write past them;
//   mode 1: the ukfuse session over a fake virtio-fs device whose every reply comes from
//           the input (with its unique, length and error fixed up when the input says so);
//   mode 2: the p9 client over a fake virtio-9p device, the same way, and DirReader.
// A malformed reply must be an error, never a crash, a hang or an out-of-bounds access.
#include <linux/fuse.h>

#include <fuzzer/FuzzedDataProvider.h>

#include <cstring>
#include <memory>
#include <vector>

#include "drivers/virtio_9p/p9_device.h"
#include "drivers/virtio_fs/fs_device.h"
#include "fake_9p_transport.h"
#include "fake_fs_transport.h"
#include "lib/p9/client.h"
#include "lib/ukfuse/session.h"
#include "vfs/wire/fuse_client.h"
#include "vfs/wire/fuse_opcodes.h"

namespace {

using namespace vfs;

// Replies from the input: mostly well framed (so the decoders past the framing get fuzzed),
// sometimes not at all.
std::vector<uint8_t> fuse_reply(FuzzedDataProvider& in, uint64_t unique) {
    std::vector<uint8_t> body = in.ConsumeBytes<uint8_t>(in.ConsumeIntegralInRange<size_t>(0, 600));
    fuse_out_header h{};
    const uint8_t fix = in.ConsumeIntegral<uint8_t>();
    h.len =
        (fix & 1) ? static_cast<uint32_t>(sizeof(h) + body.size()) : in.ConsumeIntegral<uint32_t>();
    h.unique = (fix & 2) ? unique : in.ConsumeIntegral<uint64_t>();
    h.error = (fix & 4) ? 0 : -in.ConsumeIntegralInRange<int32_t>(-2, 200);
    if (!(fix & 4) && (fix & 1)) h.len = sizeof(h);
    std::vector<uint8_t> out(sizeof(h) + body.size());
    memcpy(out.data(), &h, sizeof(h));
    if (!body.empty()) memcpy(out.data() + sizeof(h), body.data(), body.size());
    return out;
}

void fuzz_decoders(FuzzedDataProvider& in) {
    wire::ClientRequest rq;
    rq.opcode = in.ConsumeIntegralInRange<uint32_t>(1, 52);
    rq.unique = 7;
    rq.nodeid = 1;
    const wire::OpInfo* op = wire::fuse_op(rq.opcode);
    if (!op) return;
    // Arguments some replies are sized by (READ's size, GETXATTR's size, ...).
    std::vector<uint8_t> arg(256);
    for (auto& b : arg)
        b = in.ConsumeIntegral<uint8_t>();
    rq.arg = arg.data();
    const wire::Proto proto{in.ConsumeIntegralInRange<uint32_t>(0, FUSE_KERNEL_MINOR_VERSION),
                            in.ConsumeBool()};
    const std::vector<uint8_t> head_bytes = in.ConsumeBytes<uint8_t>(wire::kReplyHeadMax);
    std::vector<uint8_t> head(wire::kReplyHeadMax);
    if (!head_bytes.empty()) memcpy(head.data(), head_bytes.data(), head_bytes.size());
    const uint64_t data_cap = in.ConsumeIntegralInRange<uint64_t>(0, 1 << 20);
    fuse_out_header h;
    memcpy(&h, head.data(), sizeof(h));
    const uint64_t used = in.ConsumeBool() ? h.len : in.ConsumeIntegral<uint32_t>();
    const uint32_t need = wire::detail::reply_head_struct(*op, rq, proto);
    const uint32_t out_size = in.ConsumeBool() ? need : in.ConsumeIntegralInRange<uint32_t>(0, 512);
    std::unique_ptr<uint8_t[]> out(new uint8_t[out_size ? out_size : 1]);
    (void)wire::decode_reply(rq, proto, head.data(), data_cap, used, out.get(), out_size);
    // The data a READDIR(PLUS) reply carries, walked as the guest walks it.
    const std::vector<uint8_t> dir = in.ConsumeRemainingBytes<uint8_t>();
    std::unique_ptr<uint8_t[]> exact(new uint8_t[dir.size() ? dir.size() : 1]);
    if (!dir.empty()) memcpy(exact.get(), dir.data(), dir.size());
    for (bool plus : {false, true}) {
        wire::DirentReader r(exact.get(), dir.size(), plus);
        wire::DirEntry e;
        for (int i = 0; i < 4096; ++i) {
            auto n = r.next(&e);
            if (!n || !*n) break;
            if (e.namelen && (e.name[0] == 0 || e.name[e.namelen - 1] == 0)) abort();
        }
    }
}

void fuzz_ukfuse(FuzzedDataProvider& in) {
    guest::testing::HostDma dma;
    guest::testing::FakeFsTransport t(
        [&](const guest::testing::FakeRequest& rq) {
            guest::testing::FakeReply r;
            r.bytes = fuse_reply(in, rq.in.unique);
            return r;
        },
        16);
    guest::virtio_fs::FsDevice dev;
    guest::virtio_fs::DeviceOptions o;
    o.slots = 4;
    o.queue_size = 16;
    o.timeout_ns = 50'000'000ull;
    if (!dev.probe(t, dma, o)) return;
    guest::ukfuse::Session s;
    if (!s.init(dev)) return;
    std::vector<uint8_t> local(1 << 16);
    for (int n = 0; n < 24 && in.remaining_bytes() > 0; ++n) {
        const uint64_t node = in.ConsumeIntegralInRange<uint64_t>(1, 4);
        switch (in.ConsumeIntegralInRange<int>(0, 9)) {
            case 0: {
                auto e = s.lookup(node, "name", 4);
                if (e) s.put(e->nodeid);
                break;
            }
            case 1:
                (void)s.getattr(node, nullptr, true);
                break;
            case 2: {
                auto h = s.open(node, 0, false);
                if (h) {
                    (void)s.read(node, h->fh, 0, local.data(),
                                 in.ConsumeIntegralInRange<uint32_t>(1, 1 << 16));
                    (void)s.release(node, *h, 0, false);
                }
                break;
            }
            case 3: {
                auto h = s.open(node, 0, true);
                if (h) {
                    auto len = s.readdir(node, h->fh, 0, local.data(), 4096);
                    if (len) {
                        wire::DirentReader r(local.data(), *len, s.info().readdirplus);
                        wire::DirEntry e;
                        for (int i = 0; i < 512; ++i) {
                            auto x = r.next(&e);
                            if (!x || !*x) break;
                            if (s.info().readdirplus)
                                s.absorb_direntplus(node, e.name, e.namelen, e.entry);
                        }
                    }
                    (void)s.release(node, *h, 0, true);
                }
                break;
            }
            case 4: {
                char target[256];
                (void)s.readlink(node, target, sizeof(target));
                break;
            }
            case 5:
                (void)s.statfs(node);
                break;
            case 6: {
                guest::ukfuse::OpenHandle h;
                auto e = s.create(node, "new", 3, 0, 0644, &h);
                if (e) {
                    (void)s.write(e->nodeid, h.fh, 0, local.data(),
                                  in.ConsumeIntegralInRange<uint32_t>(1, 8192));
                    (void)s.release(e->nodeid, h, 0, false);
                    s.put(e->nodeid);
                }
                break;
            }
            case 7: {
                auto e = s.mkdir(node, "dir", 3, 0755);
                if (e) s.put(e->nodeid);
                break;
            }
            case 8:
                (void)s.rename(node, "a", 1, node, "b", 1, 0);
                break;
            default:
                (void)s.flush_forgets();
                break;
        }
    }
    (void)s.shutdown();
}

void fuzz_p9(FuzzedDataProvider& in) {
    guest::testing::Fake9pTransport t([&](const std::vector<uint8_t>& rq) {
        guest::testing::Fake9pReply r;
        std::vector<uint8_t> body =
            in.ConsumeBytes<uint8_t>(in.ConsumeIntegralInRange<size_t>(0, 400));
        const uint8_t fix = in.ConsumeIntegral<uint8_t>();
        const uint8_t type = rq.size() > 4 ? rq[4] : 0;
        const uint16_t tag = rq.size() > 6 ? static_cast<uint16_t>(rq[5] | (rq[6] << 8)) : 0;
        r.bytes.resize(7 + body.size());
        const uint32_t size =
            (fix & 1) ? static_cast<uint32_t>(r.bytes.size()) : in.ConsumeIntegral<uint32_t>();
        memcpy(r.bytes.data(), &size, 4);
        r.bytes[4] = (fix & 2) ? static_cast<uint8_t>(type + 1)
                               : ((fix & 4) ? 7 /* Rlerror */ : in.ConsumeIntegral<uint8_t>());
        const uint16_t rtag = (fix & 8) ? tag : in.ConsumeIntegral<uint16_t>();
        memcpy(r.bytes.data() + 5, &rtag, 2);
        if (!body.empty()) memcpy(r.bytes.data() + 7, body.data(), body.size());
        if (fix & 16) r.used_len = in.ConsumeIntegral<uint16_t>();
        return r;
    });
    guest::testing::HostDma dma;
    guest::virtio_9p::P9Device dev;
    guest::virtio_9p::P9DeviceOptions o;
    o.timeout_ns = 50'000'000ull;
    if (!dev.probe(t, dma, o)) return;
    guest::p9::Client c;
    if (!c.init(dev, guest::p9::kMinMsize + in.ConsumeIntegralInRange<uint32_t>(0, 1 << 16)))
        return;
    std::vector<uint8_t> buf(1 << 16);
    for (int n = 0; n < 24 && in.remaining_bytes() > 0; ++n) {
        const guest::p9::Name name{"f", 1};
        auto fid = c.walk(guest::p9::kRootFid, in.ConsumeBool() ? &name : nullptr,
                          in.ConsumeBool() ? 1 : 0);
        if (!fid) continue;
        switch (in.ConsumeIntegralInRange<int>(0, 6)) {
            case 0:
                if (c.lopen(*fid, 0))
                    (void)c.read(*fid, 0, buf.data(),
                                 in.ConsumeIntegralInRange<uint32_t>(1, 1 << 16));
                break;
            case 1:
                (void)c.getattr(*fid);
                break;
            case 2: {
                auto len = c.readdir(*fid, 0, buf.data(), 4096);
                if (len) {
                    guest::p9::DirReader r(buf.data(), *len);
                    guest::p9::DirEntry e;
                    for (int i = 0; i < 512; ++i) {
                        auto x = r.next(&e);
                        if (!x || !*x) break;
                    }
                }
                break;
            }
            case 3: {
                char target[128];
                (void)c.readlink(*fid, target, sizeof(target));
                break;
            }
            case 4:
                (void)c.statfs(*fid);
                break;
            case 5:
                if (c.lcreate(*fid, guest::p9::Name{"n", 1}, 0, 0644))
                    (void)c.write(*fid, 0, buf.data(), 5000);
                break;
            default:
                (void)c.mkdir(*fid, guest::p9::Name{"d", 1}, 0755);
                break;
        }
        (void)c.clunk(*fid);
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    FuzzedDataProvider in(data, size);
    switch (in.ConsumeIntegralInRange<int>(0, 2)) {
        case 0:
            fuzz_decoders(in);
            break;
        case 1:
            fuzz_ukfuse(in);
            break;
        default:
            fuzz_p9(in);
            break;
    }
    return 0;
}
