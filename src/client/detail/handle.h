// Internal to the client module (not included by its public headers): RAII owners for
// librdkafka's C objects, the conversion of librdkafka error codes into spate::error, and
// `handle`, the one librdkafka client instance each admin/producer/consumer wraps.
#pragma once

#include <librdkafka/rdkafka.h>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "base/result.h"
#include "client/cluster_info.h"
#include "client/config.h"
#include "client/record.h"

namespace spate::client::detail {

// unique_ptr deleter calling librdkafka's destroy function for the type.
template <auto Destroy>
struct destroyer {
  template <class T>
  void operator()(T* p) const noexcept {
    if (p) Destroy(p);
  }
};

using conf_ptr = std::unique_ptr<rd_kafka_conf_t, destroyer<rd_kafka_conf_destroy>>;
using queue_ptr = std::unique_ptr<rd_kafka_queue_t, destroyer<rd_kafka_queue_destroy>>;
using event_ptr = std::unique_ptr<rd_kafka_event_t, destroyer<rd_kafka_event_destroy>>;
using message_ptr = std::unique_ptr<rd_kafka_message_t, destroyer<rd_kafka_message_destroy>>;
using topic_ptr = std::unique_ptr<rd_kafka_topic_t, destroyer<rd_kafka_topic_destroy>>;
using partition_list_ptr = std::unique_ptr<rd_kafka_topic_partition_list_t,
                                           destroyer<rd_kafka_topic_partition_list_destroy>>;
using headers_ptr = std::unique_ptr<rd_kafka_headers_t, destroyer<rd_kafka_headers_destroy>>;
using error_ptr = std::unique_ptr<rd_kafka_error_t, destroyer<rd_kafka_error_destroy>>;
using admin_options_ptr =
    std::unique_ptr<rd_kafka_AdminOptions_t, destroyer<rd_kafka_AdminOptions_destroy>>;
using new_topic_ptr = std::unique_ptr<rd_kafka_NewTopic_t, destroyer<rd_kafka_NewTopic_destroy>>;
using delete_topic_ptr =
    std::unique_ptr<rd_kafka_DeleteTopic_t, destroyer<rd_kafka_DeleteTopic_destroy>>;
using new_partitions_ptr =
    std::unique_ptr<rd_kafka_NewPartitions_t, destroyer<rd_kafka_NewPartitions_destroy>>;
using config_resource_ptr =
    std::unique_ptr<rd_kafka_ConfigResource_t, destroyer<rd_kafka_ConfigResource_destroy>>;
using metadata_ptr =
    std::unique_ptr<const rd_kafka_metadata_t, destroyer<rd_kafka_metadata_destroy>>;

using setting_list = std::vector<std::pair<std::string, std::string>>;

// A consumed librdkafka message (err == 0) as our plain value, bytes copied.
message to_message(const rd_kafka_message_t& m);

// An error in the rdkafka category; `context` says what was being done, `text` (librdkafka's
// own error string, if any) what exactly went wrong.
spate::error rdkafka_error(rd_kafka_resp_err_t err, const std::string& context,
                           const char* text = nullptr);

// One librdkafka client instance (rd_kafka_t) and the state its callbacks write to. Heap
// allocated so the callbacks' opaque pointer stays valid when the owning wrapper moves.
// Used from one thread at a time: callbacks run inside serve()/poll calls on that thread,
// except logging, which librdkafka does from its own threads (spdlog is thread-safe).
class handle {
 public:
  using delivery_fn = std::function<void(const rd_kafka_message_t&)>;
  // A group consumer's rebalance callback (rd_kafka_conf_set_rebalance_cb): it must call
  // rd_kafka_assign itself.
  using rebalance_fn =
      std::function<void(rd_kafka_t*, rd_kafka_resp_err_t, rd_kafka_topic_partition_list_t*)>;

  // Creates the client. `settings` (type-specific) are applied after the common ones and
  // before config.properties. `on_delivery` (producers) receives each delivery report.
  static result<std::unique_ptr<handle>> open(rd_kafka_type_t type, const client_config& config,
                                              const setting_list& settings,
                                              delivery_fn on_delivery = {},
                                              rebalance_fn on_rebalance = {});
  ~handle();
  handle(const handle&) = delete;
  handle& operator=(const handle&) = delete;

  rd_kafka_t* rk() const { return _rk; }
  const client_config& config() const { return _config; }
  int timeout_ms() const { return static_cast<int>(_config.timeout.count()); }

  // Serves the main queue (error events, delivery reports), waiting up to `wait` for one.
  void serve(std::chrono::milliseconds wait = {});

  // Checks that a broker answers a Metadata request within the timeout.
  status probe();

  result<cluster_info> metadata(metadata_scope scope);

  // Turns a failed operation's code into an error: a transport failure or timeout before any
  // broker answered becomes errc::broker_unreachable naming the bootstrap servers and
  // librdkafka's last connection error; __FATAL is looked up with rd_kafka_fatal_error;
  // __UNSUPPORTED_FEATURE becomes errc::unsupported_by_broker.
  spate::error failure(rd_kafka_resp_err_t err, const std::string& context,
                       const char* text = nullptr);

  // Marks that a broker answered (some wrappers learn it from results, not from metadata()).
  void mark_reached() { _reached = true; }

 private:
  explicit handle(const client_config& config, delivery_fn on_delivery);
  static void on_error(rd_kafka_t* rk, int err, const char* reason, void* opaque);
  static void on_log(const rd_kafka_t* rk, int level, const char* facility, const char* buf);
  static void on_delivery_report(rd_kafka_t* rk, const rd_kafka_message_t* msg, void* opaque);
  static void on_rebalance_cb(rd_kafka_t* rk, rd_kafka_resp_err_t err,
                              rd_kafka_topic_partition_list_t* parts, void* opaque);

  rd_kafka_t* _rk = nullptr;
  client_config _config;
  delivery_fn _on_delivery;
  rebalance_fn _on_rebalance;
  std::string _last_error;  // the last connection-level error librdkafka reported
  bool _reached = false;    // a broker has answered at least once
};

}  // namespace spate::client::detail
