// A filesystem that wraps another and makes it fail on purpose, for tests of everything that
// stores data: torn and short writes, a disk that fills (ENOSPC), I/O errors (EIO) on read,
// write or fsync, and power loss (everything written since a file's last successful sync is
// dropped, optionally leaving a torn prefix of it).
//
//   io::posix_filesystem real;
//   io::fault_injecting_filesystem fs(real);
//   fs.set_path_filter(".log");                 // only segment files
//   fs.fail_writes_after(4096, ENOSPC);          // the write crossing 4 KiB is torn, then fails
//                                                // (write_at and gathered writes alike)
//   ... storage reports the error, keeps no partial batch ...
//   fs.clear_faults();
//   fs.simulate_power_loss();                    // then reopen and check what survived
//
// Thread-safe: rules and bookkeeping sit behind one mutex (tests only; speed is irrelevant).
#pragma once

#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "io/file.h"

namespace spate::io {

class fault_injecting_filesystem final : public filesystem {
 public:
  explicit fault_injecting_filesystem(filesystem& base) : _base(base) {}

  // Faults apply only to paths containing `fragment` (empty: all paths).
  void set_path_filter(std::string fragment);
  // After `bytes` more bytes have been written, the write that crosses the limit writes only
  // the part below it (torn) and fails with `err`; every later write fails with `err` too.
  void fail_writes_after(uint64_t bytes, int err);
  // The next `count` syncs fail with `err` (count < 0: every sync).
  void fail_syncs(int err, int count = 1);
  void fail_reads(int err);
  // The next `count` syncs wait, before anything else, until release_syncs(): a sync held
  // "in flight" for as long as a test needs (the flusher may run a second one meanwhile).
  // Whether a held sync then fails is decided when it is released.
  void hold_syncs(int count);
  void release_syncs();
  // Syncs waiting in hold_syncs now.
  int held_syncs() const;
  // The next `count` writes of at least `min_bytes` bytes wait, before anything else, until
  // release_writes(): a write held "in progress" for as long as a test needs (say, to show
  // that a roll does not wait for the zero-filler's write). `min_bytes` tells large writes
  // (the filler's 1 MiB pieces of zeros) from the appends' small ones.
  void hold_writes(int count, uint64_t min_bytes = 0);
  void release_writes();
  // Writes waiting in hold_writes now.
  int held_writes() const;
  void fail_truncates(int err);
  // Every reserve (fallocate) fails with `err`, reserving nothing.
  void fail_reserves(int err);
  // Every drop_cache fails with `err` (as a writeback error it waited for would).
  void fail_drop_cache(int err);
  // Every start_writeback fails with `err`, starting nothing.
  void fail_writeback(int err);
  // The next `count` start_writeback calls wait, before anything else, until
  // release_writebacks() (a request held in progress while a sync runs and ends).
  void hold_writebacks(int count);
  void release_writebacks();
  int held_writebacks() const;
  void clear_faults();
  // map_shared passes through to the wrapped filesystem (off by default: it answers ENOTSUP,
  // so a log under test writes every append through this filesystem's files, where the faults
  // are; storage's append ring needs it on). A mapping is outside the faults and outside
  // simulate_power_loss: stores into it behave as on the wrapped filesystem.
  void allow_mapping(bool on);

  // Drops, in every file written through this filesystem, what was written after its last
  // successful sync_data; keeps `keep_unsynced_bytes` of the unsynced tail (a torn write).
  status simulate_power_loss(uint64_t keep_unsynced_bytes = 0);

  uint64_t bytes_written() const;
  uint64_t syncs() const;
  // reserve calls on the filtered paths, failed ones included.
  uint64_t reserves() const;
  // start_writeback calls on the filtered paths (failed ones included), in call order.
  struct writeback_request {
    std::string path;
    uint64_t pos = 0;
    uint64_t len = 0;
  };
  std::vector<writeback_request> writebacks() const;

  result<file_ptr> open(const std::string& path, open_mode mode) override;
  status create_dirs(const std::string& path) override { return _base.create_dirs(path); }
  status remove_file(const std::string& path) override;
  status remove_all(const std::string& path) override;
  status rename(const std::string& from, const std::string& to) override;
  result<std::vector<std::string>> list_dir(const std::string& path) override {
    return _base.list_dir(path);
  }
  result<bool> exists(const std::string& path) override { return _base.exists(path); }
  status sync_dir(const std::string& path) override { return _base.sync_dir(path); }
  result<std::unique_ptr<dir_lock>> lock_file(const std::string& path) override {
    return _base.lock_file(path);
  }
  result<std::unique_ptr<mapped_file>> map_shared(const std::string& path, uint64_t size) override;

 private:
  friend class faulty_file;
  bool applies(const std::string& path) const;
  // The part of a write of `size` bytes that may go through (size if no fault), and the error
  // to return after it, if any.
  std::pair<uint64_t, std::optional<int>> admit_write(const std::string& path, uint64_t size);
  std::optional<int> admit_sync(const std::string& path);
  void wait_if_held(const std::string& path) { wait_if_held(_sync_gate, path, 0); }
  void wait_if_write_held(const std::string& path, uint64_t size) {
    wait_if_held(_write_gate, path, size);
  }
  void note_write(const std::string& path, uint64_t end);
  void note_sync(const std::string& path, uint64_t size);

  filesystem& _base;
  mutable std::mutex _mu;
  bool _allow_mapping = false;
  std::string _filter;
  std::optional<uint64_t> _write_budget;
  int _write_err = 0;
  int _sync_err = 0;
  int _sync_failures_left = 0;
  int _read_err = 0;
  int _truncate_err = 0;
  int _reserve_err = 0;
  int _drop_cache_err = 0;
  int _writeback_err = 0;
  uint64_t _reserves = 0;
  std::vector<writeback_request> _writebacks;
  uint64_t _bytes_written = 0;
  uint64_t _syncs = 0;
  // Per path: size when last synced (the durable prefix, assuming append-mostly files).
  std::map<std::string, uint64_t> _synced_size;
  // Where hold_syncs / hold_writes park operations until released (guarded by _mu).
  struct hold_gate {
    int holds_left = 0;
    uint64_t min_bytes = 0;  // smaller operations pass
    int held = 0;
    uint64_t generation = 0;  // bumped by a release: the parked ones go
    std::condition_variable released;
  };
  void hold(hold_gate& g, int count, uint64_t min_bytes);
  void release(hold_gate& g);  // with _mu held
  int held(const hold_gate& g) const;
  void wait_if_held(hold_gate& g, const std::string& path, uint64_t size);
  hold_gate _sync_gate;
  hold_gate _write_gate;
  hold_gate _writeback_gate;
};

}  // namespace spate::io
