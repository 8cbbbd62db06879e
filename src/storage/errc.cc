#include "storage/errc.h"

#include <string>

namespace spate::storage {
namespace {

class category final : public std::error_category {
 public:
  const char* name() const noexcept override { return "storage"; }
  std::string message(int v) const override {
    switch (static_cast<errc>(v)) {
      case errc::batch_too_small:
        return "record batch shorter than its 61-byte header";
      case errc::batch_too_large:
        return "record batch larger than the log's maximum batch size";
      case errc::batch_length_mismatch:
        return "record batch length field does not match its size";
      case errc::unsupported_magic:
        return "record batch magic is not 2";
      case errc::corrupt_batch:
        return "record batch CRC-32C mismatch";
      case errc::invalid_record_count:
        return "record count does not match last offset delta";
      case errc::invalid_records:
        return "records inside the batch are malformed";
      case errc::invalid_timestamp:
        return "record batch timestamp is invalid";
      case errc::control_batch_not_allowed:
        return "control batches may not be produced";
      case errc::unsupported_compression:
        return "unknown compression codec";
      case errc::offset_out_of_range:
        return "offset out of range";
      case errc::log_failed:
        return "log is read-only after an I/O failure; reopen to recover";
      case errc::log_closed:
        return "log is closed";
      case errc::corrupt_metadata:
        return "metadata file is corrupt";
      case errc::folder_in_use:
        return "data folder is in use by another process";
      case errc::unknown_partition:
        return "unknown topic-partition";
      case errc::invalid_config:
        return "invalid log configuration";
      case errc::out_of_order_sequence:
        return "out of order sequence number";
      case errc::invalid_producer_epoch:
        return "producer epoch is older than the current one (fenced)";
    }
    return "unknown storage error " + std::to_string(v);
  }
};

}  // namespace

const std::error_category& storage_category() {
  static const category c;
  return c;
}

}  // namespace spate::storage
