#include "io/posix_filesystem.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <filesystem>
#include <vector>

namespace spate::io {
namespace {

class posix_file final : public file {
 public:
  posix_file(int fd, std::string path) : _fd(fd), _path(std::move(path)) {}
  ~posix_file() override { ::close(_fd); }

  result<size_t> read_at(uint64_t pos, mutable_bytes buf) override {
    size_t done = 0;
    while (done < buf.size()) {
      ssize_t n =
          ::pread(_fd, buf.data() + done, buf.size() - done, static_cast<off_t>(pos + done));
      if (n < 0) {
        if (errno == EINTR) continue;
        return errno_error(errno, "pread " + _path);
      }
      if (n == 0) break;  // EOF
      done += static_cast<size_t>(n);
    }
    return done;
  }

  status write_at(uint64_t pos, bytes_view data) override {
    size_t done = 0;
    while (done < data.size()) {
      ssize_t n =
          ::pwrite(_fd, data.data() + done, data.size() - done, static_cast<off_t>(pos + done));
      if (n < 0) {
        if (errno == EINTR) continue;
        return errno_error(errno, "pwrite " + _path);
      }
      if (n == 0) return errno_error(EIO, "pwrite wrote nothing to " + _path);
      done += static_cast<size_t>(n);
    }
    return ok();
  }

  status write_gather_at(uint64_t pos, std::span<const bytes_view> parts) override {
    // One pwritev per IOV_MAX parts. A short count (a signal, a full disk, a file-size
    // limit) leaves the rest of the run to write: the iovec array is advanced past what went
    // through and the call repeated, so the caller sees all of it written or an error.
    std::vector<iovec> iov;
    iov.reserve(std::min<size_t>(parts.size(), IOV_MAX));
    size_t next = 0;  // first part not yet in `iov`
    uint64_t at = pos;
    while (next < parts.size() || !iov.empty()) {
      while (next < parts.size() && iov.size() < IOV_MAX) {
        if (!parts[next].empty()) {
          iov.push_back({const_cast<uint8_t*>(parts[next].data()), parts[next].size()});
        }
        ++next;
      }
      if (iov.empty()) break;
      ssize_t n = ::pwritev(_fd, iov.data(), static_cast<int>(iov.size()), static_cast<off_t>(at));
      if (n < 0) {
        if (errno == EINTR) continue;
        return errno_error(errno, "pwritev " + _path);
      }
      if (n == 0) return errno_error(EIO, "pwritev wrote nothing to " + _path);
      at += static_cast<uint64_t>(n);
      // Drop the iovecs written in full, trim the one written in part.
      size_t left = static_cast<size_t>(n);
      size_t done = 0;
      while (done < iov.size() && left >= iov[done].iov_len) left -= iov[done++].iov_len;
      iov.erase(iov.begin(), iov.begin() + static_cast<std::ptrdiff_t>(done));
      if (left > 0) {
        iov.front().iov_base = static_cast<uint8_t*>(iov.front().iov_base) + left;
        iov.front().iov_len -= left;
      }
    }
    return ok();
  }

  status sync_data() override {
    if (::fdatasync(_fd) != 0) return errno_error(errno, "fdatasync " + _path);
    return ok();
  }

  status truncate(uint64_t size) override {
    while (::ftruncate(_fd, static_cast<off_t>(size)) != 0) {
      if (errno != EINTR) return errno_error(errno, "ftruncate " + _path);
    }
    return ok();
  }

  status reserve(uint64_t pos, uint64_t len) override {
    while (::fallocate(_fd, FALLOC_FL_KEEP_SIZE, static_cast<off_t>(pos),
                       static_cast<off_t>(len)) != 0) {
      if (errno != EINTR) return errno_error(errno, "fallocate " + _path);
    }
    return ok();
  }

  status drop_cache(uint64_t pos, uint64_t len) override {
    // Only clean pages can be dropped, so the range is written back (and waited for) first.
    constexpr unsigned flags =
        SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE | SYNC_FILE_RANGE_WAIT_AFTER;
    // DONTNEED skips a folio still referenced: one whose writeback (ours, or a concurrent
    // fdatasync's) has just ended is held a moment longer by its completion. Large folios
    // (up to 2 MiB, from large writes and readahead) make each such skip cost up to 512
    // pages, so what stays cached is looked for (mincore) and evicted again after a pause.
    for (int attempt = 0;; ++attempt) {
      while (::sync_file_range(_fd, static_cast<off_t>(pos), static_cast<off_t>(len), flags) != 0) {
        if (errno != EINTR) return errno_error(errno, "sync_file_range " + _path);
      }
      int rc = ::posix_fadvise(_fd, static_cast<off_t>(pos), static_cast<off_t>(len),
                               POSIX_FADV_DONTNEED);
      if (rc != 0) return errno_error(rc, "posix_fadvise " + _path);
      if (attempt == max_drop_retries || keeps_pages() || !any_cached(pos, len)) return ok();
      ::usleep(200u << attempt);  // 0.2, 0.4, 0.8, 1.6 ms
    }
  }

