#include "storage/append_ring.h"

#include <algorithm>
#include <array>
#include <cstring>

#include "base/assert.h"
#include "storage/errc.h"
#include "storage/record_batch.h"
#include "storage/storage_metrics.h"

namespace spate::storage {

namespace {

// The header page (docs/formats/append-ring.md): fields are 8-byte little-endian words, so
// that head and tail are each one aligned store.
constexpr std::array<uint8_t, 8> ring_magic = {'S', 'P', 'A', 'T', 'R', 'I', 'N', 'G'};
constexpr uint64_t ring_version = 1;
enum field : size_t {
  f_magic = 0,
  f_version = 1,
  f_capacity = 2,
  f_base = 3,
  f_head = 4,
  f_tail = 5
};

std::atomic<uint64_t> rings_total{0};
std::atomic<uint64_t> rings_budget{append_ring::default_budget};

uint64_t to_le(uint64_t v) {
  if constexpr (std::endian::native == std::endian::little) return v;
  return __builtin_bswap64(v);
}

uint64_t load_le64(const uint8_t* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  return to_le(v);
}

}  // namespace

uint64_t append_ring::set_budget(uint64_t bytes) {
  return rings_budget.exchange(bytes);
}

uint64_t append_ring::mapped_bytes() {
  return rings_total.load();
}

result<std::shared_ptr<append_ring>> append_ring::create(io::filesystem& fs,
                                                         const std::string& path, uint64_t capacity,
                                                         ring_writer& writer) {
  capacity = std::max(capacity, min_capacity);
  if (rings_total.fetch_add(capacity) + capacity > rings_budget.load()) {
    rings_total.fetch_sub(capacity);
    return std::shared_ptr<append_ring>();
  }
  auto map = fs.map_shared(path, header_bytes + capacity);
  if (!map) {
    rings_total.fetch_sub(capacity);
    return map.error();
  }
  storage_metrics::get().append_ring_bytes.set(static_cast<int64_t>(rings_total.load()));
  std::shared_ptr<append_ring> ring(new append_ring(std::move(*map), capacity, writer));
  writer.watch(ring);
  return ring;
}

append_ring::append_ring(std::unique_ptr<io::mapped_file> map, uint64_t capacity,
                         ring_writer& writer)
    : _map(std::move(map)),
      _capacity(capacity),
      _wake_bytes(std::min(piece_bytes, capacity) / 4),
      _writer(writer) {
  // Empty, for no segment yet: recovery ignores a ring whose base is no segment's. The magic
  // last, so that a header without it is never taken for a ring.
  store_header(f_head, 0);
  store_header(f_tail, 0);
  store_header(f_base, static_cast<uint64_t>(-1));
  store_header(f_capacity, capacity);
  store_header(f_version, ring_version);
  std::memcpy(_map->bytes().data(), ring_magic.data(), ring_magic.size());
}

append_ring::~append_ring() {
  rings_total.fetch_sub(_capacity);
  storage_metrics::get().append_ring_bytes.set(static_cast<int64_t>(rings_total.load()));
}

void append_ring::store_header(size_t f, uint64_t value) {
  auto* word = reinterpret_cast<uint64_t*>(_map->bytes().data() + f * 8);
  std::atomic_ref<uint64_t>(*word).store(to_le(value), std::memory_order_release);
}

void append_ring::bind(io::file_ptr log, offset base, uint64_t position) {
  std::lock_guard lock(_write_mu);
  SPATE_ASSERT(_head.load() == _tail.load());
  _log = std::move(log);
  // Positions first: a crash between the stores leaves an empty ring (head == tail) or one
  // that names the old segment, and recovery copies nothing from either.
  store_header(f_head, position);
  store_header(f_tail, position);
  store_header(f_base, static_cast<uint64_t>(base.value));
  _head.store(position, std::memory_order_release);
  _tail.store(position, std::memory_order_release);
}

std::optional<error> append_ring::failure() const {
  if (!_has_failed.load(std::memory_order_acquire)) return std::nullopt;
  std::lock_guard lock(_write_mu);
  return _failed;
}

status append_ring::put(std::span<const bytes_view> parts) {
  uint64_t n = 0;
  for (auto p : parts) n += p.size();
  SPATE_ASSERT(takes(n));
  uint64_t h = _head.load(std::memory_order_relaxed);
  // No room: write the oldest pieces out here (the ring writer may be writing one: then this
  // waits for it, and the next is this thread's).
  while (h + n - _tail.load(std::memory_order_acquire) > _capacity) {
    std::lock_guard lock(_write_mu);
    if (_failed) return *_failed;
    write_piece_locked();
  }
  if (auto f = failure()) return *f;
  uint8_t* ring = data();
  uint64_t at = h;
  for (auto p : parts) {
    uint64_t slot = at % _capacity;
    uint64_t first = std::min<uint64_t>(p.size(), _capacity - slot);
    std::memcpy(ring + slot, p.data(), first);
    if (first < p.size()) std::memcpy(ring, p.data() + first, p.size() - first);
    at += p.size();
  }
  // After the bytes: recovery never takes a head whose bytes were not all copied.
  store_header(f_head, at);
  _head.store(at, std::memory_order_release);
  // The writer is woken once a quarter piece waits, not for every batch: a wake-up costs
  // the owner a system call, and a writer that writes each small batch alone writes small
  // pieces. What is left below that is written by the writer's sweep (ring_writer::sweep_ms),
  // or by whatever reads or syncs the file first.
  if (at - _tail.load(std::memory_order_acquire) >= _wake_bytes && !queued.exchange(true)) {
    _writer.schedule(shared_from_this());
  }
  return ok();
}

uint64_t append_ring::batch_size_at(uint64_t pos) {
  uint8_t len[4];
  const uint8_t* ring = data();
  for (size_t i = 0; i < 4; ++i) len[i] = ring[(pos + batch_layout::batch_length + i) % _capacity];
  return batch_layout::length_field_end + static_cast<uint32_t>(load_be<int32_t>(len));
}

bool append_ring::write_piece() {
  std::lock_guard lock(_write_mu);
  return write_piece_locked();
}

bool append_ring::write_piece_locked() {
  if (_failed || _detached) return false;
  uint64_t t = _tail.load(std::memory_order_relaxed);
  uint64_t h = _head.load(std::memory_order_acquire);
  if (t == h) return false;
  // Whole batches, so that the file never ends inside one because of the ring (a crash then
  // leaves the file at a batch boundary, and the ring holds everything after it).
  uint64_t e = t;
  while (e < h && e - t < piece_bytes) e += batch_size_at(e);
  e = std::min(e, h);  // only put batches lie below h; a bad length cannot run past it
  uint64_t slot = t % _capacity;
  uint64_t first = std::min(e - t, _capacity - slot);
  std::array<bytes_view, 2> parts{bytes_view(data() + slot, first),
                                  bytes_view(data(), e - t - first)};
  auto st =
      _log->write_gather_at(t, std::span<const bytes_view>(parts.data(), first < e - t ? 2 : 1));
  if (!st) {
    _failed = std::move(st).error().with_context("writing the append ring into the segment");
    _has_failed.store(true, std::memory_order_release);
    storage_metrics::get().append_ring_failures.inc();
    return false;
  }
  storage_metrics::get().append_ring_written_bytes.inc(e - t);
  store_header(f_tail, e);
  _tail.store(e, std::memory_order_release);
  return e < _head.load(std::memory_order_acquire);
}

status append_ring::write_out() {
  uint64_t goal = _head.load(std::memory_order_acquire);
  std::lock_guard lock(_write_mu);
  // Until the goal, or until nothing is left: a bind (a roll) between reading the goal and
  // taking the lock moves the positions back to the new segment's start, and everything put
  // before it is in the old segment's file already (the owner wrote it out before binding).
  for (;;) {
    if (_failed) return *_failed;
    uint64_t t = _tail.load(std::memory_order_relaxed);
    if (_detached || t >= goal || t == _head.load(std::memory_order_acquire)) return ok();
    write_piece_locked();
  }
}

void append_ring::detach() {
  std::lock_guard lock(_write_mu);
  _detached = true;
}

result<byte_buffer> append_ring::saved_tail(io::filesystem& fs, const std::string& path,
                                            offset base, uint64_t from) {
  auto f = fs.open(path, io::open_mode::read_only);
  if (!f) return f.error();
  std::array<uint8_t, 48> header{};
  auto n = (*f)->read_at(0, header);
  if (!n) return n.error();
  if (*n < header.size() || !std::equal(ring_magic.begin(), ring_magic.end(), header.begin()) ||
      load_le64(header.data() + f_version * 8) != ring_version) {
    return byte_buffer{};
  }
  uint64_t capacity = load_le64(header.data() + f_capacity * 8);
  uint64_t head = load_le64(header.data() + f_head * 8);
  auto size = (*f)->size();
  if (!size) return size.error();
  if (static_cast<int64_t>(load_le64(header.data() + f_base * 8)) != base.value || capacity == 0 ||
      *size < header_bytes + capacity || head <= from || head - from > capacity) {
    return byte_buffer{};
  }
  // [from, head) lies in the ring, in at most two parts: the slots of older positions were
  // only reused once the ring writer had written them, and `from` is past those.
  byte_buffer out(head - from);
  uint64_t slot = from % capacity;
  uint64_t first = std::min(head - from, capacity - slot);
  auto r1 = (*f)->read_at(header_bytes + slot, mutable_bytes(out.data(), first));
  if (!r1) return r1.error();
  if (*r1 < first) return byte_buffer{};
  if (first < out.size()) {
    auto r2 = (*f)->read_at(header_bytes, mutable_bytes(out.data() + first, out.size() - first));
    if (!r2) return r2.error();
    if (*r2 < out.size() - first) return byte_buffer{};
  }
  return out;
}

ring_writer::ring_writer() : _thread([this](std::stop_token st) { run(st); }) {}

ring_writer::~ring_writer() {
  _thread.request_stop();
  _cv.notify_all();
}

void ring_writer::schedule(std::shared_ptr<append_ring> ring) {
  {
    std::lock_guard lock(_mu);
    _queue.push_back(std::move(ring));
  }
  _cv.notify_one();
}

void ring_writer::watch(const std::shared_ptr<append_ring>& ring) {
  std::lock_guard lock(_mu);
  _rings.push_back(ring);
}

void ring_writer::sweep_locked() {
  std::erase_if(_rings, [&](const std::weak_ptr<append_ring>& w) {
    auto r = w.lock();
    if (!r) return true;
    if (r->pending() && !r->failure() && !r->queued.exchange(true)) _queue.push_back(std::move(r));
    return false;
  });
}

void ring_writer::run(std::stop_token stop) {
  std::unique_lock lock(_mu);
  auto next_sweep = std::chrono::steady_clock::now();
  for (;;) {
    _cv.wait_until(lock, stop, next_sweep, [&] { return !_queue.empty(); });
    if (stop.stop_requested()) return;
    if (std::chrono::steady_clock::now() >= next_sweep) {
      sweep_locked();
      next_sweep = std::chrono::steady_clock::now() + std::chrono::milliseconds(sweep_ms);
    }
    if (_queue.empty()) continue;
    auto ring = std::move(_queue.front());
    _queue.pop_front();
    lock.unlock();
    // A few pieces, then the back of the queue if others wait.
    bool more = false;
    for (int i = 0; i < 8; ++i) {
      more = ring->write_piece();
      if (!more) break;
    }
    lock.lock();
    if (more) {
      _queue.push_back(std::move(ring));  // still `queued`; behind the others, if any
      continue;
    }
    // Done: an owner that put after the last piece saw `queued` set and did not schedule, so
    // look once more after clearing it.
    ring->queued.store(false);
    if (ring->pending() && !ring->failure() && !ring->queued.exchange(true)) {
      _queue.push_back(std::move(ring));
    }
  }
}

}  // namespace spate::storage
