// Every wire header, for the freestanding build check.
#pragma once

#include "vfs/wire/checked.h"
#include "vfs/wire/result.h"
#include "vfs/wire/sg.h"

namespace vfs::wire {

// Instantiates the templates the guest uses so the freestanding link sees their code.
inline void freestanding_selfcheck() {
    uint8_t buf[16] = {};
    Segment seg{buf, sizeof(buf)};
    SgReader r(&seg, 1);
    uint32_t v = 0;
    (void)r.read_obj(&v);
    SgWriter w(&seg, 1);
    (void)w.write_obj(v);
}

}  // namespace vfs::wire
