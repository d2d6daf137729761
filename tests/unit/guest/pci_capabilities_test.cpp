// Capability-list walking, including chains a hostile or broken device could present.
#include <gtest/gtest.h>

#include "drivers/pci/capabilities.h"
#include "sim_config_space.h"

namespace vfs::guest {
namespace {

using testing::SimConfigSpace;
using testing::SimFunction;

constexpr pci::Bdf kDev{0, 3, 0};

SimFunction& device(SimConfigSpace& cfg) {
    return cfg.add(kDev, SimFunction(0x1af4, 0x105a));
}

TEST(PciCapabilities, FindsFirstAndNextOfAnId) {
    SimConfigSpace cfg;
    SimFunction& fn = device(cfg);
    fn.add_cap(0x98, PCI_CAP_ID_MSIX);
    fn.add_cap(0x84, PCI_CAP_ID_VNDR);
    fn.add_cap(0x70, PCI_CAP_ID_VNDR);
    fn.add_cap(0x40, PCI_CAP_ID_EXP);
    EXPECT_EQ(*pci::find_capability(cfg, kDev, PCI_CAP_ID_MSIX), 0x98);
    auto v = pci::find_capability(cfg, kDev, PCI_CAP_ID_VNDR);
    ASSERT_TRUE(v.ok());
    EXPECT_EQ(*v, 0x84);
    auto v2 = pci::next_capability(cfg, kDev, *v, PCI_CAP_ID_VNDR);
    ASSERT_TRUE(v2.ok());
    EXPECT_EQ(*v2, 0x70);
    EXPECT_EQ(pci::next_capability(cfg, kDev, *v2, PCI_CAP_ID_VNDR).error(), ENOENT);
    EXPECT_EQ(*pci::find_capability(cfg, kDev, PCI_CAP_ID_EXP), 0x40);
}

TEST(PciCapabilities, MissingCapabilityOrListIsEnoent) {
    SimConfigSpace cfg;
    SimFunction& fn = device(cfg);
    EXPECT_EQ(pci::find_capability(cfg, kDev, PCI_CAP_ID_VNDR).error(), ENOENT);  // no list
    fn.add_cap(0x40, PCI_CAP_ID_MSIX);
    EXPECT_EQ(pci::find_capability(cfg, kDev, PCI_CAP_ID_VNDR).error(), ENOENT);
    fn.regs[PCI_STATUS] &= ~PCI_STATUS_CAP_LIST;  // pointer set, but status says no list
    EXPECT_EQ(pci::find_capability(cfg, kDev, PCI_CAP_ID_MSIX).error(), ENOENT);
}

TEST(PciCapabilities, LoopingChainIsEloopNotAHang) {
    SimConfigSpace cfg;
    SimFunction& fn = device(cfg);
    fn.add_cap(0x40, PCI_CAP_ID_MSIX);
    fn.add_cap(0x50, PCI_CAP_ID_EXP);
    fn.regs[0x51] = 0x40;  // back to the first
    EXPECT_EQ(pci::find_capability(cfg, kDev, PCI_CAP_ID_VNDR).error(), ELOOP);
    fn.regs[0x51] = 0x50;  // to itself
    EXPECT_EQ(pci::find_capability(cfg, kDev, PCI_CAP_ID_VNDR).error(), ELOOP);
    EXPECT_EQ(pci::next_capability(cfg, kDev, 0x50, PCI_CAP_ID_VNDR).error(), ELOOP);
    EXPECT_LT(cfg.reads, 1000);
}

TEST(PciCapabilities, PointerIntoHeaderIsEinval) {
    SimConfigSpace cfg;
    SimFunction& fn = device(cfg);
    fn.add_cap(0x40, PCI_CAP_ID_MSIX);
    fn.regs[0x41] = 0x10;  // into the BARs
    EXPECT_EQ(pci::find_capability(cfg, kDev, PCI_CAP_ID_VNDR).error(), EINVAL);
    EXPECT_EQ(pci::next_capability(cfg, kDev, 0x08, PCI_CAP_ID_VNDR).error(), EINVAL);
}

TEST(PciCapabilities, ReservedLowPointerBitsAreIgnored) {
    SimConfigSpace cfg;
    SimFunction& fn = device(cfg);
    fn.add_cap(0x40, PCI_CAP_ID_MSIX);
    fn.add_cap(0x60, PCI_CAP_ID_VNDR);
    fn.regs[0x41] = 0x63;
    EXPECT_EQ(*pci::find_capability(cfg, kDev, PCI_CAP_ID_VNDR), 0x60);
}

TEST(PciCapabilities, AbsentFunctionHasNone) {
    SimConfigSpace cfg;
    EXPECT_FALSE(pci::find_capability(cfg, {0, 7, 0}, PCI_CAP_ID_VNDR).ok());
}

}  // namespace
}  // namespace vfs::guest
