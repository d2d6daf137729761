# The host daemon's include graph: the vhost-user protocol layer knows only its Device
# interface, guest memory and util/, never the device behind it. Run as
#   cmake -DSRC=<host-daemon dir> -P layering_check.cmake
# and fails naming each include that crosses the line.
set(forbidden "queue|fuse|fs|virtio_fs|cli")
file(GLOB files "${SRC}/vhost_user/*.h" "${SRC}/vhost_user/*.cpp")
set(bad "")
foreach(f IN LISTS files)
  file(STRINGS "${f}" lines REGEX "^[ \t]*#[ \t]*include[ \t]*\"(${forbidden})/")
  foreach(l IN LISTS lines)
    list(APPEND bad "${f}: ${l}")
  endforeach()
endforeach()
# memory/ is shared by both sides, so it depends on neither.
file(GLOB mem_files "${SRC}/memory/*.h" "${SRC}/memory/*.cpp")
foreach(f IN LISTS mem_files)
  file(STRINGS "${f}" lines REGEX "^[ \t]*#[ \t]*include[ \t]*\"(vhost_user|${forbidden})/")
  foreach(l IN LISTS lines)
    list(APPEND bad "${f}: ${l}")
  endforeach()
endforeach()
if(bad)
  list(JOIN bad "\n" msg)
  message(FATAL_ERROR "layering: includes across layers:\n${msg}")
endif()
list(LENGTH files n)
list(LENGTH mem_files m)
message(STATUS "layering: ${n} vhost_user/ and ${m} memory/ files include no device layer")
