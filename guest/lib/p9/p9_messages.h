// 9P2000.L message numbers and flag values (as in Linux's include/net/9p/9p.h and QEMU's
// hw/9pfs). A T-message's reply is its number plus one; Rlerror answers any of them.
#pragma once

#include <stdint.h>

namespace vfs::guest::p9 {

enum MsgType : uint8_t {
    kRlerror = 7,
    kTstatfs = 8,
    kTlopen = 12,
    kTlcreate = 14,
    kTsymlink = 16,
    kTreadlink = 22,
    kTgetattr = 24,
    kTsetattr = 26,
    kTreaddir = 40,
    kTfsync = 50,
    kTlink = 70,
    kTmkdir = 72,
    kTrenameat = 74,
    kTunlinkat = 76,
    kTversion = 100,
    kTattach = 104,
    kTwalk = 110,
    kTread = 116,
    kTwrite = 118,
    kTclunk = 120,
};

inline constexpr uint16_t kNoTag = 0xffff;
inline constexpr uint32_t kNoFid = 0xffffffff;
inline constexpr uint32_t kMaxWalkNames = 16;  // per Twalk (the protocol's MAXWELEM)
inline constexpr uint64_t kGetattrBasic = 0x7ff;
inline constexpr uint32_t kSetattrMode = 0x1;
inline constexpr uint32_t kSetattrSize = 0x8;
inline constexpr uint32_t kAtRemoveDir = 0x200;
inline constexpr uint32_t kMaxErrno = 4095;

// Header and fixed fields before the data: Rread is size type tag count, Twrite is
// size type tag fid offset count.
inline constexpr uint32_t kReadHeadBytes = 7 + 4;
inline constexpr uint32_t kWriteHeadBytes = 7 + 4 + 8 + 4;

}  // namespace vfs::guest::p9
