// producer: sends records (key, value, headers, timestamp, partition) with the chosen acks and
// compression, and hands back one delivery report per record as a result value.
//
//   auto p = client::producer::connect(cfg, {.acks = acks_mode::all});
//   if (!p) return p.error();
//   auto id = p->produce({.topic = "orders", .key = "o-1", .value = "{...}"});
//   if (!id) return id.error();                 // refused locally (bad partition, queue full)
//   SPATE_TRY(p->flush(std::chrono::seconds(10)));
//   for (auto& d : p->poll()) {                  // the reports flush() collected
//     if (!d.outcome) log->error("record {}: {}", d.id, d.outcome.error().message());
//   }
//
// librdkafka batches and retries in its own threads; reports are collected only inside
// produce(), poll() and flush(), on the caller's thread. Destroying a producer drops what was
// not delivered yet: flush first. Movable, not copyable; one thread at a time.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "client/cluster_info.h"
#include "client/config.h"
#include "client/record.h"

namespace spate::client {

namespace detail {
class handle;
}

// acks: 0 (none: do not wait for the broker), 1 (leader: written), all (durable on every
// in-sync replica; on a Spate broker, on disk).
enum class acks_mode { none, leader, all };
enum class compression_codec { none, gzip, snappy, lz4, zstd };

// "0" | "1" | "all" (also "-1").
result<acks_mode> parse_acks(std::string_view s);
// "none" | "gzip" | "snappy" | "lz4" | "zstd".
result<compression_codec> parse_compression(std::string_view s);

struct producer_config {
  acks_mode acks = acks_mode::all;
  compression_codec compression = compression_codec::none;
  std::chrono::milliseconds linger{5};  // how long a batch waits for more records
  // How long librdkafka keeps trying to deliver one record (message.timeout.ms); 0: the
  // client_config timeout.
  std::chrono::milliseconds delivery_timeout{0};
  bool idempotent = false;  // enable.idempotence (requires acks=all)
};

// The outcome of one produced record.
struct delivery {
  uint64_t id = 0;  // what produce() returned for it
  result<record_position> outcome;
};

class producer {
 public:
  // Creates the producer and checks that a broker answers within config.timeout.
  static result<producer> connect(const client_config& config,
                                  const producer_config& settings = {});

  producer(producer&&) noexcept;
  producer& operator=(producer&&) noexcept;
  ~producer();

  // Queues one record for sending and returns its id (1, 2, 3 ... in call order). Refused here
  // only for what fails before sending: an unknown partition, a record too large, a local
  // queue that stays full for the whole timeout (it waits, serving reports, meanwhile).
  result<uint64_t> produce(const outgoing_record& record);

  // Serves librdkafka's callbacks for up to `wait`, then returns every delivery report
  // collected since the last call (including those flush() collected).
  std::vector<delivery> poll(std::chrono::milliseconds wait = {});

  // Waits until every queued record is delivered or failed; errc::timed_out if some are
  // still in flight after `timeout`. The reports are returned by the next poll().
  status flush(std::chrono::milliseconds timeout);

  // Records queued or in flight, not yet reported.
  size_t in_flight() const;

  result<cluster_info> describe_cluster(metadata_scope scope = metadata_scope::all_topics);

 private:
  struct state;
  explicit producer(std::unique_ptr<state> s);
  std::unique_ptr<state> _s;
};

}  // namespace spate::client
