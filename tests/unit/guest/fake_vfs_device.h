// The start the vfs-level fake-server tests share: one virtio_fs device over an in-process
// FakeFsTransport whose every request goes to `fs` (fake_fs.h), probed without event idx
// and with a short timeout (a stall shows up as ETIMEDOUT, quickly), and registered with
// the vfs. Once per program (the vfs registry and mount table are global): call it from
// SetUpTestSuite; each test then mounts and resets `fs` as it needs.
#pragma once

#include <gtest/gtest.h>

#include "drivers/virtio_fs/fs_device.h"
#include "fake_fs.h"
#include "lib/vfs/device_registry.h"

namespace vfs::guest::testing {

inline void register_fake_fs_device(FakeFs& fs) {
    static HostDma dma;
    static FakeFsTransport transport([&fs](const FakeRequest& rq) { return fs(rq); });
    static virtio_fs::FsDevice dev;
    virtio_fs::DeviceOptions d;
    d.event_idx = false;
    d.timeout_ns = 300'000'000ull;
    ASSERT_TRUE(dev.probe(transport, dma, d));
    ASSERT_TRUE(vfslib::register_device(&dev));
}

}  // namespace vfs::guest::testing
