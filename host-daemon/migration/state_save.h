// Source side: the passthrough's inodes and open handles and the FUSE session, as a
// State to encode. Runs while every ring is stopped, so the tables hold still.
#pragma once

#include "fs/passthrough_fs.h"
#include "fuse/session.h"
#include "migration/migration_options.h"
#include "migration/state_format.h"

namespace vfs::host::migration {

// Names each inode by path (find-paths) or file handle (file-handles). An inode that
// cannot be named fails the save with --migration-on-error=abort, and is sent as lost
// (the destination answers EIO for it) with guest-error.
vfs::wire::Result<State> save_state(PassthroughFs& fs, const Session& session, const Options& opts);

}  // namespace vfs::host::migration
