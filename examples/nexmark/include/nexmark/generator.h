// The Nexmark data generator (docs: /work/shared/docs/nexmark.md §1–§2): persons, auctions and
// bids in 1:3:46 proportions with the benchmark's ids, hot entities, prices, strings, sizes
// and timestamps. An event is a pure function of (config, count): `at(count)` can be called in
// any order, from any thread, and a split of the stream is just a range of counts.
//
//   nexmark::generator gen(nexmark::generator_config::flink_v2(/*seed=*/42));
//   for (int64_t i = 0; i < 1'000'000; ++i) send(gen.at(i));
//
// Randomness: each event draws from its own java.util.Random-compatible generator. In
// `seeding::beam` it is seeded with the event id, as Beam does, which reproduces Beam's values
// bit for bit (§5.1; tests check them) but correlates the first draws of neighbouring ids
// (§2). In `seeding::hashed` (the default) the seed is a 64-bit mix of (config seed, event id),
// so the hot/random decisions interleave as in Flink and different seeds give different data.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "nexmark/model.h"

namespace nexmark {

// Constants of the benchmark (§1.2, §1.4).
inline constexpr int64_t first_person_id = 1000;
inline constexpr int64_t first_auction_id = 1000;
inline constexpr int64_t first_category_id = 10;
inline constexpr int64_t num_categories = 5;
inline constexpr int64_t num_active_people = 1000;
inline constexpr int64_t num_in_flight_auctions = 100;
inline constexpr int64_t person_id_lead = 10;
inline constexpr int64_t auction_id_lead = 10;
inline constexpr int64_t hot_block = 100;                     // HOT_{SELLER,AUCTION,BIDDER}_RATIO
inline constexpr int64_t beam_base_time = 1'436'918'400'000;  // 2015-07-15T00:00:00Z

enum class seeding { hashed, beam };

struct generator_config {
  seeding seeding_mode = seeding::hashed;
  uint64_t seed = 0;  // hashed mode only
  int64_t first_event_id = 0;
  int64_t first_event_number = 0;
  int64_t base_time = beam_base_time;  // ms; a fixed time keeps runs reproducible
  // Inter-event delay per generator in µs (D of §1.3): 10^6 / rate × number of generators.
  double inter_event_delay_us = 100.0;
  int64_t person_proportion = 1;
  int64_t auction_proportion = 3;
  int64_t bid_proportion = 46;
  int64_t avg_person_bytes = 200;
  int64_t avg_auction_bytes = 500;
  int64_t avg_bid_bytes = 100;
  int64_t hot_auction_ratio = 2;
  int64_t hot_sellers_ratio = 4;
  int64_t hot_bidders_ratio = 4;
  // G of §1.5: each group of G consecutive events comes out in a fixed shuffled order.
  int64_t out_of_order_group_size = 1;
  // Flink's bid.channel and bid.url (§1.4); they cost generator CPU, as in Flink.
  bool channel_and_url = false;
  // Flink adds the 1000 person offset to bidders twice (§1.7 item 3). Off by default: bidders
  // then name real persons, as in Beam and the NEXMark paper.
  bool flink_bidder_offset = false;

  // Beam's defaults: id 0 first, 10,000 events/s over 100 generators (events 10 ms apart),
  // seeded with the event id. §5.1's worked example.
  static generator_config beam_default();
  // Flink's V2 workload for one split (100,000 events/s over 8 generators: D = 80 µs, so
  // 12.5 events per ms and auctions lasting about 133 ms), with channel and url, Flink's layout
  // (first event id and number 1) and a hashed seed.
  static generator_config flink_v2(uint64_t seed);

  int64_t total_proportion() const {
    return person_proportion + auction_proportion + bid_proportion;
  }
  // The event time of (adjusted) event number n.
  int64_t timestamp_of(int64_t n) const;
  // An upper bound of expires - dateTime over all auctions (1 + 2H of §1.4, H rounded up).
  int64_t max_auction_length_ms() const;
};

class generator {
 public:
  explicit generator(generator_config config);

  // The event emitted as number `count` (0, 1, 2, ...).
  event at(int64_t count) const;
  // Events [first, first + n).
  std::vector<event> generate(int64_t first, int64_t n) const;

  const generator_config& config() const { return _c; }

  // The entity ids an event id implies (§1.2), base 0 (add first_person_id/first_auction_id).
  int64_t last_base0_person_id(int64_t event_id) const;
  int64_t last_base0_auction_id(int64_t event_id) const;
  event_type type_of(int64_t event_id) const;
  // The event id and adjusted event number of emission `count`.
  int64_t event_number_of(int64_t count) const;
  int64_t event_id_of(int64_t count) const { return _c.first_event_id + event_number_of(count); }

 private:
  generator_config _c;
  // Flink fixes one URL per channel when the source starts (§1.4): derived from the seed here.
  std::vector<std::string> _hot_channel_urls;
  // Channel k's name ("channel-<k>") and URL, side by side in one buffer: a bid reads one or
  // two cache lines there instead of two strings' headers and their data scattered over the
  // heap (the 10,000 channels do not fit in a core's cache either way).
  struct channel_span {
    uint32_t at = 0;  // the name's first byte in _channel_text; the URL follows it
    uint16_t name_size = 0;
    uint16_t url_size = 0;
  };
  std::string _channel_text;
  std::vector<channel_span> _channels;
};

}  // namespace nexmark
