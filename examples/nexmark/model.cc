#include "nexmark/model.h"

#include <cstring>
#include <stdexcept>
#include <string>
#include <string_view>

namespace nexmark {

// Field names are Flink's column names (nexmark.md §1.1), so the JSON reads like its rows.
void to_json(nlohmann::json& j, const person& p) {
  j = nlohmann::json{{"id", p.id},
                     {"name", p.name},
                     {"emailAddress", p.email_address},
                     {"creditCard", p.credit_card},
                     {"city", p.city},
                     {"state", p.state},
                     {"dateTime", p.date_time},
                     {"extra", p.extra}};
}
void from_json(const nlohmann::json& j, person& p) {
  j.at("id").get_to(p.id);
  j.at("name").get_to(p.name);
  j.at("emailAddress").get_to(p.email_address);
  j.at("creditCard").get_to(p.credit_card);
  j.at("city").get_to(p.city);
  j.at("state").get_to(p.state);
  j.at("dateTime").get_to(p.date_time);
  j.at("extra").get_to(p.extra);
}

void to_json(nlohmann::json& j, const auction& a) {
  j = nlohmann::json{{"id", a.id},
                     {"itemName", a.item_name},
                     {"description", a.description},
                     {"initialBid", a.initial_bid},
                     {"reserve", a.reserve},
                     {"dateTime", a.date_time},
                     {"expires", a.expires},
                     {"seller", a.seller},
                     {"category", a.category},
                     {"extra", a.extra}};
}
void from_json(const nlohmann::json& j, auction& a) {
  j.at("id").get_to(a.id);
  j.at("itemName").get_to(a.item_name);
  j.at("description").get_to(a.description);
  j.at("initialBid").get_to(a.initial_bid);
  j.at("reserve").get_to(a.reserve);
  j.at("dateTime").get_to(a.date_time);
  j.at("expires").get_to(a.expires);
  j.at("seller").get_to(a.seller);
  j.at("category").get_to(a.category);
  j.at("extra").get_to(a.extra);
}

void to_json(nlohmann::json& j, const bid& b) {
  j = nlohmann::json{{"auction", b.auction}, {"bidder", b.bidder}, {"price", b.price},
                     {"channel", b.channel}, {"url", b.url},       {"dateTime", b.date_time},
                     {"extra", b.extra}};
}
void from_json(const nlohmann::json& j, bid& b) {
  j.at("auction").get_to(b.auction);
  j.at("bidder").get_to(b.bidder);
  j.at("price").get_to(b.price);
  j.at("channel").get_to(b.channel);
  j.at("url").get_to(b.url);
  j.at("dateTime").get_to(b.date_time);
  j.at("extra").get_to(b.extra);
}

void to_json(nlohmann::json& j, const event& e) {
  static const char* const names[] = {"person", "auction", "bid"};
  j = nlohmann::json::object();
  j["event_type"] = static_cast<int>(e.type());
  std::visit([&](const auto& v) { j[names[e.value.index()]] = v; }, e.value);
}
void from_json(const nlohmann::json& j, event& e) {
  switch (j.at("event_type").get<int>()) {
    case 0:
      e.value = j.at("person").get<person>();
      break;
    case 1:
      e.value = j.at("auction").get<auction>();
      break;
    case 2:
      e.value = j.at("bid").get<bid>();
      break;
    default:
      throw std::invalid_argument("unknown event_type");
  }
}

namespace {

// Zigzag varints for integers (ids and times are large but deltas are not needed: a varint of
// a 41-bit time is 6 bytes), u32-free length-prefixed strings.
void put_varint(std::string& out, int64_t v) {
  uint64_t u = (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63);
  while (u >= 0x80) {
    out += static_cast<char>((u & 0x7F) | 0x80);
    u >>= 7;
  }
  out += static_cast<char>(u);
}
void put_string(std::string& out, const std::string& s) {
  put_varint(out, static_cast<int64_t>(s.size()));
  out += s;
}

class reader {
 public:
  explicit reader(std::string_view in) : _in(in) {}
  int64_t varint() {
    uint64_t u = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (_pos >= _in.size()) throw std::invalid_argument("truncated varint");
      auto b = static_cast<uint8_t>(_in[_pos++]);
      u |= static_cast<uint64_t>(b & 0x7F) << shift;
      if (!(b & 0x80)) return static_cast<int64_t>(u >> 1) ^ -static_cast<int64_t>(u & 1);
    }
    throw std::invalid_argument("varint too long");
  }
  std::string string() {
    int64_t n = varint();
    if (n < 0 || static_cast<uint64_t>(n) > _in.size() - _pos) {
      throw std::invalid_argument("bad string length");
    }
    std::string s(_in.substr(_pos, static_cast<size_t>(n)));
    _pos += static_cast<size_t>(n);
    return s;
  }
  bool done() const { return _pos == _in.size(); }

