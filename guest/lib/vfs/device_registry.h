// The virtio-fs devices the platform found (PCI in the unikernel, vhost-user sockets in
// the hosted build), for vfs_mount() to find by tag. Platform code registers them once at
// start-up; the registry never probes, frees or owns them.
#pragma once

#include "drivers/virtio_fs/fs_device.h"

namespace vfs::guest::vfslib {

inline constexpr int kMaxDevices = 8;

// ENOSPC when full, EEXIST for a tag already registered.
wire::Status register_device(virtio_fs::FsDevice* dev);
virtio_fs::FsDevice* find_device(const char* tag);
int device_count();
virtio_fs::FsDevice* device_at(int i);

}  // namespace vfs::guest::vfslib
