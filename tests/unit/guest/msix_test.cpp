// MSI-X against a simulated function (sim_virtio_device.h's BAR 1): the capability parsed
// and refused where its table or pending-bit array does not fit a memory BAR, and the
// table programmed in a safe order (function masked, every entry masked, then the one
// used written and unmasked).
#include <gtest/gtest.h>
#include <linux/pci_regs.h>

#include "drivers/pci/enumerate.h"
#include "drivers/pci/msix.h"
#include "sim_virtio_device.h"
#include "test_log.h"

namespace vfs::guest {
namespace {

using testing::kBar1Base;
using testing::kBar1Size;
using testing::kMsixPbaOff;
using testing::kVirtioBdf;
using testing::msix_cap;
using testing::SimBar;
using testing::SimVirtioDevice;

class Msix : public ::testing::Test {
  protected:
    void SetUp() override { testing::log_lines().clear(); }

    pci::Device probe() {
        auto d = pci::probe_function(sim.cfg, kVirtioBdf);
        EXPECT_TRUE(d.ok());
        return *d;
    }
    uint16_t control() { return sim.fn->get16(testing::kMsixCapOff + PCI_MSIX_FLAGS); }

    SimVirtioDevice sim;
};

TEST_F(Msix, ParsesTableAndPendingBits) {
    sim.add_msix(3);
    auto m = pci::find_msix(sim.cfg, probe());
    ASSERT_TRUE(m.ok()) << m.error();
    EXPECT_EQ(m->cap, testing::kMsixCapOff);
    EXPECT_EQ(m->table_size, 3);
    EXPECT_EQ(m->table_bar, 1);
    EXPECT_EQ(m->table_offset, 0u);
    EXPECT_EQ(m->pba_bar, 1);
    EXPECT_EQ(m->pba_offset, kMsixPbaOff);
}

TEST_F(Msix, NoCapabilityIsEnoent) {
    sim.add_standard_caps();
    EXPECT_EQ(pci::find_msix(sim.cfg, probe()).error(), ENOENT);
}

// Each of these would have the driver write outside the BAR (or into no BAR at all).
TEST_F(Msix, RefusesATableOrPbaThatDoesNotFitAMemoryBar) {
    struct Case {
        const char* what;
        uint16_t size;
        uint8_t tbar;
        uint32_t toff;
        uint8_t pbar;
        uint32_t poff;
        const char* log;
    } cases[] = {
        {"table past the BAR's end", 2, 1, kBar1Size - 16, 1, kMsixPbaOff, "table outside"},
        {"2048 entries in a 4 KiB BAR", 2048, 1, 0, 1, kMsixPbaOff, "table outside"},
        {"reserved BIR 7", 2, 7, 0, 1, kMsixPbaOff, "table outside"},
        {"a BAR the function lacks", 2, 2, 0, 1, kMsixPbaOff, "table outside"},
        {"an I/O BAR", 2, 0, 0, 1, kMsixPbaOff, "table outside"},
        {"PBA past the BAR's end", 2, 1, 0, 1, kBar1Size, "pending-bit array outside"},
    };
    for (const Case& c : cases) {
        SCOPED_TRACE(c.what);
        testing::log_lines().clear();
        SimVirtioDevice s;
        s.fn->set_bar(0, {SimBar::kIo, false, 0x40, 0xc000});
        s.fn->set_bar(1, {SimBar::kMem32, false, kBar1Size, kBar1Base});
        s.fn->add_cap(testing::kMsixCapOff, PCI_CAP_ID_MSIX,
                      msix_cap(c.size, c.tbar, c.toff, c.pbar, c.poff));
        auto d = pci::probe_function(s.cfg, kVirtioBdf);
        ASSERT_TRUE(d.ok());
        EXPECT_EQ(pci::find_msix(s.cfg, *d).error(), EINVAL);
        EXPECT_TRUE(testing::logged(c.log));
    }
}

TEST_F(Msix, EnableMasksEverythingThenProgramUnmasksOneEntry) {
    sim.add_msix(3);
    const pci::Device dev = probe();
    auto m = pci::find_msix(sim.cfg, dev);
    ASSERT_TRUE(m.ok());
    for (uint16_t e = 0; e < 3; ++e)
        sim.msix_table[(e * 16 + PCI_MSIX_ENTRY_VECTOR_CTRL) / 4] = 0;  // as if left unmasked
    pci::MsixTable t(sim.cfg, sim);
    ASSERT_TRUE(t.enable(dev, *m).ok());
    ASSERT_EQ(sim.maps.size(), 1u);
    EXPECT_EQ(sim.maps[0].phys, kBar1Base);
    EXPECT_EQ(sim.maps[0].size, 3u * 16);
    EXPECT_EQ(sim.maps[0].caching, pci::MapCaching::kUncached);
    EXPECT_EQ(control(), PCI_MSIX_FLAGS_ENABLE | PCI_MSIX_FLAGS_MASKALL | 2)
        << "enabled, function masked, table-size bits written back as read";
    for (uint16_t e = 0; e < 3; ++e)
        EXPECT_EQ(sim.msix_entry(e, PCI_MSIX_ENTRY_VECTOR_CTRL), PCI_MSIX_ENTRY_CTRL_MASKBIT);

    ASSERT_TRUE(t.program(1, {0x1'fee0'3000ull, 0x41}).ok());
    EXPECT_EQ(sim.msix_entry(1, PCI_MSIX_ENTRY_LOWER_ADDR), 0xfee03000u);
    EXPECT_EQ(sim.msix_entry(1, PCI_MSIX_ENTRY_UPPER_ADDR), 1u);
    EXPECT_EQ(sim.msix_entry(1, PCI_MSIX_ENTRY_DATA), 0x41u);
    EXPECT_EQ(sim.msix_entry(1, PCI_MSIX_ENTRY_VECTOR_CTRL), 0u);
    EXPECT_EQ(sim.msix_entry(0, PCI_MSIX_ENTRY_VECTOR_CTRL), PCI_MSIX_ENTRY_CTRL_MASKBIT);
    EXPECT_EQ(t.program(3, {0xfee00000, 0x40}).error(), ERANGE);

    t.unmask_function();
    EXPECT_EQ(control(), PCI_MSIX_FLAGS_ENABLE | 2);
    t.disable();
    EXPECT_EQ(control(), 2);
    EXPECT_EQ(t.program(0, {0xfee00000, 0x40}).error(), ENODEV);
}

}  // namespace
}  // namespace vfs::guest
