// A fresh directory under $TMPDIR for one test, removed afterwards (kept if the test failed,
// so the files can be inspected).
#pragma once

#include <string>

namespace spate::test {

class temp_dir {
 public:
  temp_dir();
  ~temp_dir();
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;
  const std::string& path() const { return _path; }
  std::string operator/(const std::string& name) const { return _path + "/" + name; }

 private:
  std::string _path;
};

}  // namespace spate::test
