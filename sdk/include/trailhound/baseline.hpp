// SPDX-License-Identifier: Apache-2.0
// Helpers shared by the behavioural (baseline) detector families: a compact versioned binary
// codec for save_state/load_state, IP address networks, and user agent families.
// Header-only, part of the SDK: plugins include <trailhound/baseline.hpp>.
#pragma once

#include <arpa/inet.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <deque>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <unordered_set>
#include <utility>
#include <vector>

namespace trailhound::baseline {

constexpr int64_t kHourMs = 3600 * 1000LL;
constexpr int64_t kDayMs = 24 * kHourMs;

inline bool starts_with(std::string_view s, std::string_view p) {
  return s.substr(0, p.size()) == p;
}
inline bool contains(std::string_view s, std::string_view p) {
  return s.find(p) != std::string_view::npos;
}
inline bool ends_with(std::string_view s, std::string_view p) {
  return s.size() >= p.size() && s.compare(s.size() - p.size(), p.size(), p) == 0;
}

// Floor division of event time into hours (correct for times before 1970 too).
inline int64_t hour_of(int64_t ms) {
  return ms >= 0 ? ms / kHourMs : -((-ms + kHourMs - 1) / kHourMs);
}

// Hours since 1970 as a 32-bit count for compact state, 0 for any time up to 1970 (not floored
// like hour_of: the saved states of assume-role and s3-access hold these values).
inline uint32_t hour_u32(int64_t ms) { return ms <= 0 ? 0u : static_cast<uint32_t>(ms / kHourMs); }

// ISO 8601 UTC text of an epoch-milliseconds time ("2026-11-20T10:00:00Z").
inline std::string iso_time(int64_t ms) {
  int64_t secs = ms >= 0 ? ms / 1000 : -((-ms + 999) / 1000);
  int64_t days = secs >= 0 ? secs / 86400 : -((-secs + 86399) / 86400);
  int64_t rem = secs - days * 86400;
  // civil_from_days (H. Hinnant)
  int64_t z = days + 719468;
  int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  int64_t doe = z - era * 146097;
  int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  int64_t y = yoe + era * 400;
  int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  int64_t mp = (5 * doy + 2) / 153;
  int64_t d = doy - (153 * mp + 2) / 5 + 1;
  int64_t m = mp < 10 ? mp + 3 : mp - 9;
  if (m <= 2) ++y;
  char buf[96];
  std::snprintf(buf, sizeof buf, "%04lld-%02lld-%02lldT%02lld:%02lld:%02lldZ",
                static_cast<long long>(y), static_cast<long long>(m), static_cast<long long>(d),
                static_cast<long long>(rem / 3600), static_cast<long long>(rem / 60 % 60),
                static_cast<long long>(rem % 60));
  return buf;
}

// FNV-1a, 64 bit: stable across runs and builds (it keys persisted state).
inline uint64_t hash64(std::string_view s, uint64_t h = 1469598103934665603ull) {
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
  return h;
}
// hash64 of the pair (a, b) as one persisted key, e.g. (account, role name).
inline uint64_t hash64_pair(std::string_view a, std::string_view b) {
  return hash64(b, hash64(a) ^ 0x7c);
}

// ------------------------------------------------------------------------------------------
// State codec: varints (zigzag for signed), length-prefixed strings, raw doubles. The reader
// throws std::runtime_error on any truncation or overrun, which the host reports as corrupt state.
class writer {
 public:
  void u(uint64_t v) {
    while (v >= 0x80) {
      out_.push_back(static_cast<char>((v & 0x7f) | 0x80));
      v >>= 7;
    }
    out_.push_back(static_cast<char>(v));
  }
  void i(int64_t v) { u((static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63)); }
  void s(std::string_view v) {
    u(v.size());
    out_.append(v.data(), v.size());
  }
  void d(double v) {
    char b[8];
    std::memcpy(b, &v, 8);
    out_.append(b, 8);
  }
  // A 64-bit hash as 8 bytes, little-endian (hashes are dense: a varint would be longer).
  void h(uint64_t v) {
    for (int k = 0; k < 8; ++k) out_.push_back(static_cast<char>((v >> (8 * k)) & 0xff));
  }
  std::string& str() { return out_; }
  std::string take() { return std::move(out_); }

