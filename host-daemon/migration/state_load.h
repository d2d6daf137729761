// Destination side: a decoded State applied to a passthrough that serves nothing yet,
// and the FUSE session it describes begun without a new INIT.
//
// The state came from another process: every node id and fh is checked (unique, not the
// root, below the next ids), every handle must name a sent inode of its kind, paths are
// walked below the share root only (host_paths.h), file handles must lead to an inode a
// path inside the share still reaches, and open flags are cut to what an OPEN could have
// given. Nothing is installed until every entry is resolved, so an aborted load leaves
// the daemon as it was.
#pragma once

#include "fs/passthrough_fs.h"
#include "fuse/session.h"
#include "migration/migration_options.h"
#include "migration/state_format.h"

namespace vfs::host::migration {

// EBUSY if the filesystem already holds inodes or handles, or the session is up; EINVAL
// for an inconsistent state; with --migration-on-error=abort, the first entry that cannot
// be re-established fails it (its errno); with guest-error that entry answers EIO later.
vfs::wire::Status load_state(PassthroughFs& fs, Session& session, const State& state,
                             const Options& opts);

}  // namespace vfs::host::migration
