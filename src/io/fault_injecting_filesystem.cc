#include "io/fault_injecting_filesystem.h"

#include <algorithm>
#include <cerrno>

namespace spate::io {

class faulty_file final : public file {
 public:
  faulty_file(fault_injecting_filesystem& fs, file_ptr inner) : _fs(fs), _inner(std::move(inner)) {}

  result<size_t> read_at(uint64_t pos, mutable_bytes buf) override {
    {
      std::lock_guard lock(_fs._mu);
      if (_fs._read_err != 0 && _fs.applies(path())) {
        return errno_error(_fs._read_err, "injected read fault on " + path());
      }
    }
    return _inner->read_at(pos, buf);
  }

  status write_at(uint64_t pos, bytes_view data) override {
    _fs.wait_if_write_held(path(), data.size());
    auto [allowed, err] = _fs.admit_write(path(), data.size());
    if (allowed > 0) {
      SPATE_TRY(_inner->write_at(pos, data.first(allowed)));
      _fs.note_write(path(), allowed);
    }
    if (err) return errno_error(*err, "injected write fault on " + path());
    return ok();
  }

  status write_gather_at(uint64_t pos, std::span<const bytes_view> parts) override {
    uint64_t total = 0;
    for (auto p : parts) total += p.size();
    _fs.wait_if_write_held(path(), total);
    auto [allowed, err] = _fs.admit_write(path(), total);
    if (allowed > 0) {
      // The admitted prefix of the run, cut inside a part if the limit falls there: a torn
      // gathered write may end in the middle of any buffer.
      std::vector<bytes_view> prefix;
      uint64_t left = allowed;
      for (auto p : parts) {
        if (left == 0) break;
        prefix.push_back(p.first(static_cast<size_t>(std::min<uint64_t>(left, p.size()))));
        left -= prefix.back().size();
      }
      SPATE_TRY(_inner->write_gather_at(pos, prefix));
      _fs.note_write(path(), allowed);
    }
    if (err) return errno_error(*err, "injected write fault on " + path());
    return ok();
  }

  status sync_data() override {
    _fs.wait_if_held(path());
    if (auto err = _fs.admit_sync(path())) {
      return errno_error(*err, "injected fdatasync fault on " + path());
    }
    // The size before the sync: what was written before it began is what it makes durable
    // (another thread may append while it runs).
    auto size = _inner->size();
    SPATE_TRY(_inner->sync_data());
    if (size) _fs.note_sync(path(), *size);
    return ok();
  }

  status truncate(uint64_t size) override {
    {
      std::lock_guard lock(_fs._mu);
      if (_fs._truncate_err != 0 && _fs.applies(path())) {
        return errno_error(_fs._truncate_err, "injected truncate fault on " + path());
      }
    }
    SPATE_TRY(_inner->truncate(size));
    std::lock_guard lock(_fs._mu);
    auto it = _fs._synced_size.find(path());
    if (it != _fs._synced_size.end()) it->second = std::min(it->second, size);
    return ok();
  }

  status reserve(uint64_t pos, uint64_t len) override {
    {
      std::lock_guard lock(_fs._mu);
      if (_fs.applies(path())) {
        ++_fs._reserves;
        if (_fs._reserve_err != 0) {
          return errno_error(_fs._reserve_err, "injected fallocate fault on " + path());
        }
      }
    }
    return _inner->reserve(pos, len);
  }

  // Passed through, and not counted as a sync: a simulated crash still loses what no
  // sync_data covered, which only makes the model stricter than the disk.
  status drop_cache(uint64_t pos, uint64_t len) override {
    {
      std::lock_guard lock(_fs._mu);
      if (_fs.applies(path()) && _fs._drop_cache_err != 0) {
        return errno_error(_fs._drop_cache_err, "injected writeback fault on " + path());
      }
    }
    return _inner->drop_cache(pos, len);
  }

  // Passed through and counted, and not a sync either: write-behind makes nothing durable.
  status start_writeback(uint64_t pos, uint64_t len) override {
    _fs.wait_if_held(_fs._writeback_gate, path(), 0);
    {
      std::lock_guard lock(_fs._mu);
      if (_fs.applies(path())) {
        _fs._writebacks.push_back({path(), pos, len});
        if (_fs._writeback_err != 0) {
          return errno_error(_fs._writeback_err, "injected sync_file_range fault on " + path());
        }
      }
    }
    return _inner->start_writeback(pos, len);
  }

