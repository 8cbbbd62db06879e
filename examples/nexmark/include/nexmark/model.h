// The Nexmark event model: a person registers, an auction opens, a bid is placed
// (docs: /work/shared/docs/nexmark.md §1.1). One topic carries all three kinds as `event`,
// like the single `datagen` table of Flink's Nexmark source with its person/auction/bid views.
//
//   nexmark::event e = gen.at(4);                      // generator.h
//   if (const auto* b = e.as_bid()) use(b->auction, b->price);
//   auto json = spate::stream::json_serde<nexmark::event>();   // {"event_type":2,"bid":{...}}
//   auto bin = nexmark::binary_event_serde();                  // compact, for the benchmark
//
// Ids and prices are 64-bit, prices in cents, times in ms since the Unix epoch (UTC).
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <variant>

#include "spate/stream/serde.h"

namespace nexmark {

struct person {
  int64_t id = 0;
  std::string name;
  std::string email_address;
  std::string credit_card;
  std::string city;
  std::string state;
  int64_t date_time = 0;
  std::string extra;
  bool operator==(const person&) const = default;
};

struct auction {
  int64_t id = 0;
  std::string item_name;
  std::string description;
  int64_t initial_bid = 0;
  int64_t reserve = 0;
  int64_t date_time = 0;
  int64_t expires = 0;
  int64_t seller = 0;
  int64_t category = 0;
  std::string extra;
  bool operator==(const auction&) const = default;
};

struct bid {
  int64_t auction = 0;
  int64_t bidder = 0;
  int64_t price = 0;
  std::string channel;  // empty unless the generator makes Flink's channel/url fields
  std::string url;
  int64_t date_time = 0;
  std::string extra;
  bool operator==(const bid&) const = default;
};

// Flink's event_type column: 0 person, 1 auction, 2 bid (the variant's index).
enum class event_type : int { person = 0, auction = 1, bid = 2 };

struct event {
  std::variant<person, auction, bid> value;

  event_type type() const { return static_cast<event_type>(value.index()); }
  // The event time of whichever entity this is (Flink's rowtime column).
  int64_t date_time() const {
    return std::visit([](const auto& v) { return v.date_time; }, value);
  }
  const person* as_person() const { return std::get_if<person>(&value); }
  const auction* as_auction() const { return std::get_if<auction>(&value); }
  const bid* as_bid() const { return std::get_if<bid>(&value); }
  bool operator==(const event&) const = default;
};

void to_json(nlohmann::json& j, const person& p);
void from_json(const nlohmann::json& j, person& p);
void to_json(nlohmann::json& j, const auction& a);
void from_json(const nlohmann::json& j, auction& a);
void to_json(nlohmann::json& j, const bid& b);
void from_json(const nlohmann::json& j, bid& b);
// {"event_type":n,"person"|"auction"|"bid":{...}}: the set row only.
void to_json(nlohmann::json& j, const event& e);
void from_json(const nlohmann::json& j, event& e);

// A compact binary encoding (type byte, zigzag varints, length-prefixed strings), about a
// third of the JSON size and several times faster to decode: the benchmark's source format,
// so the figures measure the engine rather than JSON parsing.
spate::stream::serde<event> binary_event_serde();
// The same encoding without the type byte, for one kind (join buffers keep bids, auctions and
// persons in state).
spate::stream::serde<person> binary_person_serde();
spate::stream::serde<auction> binary_auction_serde();
spate::stream::serde<bid> binary_bid_serde();

}  // namespace nexmark
