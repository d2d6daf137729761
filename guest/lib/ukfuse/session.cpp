// Session set-up, request plumbing, and node/dentry/forget bookkeeping (see session.h).
#include "lib/ukfuse/session.h"

#include "lib/ukfuse/file_type.h"

#include "drivers/virtio_fs/poll_clock.h"

namespace vfs::guest::ukfuse {
namespace {

constexpr uint32_t kPage = 4096;
constexpr uint32_t kDefaultMaxPages = 32;  // FUSE_DEFAULT_MAX_PAGES_PER_REQ
constexpr uint32_t kScratchBytes = 4096;   // PATH_MAX: a readlink target

// Server seconds + nanoseconds from now, saturating (a server may send huge timeouts).
uint64_t deadline_after(uint64_t sec, uint32_t nsec) {
    const uint64_t now = virtio_fs::poll_clock_ns();
    if (sec > 1'000'000'000ull) return UINT64_MAX;
    const uint64_t span = sec * 1'000'000'000ull + (nsec < 1'000'000'000u ? nsec : 999'999'999u);
    return span > UINT64_MAX - now ? UINT64_MAX : now + span;
}

bool is_dot_or_dotdot(const char* n, uint32_t len) {
    return (len == 1 && n[0] == '.') || (len == 2 && n[0] == '.' && n[1] == '.');
}

}  // namespace

Status Session::init(virtio_fs::FsDevice& dev, const SessionOptions& opts) {
    if (dev_) return wire::Error{EBUSY};
    dev_ = &dev;
    opts_ = opts;
    if (opts_.max_in_flight == 0) opts_.max_in_flight = 1;
    scratch_ = static_cast<uint8_t*>(dev.dma().allocate_zeroed(kScratchBytes, 64));
    if (!scratch_) return wire::Error{ENOMEM};
    if (!nodes_.add_root(kRootId)) return wire::Error{ENOMEM};

    fuse_init_in in{};
    in.major = FUSE_KERNEL_VERSION;
    in.minor = FUSE_KERNEL_MINOR_VERSION;
    in.max_readahead = opts_.max_write;
    const uint64_t want = FUSE_ASYNC_READ | FUSE_BIG_WRITES | FUSE_DO_READDIRPLUS | FUSE_MAX_PAGES |
                          FUSE_MAP_ALIGNMENT | FUSE_PARALLEL_DIROPS | FUSE_INIT_EXT;
    in.flags = static_cast<uint32_t>(want);
    in.flags2 = static_cast<uint32_t>(want >> 32);
    // Before INIT nothing is negotiated: send today's full struct.
    proto_ = wire::Proto::current();
    fuse_init_out out{};
    auto rep = call(request(FUSE_INIT, 0, &in), &out, sizeof(out));
    if (!rep) return wire::Error{rep.error()};
    if (out.major != FUSE_KERNEL_VERSION || out.minor < 9) return wire::Error{EPROTO};

    info_.major = out.major;
    info_.minor = out.minor < FUSE_KERNEL_MINOR_VERSION ? out.minor : FUSE_KERNEL_MINOR_VERSION;
    proto_ = wire::Proto{info_.minor, false};
    info_.flags = out.flags;
    if (out.flags & FUSE_INIT_EXT) info_.flags |= static_cast<uint64_t>(out.flags2) << 32;
    info_.flags &= want;  // what the server claims beyond our request means nothing
    info_.time_gran = out.time_gran;
    info_.readdirplus = info_.flags & FUSE_DO_READDIRPLUS;
    uint32_t pages = kDefaultMaxPages;
    if (info_.flags & FUSE_MAX_PAGES) {
        info_.max_pages = out.max_pages;
        if (out.max_pages != 0) pages = out.max_pages;
    }
    if (info_.flags & FUSE_MAP_ALIGNMENT) info_.map_alignment = out.map_alignment;
    const uint32_t page_cap = pages > opts_.max_write / kPage ? opts_.max_write : pages * kPage;
    // As Linux: never less than a page per WRITE, whatever the server says.
    uint32_t mw = out.max_write < kPage ? kPage : out.max_write;
    if (mw > page_cap) mw = page_cap < kPage ? kPage : page_cap;
    info_.max_write = mw;
    info_.max_read = page_cap < kPage ? kPage : page_cap;
    return {};
}

Status Session::shutdown() {
    (void)flush_write_behind();
    if (dax_) (void)dax_->unmap_all();
    for (uint32_t i = 0; i < DentryCache::kCapacity; ++i) {
        Dentry* e = dentries_.at(i);
        if (e->parent == 0) continue;
        const uint64_t child = dentries_.remove(e);
        if (const uint64_t n = nodes_.unpin(child)) queue_forget(child, n);
    }
    return flush_forgets();
}

wire::ClientRequest Session::request(uint32_t opcode, uint64_t nodeid, const void* arg) {
    wire::ClientRequest rq;
    rq.opcode = opcode;
    rq.unique = next_unique_;
    next_unique_ += 2;  // as Linux: odd uniques are left for INTERRUPT
    rq.nodeid = nodeid;
    rq.uid = opts_.uid;
    rq.gid = opts_.gid;
    rq.pid = opts_.pid;
    rq.arg = arg;
    return rq;
}

Result<virtio_fs::RequestSlot*> Session::acquire_slot(bool may_wait) {
    const uint64_t deadline = virtio_fs::poll_clock_ns() + dev_->timeout_ns();
    for (bool polled = false;; polled = true) {
        auto s = dev_->acquire();
        if (s || s.error() != EAGAIN) return s;
        if (!may_wait && polled) return s;
        // Every slot is in flight: completions free them.
        auto p = dev_->poll();
        if (!p) return wire::Error{p.error()};
        if (*p == 0 && may_wait) {
            if (virtio_fs::poll_clock_ns() > deadline) return wire::Error{ETIMEDOUT};
            virtio_fs::poll_relax();
        }
    }
}

Status Session::start(const wire::ClientRequest& rq, const wire::Segment* reply_data, uint32_t n,
                      Pending* p, bool may_wait) {
    // A pending write-behind run goes to the server before anything that could see it
    // (its error is kept for its handle). While a run is out nothing is pending.
    if (wb_.pending()) (void)flush_write_behind();
    const wire::OpInfo* op = wire::fuse_op(rq.opcode);
    if (!op) return wire::Error{EINVAL};
    p->rq = rq;
    const uint32_t arg_len = wire::fuse_arg_size(*op, proto_);
    if (rq.arg && arg_len) {
        __builtin_memcpy(p->arg, rq.arg, arg_len);
        p->rq.arg = p->arg;  // decode_reply reads it after the caller's copy is gone
    }
    p->data_cap = 0;
    for (uint32_t i = 0; i < n; ++i)
        p->data_cap += reply_data[i].len;

    auto slot = acquire_slot(may_wait);
    if (!slot) return wire::Error{slot.error()};
    p->slot = *slot;
    wire::Segment out[virtio_fs::kMaxSegments], in[virtio_fs::kMaxSegments];
    auto n_out = wire::build_request(p->rq, proto_, p->slot->request, virtio_fs::kRequestCap, out,
                                     virtio_fs::kMaxSegments);
    if (!n_out) {
        dev_->release(p->slot);
        return wire::Error{n_out.error()};
    }
    auto n_in =
        wire::build_reply_segments(p->rq, proto_, p->slot->reply_head, virtio_fs::kReplyHeadCap,
                                   reply_data, n, in, virtio_fs::kMaxSegments);
    if (!n_in) {
        dev_->release(p->slot);
        return wire::Error{n_in.error()};
    }
    wire::Status s = dev_->submit(p->slot, out, *n_out, in, *n_in);
    if (!s) dev_->release(p->slot);
    return s;
}

Result<wire::ClientReply> Session::finish(Pending* p, void* out_struct, uint32_t out_size) {
    auto used = dev_->wait(p->slot);
    if (!used) {
        // The device still owns the slot; tell the server we gave up on the request.
        if (used.error() == ETIMEDOUT) (void)interrupt(p->rq.unique);
        return wire::Error{used.error()};
    }
    alignas(8) uint8_t scratch[wire::kMaxReplyStructSize];
    if (!out_struct) {
        out_struct = scratch;
        out_size = sizeof(scratch);
    }
    auto rep = wire::decode_reply(p->rq, proto_, p->slot->reply_head, p->data_cap, *used,
                                  out_struct, out_size);
    dev_->release(p->slot);
    p->slot = nullptr;
    if (!rep) return wire::Error{rep.error()};
    if (rep->error != 0) return wire::Error{rep->error};
    return rep;
}

Result<wire::ClientReply> Session::call(const wire::ClientRequest& rq, void* out_struct,
                                        uint32_t out_size, const wire::Segment* reply_data,
                                        uint32_t n) {
    Pending p;
    if (Status s = start(rq, reply_data, n, &p); !s) return wire::Error{s.error()};
    return finish(&p, out_struct, out_size);
}

Status Session::send_hiprio(const wire::ClientRequest& rq) {
    auto slot = acquire_slot();
    if (!slot) return wire::Error{slot.error()};
    wire::Segment out[virtio_fs::kMaxSegments];
    auto n = wire::build_request(rq, proto_, (*slot)->request, virtio_fs::kRequestCap, out,
                                 virtio_fs::kMaxSegments);
    if (!n) {
        dev_->release(*slot);
        return wire::Error{n.error()};
    }
    wire::Status s = dev_->submit_hiprio(*slot, out, *n);
    if (!s) dev_->release(*slot);
    return s;
}

Status Session::interrupt(uint64_t unique) {
    fuse_interrupt_in in{};
    in.unique = unique;
    wire::ClientRequest rq = request(FUSE_INTERRUPT, 0, &in);
    rq.unique = unique | 1;
    Status s = send_hiprio(rq);
    if (s) ++counters_.interrupts_sent;
    return s;
}

void Session::queue_forget(uint64_t nodeid, uint64_t nlookup) {
    if (nodeid == 0 || nodeid == kRootId || nlookup == 0) return;
    if (dax_) (void)dax_->forget_node(nodeid);  // its mappings go before the node does
    if (forget_count_ == kForgetBatch) (void)flush_forgets();
    if (forget_count_ == kForgetBatch) return;  // the device is gone: nothing to tell
    forgets_[forget_count_++] = fuse_forget_one{nodeid, nlookup};
}

Status Session::flush_forgets() {
    if (forget_count_ == 0 || !dev_) return {};
    uint64_t total = 0;
    for (uint32_t i = 0; i < forget_count_; ++i)
        total += forgets_[i].nlookup;
    Status s;
    if (forget_count_ == 1) {
        fuse_forget_in in{};
        in.nlookup = forgets_[0].nlookup;
        s = send_hiprio(request(FUSE_FORGET, forgets_[0].nodeid, &in));
        if (s) ++counters_.forget_messages;
    } else {
        // The array rides in the tail of the slot's own request buffer, which stays the
        // device's until it returns the chain: nobody waits for a forget.
        auto slot = acquire_slot();
        if (!slot) return wire::Error{slot.error()};
        constexpr uint32_t kArrayOffset = 256;
        const uint32_t bytes = forget_count_ * sizeof(fuse_forget_one);
        static_assert(kArrayOffset + kForgetBatch * sizeof(fuse_forget_one) <=
                      virtio_fs::kRequestCap);
        uint8_t* array = (*slot)->request + kArrayOffset;
        __builtin_memcpy(array, forgets_, bytes);
        fuse_batch_forget_in in{};
        in.count = forget_count_;
        wire::ClientRequest rq = request(FUSE_BATCH_FORGET, 0, &in);
        const wire::Segment data{array, bytes};
        rq.data = &data;
        rq.data_count = 1;
        wire::Segment out[virtio_fs::kMaxSegments];
        auto n = wire::build_request(rq, proto_, (*slot)->request, kArrayOffset, out,
                                     virtio_fs::kMaxSegments);
        if (!n) {
            dev_->release(*slot);
            return wire::Error{n.error()};
        }
        s = dev_->submit_hiprio(*slot, out, *n);
        if (!s) dev_->release(*slot);
        if (s) ++counters_.batch_forget_messages;
    }
    if (!s) return s;
    counters_.forgets_sent += total;
    forget_count_ = 0;
    return {};
}

void Session::hold(uint64_t nodeid) {
    (void)nodes_.pin(nodeid);
}

void Session::put(uint64_t nodeid) {
    if (const uint64_t n = nodes_.unpin(nodeid)) queue_forget(nodeid, n);
}

void Session::cache_attr(uint64_t nodeid, const fuse_attr& a, uint64_t valid, uint32_t nsec) {
    Node* n = nodes_.find(nodeid);
    if (!n) return;
    n->attr = a;
    n->attr_deadline = deadline_after(valid, nsec);
    n->attr_cached = valid != 0 || nsec != 0;
    n->size_known = true;
}

void Session::drop_attr(uint64_t nodeid) {
    if (Node* n = nodes_.find(nodeid)) n->attr_cached = n->size_known = false;
}

void Session::drop_dentry(uint64_t parent, const char* name, uint32_t len) {
    Dentry* e = dentries_.find(parent, name, len);
    if (!e) return;
    put(dentries_.remove(e));
}

Result<Entry> Session::absorb_entry(uint64_t parent, const char* name, uint32_t len,
                                    const fuse_entry_out& e) {
    // A zero nodeid is a negative entry: nothing was counted.
    if (e.nodeid == 0) return wire::Error{ENOENT};
    const uint32_t type = e.attr.mode & kTypeMask;
    if (type == 0) {
        // Counted by the server all the same: give it back before failing.
        queue_forget(e.nodeid, 1);
        counters_.lookups_counted += 1;
        return wire::Error{EPROTO};
    }
    Node* n = nodes_.add_lookup(e.nodeid);
    ++counters_.lookups_counted;
    if (!n) {
        queue_forget(e.nodeid, 1);
        return wire::Error{ENFILE};
    }
    if (e.nodeid == kRootId) --counters_.lookups_counted;  // root lookups are not counted
    cache_attr(e.nodeid, e.attr, e.attr_valid, e.attr_valid_nsec);
    if (!n->attr_cached) n->attr = e.attr;  // still the freshest we have for this call

    Dentry* old = dentries_.find(parent, name, len);
    if (old) put(dentries_.remove(old));
    if ((e.entry_valid != 0 || e.entry_valid_nsec != 0) && len <= DentryCache::kNameMax &&
        !is_dot_or_dotdot(name, len) && nodes_.pin(e.nodeid)) {
        uint64_t evicted = 0;
        Dentry* d = dentries_.take(&evicted);
        if (evicted) put(evicted);
        d->parent = parent;
        d->child = e.nodeid;
        d->deadline = deadline_after(e.entry_valid, e.entry_valid_nsec);
        d->len = static_cast<uint8_t>(len);
        __builtin_memcpy(d->name, name, len);
        dentries_.touch(d);
    }
    return Entry{e.nodeid, e.attr};
}

void Session::absorb_direntplus(uint64_t parent, const char* name, uint32_t len,
                                const fuse_entry_out& e) {
    // Linux takes no reference for "." and "..", so servers count none.
    if (e.nodeid == 0 || is_dot_or_dotdot(name, len)) return;
    auto entry = absorb_entry(parent, name, len, e);
    if (entry) put(entry->nodeid);
}

Result<Entry> Session::lookup(uint64_t parent, const char* name, uint32_t len) {
    if (Dentry* d = dentries_.find(parent, name, len)) {
        if (virtio_fs::poll_clock_ns() < d->deadline && nodes_.pin(d->child)) {
            dentries_.touch(d);
            ++counters_.dentry_hits;
            Node* n = nodes_.find(d->child);
            return Entry{d->child, n->attr};
        }
        put(dentries_.remove(d));
    }
    fuse_entry_out out{};
    wire::ClientRequest rq = request(FUSE_LOOKUP, parent, nullptr);
    rq.names[0] = wire::NameView{name, len};
    auto rep = call(rq, &out, sizeof(out));
    if (!rep) return wire::Error{rep.error()};
    return absorb_entry(parent, name, len, out);
}

Result<Entry> Session::make_entry(uint32_t opcode, uint64_t parent, const void* arg,
                                  const char* name, uint32_t len, const char* name2,
                                  uint32_t len2) {
    fuse_entry_out out{};
    wire::ClientRequest rq = request(opcode, parent, arg);
    rq.names[0] = wire::NameView{name, len};
    if (name2) rq.names[1] = wire::NameView{name2, len2};
    auto rep = call(rq, &out, sizeof(out));
    if (!rep) return wire::Error{rep.error()};
    drop_attr(parent);  // its mtime and link count changed
    return absorb_entry(parent, name, len, out);
}

}  // namespace vfs::guest::ukfuse