 private:
  std::string out_;
};

class reader {
 public:
  explicit reader(std::string_view in) : in_(in) {}
  // Errors then name `what` and the fault ("s3-access state: truncated string") instead of the
  // generic "corrupt or truncated state", as plugins that had their own reader reported them.
  reader(std::string_view in, std::string_view what) : in_(in), what_(what) {}
  uint64_t u() {
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (pos_ >= in_.size()) fault("truncated");
      auto c = static_cast<unsigned char>(in_[pos_++]);
      v |= static_cast<uint64_t>(c & 0x7f) << shift;
      if (!(c & 0x80)) return v;
    }
    fault("bad varint");
  }
  // u() that must fit 32 bits.
  uint32_t u32() {
    uint64_t v = u();
    if (v > UINT32_MAX) fault("value out of range");
    return static_cast<uint32_t>(v);
  }
  int64_t i() {
    uint64_t v = u();
    return static_cast<int64_t>((v >> 1) ^ (~(v & 1) + 1));
  }
  // What writer::h wrote.
  uint64_t h() {
    if (in_.size() - pos_ < 8) fault("truncated");
    uint64_t v = 0;
    for (int k = 0; k < 8; ++k)
      v |= static_cast<uint64_t>(static_cast<unsigned char>(in_[pos_ + k])) << (8 * k);
    pos_ += 8;
    return v;
  }
  std::string s() {
    uint64_t n = u();
    if (n > in_.size() - pos_) fault("truncated string");
    std::string v(in_.substr(pos_, n));
    pos_ += n;
    return v;
  }
  double d() {
    if (in_.size() - pos_ < 8) fault("truncated");
    double v;
    std::memcpy(&v, in_.data() + pos_, 8);
    pos_ += 8;
    return v;
  }
  // A count of elements that follow, each at least `min_bytes` long: guards allocations.
  uint64_t count(uint64_t min_bytes = 1) {
    uint64_t n = u();
    if (min_bytes && n > (in_.size() - pos_) / min_bytes) fault("count out of range");
    return n;
  }
  // A count of elements that follow, at most `max` (the cap of the container they fill).
  uint64_t count_at_most(uint64_t max) {
    uint64_t n = u();
    if (n > max) fault("count out of range");
    return n;
  }
  void expect(std::string_view magic) {
    if (in_.substr(pos_, magic.size()) != magic) fault("bad header");
    pos_ += magic.size();
  }
  bool done() const { return pos_ == in_.size(); }
  [[noreturn]] static void fail() { throw std::runtime_error("corrupt or truncated state"); }

 private:
  [[noreturn]] void fault(const char* what) const {
    if (what_.empty()) fail();
    throw std::runtime_error(std::string(what_) + ": " + what);
  }
  std::string_view in_;
  std::string_view what_;
  size_t pos_ = 0;
};

// Map entries in key order, so that the same state always saves to the same bytes.
template <class M>
std::vector<std::pair<const typename M::key_type*, const typename M::mapped_type*>> sorted_entries(
    const M& m) {
  std::vector<std::pair<const typename M::key_type*, const typename M::mapped_type*>> v;
  v.reserve(m.size());
  for (auto& [k, x] : m) v.emplace_back(&k, &x);
  std::sort(v.begin(), v.end(), [](auto& a, auto& b) { return *a.first < *b.first; });
  return v;
}

// ------------------------------------------------------------------------------------------
// Learned sets and tables with caps

// A small set of 64-bit keys (hashes) with the hour each was last seen, sorted by key. Capped:
// inserting into a full set forgets the least recently seen entry (the smallest key among
// ties). `Hour` is the plugin's hour type (uint32_t from hour_u32, int64_t from hour_of); how
// the set is saved stays with the plugin (its state format).
template <class Hour>
struct seen_set {
  std::vector<std::pair<uint64_t, Hour>> items;

  bool contains(uint64_t k) const {
    auto it = lower(k);
    return it != items.end() && it->first == k;
  }
  // Records `k` at `hour`; true when it was new.
  bool touch(uint64_t k, Hour hour, size_t cap) {
    auto it = lower(k);
    if (it != items.end() && it->first == k) {
      it->second = std::max(it->second, hour);
      return false;
    }
    if (cap > 0 && items.size() >= cap) {
      // min_element returns the first minimum: the smallest key among the oldest.
      auto oldest = std::min_element(items.begin(), items.end(),
                                     [](auto& a, auto& b) { return a.second < b.second; });
      items.erase(oldest);
      it = lower(k);
    }
    items.insert(it, {k, hour});
    return true;
  }
  // Entries seen at `hour` or later.
  size_t count_since(Hour hour) const {
    size_t n = 0;
    for (auto& [_, h] : items) n += h >= hour;
    return n;
  }
  // Forgets entries last seen before `min_hour`.
  void age(Hour min_hour) {
    std::erase_if(items, [&](const auto& p) { return p.second < min_hour; });
  }

