// Builds Kafka RecordBatch v2 bytes for tests and benchmarks, the way librdkafka lays them
// out: base offset 0, producer id -1, CRC-32C over attributes..end. With codec(1..4) the records
// are compressed with the real codec (support/compress.h), as a client would send them.
//
//   auto b = test::batch_builder().add("key", "value").add("k2", "v2").build();
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "base/bytes.h"
#include "base/strong_id.h"
#include "support/compress.h"

namespace spate::test {

struct test_record {
  std::optional<std::string> key;
  std::optional<std::string> value;
  std::vector<std::pair<std::string, std::optional<std::string>>> headers;
  int64_t timestamp = 0;
};

class batch_builder {
 public:
  batch_builder& base_timestamp(int64_t t) {
    _base_ts = t;
    return *this;
  }
  batch_builder& add(std::optional<std::string> key, std::optional<std::string> value,
                     int64_t timestamp = -1);
  batch_builder& add(test_record r);
  // Compresses the records with codec 1..4 (gzip, snappy, lz4, zstd); snappy in the xerial
  // framing unless `framing` says raw.
  batch_builder& codec(int c, snappy_framing framing = snappy_framing::xerial) {
    _codec = c;
    _snappy_framing = framing;
    return *this;
  }
  batch_builder& producer(int64_t id, int16_t epoch, int32_t base_sequence) {
    _producer_id = id;
    _producer_epoch = epoch;
    _base_sequence = base_sequence;
    return *this;
  }
  byte_buffer build() const;
  size_t size() const { return _records.size(); }

 private:
  int64_t _base_ts = 1'700'000'000'000;
  int _codec = 0;
  snappy_framing _snappy_framing = snappy_framing::xerial;
  int64_t _producer_id = -1;
  int16_t _producer_epoch = -1;
  int32_t _base_sequence = -1;
  std::vector<test_record> _records;
};

// A batch of `count` records whose values total about `bytes` bytes.
byte_buffer make_batch(int count, size_t value_size, int64_t timestamp = 1'700'000'000'000,
                       const std::string& key_prefix = "k");

// Recomputes the CRC after a test edited a batch on purpose.
void reseal(byte_buffer& batch);

}  // namespace spate::test
