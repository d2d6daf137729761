// The thesis's timed regions through the vfs API, each returning the nanoseconds it took
// (or a negative errno) and checking contents outside the timed part:
//   seq/rand read and write: `count` intervals of buf_len bytes (random: every interval
//   once, in shuffled order); the file is buf repeated, so every read must equal buf;
//   create: open(O_CREAT|O_EXCL)+close per file, then one fsync of the directory;
//   list: opendir + readdir to the end (entries must be files + 2); remove: unlink each.
#pragma once

#include <stdint.h>

namespace vfs::guest::bench {

enum class Io { kSeqRead, kSeqWrite, kRandRead, kRandWrite };
enum class FileOp { kCreate, kList, kRemove };

const char* io_name(Io op);
const char* file_op_name(FileOp op);

// buf: the pattern (buf_len bytes), scratch: as large, both device-reachable.
// *check_ok is cleared when the contents are wrong.
// What DAX work happens before the clock (see Params::dax).
enum class DaxPrep { kNone, kMapAll, kEmptyWindow, kGrowFile };
// Before the clock: size a write run's file, then map every range of it (kMapAll) or empty
// the window (kEmptyWindow); kGrowFile empties the window and the file (a sequential write
// run then extends the file with every write; run_io uses kEmptyWindow for the others). -ENODEV
// where the mount has no DAX window (dax_prepare.cpp; bench-native, with no window at all, has its
// own).
int dax_prepare(int fd, bool write, uint64_t bytes, DaxPrep prep);

int64_t run_io(Io op, const char* path, uint8_t* buf, uint8_t* scratch, uint64_t buf_len,
               uint64_t count, bool* check_ok, DaxPrep dax = DaxPrep::kNone);
int64_t run_file_op(FileOp op, const char* dir, uint64_t files, bool* check_ok);

}  // namespace vfs::guest::bench
