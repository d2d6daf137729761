// DAX: the open file a SETUPMAPPING sends to the front-end, chosen so that QEMU 11.1.3 can
// map it (see dax_grant.cpp for what it needs and why).
#pragma once

#include <stdint.h>

#include "fs/data_file.h"
#include "fs/filesystem.h"

namespace vfs::host {

// The grant whose fd goes with SHMEM_MAP for a mapping of nodeid (fh as the guest sent
// it). A write mapping: map_file's kWrite grant. A read mapping: map_file's kRead grant,
// upgraded to a read-write one when a write mapping of the file would be granted anyway
// and no suid/sgid bit is at stake. ENXIO for an empty file. Errors as map_file's.
Result<DataFile> dax_grant(Filesystem& fs, const RequestContext& rc, uint64_t nodeid, uint64_t fh,
                           bool write);

}  // namespace vfs::host
