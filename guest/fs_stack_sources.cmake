# The portable virtio-fs stack: the virtio_fs driver, the ukfuse FUSE client and the vfs
# file API, plus the virtio_9p driver and the p9 client behind vfs's 9p backend. The
# unikernel (guest/CMakeLists.txt), the hosted build (guest/hosted) and the host-run unit
# tests (tests/unit/guest) compile this one list; each adds its own platform
# files (clock, DMA memory, transport) and the driver-side virtqueue.
set(VFS_GUEST_FS_STACK_SOURCES
  drivers/virtio_9p/p9_device.cpp
  drivers/virtio_fs/fs_device.cpp
  lib/p9/client.cpp
  lib/ukfuse/dax_file_write.cpp
  lib/ukfuse/dax_manager.cpp
  lib/ukfuse/dentry_cache.cpp
  lib/ukfuse/node_table.cpp
  lib/ukfuse/session.cpp
  lib/ukfuse/session_dax.cpp
  lib/ukfuse/session_write_behind.cpp
  lib/ukfuse/write_behind.cpp
  lib/ukfuse/session_files.cpp
  lib/ukfuse/session_namespace.cpp
  lib/vfs/backend_9p.cpp
  lib/vfs/calls_dir.cpp
  lib/vfs/calls_file.cpp
  lib/vfs/calls_path.cpp
  lib/vfs/dax_io.cpp
  lib/vfs/device_registry.cpp
  lib/vfs/fd_table.cpp
  lib/vfs/mount_table.cpp
  lib/vfs/path_walk.cpp)
list(TRANSFORM VFS_GUEST_FS_STACK_SOURCES PREPEND "${CMAKE_CURRENT_LIST_DIR}/")