  status start_writeback(uint64_t pos, uint64_t len) override {
    while (::sync_file_range(_fd, static_cast<off_t>(pos), static_cast<off_t>(len),
                             SYNC_FILE_RANGE_WRITE) != 0) {
      if (errno != EINTR) return errno_error(errno, "sync_file_range " + _path);
    }
    return ok();
  }

  // Whether any whole page of [pos, pos + len) is in the page cache. DONTNEED keeps the
  // partial pages at the ends of a range, so only whole ones count. A failure to tell says no.
  bool any_cached(uint64_t pos, uint64_t len) const {
    const uint64_t page = static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
    uint64_t first = (pos + page - 1) / page * page;
    uint64_t end = (pos + len) / page * page;
    if (end <= first) return false;
    void* map = ::mmap(nullptr, end - first, PROT_READ, MAP_SHARED, _fd, static_cast<off_t>(first));
    if (map == MAP_FAILED) return false;
    std::vector<unsigned char> in((end - first) / page);
    bool cached = ::mincore(map, end - first, in.data()) == 0 &&
                  std::any_of(in.begin(), in.end(), [](unsigned char c) { return (c & 1) != 0; });
    ::munmap(map, end - first);
    return cached;
  }
  static constexpr int max_drop_retries = 4;
  // tmpfs: its pages are the file, and DONTNEED never drops them (nothing to look for).
  bool keeps_pages() const {
    struct statfs info {};
    return ::fstatfs(_fd, &info) == 0 && info.f_type == TMPFS_MAGIC;
  }

  result<uint64_t> size() override {
    struct stat st;
    if (::fstat(_fd, &st) != 0) return errno_error(errno, "fstat " + _path);
    return static_cast<uint64_t>(st.st_size);
  }

  int native_handle() const override { return _fd; }
  const std::string& path() const override { return _path; }

 private:
  int _fd;
  std::string _path;
};

class posix_dir_lock final : public dir_lock {
 public:
  explicit posix_dir_lock(int fd) : _fd(fd) {}
  ~posix_dir_lock() override {
    ::flock(_fd, LOCK_UN);
    ::close(_fd);
  }

 private:
  int _fd;
};

}  // namespace

result<file_ptr> posix_filesystem::open(const std::string& path, open_mode mode) {
  int flags = O_CLOEXEC;
  switch (mode) {
    case open_mode::read_only:
      flags |= O_RDONLY;
      break;
    case open_mode::read_write:
      flags |= O_RDWR;
      break;
    case open_mode::read_write_create:
      flags |= O_RDWR | O_CREAT;
      break;
    case open_mode::create_exclusive:
      flags |= O_RDWR | O_CREAT | O_EXCL;
      break;
  }
  int fd;
  do {
    fd = ::open(path.c_str(), flags, 0644);
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) return errno_error(errno, "open " + path);
  return file_ptr(std::make_shared<posix_file>(fd, path));
}

status posix_filesystem::create_dirs(const std::string& path) {
  std::error_code ec;
  std::filesystem::create_directories(path, ec);
  if (ec) return error(ec, "create directories " + path);
  return ok();
}

status posix_filesystem::remove_file(const std::string& path) {
  if (::unlink(path.c_str()) != 0) return errno_error(errno, "unlink " + path);
  return ok();
}

status posix_filesystem::remove_all(const std::string& path) {
  std::error_code ec;
  std::filesystem::remove_all(path, ec);
  if (ec) return error(ec, "remove " + path);
  return ok();
}

status posix_filesystem::rename(const std::string& from, const std::string& to) {
  if (::rename(from.c_str(), to.c_str()) != 0)
    return errno_error(errno, "rename " + from + " to " + to);
  return ok();
}

result<std::vector<std::string>> posix_filesystem::list_dir(const std::string& path) {
  DIR* d = ::opendir(path.c_str());
  if (!d) return errno_error(errno, "opendir " + path);
  std::vector<std::string> names;
  errno = 0;
  while (dirent* e = ::readdir(d)) {
    std::string name = e->d_name;
    if (name != "." && name != "..") names.push_back(std::move(name));
  }
  int err = errno;
  ::closedir(d);
  if (err != 0) return errno_error(err, "readdir " + path);
  return names;
}

result<bool> posix_filesystem::exists(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) == 0) return true;
  if (errno == ENOENT) return false;
  return errno_error(errno, "stat " + path);
}

