// The generator's formulas follow nexmark.md §1.2–§1.5 and §2; the order of random draws
// follows §1.4 so that seeding::beam reproduces Beam's events exactly.
#include "nexmark/generator.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

namespace nexmark {
namespace {

// java.util.Random (its public specification, §2): a 48-bit LCG. Reproducing it exactly is
// what lets the tests compare with Beam's published example events.
class java_random {
 public:
  explicit java_random(int64_t seed) : _seed((uint64_t(seed) ^ multiplier) & mask) {}

  int32_t next(int bits) {
    _seed = (_seed * multiplier + 0xB) & mask;
    return static_cast<int32_t>(static_cast<uint32_t>(_seed >> (48 - bits)));
  }
  int32_t next_int() { return next(32); }
  int32_t next_int(int32_t bound) {
    int32_t r = next(31);
    int32_t m = bound - 1;
    if ((bound & m) == 0) return static_cast<int32_t>((int64_t(bound) * r) >> 31);
    // Rejects the top partial range so every value is equally likely (Java's loop).
    for (int32_t u = r;; u = next(31)) {
      r = u % bound;
      if (int64_t(u) - r + m <= std::numeric_limits<int32_t>::max()) return r;
    }
  }
  int64_t next_long() {
    uint64_t hi = static_cast<uint64_t>(static_cast<int64_t>(next(32))) << 32;
    return static_cast<int64_t>(hi + static_cast<uint64_t>(static_cast<int64_t>(next(32))));
  }
  double next_double() {
    int64_t a = static_cast<uint32_t>(next(26));
    int64_t b = static_cast<uint32_t>(next(27));
    return static_cast<double>((a << 27) + b) * 0x1.0p-53;
  }

