// The real filesystem: POSIX calls with EINTR handled and errno carried in the error.
// Stateless; one instance may be shared by every thread.
#pragma once

#include "io/file.h"

namespace spate::io {

class posix_filesystem final : public filesystem {
 public:
  result<file_ptr> open(const std::string& path, open_mode mode) override;
  status create_dirs(const std::string& path) override;
  status remove_file(const std::string& path) override;
  status remove_all(const std::string& path) override;
  status rename(const std::string& from, const std::string& to) override;
  result<std::vector<std::string>> list_dir(const std::string& path) override;
  result<bool> exists(const std::string& path) override;
  status sync_dir(const std::string& path) override;
  result<std::unique_ptr<dir_lock>> lock_file(const std::string& path) override;
  result<std::unique_ptr<mapped_file>> map_shared(const std::string& path, uint64_t size) override;
};

}  // namespace spate::io
