// The modern virtio-PCI transport against a simulated device: capability discovery
// (good, missing, malformed, several of a type), the status handshake, feature
// negotiation, generation-consistent config reads, queue setup and notification.
#include <gtest/gtest.h>
#include <linux/virtio_fs.h>

#include <cstdlib>

#include "drivers/pci/enumerate.h"
#include "drivers/virtio/virtio_pci_modern.h"
#include "drivers/virtio/virtqueue.h"
#include "sim_virtio_device.h"
#include "test_log.h"

namespace vfs::guest {
namespace {

using testing::kBar4Base;
using testing::kVirtioBdf;
using testing::SimVirtioDevice;

class VirtioPci : public ::testing::Test {
  protected:
    void SetUp() override { testing::log_lines().clear(); }

    wire::Status attach() {
        auto d = pci::probe_function(sim.cfg, kVirtioBdf);
        if (!d) return wire::Error{d.error()};
        dev = *d;
        return transport.attach(dev);
    }

    SimVirtioDevice sim;
    pci::Device dev;
    virtio::VirtioPciModern transport{sim.cfg, sim};
};

// Host-memory DmaMemory whose device addresses are the pointers themselves.
class MallocDma final : public virtio::DmaMemory {
  public:
    void* allocate_zeroed(size_t size, size_t align) override {
        void* p = std::aligned_alloc(align, (size + align - 1) / align * align);
        if (p) std::memset(p, 0, size);
        return p;
    }
    void release(void* p) override { std::free(p); }
    uint64_t device_address(const void* p) override { return reinterpret_cast<uintptr_t>(p); }
};

TEST_F(VirtioPci, FindsAndMapsTheStandardLayout) {
    sim.add_standard_caps();
    ASSERT_TRUE(attach().ok());
    const auto& l = transport.layout();
    EXPECT_EQ(l.common.bar, 4);
    EXPECT_EQ(l.notify.offset, testing::kNotifyOff);
    EXPECT_EQ(l.notify_off_multiplier, 4u);
    EXPECT_EQ(l.isr.offset, testing::kIsrOff);
    EXPECT_TRUE(l.device.present);
    EXPECT_EQ(l.shm_count, 0);
    ASSERT_EQ(sim.maps.size(), 4u);
    for (const auto& m : sim.maps)
        EXPECT_EQ(m.caching, pci::MapCaching::kUncached);
    EXPECT_EQ(sim.maps[0].phys, kBar4Base);
    EXPECT_TRUE(sim.fn->get16(PCI_COMMAND) & PCI_COMMAND_MASTER);
    EXPECT_TRUE(sim.fn->get16(PCI_COMMAND) & PCI_COMMAND_MEMORY);
}

TEST_F(VirtioPci, RejectsADeviceMissingARequiredCapability) {
    sim.fn->add_cap(0x84, PCI_CAP_ID_VNDR,
                    testing::virtio_cap(VIRTIO_PCI_CAP_COMMON_CFG, 4, 0, 0x1000));
    sim.fn->add_cap(0x70, PCI_CAP_ID_VNDR,
                    testing::virtio_cap(VIRTIO_PCI_CAP_ISR_CFG, 4, 0x1000, 1));
    EXPECT_EQ(attach().error(), EINVAL);
    EXPECT_TRUE(testing::logged("no usable notify configuration capability"));
}

TEST_F(VirtioPci, RejectsADeviceWithNoCapabilitiesAtAll) {
    EXPECT_EQ(attach().error(), EINVAL);
    EXPECT_TRUE(testing::logged("no usable common configuration capability"));
}

TEST_F(VirtioPci, RejectsABadNotifyMultiplier) {
    for (uint32_t bad : {1u, 3u, 6u, 12u}) {
        SimVirtioDevice s;
        s.add_standard_caps(bad);
        auto d = pci::probe_function(s.cfg, kVirtioBdf);
        virtio::VirtioPciModern t(s.cfg, s);
        testing::log_lines().clear();
        EXPECT_EQ(t.attach(*d).error(), EINVAL) << "multiplier " << bad;
        EXPECT_TRUE(testing::logged("bad notify_off_multiplier"));
    }
    EXPECT_TRUE(virtio::valid_notify_multiplier(0));
    EXPECT_TRUE(virtio::valid_notify_multiplier(2));
    EXPECT_TRUE(virtio::valid_notify_multiplier(4096));
}

TEST_F(VirtioPci, SkipsUnusableCapabilitiesAndTakesTheFirstUsable) {
    using testing::virtio_cap;
    sim.fn->add_cap(0x40, PCI_CAP_ID_VNDR,
                    virtio_cap(VIRTIO_PCI_CAP_COMMON_CFG, 7, 0, 0x1000));  // reserved BAR
    sim.fn->add_cap(0x54, PCI_CAP_ID_VNDR,
                    virtio_cap(VIRTIO_PCI_CAP_COMMON_CFG, 2, 0, 0x1000));  // no such BAR
    sim.fn->add_cap(0x68, PCI_CAP_ID_VNDR,
                    virtio_cap(VIRTIO_PCI_CAP_COMMON_CFG, 4, 0x3ff8, 0x1000));  // outside
    sim.fn->add_cap(0x7c, PCI_CAP_ID_VNDR,
                    virtio_cap(VIRTIO_PCI_CAP_COMMON_CFG, 4, 0, 8));  // too short
    sim.fn->add_cap(0x90, PCI_CAP_ID_VNDR,
                    virtio_cap(VIRTIO_PCI_CAP_COMMON_CFG, 4, 0, 0x1000));  // usable
    sim.fn->add_cap(0xa4, PCI_CAP_ID_VNDR,
                    virtio_cap(VIRTIO_PCI_CAP_COMMON_CFG, 4, 0x100, 0x1000));  // later
    sim.fn->add_cap(0xb8, PCI_CAP_ID_VNDR, testing::notify_cap(4, testing::kNotifyOff, 0x1000, 4));
    sim.fn->add_cap(0xcc, PCI_CAP_ID_VNDR,
                    virtio_cap(VIRTIO_PCI_CAP_ISR_CFG, 4, testing::kIsrOff, 4));
    sim.fn->add_cap(0xe0, PCI_CAP_ID_VNDR, {3, VIRTIO_PCI_CAP_DEVICE_CFG});  // cap_len 3: malformed
    ASSERT_TRUE(attach().ok());
    EXPECT_EQ(transport.layout().common.offset, 0u);
    EXPECT_FALSE(transport.layout().device.present);
    EXPECT_TRUE(testing::logged("reserved BAR number"));
    EXPECT_TRUE(testing::logged("BAR is not a memory BAR"));
    EXPECT_TRUE(testing::logged("range outside its BAR"));
    EXPECT_TRUE(testing::logged("structure too short"));
    EXPECT_TRUE(testing::logged("capability too short"));
}

TEST_F(VirtioPci, ReadsSharedMemoryCapabilitiesById) {
    sim.add_standard_caps();
    sim.fn->set_bar(2, {testing::SimBar::kMem64, true, 1ull << 33, 0x1000000000ull});
    sim.fn->add_cap(0xa0, PCI_CAP_ID_VNDR,
                    testing::shm_cap(2, 1ull << 32, 1ull << 32, VIRTIO_FS_SHMCAP_ID_CACHE));
    sim.fn->add_cap(0xb8, PCI_CAP_ID_VNDR, testing::shm_cap(2, 0, 0x1000, 5));
    ASSERT_TRUE(attach().ok());
    EXPECT_EQ(transport.layout().shm_count, 2);
    auto cache = transport.shared_memory(VIRTIO_FS_SHMCAP_ID_CACHE);
    ASSERT_TRUE(cache.ok());
    EXPECT_EQ(cache->phys, 0x1000000000ull + (1ull << 32));
    EXPECT_EQ(cache->length, 1ull << 32);
    EXPECT_EQ(sim.maps.back().caching, pci::MapCaching::kWriteBack);
    EXPECT_EQ(transport.shared_memory(5)->length, 0x1000u);
    EXPECT_EQ(transport.shared_memory(1).error(), ENOENT);
}

TEST_F(VirtioPci, BrokenCapabilityChainIsReported) {
    sim.add_standard_caps();
    sim.fn->regs[0x71] = 0x40;  // the last entry points back to the first
    EXPECT_EQ(attach().error(), ELOOP);
    EXPECT_TRUE(testing::logged("broken capability list"));
}

TEST_F(VirtioPci, HandshakeNegotiatesAndReachesDriverOk) {
    sim.add_standard_caps();
    ASSERT_TRUE(attach().ok());
    const uint64_t wanted = (1ull << VIRTIO_F_VERSION_1) | (1ull << 29) | (1ull << 40);
    auto acc = transport.negotiate_features(wanted);
    ASSERT_TRUE(acc.ok());
    EXPECT_EQ(*acc, (1ull << VIRTIO_F_VERSION_1) | (1ull << 29));  // 40 is not offered
    EXPECT_EQ(sim.driver_features, *acc);
    ASSERT_TRUE(transport.driver_ok().ok());
    const std::vector<uint8_t> expected = {
        0, VIRTIO_CONFIG_S_ACKNOWLEDGE, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER,
        VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER | VIRTIO_CONFIG_S_FEATURES_OK,
        VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER | VIRTIO_CONFIG_S_FEATURES_OK |
            VIRTIO_CONFIG_S_DRIVER_OK};
    EXPECT_EQ(sim.status_writes, expected);
}

TEST_F(VirtioPci, LegacyOnlyDeviceIsFailed) {
    sim.features = 1ull << 28;
    sim.add_standard_caps();
    ASSERT_TRUE(attach().ok());
    EXPECT_EQ(transport.negotiate_features(1ull << VIRTIO_F_VERSION_1).error(), EOPNOTSUPP);
    EXPECT_TRUE(sim.status & VIRTIO_CONFIG_S_FAILED);
    EXPECT_TRUE(testing::logged("VIRTIO_F_VERSION_1"));
}

TEST_F(VirtioPci, RefusedFeaturesOkIsFailed) {
    sim.accept_features_ok = false;
    sim.add_standard_caps();
    ASSERT_TRUE(attach().ok());
    EXPECT_EQ(transport.negotiate_features(0).error(), EOPNOTSUPP);
    EXPECT_TRUE(sim.status & VIRTIO_CONFIG_S_FAILED);
}

TEST_F(VirtioPci, ConfigReadsRetryWhileGenerationChanges) {
    sim.add_standard_caps();
    ASSERT_TRUE(attach().ok());
    virtio_fs_config want{};
    std::memcpy(want.tag, "myfs", 4);
    want.num_request_queues = 2;
    std::memcpy(sim.device_config.data(), &want, sizeof(want));
    sim.generation_changes = 3;
    virtio_fs_config got{};
    ASSERT_TRUE(transport.read_device_config(0, &got, sizeof(got)).ok());
    EXPECT_EQ(std::memcmp(&got, &want, sizeof(got)), 0);
    EXPECT_EQ(sim.generation_changes, 0);

    sim.generation_changes = 1000000;  // never settles
    EXPECT_EQ(transport.read_device_config(0, &got, sizeof(got)).error(), EAGAIN);
    EXPECT_EQ(transport.read_device_config(0x1000 - 2, &got, 4).error(), ERANGE);
}

TEST_F(VirtioPci, QueueSizeIsTheSmallerPowerOfTwo) {
    sim.add_standard_caps();
    ASSERT_TRUE(attach().ok());
    sim.queues[1].max_size = 64;
    EXPECT_EQ(*transport.queue_size(1, 256), 64);
    EXPECT_EQ(*transport.queue_size(1, 32), 32);
    EXPECT_EQ(*transport.queue_size(1, 48), 32);
    sim.queues[2].max_size = 100;  // not a power of two: round down
    EXPECT_EQ(*transport.queue_size(2, 1024), 64);
    sim.queues[2].max_size = 0;  // unavailable
    EXPECT_EQ(transport.queue_size(2, 1024).error(), ENOENT);
    EXPECT_EQ(transport.queue_size(3, 16).error(), ENOENT);
}

TEST_F(VirtioPci, QueueSetupWritesAddressHalvesAndNotifiesAtTheRightPlace) {
    sim.add_standard_caps(4);
    ASSERT_TRUE(attach().ok());
    ASSERT_TRUE(transport.negotiate_features(0).ok());
    const virtio::QueueAddresses a{0x1'2345'6000ull, 0x2'0000'1000ull, 0x3000};
    sim.queues[2].notify_off = 7;
    ASSERT_TRUE(transport.enable_queue(2, 128, a).ok());
    EXPECT_EQ(sim.queues[2].desc_addr(), a.desc);
    EXPECT_EQ(sim.queues[2].avail_addr(), a.driver);
    EXPECT_EQ(sim.queues[2].used_addr(), a.device);
    EXPECT_EQ(sim.queues[2].enable, 1);
    EXPECT_EQ(sim.queues[2].size, 128);
    transport.notify(2);
    ASSERT_EQ(sim.notifies.size(), 1u);
    EXPECT_EQ(sim.notifies[0].first, 7u * 4u);
    EXPECT_EQ(sim.notifies[0].second, 2);
    EXPECT_EQ(transport.enable_queue(2, 256, a).error(), EINVAL);  // above the maximum
    EXPECT_EQ(transport.enable_queue(2, 100, a).error(), EINVAL);  // not a power of two
    EXPECT_TRUE(transport.enable_queue(2, 64, a).ok());            // smaller is allowed
    EXPECT_EQ(sim.queues[2].size, 64);
}

TEST_F(VirtioPci, ZeroMultiplierSharesOneNotifyAddress) {
    sim.add_standard_caps(0);
    ASSERT_TRUE(attach().ok());
    for (uint16_t q = 0; q < 3; ++q)
        ASSERT_TRUE(transport.enable_queue(q, 128, {0x1000, 0x2000, 0x3000}).ok());
    EXPECT_EQ(transport.notify_address(0), transport.notify_address(2));
}

TEST_F(VirtioPci, NotifyOffsetOutsideTheCapabilityIsRefused) {
    sim.add_standard_caps(4);
    ASSERT_TRUE(attach().ok());
    sim.queues[1].notify_off = 1024;  // 4096: one past the 0x1000-byte area
    EXPECT_EQ(transport.enable_queue(1, 128, {0x1000, 0x2000, 0x3000}).error(), ERANGE);
    EXPECT_EQ(sim.queues[1].enable, 0);
    EXPECT_TRUE(testing::logged("outside the notify capability"));
    sim.queues[1].notify_off = 1023;
    EXPECT_TRUE(transport.enable_queue(1, 128, {0x1000, 0x2000, 0x3000}).ok());
}

TEST_F(VirtioPci, VirtqueueProgramsTheRingsAndKicks) {
    sim.add_standard_caps();
    ASSERT_TRUE(attach().ok());
    ASSERT_TRUE(transport.negotiate_features(0).ok());
    MallocDma dma;
    virtio::Virtqueue vq;
    ASSERT_TRUE(vq.init(transport, dma, 1, 1024, false).ok());
    EXPECT_EQ(vq.size(), 128);
    EXPECT_EQ(sim.queues[1].desc_addr(), vq.addresses().desc);
    EXPECT_EQ(vq.addresses().desc % 4096, 0u);
    EXPECT_EQ(sim.queues[1].enable, 1);
    char req[16], reply[32];
    const wire::DriverBuffer out{reinterpret_cast<uintptr_t>(req), sizeof(req)};
    const wire::DriverBuffer in{reinterpret_cast<uintptr_t>(reply), sizeof(reply)};
    ASSERT_TRUE(vq.submit(&out, 1, &in, 1, 42).ok());
    ASSERT_EQ(sim.notifies.size(), 1u);
    EXPECT_EQ(sim.notifies[0].second, 1);
    EXPECT_EQ(vq.poll().error(), EAGAIN);
    EXPECT_EQ(vq.num_free(), 126u);
}

}  // namespace
}  // namespace vfs::guest

