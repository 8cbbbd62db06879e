// Nexmark queries q0–q5, q7 and q8 as Spate pipelines, with Flink SQL's semantics
// (nexmark.md §3.2). Each function adds one query to a topology_builder: it reads events from
// config.source_topic and writes its rows to config.sink_topic (no sink when that is empty:
// the results are computed and dropped, like Flink's blackhole sink in the benchmark).
//
//   spate::stream::topology_builder b;
//   nexmark::q5(b, {.source_topic = "nexmark", .sink_topic = "q5"});
//   auto t = b.build();
//
// Event time is the event's dateTime; the watermark trails the largest time seen by
// config.max_out_of_orderness (Flink's DDL: 4 s). Windows are aligned to the epoch.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "nexmark/generator.h"
#include "nexmark/model.h"
#include "spate/stream/stream.h"

namespace nexmark {

struct query_config {
  std::string source_topic = "nexmark-events";
  std::string sink_topic = "nexmark-results";
  spate::stream::serde<event> event_serde = spate::stream::json_serde<event>();
  spate::stream::duration max_out_of_orderness = std::chrono::seconds(4);
  // The longest auction (expires - dateTime) to expect: q4 keeps a bid in state only as long as
  // an auction it could belong to may still be open. Default: the bound of Flink's V2 workload.
  int64_t max_auction_length_ms = generator_config::flink_v2(0).max_auction_length_ms();
};

// q0 (pass through): SELECT auction, bidder, price, dateTime, extra FROM bid.
struct q0_row {
  int64_t auction = 0;
  int64_t bidder = 0;
  int64_t price = 0;
  int64_t date_time = 0;
  std::string extra;
  bool operator==(const q0_row&) const = default;
};
// q1 (currency conversion): as q0 with 0.908 * price as an exact DECIMAL(23, 3), held as
// thousandths of a cent (price 32,530,001 -> 29,537,240.908 -> price_milli 29,537,240,908).
struct q1_row {
  int64_t auction = 0;
  int64_t bidder = 0;
  int64_t price_milli = 0;
  int64_t date_time = 0;
  std::string extra;
  bool operator==(const q1_row&) const = default;
};
// q2 (selection): SELECT auction, price FROM bid WHERE auction % 123 = 0.
struct q2_row {
  int64_t auction = 0;
  int64_t price = 0;
  auto operator<=>(const q2_row&) const = default;
};
// q3 (local item suggestion): sellers in OR, ID or CA and their category-10 auctions.
struct q3_row {
  std::string name;
  std::string city;
  std::string state;
  int64_t id = 0;  // the auction
  auto operator<=>(const q3_row&) const = default;
};
// q4 (average price per category): an updating result; the latest row per category holds
// the integer average of the highest bid of each of its auctions (bids within
// [dateTime, expires] of the auction).
struct q4_row {
  int64_t category = 0;
  int64_t avg = 0;
  auto operator<=>(const q4_row&) const = default;
};
// The highest price bid per auction so far, as a change of the auction's row in q4's W.
struct final_price_change {
  int64_t category = 0;
  std::optional<int64_t> previous;  // the auction's former maximum: retracted from the average
  int64_t final = 0;
  auto operator<=>(const final_price_change&) const = default;
};

// A bid joined with the auction it names (q4's join, before its BETWEEN filter).
struct auction_bid {
  int64_t auction = 0;
  int64_t category = 0;
  int64_t expires = 0;
  int64_t price = 0;
  int64_t date_time = 0;
  auto operator<=>(const auction_bid&) const = default;
};

// Their binary serdes: in the Kafka runtime they cross repartition topics.
spate::stream::serde<auction_bid> auction_bid_serde();
spate::stream::serde<final_price_change> final_price_change_serde();
// q5 (hot items): per 10 s window sliding by 2 s, the auctions with the most bids, ties
// included. Flink's rows are (auction, num); the window bounds are added so that results of
// different windows can be told apart.
struct q5_row {
  int64_t auction = 0;
  int64_t num = 0;
  int64_t window_start = 0;
  int64_t window_end = 0;
  auto operator<=>(const q5_row&) const = default;
};
// q7 (highest bid): every bid whose price is the maximum of a 10 s tumbling window and whose
// dateTime lies in [window end - 10 s, window end] (inclusive, as Flink's BETWEEN). Fields by
// name, not Flink's positional mix-up of bidder and price (§3.2).
struct q7_row {
  int64_t auction = 0;
  int64_t price = 0;
  int64_t bidder = 0;
  int64_t date_time = 0;
  std::string extra;
  auto operator<=>(const q7_row&) const = default;
};
// q8 (monitor new users): persons who registered and opened an auction in the same 10 s
// tumbling window, once per (person, window).
struct q8_row {
  int64_t id = 0;
  std::string name;
  int64_t window_start = 0;
  auto operator<=>(const q8_row&) const = default;
};

// JSON with the field names above.
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(q0_row, auction, bidder, price, date_time, extra)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(q1_row, auction, bidder, price_milli, date_time, extra)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(q2_row, auction, price)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(q3_row, name, city, state, id)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(q4_row, category, avg)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(q5_row, auction, num, window_start, window_end)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(q7_row, auction, price, bidder, date_time, extra)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(q8_row, id, name, window_start)

// Flink's views over the one event table: the source, then one kind of it.
spate::stream::stream<event> events(spate::stream::topology_builder& b, const query_config& c);
spate::stream::stream<person> persons(const spate::stream::stream<event>& events);
spate::stream::stream<auction> auctions(const spate::stream::stream<event>& events);
spate::stream::stream<bid> bids(const spate::stream::stream<event>& events);

void q0(spate::stream::topology_builder& b, const query_config& c);
void q1(spate::stream::topology_builder& b, const query_config& c);
void q2(spate::stream::topology_builder& b, const query_config& c);
void q3(spate::stream::topology_builder& b, const query_config& c);
void q4(spate::stream::topology_builder& b, const query_config& c);
void q5(spate::stream::topology_builder& b, const query_config& c);
void q7(spate::stream::topology_builder& b, const query_config& c);
void q8(spate::stream::topology_builder& b, const query_config& c);

// Every query above by name ("q0", ...), for the benchmark and the example program.
struct query_entry {
  std::string name;
  std::function<void(spate::stream::topology_builder&, const query_config&)> add;
};
const std::vector<query_entry>& all_queries();

}  // namespace nexmark
