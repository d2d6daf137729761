# Freestanding x86_64 toolchain for guest/: the host's gcc, but no libc, no exceptions,
# no RTTI and no red zone (interrupts run on the same stack).
set(CMAKE_SYSTEM_NAME Generic)
set(CMAKE_SYSTEM_PROCESSOR x86_64)
set(CMAKE_C_COMPILER gcc)
set(CMAKE_CXX_COMPILER g++)
set(CMAKE_ASM_COMPILER gcc)
set(CMAKE_TRY_COMPILE_TARGET_TYPE STATIC_LIBRARY)
set(VFS_GUEST_FLAGS "-ffreestanding -fno-exceptions -fno-rtti -nostdlib -mno-red-zone \
-fno-stack-protector -fno-pic -fno-pie -fno-asynchronous-unwind-tables \
-fno-threadsafe-statics -fno-use-cxa-atexit")
set(CMAKE_C_FLAGS_INIT "${VFS_GUEST_FLAGS}")
set(CMAKE_CXX_FLAGS_INIT "${VFS_GUEST_FLAGS}")
set(CMAKE_ASM_FLAGS_INIT "-fno-pic")
set(CMAKE_EXE_LINKER_FLAGS_INIT "-nostdlib -static -no-pie -Wl,--build-id=none")