namespace vfs::guest {
namespace {

// The CPU side as a test sees it: a fixed message, and sleeps counted.
class FakeInterrupts final : public virtio::InterruptPlatform {
  public:
    wire::Result<pci::MsiMessage> completion_message() override {
        if (refuse) return wire::Error{EOPNOTSUPP};
        return pci::MsiMessage{0xfee01000, 0x40};
    }
    void sleep(uint64_t max_ns) override {
        ++sleeps;
        last_max_ns = max_ns;
    }
    bool refuse = false;
    int sleeps = 0;
    uint64_t last_max_ns = 0;
};

class VirtioPciInterrupts : public ::testing::Test {
  protected:
    void SetUp() override {
        testing::log_lines().clear();
        sim.add_standard_caps();
    }
    wire::Status attach() {
        auto d = pci::probe_function(sim.cfg, kVirtioBdf);
        if (!d) return wire::Error{d.error()};
        if (wire::Status s = transport.attach(*d); !s) return s;
        auto f = transport.negotiate_features(0);
        if (!f) return wire::Error{f.error()};
        return {};
    }
    wire::Status enable_queues() {
        for (auto& q : vqs)
            if (wire::Status s = q.init(transport, dma, static_cast<uint16_t>(&q - vqs), 128, true);
                !s)
                return s;
        return {};
    }