 private:
  auto lower(uint64_t k) const {
    return std::lower_bound(items.begin(), items.end(), k,
                            [](const auto& p, uint64_t v) { return p.first < v; });
  }
  auto lower(uint64_t k) {
    return std::lower_bound(items.begin(), items.end(), k,
                            [](const auto& p, uint64_t v) { return p.first < v; });
  }
};

// An unsorted list of (key, last seen hour) pairs, for a handful of entries (networks of a
// user, countries of an identity): linear search beats a sorted vector there.
template <class K>
using recent_list = std::vector<std::pair<K, int64_t>>;

template <class K>
bool recent_contains(const recent_list<K>& l, std::type_identity_t<K> k) {
  for (auto& [x, _] : l)
    if (x == k) return true;
  return false;
}
// Records `k` at `hour`; a full list (`cap`) forgets its least recently seen entry first.
template <class K>
void recent_touch(recent_list<K>& l, std::type_identity_t<K> k, int64_t hour, size_t cap) {
  for (auto& x : l)
    if (x.first == k) {
      x.second = std::max(x.second, hour);
      return;
    }
  if (l.size() >= cap)
    l.erase(
        std::min_element(l.begin(), l.end(), [](auto& a, auto& b) { return a.second < b.second; }));
  l.emplace_back(k, hour);
}
// Saved as a count, then each key (varint) and hour (zigzag), in list order.
template <class K>
void save_recent(writer& w, const recent_list<K>& l) {
  w.u(l.size());
  for (auto& [k, h] : l) {
    w.u(k);
    w.i(h);
  }
}
// Appends what save_recent wrote (keys cast to K).
template <class K>
void load_recent(reader& r, recent_list<K>& l) {
  for (uint64_t n = r.count(2), j = 0; j < n; ++j) {
    auto k = static_cast<K>(r.u());
    l.emplace_back(k, r.i());
  }
}

// Which entries evict_oldest_tenth forgets among those as old as the cut.
enum class evict_ties {
  in_map_order,  // one pass in iteration order: entries at or before the cut, as they come
  older_first,   // entries strictly older than the cut first, then those at the cut
};

// Forgets about the least recently seen tenth of map `m` (at least one entry) when a table is
// full; `age(value)` is the value's last-seen time. Returns how many entries were erased.
template <class M, class Age>
size_t evict_oldest_tenth(M& m, Age age, evict_ties ties) {
  std::vector<decltype(age(m.begin()->second))> times;
  times.reserve(m.size());
  for (auto& [_, v] : m) times.push_back(age(v));
  if (times.empty()) return 0;
  size_t n = std::max<size_t>(1, times.size() / 10);
  std::nth_element(times.begin(), times.begin() + static_cast<std::ptrdiff_t>(n - 1), times.end());
  const auto cut = times[n - 1];
  size_t removed = 0;
  if (ties == evict_ties::in_map_order) {
    for (auto it = m.begin(); it != m.end() && removed < n;) {
      if (age(it->second) <= cut) {
        it = m.erase(it);
        ++removed;
      } else {
        ++it;
      }
    }
    return removed;
  }
  for (bool at_cut : {false, true})
    for (auto it = m.begin(); it != m.end() && removed < n;) {
      if (age(it->second) < cut || (at_cut && age(it->second) == cut)) {
        it = m.erase(it);
        ++removed;
      } else {
        ++it;
      }
    }
  return removed;
}

// Keys (hashes) seen among the last `capacity` distinct ones: drops a record logged twice (a
// cross-account call in both accounts, same sharedEventID). Not saved.
class recent_keys {
 public:
  explicit recent_keys(size_t capacity) : capacity_(capacity) {}
  // True when `key` is among the recent keys; otherwise remembers it.
  bool seen_before(uint64_t key) {
    if (!set_.insert(key).second) return true;
    ring_.push_back(key);
    if (ring_.size() > capacity_) {
      set_.erase(ring_.front());
      ring_.pop_front();
    }
    return false;
  }

 private:
  size_t capacity_;
  std::unordered_set<uint64_t> set_;
  std::deque<uint64_t> ring_;
};

// ------------------------------------------------------------------------------------------
// IP addresses
struct ip_addr {
  bool v6 = false;
  unsigned char b[16] = {};
};

