#include "storage/producer_ids.h"

#include <algorithm>

#include "base/be_cursor.h"
#include "base/crc32c.h"
#include "storage/errc.h"

namespace spate::storage {
namespace {

constexpr uint8_t magic[4] = {'S', 'P', 'P', 'I'};
constexpr uint16_t version = 1;
constexpr const char* file_name = "producer_ids";

}  // namespace

result<std::unique_ptr<producer_ids>> producer_ids::open(io::filesystem& fs,
                                                         const std::string& data_dir) {
  std::string path = data_dir + "/" + file_name;
  auto exists = fs.exists(path);
  if (!exists) return exists.error();
  int64_t start = 0;
  if (*exists) {
    auto content = io::read_whole_file(fs, path);
    if (!content) return content.error();
    bytes_view b = *content;
    auto corrupt = [&](const std::string& why) {
      return error(errc::corrupt_metadata, path + ": " + why);
    };
    if (b.size() != 20 || !std::equal(std::begin(magic), std::end(magic), b.begin())) {
      return corrupt("not a producer id file");
    }
    if (crc32c::value(b.first(16)) != load_be<uint32_t>(b.data() + 16)) {
      return corrupt("checksum mismatch");
    }
    be_cursor c{b.first(16), 4};
    if (c.num<uint16_t>() != version) return corrupt("unknown version");
    (void)c.num<uint16_t>();
    start = c.num<int64_t>();
    if (start < 0) return corrupt("negative next id");
  }
  return std::unique_ptr<producer_ids>(new producer_ids(fs, path, start));
}

result<int64_t> producer_ids::next() {
  std::lock_guard lock(_mu);
  if (_next >= _limit) {
    int64_t limit = _next + block_size;
    byte_buffer out(std::begin(magic), std::end(magic));
    append_be<uint16_t>(out, version);
    append_be<uint16_t>(out, 0);
    append_be<int64_t>(out, limit);
    append_be<uint32_t>(out, crc32c::value(out));
    SPATE_TRY(io::write_file_atomically(_fs, _path, out));
    _limit = limit;
  }
  return _next++;
}

}  // namespace spate::storage
