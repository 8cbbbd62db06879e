#include "storage/zero_fill.h"

#include <algorithm>

#include "base/bytes.h"
#include "base/thread_name.h"

namespace spate::storage {

namespace {
constexpr size_t zero_piece = 1 << 20;  // one write of zeros
}  // namespace

zero_filler::zero_filler()
    : _thread([this](std::stop_token st) {
        name_this_thread("spate-zero-fill");
        run(st);
      }) {}

zero_filler::~zero_filler() {
  _thread.request_stop();
  _cv.notify_all();
}

void zero_filler::maybe_fill(const std::shared_ptr<zero_fill_state>& s, uint64_t end) {
  {
    std::lock_guard lock(s->mu);
    if (s->stopped || s->in_job) return;
    if (s->zeroed_end >= end + s->chunk / 2 || s->zeroed_end >= s->limit) return;
    s->in_job = true;
  }
  {
    std::lock_guard lock(_mu);
    _jobs.push_back(s);
  }
  _cv.notify_one();
}

void zero_filler::drain() {
  std::unique_lock lock(_mu);
  _idle.wait(lock, [&] { return _jobs.empty() && !_running; });
}

void zero_filler::run(std::stop_token stop) {
  for (;;) {
    std::shared_ptr<zero_fill_state> s;
    {
      std::unique_lock lock(_mu);
      if (!_cv.wait(lock, stop, [&] { return !_jobs.empty(); })) return;
      s = std::move(_jobs.front());
      _jobs.pop_front();
      _running = true;
    }
    fill(*s);
    {
      std::lock_guard lock(_mu);
      _running = false;
    }
    _idle.notify_all();
  }
}

void zero_filler::fill(zero_fill_state& s) {
  uint64_t pos;
  uint64_t to;
  uint64_t cut_backs;
  {
    std::lock_guard lock(s.mu);
    pos = std::max(s.zeroed_end, s.owner_end);
    to = std::min(pos + s.chunk, s.limit);
    if (s.stopped || pos >= to) {
      s.in_job = false;
      return;
    }
    cut_backs = s.cut_backs;
  }
  static const byte_buffer zeros(zero_piece);
  auto f = s.fs.open(s.path, io::open_mode::read_write);
  bool ok = static_cast<bool>(f);
  bool wrote = false;
  // One piece at a time, each decided under the lock: a roll or close (stopped) ends the job
  // at the next piece instead of after the whole chunk, and appends that overtook the job
  // (their owner did not wait, as no piece was being written then) are skipped, not zeroed.
  while (ok) {
    uint64_t from;
    size_t n;
    {
      std::lock_guard lock(s.mu);
      if (s.stopped || s.cut_backs != cut_backs) break;
      // Past everything the owner has written or announced: no zero lands on data.
      from = std::max(pos, s.owner_end);
      if (from >= to) break;
      n = static_cast<size_t>(std::min<uint64_t>(zero_piece, to - from));
      s.writing = true;
      s.writing_from = from;
      s.wrote = true;
    }
    ok = static_cast<bool>((*f)->write_at(from, bytes_view(zeros).first(n)));
    {
      // The owner may write over these zeros from now on: only the sync remains, and it runs
      // on this job's own descriptor.
      std::lock_guard lock(s.mu);
      s.writing = false;
      if (!ok) s.stopped = true;  // e.g. ENOSPC: the log goes on without preallocation
    }
    s.cv.notify_all();
    wrote = true;
    pos = from + n;
  }
  if (ok && wrote) ok = static_cast<bool>((*f)->sync_data());
  std::lock_guard lock(s.mu);
  s.in_job = false;
  if (!ok) {
    s.stopped = true;
  } else if (s.cut_backs == cut_backs) {
    // Up to `pos` the file holds zeros (synced) or data the owner wrote past them.
    s.zeroed_end = std::max(s.zeroed_end, pos);
  }
}

void zero_fill_before_write(zero_fill_state& s, uint64_t end) {
  std::unique_lock lock(s.mu);
  s.cv.wait(lock, [&] { return !s.writing || end <= s.writing_from; });
  s.owner_end = std::max(s.owner_end, end);
}

void zero_fill_after_cut(zero_fill_state& s, uint64_t size) {
  std::lock_guard lock(s.mu);
  ++s.cut_backs;
  s.owner_end = size;
  s.zeroed_end = size;
}

void zero_fill_stop_soon(zero_fill_state& s) {
  std::lock_guard lock(s.mu);
  s.stopped = true;
}

bool zero_fill_stop(zero_fill_state& s) {
  std::unique_lock lock(s.mu);
  s.stopped = true;
  // A job sees `stopped` before its next piece, so this waits for one piece at most.
  s.cv.wait(lock, [&] { return !s.writing; });
  return s.wrote;
}

}  // namespace spate::storage