// Dotted-quad IPv4 exactly as glibc's inet_pton(AF_INET) accepts it: four decimal octets up to
// 255 without leading zeros, nothing else. No copy, no library call, one pass. False otherwise.
inline bool parse_ipv4_fast(std::string_view text, ip_addr& out) {
  const char* p = text.data();
  const char* const end = p + text.size();
  uint32_t addr = 0;
  for (int i = 0; i < 4; ++i) {
    if (i > 0) {
      if (p == end || *p != '.') return false;
      ++p;
    }
    if (p == end) return false;
    unsigned v = static_cast<unsigned char>(*p) - '0';
    if (v > 9) return false;
    ++p;
    if (p != end && static_cast<unsigned>(static_cast<unsigned char>(*p) - '0') <= 9) {
      if (v == 0) return false;  // leading zero
      v = v * 10 + (static_cast<unsigned char>(*p) - '0');
      ++p;
      if (p != end && static_cast<unsigned>(static_cast<unsigned char>(*p) - '0') <= 9) {
        v = v * 10 + (static_cast<unsigned char>(*p) - '0');
        ++p;
        if (v > 255) return false;
        // A fourth digit would make the octet 1000 or more.
        if (p != end && static_cast<unsigned>(static_cast<unsigned char>(*p) - '0') <= 9)
          return false;
      }
    }
    addr = addr << 8 | v;
  }
  if (p != end) return false;
  out.v6 = false;
  out.b[0] = static_cast<unsigned char>(addr >> 24);
  out.b[1] = static_cast<unsigned char>(addr >> 16);
  out.b[2] = static_cast<unsigned char>(addr >> 8);
  out.b[3] = static_cast<unsigned char>(addr);
  return true;
}

// Parses a literal IPv4/IPv6 address (IPv4-mapped IPv6 becomes IPv4). False for anything else:
// service names ("ec2.amazonaws.com"), "AWS Internal", empty strings.
inline bool parse_ip(std::string_view text, ip_addr& out) {
  if (text.empty() || text.size() > 45) return false;
  if (parse_ipv4_fast(text, out)) return true;
  // What inet_pton would still accept has a ':' (IPv6), or a NUL that ends its text early.
  if (text.find(':') == std::string_view::npos && text.find('\0') == std::string_view::npos)
    return false;
  char buf[64];
  std::memcpy(buf, text.data(), text.size());
  buf[text.size()] = 0;
  if (inet_pton(AF_INET, buf, out.b) == 1) {
    out.v6 = false;
    return true;
  }
  unsigned char b6[16];
  if (inet_pton(AF_INET6, buf, b6) != 1) return false;
  static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  if (std::memcmp(b6, mapped, 12) == 0) {
    out.v6 = false;
    std::memcpy(out.b, b6 + 12, 4);
    return true;
  }
  out.v6 = true;
  std::memcpy(out.b, b6, 16);
  return true;
}

// Private, loopback, link-local, CGNAT and unique-local addresses: what VPC endpoints and
// AWS-internal paths show, never a source on the internet.
inline bool non_public(const ip_addr& a) {
  const unsigned char* b = a.b;
  if (!a.v6) {
    return b[0] == 10 || b[0] == 127 || b[0] == 0 || (b[0] == 172 && (b[1] & 0xf0) == 16) ||
           (b[0] == 192 && b[1] == 168) || (b[0] == 169 && b[1] == 254) ||
           (b[0] == 100 && (b[1] & 0xc0) == 64);
  }
  if ((b[0] & 0xfe) == 0xfc) return true;                  // fc00::/7
  if (b[0] == 0xfe && (b[1] & 0xc0) == 0x80) return true;  // fe80::/10
  for (int k = 0; k < 15; ++k)
    if (b[k]) return false;
  return true;  // :: and ::1
}

// The network of an address: /24 for IPv4, /48 for IPv6, as an exact 64-bit key.
inline uint64_t network_key(const ip_addr& a) {
  if (!a.v6)
    return (4ull << 60) | (static_cast<uint64_t>(a.b[0]) << 16) |
           (static_cast<uint64_t>(a.b[1]) << 8) | a.b[2];
  uint64_t k = 6ull << 60;
  for (int j = 0; j < 6; ++j) k |= static_cast<uint64_t>(a.b[j]) << (8 * (5 - j));
  return k;
}

// parse_ip, and the address is public (not non_public): a source on the internet.
inline bool parse_public_ip(std::string_view text, ip_addr& out) {
  return parse_ip(text, out) && !non_public(out);
}

