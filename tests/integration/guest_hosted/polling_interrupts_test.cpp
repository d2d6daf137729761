// The polling guest driver against a real daemon (virtiofsd-cxx) over the hosted
// transport, with EVENT_IDX: it asks for no interrupts, so the daemon writes no call
// eventfd for its completions (each write is a syscall here, and in a VM an injected
// interrupt nobody waits for). Counts the writes on every queue.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdio>

#include <fstream>
#include <memory>

#include "daemon_process.h"
#include "drivers/virtio_fs/fs_device.h"
#include "hosted_transport.h"
#include "lib/ukfuse/session.h"
#include "vfs/wire/virtqueue_layout.h"  // VIRTIO_RING_F_EVENT_IDX

namespace vfs::guest {
namespace {

TEST(PollingInterrupts, NoCallEventfdWritePerCompletion) {
    const std::string dir = test::make_temp_dir("vfs-interrupts");
    const std::string share = dir + "/share", sock = dir + "/fs.sock";
    ASSERT_EQ(::mkdir(share.c_str(), 0755), 0);
    std::ofstream(share + "/file.txt") << "twelve bytes";
    test::DaemonProcess daemon;
    ASSERT_TRUE(daemon.spawn(
        {
            VFS_DAEMON_PATH,
            "--socket-path=" + sock,
            "--shared-dir=" + share,
        },
        dir + "/daemon.log"));
    ASSERT_TRUE(daemon.wait_for_socket(sock)) << daemon.log();
    hosted::HostedOptions o;
    o.socket = sock;
    o.request_queues = 2;
    auto t = hosted::HostedTransport::connect(o);
    ASSERT_TRUE(t) << t.error();
    virtio_fs::FsDevice dev;
    virtio_fs::DeviceOptions d;
    d.timeout_ns = 10'000'000'000ull;
    ASSERT_TRUE(dev.probe(**t, (*t)->dma(), d));
    ASSERT_TRUE((dev.features() >> VIRTIO_RING_F_EVENT_IDX) & 1) << "EVENT_IDX not negotiated";
    ukfuse::Session session;
    ASSERT_TRUE(session.init(dev));
    auto e = session.lookup(ukfuse::kRootId, "file.txt", 8);
    ASSERT_TRUE(e) << e.error();
    for (uint16_t q = 0; q <= 2; ++q)
        (void)(*t)->take_calls(q);

    constexpr int kRequests = 2000;
    for (int i = 0; i < kRequests; ++i) {
        auto a = session.getattr(e->nodeid, nullptr, true);
        ASSERT_TRUE(a) << a.error();
    }
    session.put(e->nodeid);
    ASSERT_TRUE(session.shutdown());  // forgets, on the hiprio queue
    ASSERT_TRUE(session.flush_forgets());
    uint64_t calls = 0;
    for (uint16_t q = 0; q <= 2; ++q)
        calls += (*t)->take_calls(q);
    RecordProperty("call_eventfd_writes", static_cast<int>(calls));
    std::printf("call eventfd writes for %d completions: %llu\n", kRequests,
                static_cast<unsigned long long>(calls));
    EXPECT_EQ(dev.submitted(1) + dev.submitted(2), uint64_t{kRequests} + 2);  // + INIT, LOOKUP
    // Not one per completion; none at all unless the 16-bit index came round.
    EXPECT_LE(calls, 1u);
}

}  // namespace
}  // namespace vfs::guest
