// The virtio-fs device as the protocol layer sees it: features, the config space (tag and
// request queues, zeros past it), CONFIG offered only with a tag, rings it cannot serve.
#include "virtio_fs/virtio_fs_device.h"

#include <gtest/gtest.h>
#include <linux/virtio_fs.h>

#include <cstddef>
#include <cstring>

namespace vfs::host::virtio_fs {
namespace {

TEST(VirtioFsDevice, ConfigSpaceHoldsTheTagAndTheRequestQueues) {
    DeviceConfig c;
    c.num_queues = 4;
    c.tag = "myfs";
    VirtioFsDevice d(c);
    EXPECT_EQ(d.protocol_features(),
              vhost_user::protocol_feature::kConfig | vhost_user::protocol_feature::kLogShmfd);
    uint8_t space[64];
    memset(space, 0xff, sizeof(space));
    ASSERT_TRUE(d.read_config(0, std::span(space, sizeof(space))));
    virtio_fs_config fs;
    memcpy(&fs, space, sizeof(fs));
    EXPECT_EQ(std::string(reinterpret_cast<const char*>(fs.tag), 5), std::string("myfs\0", 5));
    EXPECT_EQ(fs.num_request_queues, 3u);
    for (size_t i = sizeof(fs); i < sizeof(space); ++i)
        EXPECT_EQ(space[i], 0) << i;  // past the config: zeros

    uint32_t queues = 0;
    ASSERT_TRUE(d.read_config(offsetof(virtio_fs_config, num_request_queues),
                              std::span(reinterpret_cast<uint8_t*>(&queues), 4)));
    EXPECT_EQ(queues, 3u);
}

TEST(VirtioFsDevice, WithoutATagThereIsNoConfigSpace) {
    VirtioFsDevice d(DeviceConfig{});
    // Only the dirty log's shared fd (live migration), which every device offers.
    EXPECT_EQ(d.protocol_features(), vhost_user::protocol_feature::kLogShmfd);
    uint8_t b[4];
    EXPECT_FALSE(d.read_config(0, std::span(b, sizeof(b))));
    EXPECT_FALSE(d.write_config(0, std::span<const uint8_t>(b, sizeof(b))));
}

TEST(VirtioFsDevice, OffersTheRingFeaturesAndDirtyLogging) {
    VirtioFsDevice d(DeviceConfig{});
    EXPECT_EQ(d.features(),
              vfs::wire::virtio_feature::kVersion1 | vfs::wire::virtio_feature::kRingIndirectDesc |
                  vfs::wire::virtio_feature::kRingEventIdx | vhost_user::feature::kLogAll);
}

TEST(VirtioFsDevice, RefusesARingItDoesNotHave) {
    DeviceConfig c;
    c.num_queues = 2;
    VirtioFsDevice d(c);
    vhost_user::QueueSetup q;
    q.index = 2;
    EXPECT_EQ(d.start_queue(std::move(q)).error(), EINVAL);
    EXPECT_EQ(d.stop_queue(2), 0u);  // nothing started: nothing to stop
}

}  // namespace
}  // namespace vfs::host::virtio_fs