// The network_key of a public address; 0 for anything else (network keys are never 0).
inline uint64_t public_network_key(std::string_view text) {
  ip_addr a;
  return parse_public_ip(text, a) ? network_key(a) : 0;
}

inline std::string network_text(const ip_addr& a) {
  char buf[64];
  if (!a.v6) {
    std::snprintf(buf, sizeof buf, "%u.%u.%u.0/24", a.b[0], a.b[1], a.b[2]);
  } else {
    std::snprintf(buf, sizeof buf, "%x:%x:%x::/48", (a.b[0] << 8) | a.b[1], (a.b[2] << 8) | a.b[3],
                  (a.b[4] << 8) | a.b[5]);
  }
  return buf;
}

// ------------------------------------------------------------------------------------------
// User agent families. Never the full string: family, and the major version where one exists.
struct ua_family {
  std::string family;  // "" when the user agent says nothing useful
  std::string major;   // "2" for aws-cli/2.15.30; may be ""
  std::string text() const { return major.empty() ? family : family + "/" + major; }
};

inline std::string lower_ascii(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

// Major version right after `token` + "/" in `ua` (case-insensitive search done by caller).
inline std::string major_after(std::string_view ua, size_t pos) {
  std::string out;
  while (pos < ua.size() && ua[pos] >= '0' && ua[pos] <= '9' && out.size() < 6) out += ua[pos++];
  return out;
}

inline ua_family classify_user_agent(std::string_view ua_raw) {
  ua_family f;
  if (ua_raw.empty()) return f;
  std::string ua = lower_ascii(ua_raw.substr(0, 512));
  auto version_of = [&](std::string_view token) -> std::string {
    size_t p = ua.find(token);
    if (p == std::string::npos) return "";
    p += token.size();
    if (p < ua.size() && ua[p] == '/') return major_after(ua, p + 1);
    return "";
  };
  struct rule {
    std::string_view needle, family;
  };
  // Order matters: tools that embed an SDK string come before the SDK.
  static const rule rules[] = {
      {"terraform", "terraform"},
      {"opentofu", "terraform"},
      {"pulumi", "pulumi"},
      {"aws-cdk", "aws-cdk"},
      {"s3 browser", "s3-browser"},
      {"cyberduck", "cyberduck"},
      {"rclone", "rclone"},
      {"s3cmd", "s3cmd"},
      {"winscp", "winscp"},
      {"cloudberry", "cloudberry"},
      {"awspowershell", "aws-powershell"},
      {"aws.tools", "aws-powershell"},
      {"aws-cli", "aws-cli"},
      {"boto3", "boto3"},
      {"botocore", "boto3"},
      {"aws-sdk-go-v2", "aws-sdk-go-v2"},
      {"aws-sdk-go", "aws-sdk-go"},
      {"aws-sdk-java", "aws-sdk-java"},
      {"aws-sdk-js", "aws-sdk-js"},
      {"aws-sdk-nodejs", "aws-sdk-js"},
      {"aws-sdk-dotnet", "aws-sdk-dotnet"},
      {"aws-sdk-ruby", "aws-sdk-ruby"},
      {"aws-sdk-php", "aws-sdk-php"},
      {"aws-sdk-rust", "aws-sdk-rust"},
      {"aws-sdk-cpp", "aws-sdk-cpp"},
      {"aws-sdk-kotlin", "aws-sdk-kotlin"},
      {"aws-sdk-swift", "aws-sdk-swift"},
      {"console.amazonaws.com", "console"},
      {"aws internal", "console"},
      {"mozilla/", "console"},
      {"python-requests", "python-requests"},
      {"curl/", "curl"},
      {"go-http-client", "go-http-client"},
  };
  for (const rule& r : rules) {
    if (ua.find(r.needle) == std::string::npos) continue;
    f.family = std::string(r.family);
    if (r.family == "console") return f;  // browser versions change every month: no version
    std::string_view tok = r.needle;
    if (tok.back() == '/') tok.remove_suffix(1);
    f.major = version_of(tok);
    if (r.family == "aws-sdk-go-v2") f.major.clear();
    return f;
  }
  // Unknown: the first product token, letters only, e.g. "myapp/1.2" -> "myapp".
  size_t end = 0;
  while (end < ua.size() && end < 32 && ua[end] != '/' && ua[end] != ' ' && ua[end] != '(') ++end;
  f.family = ua.substr(0, end);
  if (f.family.empty()) return f;
  if (end < ua.size() && ua[end] == '/') f.major = major_after(ua, end + 1);
  return f;
}

}  // namespace trailhound::baseline