 private:
  std::string_view _in;
  size_t _pos = 0;
};

void encode_to(std::string& out, const person& p) {
  put_varint(out, p.id);
  put_string(out, p.name);
  put_string(out, p.email_address);
  put_string(out, p.credit_card);
  put_string(out, p.city);
  put_string(out, p.state);
  put_varint(out, p.date_time);
  put_string(out, p.extra);
}
void encode_to(std::string& out, const auction& a) {
  put_varint(out, a.id);
  put_string(out, a.item_name);
  put_string(out, a.description);
  put_varint(out, a.initial_bid);
  put_varint(out, a.reserve);
  put_varint(out, a.date_time);
  put_varint(out, a.expires);
  put_varint(out, a.seller);
  put_varint(out, a.category);
  put_string(out, a.extra);
}
void encode_to(std::string& out, const bid& b) {
  put_varint(out, b.auction);
  put_varint(out, b.bidder);
  put_varint(out, b.price);
  put_string(out, b.channel);
  put_string(out, b.url);
  put_varint(out, b.date_time);
  put_string(out, b.extra);
}

std::string encode(const event& e) {
  std::string out;
  out.reserve(128);
  out += static_cast<char>(e.value.index());
  std::visit([&](const auto& v) { encode_to(out, v); }, e.value);
  return out;
}

person read_person(reader& r) {
  person p;
  p.id = r.varint();
  p.name = r.string();
  p.email_address = r.string();
  p.credit_card = r.string();
  p.city = r.string();
  p.state = r.string();
  p.date_time = r.varint();
  p.extra = r.string();
  return p;
}
auction read_auction(reader& r) {
  auction a;
  a.id = r.varint();
  a.item_name = r.string();
  a.description = r.string();
  a.initial_bid = r.varint();
  a.reserve = r.varint();
  a.date_time = r.varint();
  a.expires = r.varint();
  a.seller = r.varint();
  a.category = r.varint();
  a.extra = r.string();
  return a;
}
bid read_bid(reader& r) {
  bid b;
  b.auction = r.varint();
  b.bidder = r.varint();
  b.price = r.varint();
  b.channel = r.string();
  b.url = r.string();
  b.date_time = r.varint();
  b.extra = r.string();
  return b;
}

spate::result<event> decode(std::string_view in) {
  if (in.empty()) throw std::invalid_argument("empty record");
  reader r(in.substr(1));
  event e;
  switch (in[0]) {
    case 0:
      e.value = read_person(r);
      break;
    case 1:
      e.value = read_auction(r);
      break;
    case 2:
      e.value = read_bid(r);
      break;
    default:
      throw std::invalid_argument("unknown event type byte");
  }
  if (!r.done()) throw std::invalid_argument("trailing bytes");
  return e;
}

// One kind without the type byte.
template <class T, T (*read)(reader&)>
spate::stream::serde<T> kind_serde(std::string name) {
  return spate::stream::custom_serde<T>(
      std::move(name),
      [](const T& v) {
        std::string out;
        encode_to(out, v);
        return out;
      },
      [](std::string_view in) -> spate::result<T> {
        reader r(in);
        T v = read(r);
        if (!r.done()) throw std::invalid_argument("trailing bytes");
        return v;
      });
}

}  // namespace

spate::stream::serde<event> binary_event_serde() {
  return spate::stream::custom_serde<event>("nexmark-binary", encode, decode);
}
spate::stream::serde<person> binary_person_serde() {
  return kind_serde<person, read_person>("nexmark-binary-person");
}
spate::stream::serde<auction> binary_auction_serde() {
  return kind_serde<auction, read_auction>("nexmark-binary-auction");
}
spate::stream::serde<bid> binary_bid_serde() {
  return kind_serde<bid, read_bid>("nexmark-binary-bid");
}

}  // namespace nexmark
