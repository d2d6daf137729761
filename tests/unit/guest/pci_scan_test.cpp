// PCI enumeration and BAR sizing against a simulated configuration space.
#include <gtest/gtest.h>

#include "drivers/pci/enumerate.h"
#include "sim_config_space.h"

namespace vfs::guest {
namespace {

using testing::SimBar;
using testing::SimConfigSpace;
using testing::SimFunction;

const pci::Device* find(const pci::DeviceList& l, pci::Bdf f) {
    for (size_t i = 0; i < l.count; ++i) {
        if (l.devices[i].bdf == f) return &l.devices[i];
    }
    return nullptr;
}

SimFunction bridge_to(uint8_t secondary) {
    SimFunction b(0x1b36, 0x000c, PCI_HEADER_TYPE_BRIDGE);
    b.regs[PCI_SECONDARY_BUS] = secondary;
    return b;
}

TEST(PciScan, FindsFunctionsOfMultiFunctionDevicesOnly) {
    SimConfigSpace cfg;
    cfg.add({0, 0, 0}, SimFunction(0x8086, 0x1237));
    cfg.add({0, 1, 0}, SimFunction(0x8086, 0x7000, 0x80));  // multi-function
    cfg.add({0, 1, 3}, SimFunction(0x8086, 0x7113));
    cfg.add({0, 2, 0}, SimFunction(0x1234, 0x1111));  // single function ...
    cfg.add({0, 2, 1}, SimFunction(0x1234, 0x2222));  // ... whose ghost must be skipped
    pci::DeviceList l;
    pci::enumerate(cfg, l);
    EXPECT_EQ(l.count, 4u);
    EXPECT_NE(find(l, {0, 1, 3}), nullptr);
    EXPECT_EQ(find(l, {0, 2, 1}), nullptr);
    EXPECT_EQ(find(l, {0, 1, 3})->device_id, 0x7113);
}

TEST(PciScan, FollowsBridgesAndSurvivesBridgeLoops) {
    SimConfigSpace cfg;
    cfg.add({0, 0, 0}, SimFunction(0x8086, 0x29c0));
    cfg.add({0, 28, 0}, bridge_to(1));  // q35 PCIe root port
    cfg.add({1, 0, 0}, SimFunction(0x1af4, 0x105a));
    cfg.add({1, 1, 0}, bridge_to(2));
    cfg.add({2, 0, 0}, bridge_to(1));  // misconfigured: points back up
    cfg.add({2, 3, 0}, SimFunction(0x1af4, 0x1041));
    cfg.add({0, 29, 0}, bridge_to(0));  // unassigned secondary bus: not followed
    pci::DeviceList l;
    pci::enumerate(cfg, l);
    EXPECT_EQ(l.count, 7u);
    ASSERT_NE(find(l, {1, 0, 0}), nullptr);
    EXPECT_EQ(find(l, {1, 0, 0})->device_id, 0x105a);
    EXPECT_NE(find(l, {2, 3, 0}), nullptr);
    EXPECT_EQ(find(l, {0, 28, 0})->secondary_bus, 1);
}

TEST(PciScan, StopsAtCapacityAndSaysSo) {
    SimConfigSpace cfg;
    for (uint8_t bus = 0; bus < 3; ++bus) {
        for (uint8_t dev = 0; dev < 31; ++dev)
            cfg.add({bus, dev, 0}, SimFunction(0x1234, dev));
        cfg.add({bus, 31, 0}, bridge_to(static_cast<uint8_t>(bus + 1)));
    }
    pci::DeviceList l;
    pci::enumerate(cfg, l);
    EXPECT_EQ(l.count, pci::DeviceList::kCapacity);
    EXPECT_TRUE(l.truncated);
}

TEST(PciBars, SizesIoMem32AndPrefetchableMem64AboveFourGiB) {
    SimConfigSpace cfg;
    SimFunction& fn = cfg.add({0, 3, 0}, SimFunction(0x1af4, 0x105a));
    fn.set_bar(0, {SimBar::kIo, false, 0x20, 0xc040});
    fn.set_bar(1, {SimBar::kMem32, false, 0x1000, 0xfebf1000});
    fn.set_bar(4, {SimBar::kMem64, true, 0x4000, 0x800000000ull});
    const uint16_t cmd_before = fn.get16(PCI_COMMAND);
    auto d = pci::probe_function(cfg, {0, 3, 0});
    ASSERT_TRUE(d.ok());
    EXPECT_EQ(d->bars[0].kind, pci::BarKind::kIo);
    EXPECT_EQ(d->bars[0].base, 0xc040u);
    EXPECT_EQ(d->bars[0].size, 0x20u);
    EXPECT_EQ(d->bars[1].kind, pci::BarKind::kMem32);
    EXPECT_EQ(d->bars[1].base, 0xfebf1000u);
    EXPECT_EQ(d->bars[1].size, 0x1000u);
    EXPECT_FALSE(d->bars[1].prefetchable);
    EXPECT_EQ(d->bars[2].kind, pci::BarKind::kNone);
    EXPECT_EQ(d->bars[4].kind, pci::BarKind::kMem64);
    EXPECT_TRUE(d->bars[4].prefetchable);
    EXPECT_EQ(d->bars[4].base, 0x800000000ull);
    EXPECT_EQ(d->bars[4].size, 0x4000u);
    EXPECT_EQ(d->bars[5].kind, pci::BarKind::kNone);  // upper half of BAR 4
    // Sizing never happens with decoding on, the BARs and command come back unchanged.
    EXPECT_EQ(fn.bar_writes_while_decoding, 0);
    EXPECT_EQ(fn.get16(PCI_COMMAND), cmd_before);
    auto again = pci::probe_function(cfg, {0, 3, 0});
    EXPECT_EQ(again->bars[4].base, 0x800000000ull);
    EXPECT_EQ(again->bars[0].base, 0xc040u);
}

TEST(PciBars, SizesAMem64BarLargerThanFourGiB) {
    SimConfigSpace cfg;
    SimFunction& fn = cfg.add({0, 4, 0}, SimFunction(0x1af4, 0x105a));
    fn.set_bar(2, {SimBar::kMem64, true, 8ull << 30, 0x1000000000ull});
    auto d = pci::probe_function(cfg, {0, 4, 0});
    ASSERT_TRUE(d.ok());
    EXPECT_EQ(d->bars[2].size, 8ull << 30);
    EXPECT_EQ(d->bars[2].base, 0x1000000000ull);
}

TEST(PciBars, BridgesHaveTwoBars) {
    SimConfigSpace cfg;
    SimFunction b = bridge_to(1);
    b.set_bar(0, {SimBar::kMem32, false, 0x1000, 0xfe000000});
    b.put32(PCI_BASE_ADDRESS_0 + 8, 0x00010100);  // bus numbers, not a BAR
    cfg.add({0, 1, 0}, b);
    auto d = pci::probe_function(cfg, {0, 1, 0});
    ASSERT_TRUE(d.ok());
    EXPECT_EQ(d->bars[0].size, 0x1000u);
    EXPECT_EQ(d->bars[2].kind, pci::BarKind::kNone);
}

TEST(PciBars, AbsentFunctionIsAnError) {
    SimConfigSpace cfg;
    EXPECT_EQ(pci::probe_function(cfg, {0, 9, 0}).error(), ENODEV);
}

TEST(PciBars, EnableSetsMemoryAndBusMaster) {
    SimConfigSpace cfg;
    SimFunction& fn = cfg.add({0, 3, 0}, SimFunction(0x1af4, 0x105a));
    fn.put16(PCI_COMMAND, 0);
    fn.set_bar(4, {SimBar::kMem64, true, 0x4000, 0xfe000000});
    auto d = pci::probe_function(cfg, {0, 3, 0});
    pci::enable_device(cfg, *d);
    EXPECT_EQ(fn.get16(PCI_COMMAND), PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
}

}  // namespace
}  // namespace vfs::guest
