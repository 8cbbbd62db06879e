#include "cli/group_reset.h"

#include <algorithm>
#include <charconv>
#include <ctime>

#include "client/errc.h"

namespace spate::cli {
namespace {

spate::error bad(std::string what) {
  return spate::error(client::errc::invalid_argument, std::move(what));
}

// Reads exactly `n` digits at `pos`.
std::optional<int> digits(std::string_view s, size_t& pos, size_t n) {
  if (s.size() < pos + n) return std::nullopt;
  int v = 0;
  for (size_t i = 0; i < n; ++i) {
    char c = s[pos + i];
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + (c - '0');
  }
  pos += n;
  return v;
}

bool expect(std::string_view s, size_t& pos, char c) {
  if (pos < s.size() && s[pos] == c) {
    ++pos;
    return true;
  }
  return false;
}

}  // namespace

result<topic_spec> parse_topic_spec(std::string_view s) {
  topic_spec t;
  auto colon = s.find(':');
  t.topic = std::string(s.substr(0, colon));
  if (t.topic.empty())
    return bad("--topic wants topic or topic:p1,p2, not '" + std::string(s) + "'");
  if (colon == std::string_view::npos) return t;
  auto rest = s.substr(colon + 1);
  while (!rest.empty()) {
    auto comma = rest.find(',');
    auto item = rest.substr(0, comma);
    int32_t p = -1;
    auto [end, ec] = std::from_chars(item.data(), item.data() + item.size(), p);
    if (ec != std::errc() || end != item.data() + item.size() || p < 0) {
      return bad("--topic: partition must be a non-negative integer, not '" + std::string(item) +
                 "'");
    }
    t.partitions.push_back(p);
    if (comma == std::string_view::npos) break;
    rest = rest.substr(comma + 1);
  }
  if (t.partitions.empty()) return bad("--topic '" + std::string(s) + "': no partitions after ':'");
  return t;
}

result<int64_t> parse_iso_datetime(std::string_view s) {
  auto fail = [&] {
    return bad("--to-datetime wants YYYY-MM-DDTHH:MM:SS[.mmm][Z|+hh:mm], not '" + std::string(s) +
               "'");
  };
  size_t pos = 0;
  auto y = digits(s, pos, 4);
  if (!y || !expect(s, pos, '-')) return fail();
  auto mo = digits(s, pos, 2);
  if (!mo || !expect(s, pos, '-')) return fail();
  auto d = digits(s, pos, 2);
  if (!d || *mo < 1 || *mo > 12 || *d < 1 || *d > 31) return fail();
  int h = 0, mi = 0, sec = 0, ms = 0;
  if (pos < s.size() && (s[pos] == 'T' || s[pos] == ' ')) {
    ++pos;
    auto hh = digits(s, pos, 2);
    if (!hh || !expect(s, pos, ':')) return fail();
    auto mm = digits(s, pos, 2);
    if (!mm) return fail();
    h = *hh;
    mi = *mm;
    if (expect(s, pos, ':')) {
      auto ss = digits(s, pos, 2);
      if (!ss) return fail();
      sec = *ss;
      if (expect(s, pos, '.')) {
        size_t start = pos;
        while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') ++pos;
        auto frac = s.substr(start, pos - start);
        if (frac.empty()) return fail();
        std::string three = std::string(frac.substr(0, 3));
        while (three.size() < 3) three += '0';
        ms = std::stoi(three);
      }
    }
    if (h > 23 || mi > 59 || sec > 60) return fail();
  }
  int64_t offset_minutes = 0;
  if (pos < s.size()) {
    if (s[pos] == 'Z') {
      ++pos;
    } else if (s[pos] == '+' || s[pos] == '-') {
      int sign = s[pos] == '+' ? 1 : -1;
      ++pos;
      auto oh = digits(s, pos, 2);
      if (!oh) return fail();
      expect(s, pos, ':');
      auto om = digits(s, pos, 2);
      if (!om) return fail();
      offset_minutes = sign * (*oh * 60 + *om);
    }
  }
  if (pos != s.size()) return fail();
  // timegm reads the fields as UTC whatever the machine's zone (glibc and the BSDs have it).
  std::tm tm{};
  tm.tm_year = *y - 1900;
  tm.tm_mon = *mo - 1;
  tm.tm_mday = *d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = sec;
  int64_t seconds = static_cast<int64_t>(timegm(&tm)) - offset_minutes * 60;
  return seconds * 1000 + ms;
}

result<int64_t> new_offset(const reset_target& t, const partition_position& p,
                           const client::topic_partition& tp) {
  int64_t want = 0;
  switch (t.how) {
    case reset_target::kind::earliest:
      want = p.log_start;
      break;
    case reset_target::kind::latest:
      want = p.log_end;
      break;
    case reset_target::kind::offset:
      want = t.value;
      break;
    case reset_target::kind::datetime:
      want = p.at_time.value_or(p.log_end);
      break;
    case reset_target::kind::shift:
      if (!p.committed) {
        return bad("--shift-by: " + tp.topic + " partition " + std::to_string(tp.partition) +
                   " has no committed offset to shift");
      }
      want = *p.committed + t.value;
      break;
  }
  return std::clamp(want, p.log_start, p.log_end);
}

double lag_seconds(int64_t lag_messages, std::optional<int64_t> oldest_timestamp_ms,
                   int64_t now_ms) {
  if (lag_messages <= 0 || !oldest_timestamp_ms) return 0.0;
  return std::max<int64_t>(0, now_ms - *oldest_timestamp_ms) / 1000.0;
}

}  // namespace spate::cli