 private:
  static constexpr uint64_t multiplier = 0x5DEECE66DULL;
  static constexpr uint64_t mask = (uint64_t(1) << 48) - 1;
  uint64_t _seed;
};

uint64_t splitmix64(uint64_t x) {
  x += 0x9E3779B97F4A7C15ULL;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
  return x ^ (x >> 31);
}

int64_t java_round(double x) {
  return static_cast<int64_t>(std::floor(x + 0.5));
}

int64_t long_below(java_random& r, int64_t k) {
  if (k < std::numeric_limits<int32_t>::max()) return r.next_int(static_cast<int32_t>(k));
  return std::llabs(r.next_long() % k);
}

// Length 3..max-1; a space with probability 1/13 else a-z; trimmed at both ends. Written
// into a buffer of the final length and trimmed in place: one allocation at most.
std::string rand_string(java_random& r, int32_t max, char space = ' ', bool trim = true) {
  int32_t len = 3 + r.next_int(max - 3);
  std::string s(static_cast<size_t>(len), '\0');
  char* p = s.data();
  for (int32_t i = 0; i < len; ++i) {
    p[i] = r.next_int(13) == 0 ? space : static_cast<char>('a' + r.next_int(26));
  }
  if (!trim) return s;
  auto e = s.find_last_not_of(' ');
  if (e == std::string::npos) return {};
  s.resize(e + 1);
  s.erase(0, s.find_first_not_of(' '));
  return s;
}

// Two characters of a draw at once: for a truncating remainder r = y % 676 (-675..675), the
// characters 'a' + r % 26 and 'a' + (r / 26) % 26, which are those of y itself (y and r differ
// by a multiple of 676 and truncation keeps their signs equal, so y % 26 == r % 26 and
// (y / 26) % 26 == r / 26).
struct letter_pairs {
  char pair[1351][2];
  constexpr letter_pairs() : pair{} {
    for (int r = -675; r <= 675; ++r) {
      pair[r + 675][0] = static_cast<char>('a' + r % 26);
      pair[r + 675][1] = static_cast<char>('a' + (r / 26) % 26);
    }
  }
};
constexpr letter_pairs letter_pair_table;

// Six characters per 32-bit draw, with Java's truncating % and / (so 'H'..'z'), into a buffer
// of the final length. Character k of a draw x is (x / 26^k) % 26 with truncating division
// (truncating twice by 26 is truncating once by 676, and so on): three independent quotients
// by 676^k, whose remainders by 676 give the characters two at a time (letter_pairs).
std::string exact_string(java_random& r, int64_t len) {
  std::string s(static_cast<size_t>(len), '\0');
  char* p = s.data();
  char* end = p + len;
  for (; end - p >= 6; p += 6) {
    int32_t x = r.next_int();
    int32_t q1 = x / 676, q2 = x / 456'976, q3 = x / 308'915'776;
    std::memcpy(p, letter_pair_table.pair[x - 676 * q1 + 675], 2);
    std::memcpy(p + 2, letter_pair_table.pair[q1 - 676 * q2 + 675], 2);
    std::memcpy(p + 4, letter_pair_table.pair[q2 - 676 * q3 + 675], 2);
  }
  if (p != end) {
    int32_t x = r.next_int();
    for (; p != end; ++p) {
      *p = static_cast<char>('a' + x % 26);
      x /= 26;
    }
  }
  return s;
}

std::string extra(java_random& r, int64_t current, int64_t avg) {
  if (current > avg) return {};
  int64_t d = avg - current;
  int64_t delta = java_round(static_cast<double>(d) * 0.2);
  int64_t size = d - delta + (delta == 0 ? 0 : r.next_int(static_cast<int32_t>(2 * delta)));
  return exact_string(r, size);
}

int64_t price(java_random& r) {
  return java_round(std::pow(10.0, r.next_double() * 6.0) * 100.0);
}

const char* const first_names[] = {"Peter", "Paul",  "Luke",  "John",   "Saul",  "Vicky",
                                   "Kate",  "Julie", "Sarah", "Deiter", "Walter"};
const char* const last_names[] = {"Shultz", "Abrams", "Spencer", "White", "Bartels",
                                  "Walton", "Smith",  "Jones",   "Noris"};
const char* const cities[] = {"Phoenix", "Los Angeles", "San Francisco", "Boise", "Portland",
                              "Bend",    "Redmond",     "Seattle",       "Kent",  "Cheyenne"};
const char* const states[] = {"AZ", "CA", "ID", "OR", "WA", "WY"};
const char* const hot_channels[] = {"Google", "Facebook", "Baidu", "Apple"};
constexpr int32_t num_channels = 10'000;

std::string url(java_random& r) {
  // One statement per draw: the operands of + are evaluated in no fixed order.
  std::string u = "https://www.nexmark.com/";
  for (int i = 0; i < 3; ++i) u += rand_string(r, 5, '_', false) + "/";
  return u + "item.htm?query=1";
}

int32_t reverse_bits(uint32_t v) {
  uint32_t out = 0;
  for (int i = 0; i < 32; ++i) {
    out = (out << 1) | (v & 1);
    v >>= 1;
  }
  return static_cast<int32_t>(out);
}

}  // namespace

generator_config generator_config::beam_default() {
  generator_config c;
  c.seeding_mode = seeding::beam;
  c.inter_event_delay_us = 100.0 * 100;  // periodUs(10,000/s) = 100 µs, × 100 generators
  return c;
}

generator_config generator_config::flink_v2(uint64_t seed) {
  generator_config c;
  c.seed = seed;
  c.first_event_id = 1;
  c.first_event_number = 1;
  c.inter_event_delay_us = 1e6 / 100'000 * 8;
  c.channel_and_url = true;
  return c;
}

int64_t generator_config::timestamp_of(int64_t n) const {
  return base_time + static_cast<int64_t>(static_cast<double>(n) * inter_event_delay_us) / 1000;
}

int64_t generator_config::max_auction_length_ms() const {
  int64_t events = num_in_flight_auctions * total_proportion() / auction_proportion;
  int64_t h =
      static_cast<int64_t>(std::ceil(static_cast<double>(events) * inter_event_delay_us / 1000.0)) +
      1;
  return std::max<int64_t>(2 * h, 1) + 1;
}

generator::generator(generator_config config) : _c(config) {
  if (!_c.channel_and_url) return;
  java_random r(static_cast<int64_t>(splitmix64(_c.seed ^ 0x6368616E6E656C73ULL)));
  for (int i = 0; i < 4; ++i) _hot_channel_urls.push_back(url(r));
  _channels.reserve(num_channels);
  for (int32_t k = 0; k < num_channels; ++k) {
    std::string name = "channel-" + std::to_string(k);
    std::string u = url(r);
    // About 9 in 10 channels also carry their id in the URL.
    if (r.next_int(10) > 0)
      u += "&channel_id=" + std::to_string(std::abs(int64_t(reverse_bits(k))));
    _channels.push_back({static_cast<uint32_t>(_channel_text.size()),
                         static_cast<uint16_t>(name.size()), static_cast<uint16_t>(u.size())});
    _channel_text += name;
    _channel_text += u;
  }
}

int64_t generator::event_number_of(int64_t count) const {
  int64_t n = _c.first_event_number + count;
  int64_t g = _c.out_of_order_group_size;
  if (g <= 1) return n;
  return g * (n / g) + (953 * n) % g;
}

event_type generator::type_of(int64_t event_id) const {
  int64_t r = event_id % _c.total_proportion();
  if (r < _c.person_proportion) return event_type::person;
  if (r < _c.person_proportion + _c.auction_proportion) return event_type::auction;
  return event_type::bid;
}

int64_t generator::last_base0_person_id(int64_t event_id) const {
  int64_t epoch = event_id / _c.total_proportion();
  int64_t off = event_id % _c.total_proportion();
  if (off >= _c.person_proportion) off = _c.person_proportion - 1;
  return epoch * _c.person_proportion + off;
}

int64_t generator::last_base0_auction_id(int64_t event_id) const {
  int64_t epoch = event_id / _c.total_proportion();
  int64_t off = event_id % _c.total_proportion();
  if (off < _c.person_proportion) {
    --epoch;
    off = _c.auction_proportion - 1;
  } else if (off >= _c.person_proportion + _c.auction_proportion) {
    off = _c.auction_proportion - 1;
  } else {
    off -= _c.person_proportion;
  }
  return epoch * _c.auction_proportion + off;
}

event generator::at(int64_t count) const {
  const int64_t n = event_number_of(count);
  const int64_t id = _c.first_event_id + n;
  const int64_t ts = _c.timestamp_of(n);
  java_random r(_c.seeding_mode == seeding::beam
                    ? id
                    : static_cast<int64_t>(splitmix64(_c.seed * 0x9E3779B97F4A7C15ULL ^
                                                      splitmix64(static_cast<uint64_t>(id)))));

  // What the event id implies, worked out once (each is a division by total_proportion, which
  // the compiler shares between them here but not across separate calls further down).
  const event_type type = type_of(id);
  const int64_t person_base0 = last_base0_person_id(id);
  const int64_t auction_base0 = last_base0_auction_id(id);

  // A person among the ~1000 most recent, or up to 10 not created yet.
  auto random_person = [&] {
    int64_t people = person_base0 + 1;
    int64_t active = std::min(people, num_active_people);
    return people - active + long_below(r, active + person_id_lead);
  };

  switch (type) {
    case event_type::person: {
      person p;
      p.id = first_person_id + person_base0;
      // One statement per draw: the operands of + are evaluated in no fixed order.
      p.name = first_names[r.next_int(11)];
      p.name += std::string(" ") + last_names[r.next_int(9)];
      p.email_address = rand_string(r, 7);
      p.email_address += "@" + rand_string(r, 5) + ".com";
      p.credit_card.assign(19, ' ');
      for (int i = 0; i < 4; ++i) {
        int32_t v = r.next_int(10000);  // four digits, zero-padded ("%04d")
        for (int k = 3; k >= 0; --k, v /= 10) p.credit_card[size_t(5 * i + k)] = char('0' + v % 10);
      }
      p.city = cities[r.next_int(10)];
      p.state = states[r.next_int(6)];
      p.date_time = ts;
      int64_t current = 8 + int64_t(p.name.size() + p.email_address.size() + p.credit_card.size() +
                                    p.city.size() + p.state.size());
      p.extra = extra(r, current, _c.avg_person_bytes);
      return event{std::move(p)};
    }
    case event_type::auction: {
      auction a;
      a.id = first_auction_id + auction_base0;
      if (r.next_int(static_cast<int32_t>(_c.hot_sellers_ratio)) > 0) {
        a.seller = (person_base0 / hot_block) * hot_block;
      } else {
        a.seller = random_person();
      }
      a.seller += first_person_id;
      a.category = first_category_id + r.next_int(num_categories);
      a.initial_bid = price(r);
      // Auctions last about as long as it takes 100 more auctions to appear.
      int64_t events_for_auctions =
          num_in_flight_auctions * _c.total_proportion() / _c.auction_proportion;
      int64_t horizon = _c.timestamp_of(n + events_for_auctions) - ts;
      a.date_time = ts;
      a.expires = ts + 1 + long_below(r, std::max<int64_t>(horizon * 2, 1));
      a.item_name = rand_string(r, 20);
      a.description = rand_string(r, 100);
      a.reserve = a.initial_bid + price(r);
      int64_t current = 8 + int64_t(a.item_name.size() + a.description.size()) + 40;
      a.extra = extra(r, current, _c.avg_auction_bytes);
      return event{std::move(a)};
    }
    case event_type::bid: {
      bid b;
      if (r.next_int(static_cast<int32_t>(_c.hot_auction_ratio)) > 0) {
        b.auction = (auction_base0 / hot_block) * hot_block;
      } else {
        int64_t hi = auction_base0;
        int64_t lo = std::max<int64_t>(hi - num_in_flight_auctions, 0);
        b.auction = lo + long_below(r, hi - lo + 1 + auction_id_lead);
      }
      b.auction += first_auction_id;
      if (r.next_int(static_cast<int32_t>(_c.hot_bidders_ratio)) > 0) {
        b.bidder = (person_base0 / hot_block) * hot_block + 1;
      } else {
        b.bidder = random_person();
      }
      b.bidder += first_person_id * (_c.flink_bidder_offset ? 2 : 1);
      b.price = price(r);
      if (_c.channel_and_url) {
        if (r.next_int(2) > 0) {
          int32_t i = r.next_int(4);
          b.channel = hot_channels[i];
          b.url = _hot_channel_urls[static_cast<size_t>(i)];
        } else {
          int32_t k = r.next_int(num_channels);
          const channel_span& c = _channels[static_cast<size_t>(k)];
          const char* text = _channel_text.data() + c.at;
          b.channel.assign(text, c.name_size);
          b.url.assign(text + c.name_size, c.url_size);
        }
      }
      b.date_time = ts;
      b.extra = extra(r, 32, _c.avg_bid_bytes);
      return event{std::move(b)};
    }
  }
  return {};
}

std::vector<event> generator::generate(int64_t first, int64_t n) const {
  std::vector<event> out;
  out.reserve(static_cast<size_t>(n));
  for (int64_t i = first; i < first + n; ++i) out.push_back(at(i));
  return out;
}

}  // namespace nexmark