    SimVirtioDevice sim;
    FakeInterrupts irq;
    virtio::VirtioPciModern transport{sim.cfg, sim, &irq};
    MallocDma dma;
    virtio::Virtqueue vqs[2];
};

TEST_F(VirtioPciInterrupts, OneVectorForConfigAndEveryQueue) {
    sim.add_msix(1);  // as QEMU 11.1's vhost-user-test-device-pci
    ASSERT_TRUE(attach().ok());
    ASSERT_TRUE(transport.use_interrupts().ok());
    EXPECT_EQ(sim.msix_config, 0);
    EXPECT_EQ(sim.msix_entry(0, PCI_MSIX_ENTRY_LOWER_ADDR), 0xfee01000u);
    EXPECT_EQ(sim.msix_entry(0, PCI_MSIX_ENTRY_DATA), 0x40u);
    EXPECT_EQ(sim.msix_entry(0, PCI_MSIX_ENTRY_VECTOR_CTRL), 0u);
    EXPECT_EQ(sim.fn->get16(testing::kMsixCapOff + PCI_MSIX_FLAGS) &
                  (PCI_MSIX_FLAGS_ENABLE | PCI_MSIX_FLAGS_MASKALL),
              PCI_MSIX_FLAGS_ENABLE);
    ASSERT_TRUE(enable_queues().ok());
    EXPECT_EQ(sim.queues[0].msix_vector, 0);
    EXPECT_EQ(sim.queues[1].msix_vector, 0);
    EXPECT_EQ(sim.queues[2].msix_vector, VIRTIO_MSI_NO_VECTOR) << "never enabled";
    EXPECT_TRUE(transport.interrupts_active());
    transport.wait_for_interrupt(5'000'000);
    EXPECT_EQ(irq.sleeps, 1);
    EXPECT_EQ(irq.last_max_ns, 5'000'000u);
}

TEST_F(VirtioPciInterrupts, NoMsixCapabilityMeansPolling) {
    ASSERT_TRUE(attach().ok());
    EXPECT_EQ(transport.use_interrupts().error(), EOPNOTSUPP);
    EXPECT_TRUE(testing::logged("no usable MSI-X capability: completion by polling"));
    ASSERT_TRUE(enable_queues().ok());
    EXPECT_FALSE(transport.interrupts_active());
    EXPECT_EQ(sim.queues[0].msix_vector, VIRTIO_MSI_NO_VECTOR) << "no vector written";
    transport.wait_for_interrupt(1000);
    EXPECT_EQ(irq.sleeps, 0) << "a polling transport never sleeps";
}

TEST_F(VirtioPciInterrupts, RefusedQueueVectorFallsBackToPolling) {
    sim.add_msix(3);
    sim.refuse_queue_vectors = true;
    ASSERT_TRUE(attach().ok());
    ASSERT_TRUE(transport.use_interrupts().ok());
    ASSERT_TRUE(enable_queues().ok()) << "the queue still works, polled";
    EXPECT_FALSE(transport.interrupts_active());
    EXPECT_TRUE(testing::logged("refused MSI-X vector 0 for queue 0 (read back 0xffff)"));
}

TEST_F(VirtioPciInterrupts, RefusedConfigVectorTurnsMsixOffAgain) {
    sim.add_msix(3);
    sim.msix_vectors = 0;  // the capability says 3, the device accepts none
    ASSERT_TRUE(attach().ok());
    EXPECT_EQ(transport.use_interrupts().error(), EIO);
    EXPECT_TRUE(testing::logged("refused MSI-X vector 0 for its configuration"));
    EXPECT_EQ(sim.fn->get16(testing::kMsixCapOff + PCI_MSIX_FLAGS) & PCI_MSIX_FLAGS_ENABLE, 0);
    ASSERT_TRUE(enable_queues().ok());
    EXPECT_FALSE(transport.interrupts_active());
}

TEST_F(VirtioPciInterrupts, CpuWithoutInterruptsMeansPolling) {
    sim.add_msix(3);
    irq.refuse = true;
    ASSERT_TRUE(attach().ok());
    EXPECT_EQ(transport.use_interrupts().error(), EOPNOTSUPP);
    EXPECT_TRUE(testing::logged("cannot take device interrupts"));
    EXPECT_EQ(sim.fn->get16(testing::kMsixCapOff + PCI_MSIX_FLAGS) & PCI_MSIX_FLAGS_ENABLE, 0);
}

TEST_F(VirtioPciInterrupts, NoPlatformMeansPolling) {
    sim.add_msix(3);
    virtio::VirtioPciModern plain{sim.cfg, sim};
    auto d = pci::probe_function(sim.cfg, kVirtioBdf);
    ASSERT_TRUE(d.ok());
    ASSERT_TRUE(plain.attach(*d).ok());
    EXPECT_EQ(plain.use_interrupts().error(), EOPNOTSUPP);
    EXPECT_TRUE(testing::logged("no interrupt platform"));
}

}  // namespace
}  // namespace vfs::guest
