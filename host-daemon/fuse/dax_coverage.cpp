#include "fuse/dax_coverage.h"

namespace vfs::host {

size_t DaxCoverage::extend(uint64_t file_size, DaxPiece out[2]) {
    if (file_size <= foffset_) return 0;
    const uint64_t data = file_size - foffset_ < len_ ? file_size - foffset_ : len_;
    const uint64_t whole = data & ~(kPage - 1);               // pages the file fills
    const uint64_t need = (data + kPage - 1) & ~(kPage - 1);  // and the one holding EOF
    if (need <= covered_) return 0;
    // covered_ is a page multiple below need, so it is at most whole: a tail page covers
    // exactly the page holding EOF and nothing is covered past it.
    size_t n = 0;
    if (whole > covered_) out[n++] = {covered_, whole - covered_, false};
    if (need > whole) out[n++] = {whole, kPage, true};
    covered_ = need;
    return n;
}

}  // namespace vfs::host
