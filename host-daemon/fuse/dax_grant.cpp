#include "fuse/dax_grant.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>

namespace vfs::host {

using vfs::wire::Error;

// QEMU 11.1.3 maps every BACKEND_SHMEM_MAP read-write: for a map without the read-write
// flag it sets RAM_READONLY_FD (the fd is read-only) but not RAM_READONLY, so
// qemu_ram_mmap() asks for PROT_READ|PROT_WRITE, MAP_SHARED, which an O_RDONLY fd fails
// with EACCES ("unable to map backing store for guest RAM: Permission denied"). A read
// mapping therefore carries a read-write fd when the guest could have had a write mapping
// of the file: the same map_file(kWrite) (OPEN's rules, EROFS on a read-only share), so
// a store QEMU lets through reaches nothing a write mapping could not. Except for a
// suid/sgid file: a store through a read mapping would skip KILLPRIV_V2's clearing, so it
// keeps the read-only fd (QEMU 11.1.3 refuses it; the guest reads through FUSE instead).
// A front-end that honours the flag maps either fd read-only.
//
// An empty file is never mapped: QEMU 11.1.3's size check (qemu_ram_alloc_from_fd)
// skips size 0 and then ftruncate()s the file to the mapping's end, a host-visible
// change no guest may cause. A range past a non-empty file's end goes to the front-end,
// which decides (QEMU 11.1.3 refuses it; plain mmap allows it).
Result<DataFile> dax_grant(Filesystem& fs, const RequestContext& rc, uint64_t nodeid, uint64_t fh,
                           bool write) {
    auto file = fs.map_file(rc, nodeid, fh, write ? DataAccess::kWrite : DataAccess::kRead);
    if (!file) return file;
    struct stat st {};
    if (fstat(file->fd(), &st) != 0) return Error{errno};
    if (st.st_size == 0) return Error{ENXIO};
    if (write) return file;
    const int fl = fcntl(file->fd(), F_GETFL);
    if (fl < 0) return Error{errno};
    if ((fl & O_ACCMODE) == O_RDWR || (st.st_mode & (S_ISUID | S_ISGID))) return file;
    auto rw = fs.map_file(rc, nodeid, Filesystem::kMapOwnFile, DataAccess::kWrite);
    if (!rw) return file;  // EROFS, EACCES: the read-only fd it is
    return rw;
}

}  // namespace vfs::host