  result<uint64_t> size() override { return _inner->size(); }
  int native_handle() const override { return _inner->native_handle(); }
  const std::string& path() const override { return _inner->path(); }

 private:
  fault_injecting_filesystem& _fs;
  file_ptr _inner;
};

void fault_injecting_filesystem::set_path_filter(std::string fragment) {
  std::lock_guard lock(_mu);
  _filter = std::move(fragment);
}

void fault_injecting_filesystem::fail_writes_after(uint64_t bytes, int err) {
  std::lock_guard lock(_mu);
  _write_budget = bytes;
  _write_err = err;
}

void fault_injecting_filesystem::fail_syncs(int err, int count) {
  std::lock_guard lock(_mu);
  _sync_err = err;
  _sync_failures_left = count;
}

void fault_injecting_filesystem::hold(hold_gate& g, int count, uint64_t min_bytes) {
  std::lock_guard lock(_mu);
  g.holds_left = count;
  g.min_bytes = min_bytes;
}

void fault_injecting_filesystem::release(hold_gate& g) {
  g.holds_left = 0;
  ++g.generation;
  g.released.notify_all();
}

int fault_injecting_filesystem::held(const hold_gate& g) const {
  std::lock_guard lock(_mu);
  return g.held;
}

void fault_injecting_filesystem::wait_if_held(hold_gate& g, const std::string& path,
                                              uint64_t size) {
  std::unique_lock lock(_mu);
  if (g.holds_left == 0 || size < g.min_bytes || !applies(path)) return;
  --g.holds_left;
  ++g.held;
  uint64_t generation = g.generation;
  g.released.wait(lock, [&] { return g.generation != generation; });
  --g.held;
}

void fault_injecting_filesystem::hold_syncs(int count) {
  hold(_sync_gate, count, 0);
}

void fault_injecting_filesystem::release_syncs() {
  std::lock_guard lock(_mu);
  release(_sync_gate);
}

int fault_injecting_filesystem::held_syncs() const {
  return held(_sync_gate);
}

void fault_injecting_filesystem::hold_writes(int count, uint64_t min_bytes) {
  hold(_write_gate, count, min_bytes);
}

void fault_injecting_filesystem::release_writes() {
  std::lock_guard lock(_mu);
  release(_write_gate);
}

int fault_injecting_filesystem::held_writes() const {
  return held(_write_gate);
}

void fault_injecting_filesystem::hold_writebacks(int count) {
  hold(_writeback_gate, count, 0);
}

void fault_injecting_filesystem::release_writebacks() {
  std::lock_guard lock(_mu);
  release(_writeback_gate);
}

int fault_injecting_filesystem::held_writebacks() const {
  return held(_writeback_gate);
}

void fault_injecting_filesystem::fail_reads(int err) {
  std::lock_guard lock(_mu);
  _read_err = err;
}

void fault_injecting_filesystem::fail_truncates(int err) {
  std::lock_guard lock(_mu);
  _truncate_err = err;
}

void fault_injecting_filesystem::fail_drop_cache(int err) {
  std::lock_guard lock(_mu);
  _drop_cache_err = err;
}

void fault_injecting_filesystem::fail_reserves(int err) {
  std::lock_guard lock(_mu);
  _reserve_err = err;
}

uint64_t fault_injecting_filesystem::reserves() const {
  std::lock_guard lock(_mu);
  return _reserves;
}

void fault_injecting_filesystem::fail_writeback(int err) {
  std::lock_guard lock(_mu);
  _writeback_err = err;
}

std::vector<fault_injecting_filesystem::writeback_request> fault_injecting_filesystem::writebacks()
    const {
  std::lock_guard lock(_mu);
  return _writebacks;
}

void fault_injecting_filesystem::clear_faults() {
  std::lock_guard lock(_mu);
  _write_budget.reset();
  _write_err = 0;
  _sync_err = 0;
  _sync_failures_left = 0;
  _read_err = 0;
  _truncate_err = 0;
  _reserve_err = 0;
  _drop_cache_err = 0;
  _writeback_err = 0;
  release(_sync_gate);
  release(_write_gate);
  release(_writeback_gate);
}

bool fault_injecting_filesystem::applies(const std::string& path) const {
  return _filter.empty() || path.find(_filter) != std::string::npos;
}

std::pair<uint64_t, std::optional<int>> fault_injecting_filesystem::admit_write(
    const std::string& path, uint64_t size) {
  std::lock_guard lock(_mu);
  if (!_write_budget || !applies(path)) return {size, std::nullopt};
  uint64_t allowed = std::min(size, *_write_budget);
  *_write_budget -= allowed;
  if (allowed == size && size > 0) return {size, std::nullopt};
  return {allowed, _write_err};
}

std::optional<int> fault_injecting_filesystem::admit_sync(const std::string& path) {
  std::lock_guard lock(_mu);
  if (_sync_err == 0 || _sync_failures_left == 0 || !applies(path)) return std::nullopt;
  if (_sync_failures_left > 0) --_sync_failures_left;
  return _sync_err;
}

void fault_injecting_filesystem::note_write(const std::string& path, uint64_t bytes) {
  std::lock_guard lock(_mu);
  _bytes_written += bytes;
  _synced_size.try_emplace(path, 0);
}

void fault_injecting_filesystem::note_sync(const std::string& path, uint64_t size) {
  std::lock_guard lock(_mu);
  // Syncs of one file on several descriptors may finish out of order; a later write is never
  // undone by an older sync finishing last.
  auto& synced = _synced_size[path];
  synced = std::max(synced, size);
  ++_syncs;
}

result<file_ptr> fault_injecting_filesystem::open(const std::string& path, open_mode mode) {
  auto existed = _base.exists(path);
  auto f = _base.open(path, mode);
  if (!f) return f.error();
  {
    std::lock_guard lock(_mu);
    // A file that existed before we saw it counts as durable as found.
    if (existed && *existed && !_synced_size.count(path)) {
      auto size = (*f)->size();
      if (size) _synced_size[path] = *size;
    } else if (existed && !*existed) {
      _synced_size[path] = 0;
    }
  }
  return file_ptr(std::make_shared<faulty_file>(*this, *f));
}

status fault_injecting_filesystem::remove_file(const std::string& path) {
  SPATE_TRY(_base.remove_file(path));
  std::lock_guard lock(_mu);
  _synced_size.erase(path);
  return ok();
}

status fault_injecting_filesystem::remove_all(const std::string& path) {
  SPATE_TRY(_base.remove_all(path));
  std::lock_guard lock(_mu);
  for (auto it = _synced_size.begin(); it != _synced_size.end();) {
    it = it->first.rfind(path, 0) == 0 ? _synced_size.erase(it) : std::next(it);
  }
  return ok();
}

status fault_injecting_filesystem::rename(const std::string& from, const std::string& to) {
  SPATE_TRY(_base.rename(from, to));
  std::lock_guard lock(_mu);
  auto it = _synced_size.find(from);
  if (it != _synced_size.end()) {
    _synced_size[to] = it->second;
    _synced_size.erase(it);
  }
  return ok();
}

status fault_injecting_filesystem::simulate_power_loss(uint64_t keep_unsynced_bytes) {
  std::map<std::string, uint64_t> synced;
  {
    std::lock_guard lock(_mu);
    synced = _synced_size;
  }
  for (auto& [path, durable] : synced) {
    auto f = _base.open(path, open_mode::read_write);
    if (!f) continue;  // removed meanwhile
    auto size = (*f)->size();
    if (!size) return size.error();
    if (*size > durable) SPATE_TRY((*f)->truncate(std::min(*size, durable + keep_unsynced_bytes)));
  }
  return ok();
}

uint64_t fault_injecting_filesystem::bytes_written() const {
  std::lock_guard lock(_mu);
  return _bytes_written;
}

uint64_t fault_injecting_filesystem::syncs() const {
  std::lock_guard lock(_mu);
  return _syncs;
}

void fault_injecting_filesystem::allow_mapping(bool on) {
  std::lock_guard lock(_mu);
  _allow_mapping = on;
}

result<std::unique_ptr<mapped_file>> fault_injecting_filesystem::map_shared(const std::string& path,
                                                                            uint64_t size) {
  {
    std::lock_guard lock(_mu);
    if (!_allow_mapping) return filesystem::map_shared(path, size);
  }
  return _base.map_shared(path, size);
}

}  // namespace spate::io