status posix_filesystem::sync_dir(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return errno_error(errno, "open directory " + path);
  int rc = ::fsync(fd);
  int err = errno;
  ::close(fd);
  if (rc != 0) return errno_error(err, "fsync directory " + path);
  return ok();
}

result<std::unique_ptr<dir_lock>> posix_filesystem::lock_file(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return errno_error(errno, "open lock file " + path);
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    int err = errno;
    ::close(fd);
    if (err == EWOULDBLOCK) {
      return errno_error(err, "data folder is in use by another process (lock " + path + ")");
    }
    return errno_error(err, "flock " + path);
  }
  return std::unique_ptr<dir_lock>(std::make_unique<posix_dir_lock>(fd));
}

namespace {

class posix_mapped_file final : public mapped_file {
 public:
  posix_mapped_file(uint8_t* p, size_t n, std::string path)
      : _p(p), _n(n), _path(std::move(path)) {}
  ~posix_mapped_file() override { ::munmap(_p, _n); }
  mutable_bytes bytes() override { return {_p, _n}; }
  const std::string& path() const override { return _path; }

 private:
  uint8_t* _p;
  size_t _n;
  std::string _path;
};

}  // namespace

result<std::unique_ptr<mapped_file>> posix_filesystem::map_shared(const std::string& path,
                                                                  uint64_t size) {
  int fd;
  do {
    fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) return errno_error(errno, "open " + path);
  struct stat st {};
  int err = 0;
  if (::fstat(fd, &st) != 0) {
    err = errno;
  } else if (static_cast<uint64_t>(st.st_size) != size) {
    // fallocate first, so that a full disk fails here rather than as SIGBUS on a later store
    // into a hole; then the size, for a file that was longer.
    err = ::posix_fallocate(fd, 0, static_cast<off_t>(size));  // returns the error
    if (err == 0 && ::ftruncate(fd, static_cast<off_t>(size)) != 0) err = errno;
  }
  void* p = MAP_FAILED;
  if (err == 0) {
    p = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED) err = errno;
  }
  ::close(fd);  // the mapping keeps the file
  if (err != 0) return errno_error(err, "map " + path);
    // Fault every page in, writable, now: a store into the ring must not take a fault on the
    // owner's thread. MADV_POPULATE_WRITE (Linux 5.14); older kernels fault on first use.
#ifdef MADV_POPULATE_WRITE
  (void)::madvise(p, size, MADV_POPULATE_WRITE);
#endif
  // Kept in memory where RLIMIT_MEMLOCK allows (root: always): a page the kernel evicted after
  // writing it back would be read in again on the next store, and a read error there is a
  // SIGBUS, not an error code. Best effort: without the lock the mapping works as before.
  (void)::mlock(p, size);
  return std::unique_ptr<mapped_file>(
      std::make_unique<posix_mapped_file>(static_cast<uint8_t*>(p), size, path));
}

result<std::unique_ptr<mapped_file>> filesystem::map_shared(const std::string& path, uint64_t) {
  return errno_error(ENOTSUP, "map " + path);
}

status file::write_gather_at(uint64_t pos, std::span<const bytes_view> parts) {
  for (bytes_view part : parts) {
    SPATE_TRY(write_at(pos, part));
    pos += part.size();
  }
  return ok();
}

status file::reserve(uint64_t, uint64_t) {
  return errno_error(EOPNOTSUPP, "reserve " + path());
}

status file::drop_cache(uint64_t, uint64_t) {
  return ok();
}

status file::start_writeback(uint64_t, uint64_t) {
  return ok();
}

bool is_writeback_failure(const error& e) {
  int v = e.code.value();
  return e.code.category() == std::generic_category() &&
         (v == EIO || v == ENOSPC || v == EDQUOT || v == EROFS);
}

status write_file_atomically(filesystem& fs, const std::string& path, bytes_view data) {
  std::string tmp = path + ".tmp";
  {
    auto f = fs.open(tmp, open_mode::read_write_create);
    if (!f) return f.error();
    SPATE_TRY((*f)->truncate(0));
    SPATE_TRY((*f)->write_at(0, data));
    SPATE_TRY((*f)->sync_data());
  }
  SPATE_TRY(fs.rename(tmp, path));
  auto slash = path.find_last_of('/');
  return fs.sync_dir(slash == std::string::npos ? "." : path.substr(0, slash));
}

result<byte_buffer> read_whole_file(filesystem& fs, const std::string& path) {
  auto f = fs.open(path, open_mode::read_only);
  if (!f) return f.error();
  auto size = (*f)->size();
  if (!size) return size.error();
  byte_buffer buf(*size);
  auto n = (*f)->read_at(0, buf);
  if (!n) return n.error();
  buf.resize(*n);
  return buf;
}

}  // namespace spate::io
