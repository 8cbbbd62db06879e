// The I/O seam (io, row 1): every byte storage reads or writes goes through `filesystem` and
// `file`, so tests can swap in `fault_injecting_filesystem` to tear writes, fill the disk,
// fail fsync or lose what was never synced (conventions.md §6; the idea of leveldb's Env).
//
//   posix_filesystem fs;
//   auto f = fs.open("data/x.log", open_mode::read_write_create);
//   if (!f) return f.error();
//   SPATE_TRY((*f)->write_at(0, bytes));
//   SPATE_TRY((*f)->sync_data());
//
// Threading: a `file` may be used from several threads at once for positioned reads, writes
// to disjoint ranges and sync (the group-commit flusher syncs while the partition's owner
// appends), exactly as POSIX allows for pread/pwrite/fdatasync on one descriptor. Two syncs
// of one `file` at once are allowed but unwise: Linux reports a writeback error once per open
// file description, so one of them may miss it. Open the path again for each concurrent sync
// (storage/flusher.h).
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "base/bytes.h"
#include "base/result.h"

namespace spate::io {

enum class open_mode {
  read_only,
  read_write,         // must exist
  read_write_create,  // created if missing
  create_exclusive,   // fails if it exists
};

class file {
 public:
  virtual ~file() = default;

  // Reads up to buf.size() bytes at `pos`; returns the count, which is short only at EOF.
  virtual result<size_t> read_at(uint64_t pos, mutable_bytes buf) = 0;
  // Writes all of `data` at `pos`, or fails. After a failure some prefix may have been written
  // (a torn write); the caller decides how to undo it (storage truncates).
  virtual status write_at(uint64_t pos, bytes_view data) = 0;
  // Writes `parts` back to back from `pos` (a gathered write: pwritev, so several buffers cost
  // one system call and are not copied together first), or fails. The same rule as write_at
  // holds for the whole run: after a failure some prefix of the concatenation may have been
  // written. This default writes the parts one by one; posix_file overrides it.
  virtual status write_gather_at(uint64_t pos, std::span<const bytes_view> parts);
  // fdatasync: everything written so far is on stable storage when this returns ok.
  virtual status sync_data() = 0;
  virtual status truncate(uint64_t size) = 0;
  // Reserves disk blocks for [pos, pos + len) without changing the file's size (Linux
  // fallocate with FALLOC_FL_KEEP_SIZE), so later writes there allocate nothing. Blocks
  // reserved past the end stay until a truncate, which frees everything past the new size.
  // Fails with EOPNOTSUPP where the file system cannot (the default). Another failure (ENOSPC)
  // may leave part of the range reserved: truncate to the size to be sure it is freed.
  virtual status reserve(uint64_t pos, uint64_t len);
  // Writes [pos, pos + len) back to disk, waits for that, and evicts it from the page cache
  // (Linux sync_file_range, then posix_fadvise DONTNEED). A hint about memory: what the file
  // holds is unchanged, and nothing is made durable (no metadata, no device flush). But the
  // wait reports a writeback error of the file, and Linux then marks it seen, so that a
  // descriptor opened later is not told of it: the caller must treat a failure as a failed
  // fdatasync of that file. What a late release kept cached (a folio whose writeback had just
  // ended) is evicted again after a pause of up to a few milliseconds. Call it off any thread
  // that serves requests. The default does nothing (a file with no page cache).
  virtual status drop_cache(uint64_t pos, uint64_t len);
  // Starts writing [pos, pos + len) back to disk without waiting for that I/O to complete
  // (Linux sync_file_range with SYNC_FILE_RANGE_WRITE only): write-behind, so that a later
  // fdatasync finds less left to write. Makes nothing durable and consumes no writeback error
  // of a completed write (only the flags that wait would), so a later sync_data on any
  // descriptor still reports one. But the call returns the error of starting the write-back
  // itself, and when that is a write-back failure (is_writeback_failure) the pages may not be
  // dirty any more for a later sync to write: the caller must treat it as a failed fdatasync.
  // It may block while the device's queue is full: call it off any thread that serves
  // requests. The default does nothing (a file with no page cache).
  virtual status start_writeback(uint64_t pos, uint64_t len);
  virtual result<uint64_t> size() = 0;
  // The OS descriptor for zero-copy sendfile, or -1 if this file has none.
  virtual int native_handle() const { return -1; }
  virtual const std::string& path() const = 0;
};

// Whether a failed drop_cache or start_writeback means data may not reach the disk (the
// write-back itself failed: EIO, ENOSPC, EDQUOT, EROFS), not that a hint was refused. The
// caller treats the first kind as a failed fdatasync of the file.
bool is_writeback_failure(const error& e);

using file_ptr = std::shared_ptr<file>;

// A file mapped shared into memory at a fixed size (mmap MAP_SHARED). Stores into bytes()
// land in the file's page cache as they are made: a process that dies keeps every byte it
// stored (the kernel writes the pages back), though nothing is durable against a power cut
// until the file is synced. Unmapped and closed on destruction. Any thread may store into
// disjoint parts at once.
class mapped_file {
 public:
  virtual ~mapped_file() = default;
  virtual mutable_bytes bytes() = 0;
  virtual const std::string& path() const = 0;
};

// Held while a data folder is in use; released on destruction.
class dir_lock {
 public:
  virtual ~dir_lock() = default;
};

class filesystem {
 public:
  virtual ~filesystem() = default;

  virtual result<file_ptr> open(const std::string& path, open_mode mode) = 0;
  virtual status create_dirs(const std::string& path) = 0;
  virtual status remove_file(const std::string& path) = 0;
  // Removes a directory and everything in it.
  virtual status remove_all(const std::string& path) = 0;
  // Atomic replace (POSIX rename).
  virtual status rename(const std::string& from, const std::string& to) = 0;
  // Names (not paths) of the entries in a directory, unsorted.
  virtual result<std::vector<std::string>> list_dir(const std::string& path) = 0;
  virtual result<bool> exists(const std::string& path) = 0;
  // Makes a directory's entries (creates, renames, removes) durable.
  virtual status sync_dir(const std::string& path) = 0;
  // An exclusive advisory lock on `path` (created if missing); fails at once if another
  // process holds it.
  virtual result<std::unique_ptr<dir_lock>> lock_file(const std::string& path) = 0;
  // Opens `path` (created if missing), sets its size to `size` (allocating its blocks) and maps
  // it shared, with every page faulted in and writable, so that stores into it take no fault
  // until the kernel's write-back cleans a page, and locked in memory where RLIMIT_MEMLOCK
  // allows. A store into a page the kernel cannot bring back (a read error, or no space on a
  // copy-on-write file system) raises SIGBUS: use it on ext4 or xfs. Fails with ENOTSUP where
  // the file system cannot map (the default).
  virtual result<std::unique_ptr<mapped_file>> map_shared(const std::string& path, uint64_t size);
};

// Writes `data` to `path` so that a crash leaves either the old or the new content: a
// temporary file, fdatasync, rename, fsync of the directory.
status write_file_atomically(filesystem& fs, const std::string& path, bytes_view data);
// Reads a whole (small) file.
result<byte_buffer> read_whole_file(filesystem& fs, const std::string& path);

}  // namespace spate::io
