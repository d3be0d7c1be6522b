// SPDX-License-Identifier: Apache-2.0
// Header-only helpers shared by detector families: text and globs, account ids and ARNs, CIDR
// ranges, error-code and caller classification, and a per-key sliding window of distinct items.
#pragma once

#include <algorithm>
#include <array>
#include <bit>
#include <cctype>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <deque>
#include <functional>
#include <initializer_list>
#include <iterator>
#include <string>
#include <string_view>
#include <trailhound/sdk.hpp>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>

namespace trailhound::sdk::util {

// ------------------------------------------------------------------------------------------
// Maps keyed by strings
// ------------------------------------------------------------------------------------------

// Hash for heterogeneous lookup: find(std::string_view) without building a std::string per
// event. Same values as std::hash<std::string>, so a string_map keeps the layout and iteration
// order of a std::unordered_map<std::string, T> (and a state saved in that order its bytes).
// Deliberately not noexcept: libstdc++ then keeps each node's hash, as it does for
// std::hash<std::string>, so that a lookup compares hashes before keys and never hashes the
// stored keys again while it walks a bucket (a second hash of a long ARN per event otherwise).
struct string_hash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};
template <class T>
using string_map = std::unordered_map<std::string, T, string_hash, std::equal_to<>>;

// `a == b`, inline: GCC leaves std::operator== on string views an out-of-line call, which costs
// more than the comparison itself on the hot paths (lengths differ, or a short memcmp). With a
// literal as `b` the memcmp has a constant length and becomes a few integer compares.
inline bool equals(std::string_view a, std::string_view b) noexcept {
  // (An empty view may hold a null pointer, which memcmp must not get even for 0 bytes.)
  return a.size() == b.size() && (b.empty() || std::memcmp(a.data(), b.data(), b.size()) == 0);
}

// A cheap fingerprint of a string for lookup caches: its length, its first 32 and its last 16
// bytes (where identity ARNs differ: account, role, session; and user agents: product,
// version, platform), so it costs the same for a 40-byte ARN and a 150-byte user agent. Only
// for tables that confirm a hit by comparing the whole key. Its high bits are the mixed ones.
inline uint64_t fingerprint(std::string_view s) noexcept {
  const char* p = s.data();
  const size_t n = s.size();
  if (n < 8) {
    uint64_t h = n;
    for (size_t i = 0; i < n; ++i) h = (h << 8) | static_cast<unsigned char>(p[i]);
    return (h ^ (h >> 31)) * 0x9e3779b97f4a7c15ull;
  }
  auto word = [p](size_t at) {
    uint64_t w;
    std::memcpy(&w, p + at, 8);
    return w;
  };
  // Six words, overlapping in a string shorter than 48 bytes; each rotated differently so that
  // equal words in different places do not cancel out.
  const size_t last = n - 8;
  uint64_t h = n ^ word(0) ^ std::rotl(word(std::min<size_t>(8, last)), 11) ^
               std::rotl(word(std::min<size_t>(16, last)), 22) ^
               std::rotl(word(std::min<size_t>(24, last)), 33) ^
               std::rotl(word(n >= 16 ? n - 16 : 0), 44) ^ std::rotl(word(last), 55);
  h ^= h >> 29;
  return h * 0xbf58476d1ce4e5b9ull;
}

// A small cache in front of a map keyed by long strings (identity ARNs, user agents): a few keys
// make most of the traffic, and a fingerprint plus one comparison is much cheaper than hashing
// the whole key with std::hash and walking a bucket. Four-way set associative, the least
// recently used way of a set replaced first, so that a few busy keys in one set do not evict
// each other. `V` is usually a pointer to a value of the map (node-based maps keep those across
// rehashing): then forget() each key the map erases, or clear().
template <class V, size_t Slots = 256>
class lookup_cache {
  static constexpr size_t kWays = 4;
  static_assert(Slots >= 2 * kWays && (Slots & (Slots - 1)) == 0, "Slots must be a power of two");

 public:
  // The value cached for `key`, or nullptr.
  const V* find(std::string_view key) noexcept {
    entry* set = set_of(key);
    for (size_t w = 0; w < kWays; ++w)
      if (set[w].holds(key)) {
        set[w].last_use = ++clock_;
        return &set[w].value;
      }
    return nullptr;
  }
  void put(std::string_view key, V value) {
    entry* set = set_of(key);
    // The way of `key`, else a free one, else the least recently used.
    entry* e = nullptr;
    for (size_t w = 0; w < kWays && !e; ++w)
      if (set[w].holds(key)) e = &set[w];
    for (size_t w = 0; w < kWays && !e; ++w)
      if (!set[w].used) e = &set[w];
    if (!e) {
      e = &set[0];
      for (size_t w = 1; w < kWays; ++w)
        if (set[w].last_use < e->last_use) e = &set[w];
    }
    e->key.assign(key);  // reuses the slot's buffer once it is large enough
    e->value = std::move(value);
    e->used = true;
    e->last_use = ++clock_;
  }
  void forget(std::string_view key) noexcept {
    entry* set = set_of(key);
    for (size_t w = 0; w < kWays; ++w)
      if (set[w].holds(key)) set[w].used = false;
  }
  void clear() noexcept {
    for (entry& e : slots_) e.used = false;
  }

 private:
  struct entry {
    std::string key;
    V value{};
    uint64_t last_use = 0;  // clock_ at the last hit or put
    bool used = false;
    bool holds(std::string_view k) const noexcept { return used && equals(key, k); }
  };
  static constexpr size_t kSets = Slots / kWays;
  entry* set_of(std::string_view key) noexcept {
    return &slots_[(fingerprint(key) >> (64 - std::countr_zero(kSets))) * kWays];
  }
  std::array<entry, Slots> slots_{};
  uint64_t clock_ = 0;
};

// The entry of `key` in a string-keyed map of states, found through a lookup_cache of pointers
// into the map. A missing entry is built by `make()` (which may evict entries first, and must
// then clear the cache) and added. The caller keeps the cache in step with every erase.
template <class Map, class Cache, class Make>
typename Map::mapped_type& cached_entry(Map& map, Cache& cache, std::string_view key, Make&& make) {
  if (typename Map::mapped_type* const* hit = cache.find(key)) return **hit;
  auto it = map.find(key);
  if (it == map.end()) it = map.emplace(std::string(key), make()).first;
  cache.put(key, &it->second);
  return it->second;
}

// First event time of each account seen (at most `cap` accounts; more are not tracked), for
// warm-up periods ("never seen before" means little in an account observed for an hour).
class account_first_seen {
 public:
  explicit account_first_seen(size_t cap) : cap_(cap) {}

  void note(std::string_view acct, int64_t t) {
    if (acct.empty()) return;
    // Consecutive events mostly share an account: skip the lookup for the last one.
    if (equals(acct, last_) && t >= last_first_ms_) return;
    auto it = map_.find(acct);
    if (it == map_.end()) {
      if (map_.size() >= cap_) return;
      it = map_.emplace(std::string(acct), t).first;
    } else if (t < it->second) {
      it->second = t;
    }
    last_ = acct;
    last_first_ms_ = it->second;
  }
  // True when `acct` was first seen at least `warmup_ms` before `t`.
  bool warmed(std::string_view acct, int64_t t, int64_t warmup_ms) const {
    // Usually the account note() just saw: its first time is at hand (map_[last_]).
    if (!acct.empty() && equals(acct, last_)) return t - last_first_ms_ >= warmup_ms;
    auto it = map_.find(acct);
    return it != map_.end() && t - it->second >= warmup_ms;
  }
  bool known(std::string_view acct) const { return map_.find(acct) != map_.end(); }
  // account -> first event time (ms), for save_state.
  const string_map<int64_t>& first_ms() const { return map_; }
  // load_state: replaces what was learned.
  void replace(string_map<int64_t>&& m) {
    map_ = std::move(m);
    last_.clear();
  }

 private:
  size_t cap_;
  string_map<int64_t> map_;
  std::string last_;
  int64_t last_first_ms_ = 0;
};

// ------------------------------------------------------------------------------------------
// Text
// ------------------------------------------------------------------------------------------

// ASCII lower-case copy of `s` (std::tolower per byte).
inline std::string to_lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// True when `a` and `b` are equal ignoring ASCII case.
inline bool iequals(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i])))
      return false;
  return true;
}

// `s` without leading and trailing white space (std::isspace).
inline std::string_view trim(std::string_view s) noexcept {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

// True when `s` starts with one of `prefixes` (case-sensitive), e.g. read-like event names.
inline bool starts_with_any(std::string_view s,
                            std::initializer_list<std::string_view> prefixes) noexcept {
  for (std::string_view p : prefixes)
    if (s.starts_with(p)) return true;
  return false;
}

// A short list of short strings (the eventSources of an hour...) kept back to back in one
// buffer: after clear() the buffers are reused, so adding a string allocates nothing once they
// have grown, where a std::vector<std::string> allocates each string longer than 15 bytes.
class packed_strings {
 public:
  size_t size() const noexcept { return ends_.size(); }
  bool empty() const noexcept { return ends_.empty(); }
  std::string_view operator[](size_t i) const noexcept {
    const uint32_t begin = i == 0 ? 0 : ends_[i - 1];
    return std::string_view(text_.data() + begin, ends_[i] - begin);
  }
  // Lengths first: most strings of the list are told apart without touching their text.
  bool contains(std::string_view s) const noexcept {
    uint32_t begin = 0;
    for (uint32_t end : ends_) {
      if (end - begin == s.size() &&
          (s.empty() || std::memcmp(text_.data() + begin, s.data(), s.size()) == 0))
        return true;
      begin = end;
    }
    return false;
  }
  void push_back(std::string_view s) {
    text_.append(s);
    ends_.push_back(static_cast<uint32_t>(text_.size()));
  }
  void clear() noexcept {
    text_.clear();
    ends_.clear();
  }
  void swap(packed_strings& o) noexcept {
    text_.swap(o.text_);
    ends_.swap(o.ends_);
  }
  std::vector<std::string> to_vector() const {
    std::vector<std::string> out;
    out.reserve(size());
    for (size_t i = 0; i < size(); ++i) out.emplace_back((*this)[i]);
    return out;
  }

 private:
  std::string text_;
  std::vector<uint32_t> ends_;  // end offset in text_ of each string
};

// The strings of `items` separated by `sep`: join({"a", "b"}) == "a, b".
inline std::string join(const std::vector<std::string>& items, std::string_view sep = ", ") {
  std::string out;
  for (size_t i = 0; i < items.size(); ++i) {
    if (i) out += sep;
    out += items[i];
  }
  return out;
}

// True when `v` holds `s` (std::find, with equals(): the short lists of addresses, agents and
// keys searched on every event).
inline bool contains(const std::vector<std::string>& v, std::string_view s) noexcept {
  for (const std::string& x : v)
    if (equals(x, s)) return true;
  return false;
}

// Appends `s` to `v` unless `v` already holds it or holds `cap` strings (empty `s` included).
inline void add_unique(std::vector<std::string>& v, std::string_view s,
                       size_t cap = static_cast<size_t>(-1)) {
  if (v.size() < cap && !contains(v, s)) v.emplace_back(s);
}

// `s` as a quoted and escaped JSON string, for evidence built by hand (evidence::add_json).
inline std::string json_quote(std::string_view s) {
  std::string out;
  sdk::detail::append_json_string(out, s);
  return out;
}

// Decodes URL encoding ("%7B%22Version%22" -> "{\"Version\""; '+' -> ' '), as CloudTrail
// records some policy documents. A '%' not followed by two hex digits is kept as is.
inline std::string percent_decode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && hex(s[i + 1]) >= 0 && hex(s[i + 2]) >= 0) {
      out.push_back(static_cast<char>(hex(s[i + 1]) * 16 + hex(s[i + 2])));
      i += 2;
    } else if (s[i] == '+') {
      out.push_back(' ');
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

// ------------------------------------------------------------------------------------------
// Globs
// ------------------------------------------------------------------------------------------

// Whether a comparison tells upper from lower case (ASCII).
enum class match_case { sensitive, insensitive };

// Shell-style glob over the whole text: '*' matches any run of characters (none included), '?'
// exactly one; everything else matches itself. No character classes, no escapes.
inline bool glob_match(std::string_view pattern, std::string_view text, match_case mc) noexcept {
  auto eq = [mc](char a, char b) {
    if (mc == match_case::sensitive) return a == b;
    return std::tolower(static_cast<unsigned char>(a)) ==
           std::tolower(static_cast<unsigned char>(b));
  };
  size_t p = 0, t = 0, star = std::string_view::npos, mark = 0;
  while (t < text.size()) {
    if (p < pattern.size() &&
        (pattern[p] == '?' || (pattern[p] != '*' && eq(pattern[p], text[t])))) {
      ++p;
      ++t;
    } else if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      mark = t;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      t = ++mark;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

// The first of `patterns` whose glob matches `text`, or nullptr.
inline const std::string* glob_first(const std::vector<std::string>& patterns,
                                     std::string_view text, match_case mc) noexcept {
  for (auto& p : patterns)
    if (glob_match(p, text, mc)) return &p;
  return nullptr;
}

// True when any of `patterns` matches `text`.
inline bool glob_any(const std::vector<std::string>& patterns, std::string_view text,
                     match_case mc) noexcept {
  return glob_first(patterns, text, mc) != nullptr;
}

// ------------------------------------------------------------------------------------------
// Accounts and ARNs
// ------------------------------------------------------------------------------------------

// True for a 12-digit AWS account id.
inline bool is_account_id(std::string_view s) noexcept {
  if (s.size() != 12) return false;
  return std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// The account field of an ARN, unchecked: "arn:aws:iam::111122223333:root" -> "111122223333",
// "arn:aws:s3:::bucket" -> "", "arn:aws:iam::aws:policy/X" -> "aws"; "" when not an ARN.
inline std::string_view arn_account(std::string_view arn) noexcept {
  if (!arn.starts_with("arn:")) return {};
  size_t pos = 0;
  for (int field = 0; field < 4; ++field) {
    pos = arn.find(':', pos);
    if (pos == std::string_view::npos) return {};
    ++pos;
  }
  size_t end = arn.find(':', pos);
  if (end == std::string_view::npos) return {};
  return arn.substr(pos, end - pos);
}

// The account a policy principal names: a bare account id as is, or the account of an ARN when
// that is an account id; "" otherwise ("*", service principals, "arn:aws:iam::aws:...").
inline std::string_view principal_account(std::string_view principal) noexcept {
  if (is_account_id(principal)) return principal;
  std::string_view acct = arn_account(principal);
  return is_account_id(acct) ? acct : std::string_view();
}

// The account an event belongs to: recipientAccountId, else the caller's account.
inline std::string account_of(const event& e) {
  return std::string(e.recipient_account().empty() ? e.principal_account() : e.recipient_account());
}

// The root user's ARN of `account`: "arn:aws:iam::<account>:root".
inline std::string root_arn(std::string_view account) {
  return "arn:aws:iam::" + std::string(account) + ":root";
}

// The key to keep per-caller state under: the principal ARN, else principalId, else the access
// key id; "" when the record names none.
inline std::string_view principal_key(const event& e) noexcept {
  std::string_view p = e.principal_arn();
  if (p.empty()) p = e.principal_id();
  if (p.empty()) p = e.access_key_id();
  return p;
}

// ------------------------------------------------------------------------------------------
// Error codes and callers
// ------------------------------------------------------------------------------------------

// True for the exact error codes of an authorization failure (AccessDenied,
// AccessDeniedException, UnauthorizedOperation, Client.UnauthorizedOperation, NotAuthorized...).
inline bool is_access_denied_code(std::string_view code) noexcept {
  static constexpr std::string_view codes[] = {
      "AccessDenied",           "AccessDeniedException",
      "UnauthorizedOperation",  "Client.UnauthorizedOperation",
      "AuthorizationError",     "AuthorizationErrorException",
      "UnauthorizedAccess",     "UnauthorizedException",
      "Client.AccessDenied",    "Forbidden",
      "ForbiddenException",     "NotAuthorized",
      "NotAuthorizedException", "AccessDeniedFault"};
  for (std::string_view c : codes)
    if (code == c) return true;
  return false;
}

// Looser than is_access_denied_code: the code contains, in any case, "accessdenied",
// "unauthorized", "forbidden", "authorizationerror" or "notauthorized" (KMS.AccessDeniedException).
inline bool is_access_denied_like(std::string_view code) {
  std::string c = to_lower(code);
  for (std::string_view m :
       {"accessdenied", "unauthorized", "forbidden", "authorizationerror", "notauthorized"})
    if (c.find(m) != std::string::npos) return true;
  return false;
}

// True when an AWS service acted on its own (e.aws_service()), except "AWS Internal" as source
// address with a human identity and no invokedBy: the console acting for that human.
inline bool service_actor(const event& e) {
  if (!e.aws_service()) return false;
  std::string_view t = e.identity_type();
  bool human = t == "IAMUser" || t == "AssumedRole" || t == "Root" || t == "FederatedUser" ||
               t == "IdentityCenterUser";
  return !(human && e.invoked_by().empty() && e.source_ip() == "AWS Internal");
}

// True when the caller's ARN, or the identity it acts as (the role of a session), is a
// break-glass principal.
inline bool break_glass_caller(const context& c, const event& e) {
  return c.is_break_glass(e.principal_arn()) ||
         (e.identity() != e.principal_arn() && c.is_break_glass(e.identity()));
}

// True when the caller's ARN, or the identity it acts as, is an admin principal.
inline bool admin_caller(const context& c, const event& e) {
  return c.is_admin(e.principal_arn()) ||
         (e.identity() != e.principal_arn() && c.is_admin(e.identity()));
}

// One severity lower for a break-glass caller (evidence "breakGlass": true), else for an admin
// caller ("adminPrincipal": true): by the identity the caller acts as or its own ARN.
inline void lower_for_known_principal(const context& c, const event& e, finding& f) {
  std::string_view who = e.identity();
  if (c.is_break_glass(who) || c.is_break_glass(e.principal_arn())) {
    f.sev = lower(f.sev);
    f.ev.add_bool("breakGlass", true);
  } else if (c.is_admin(who) || c.is_admin(e.principal_arn())) {
    f.sev = lower(f.sev);
    f.ev.add_bool("adminPrincipal", true);
  }
}

// True when trusted_cidrs is configured and the source address lies inside it.
inline bool from_trusted_ip(const context& c, const event& e) {
  return c.trusted_cidrs_known() && c.is_trusted_ip(e.source_ip());
}

// ------------------------------------------------------------------------------------------
// CIDR ranges
// ------------------------------------------------------------------------------------------

// A parsed CIDR ("a.b.c.d/n", "x:y::/n"; a bare address is a /32 or /128). Host bits are kept.
struct cidr {
  bool valid = false;
  bool v6 = false;
  int prefix = -1;
  std::array<uint8_t, 16> addr{};  // IPv4 uses the first 4 bytes
};

namespace detail {
inline bool parse_v4(std::string_view s, uint8_t out[4]) noexcept {
  int part = 0;
  int val = -1;
  for (char c : s) {
    if (c >= '0' && c <= '9') {
      val = (val < 0 ? 0 : val) * 10 + (c - '0');
      if (val > 255) return false;
    } else if (c == '.') {
      if (val < 0 || part >= 3) return false;
      out[part++] = static_cast<uint8_t>(val);
      val = -1;
    } else {
      return false;
    }
  }
  if (val < 0 || part != 3) return false;
  out[3] = static_cast<uint8_t>(val);
  return true;
}

inline bool parse_hex_groups(std::string_view s, std::vector<uint16_t>& out) {
  if (s.empty()) return true;
  size_t i = 0;
  while (true) {
    size_t j = s.find(':', i);
    std::string_view g = s.substr(i, j == std::string_view::npos ? std::string_view::npos : j - i);
    if (g.empty()) return false;
    if (j == std::string_view::npos && g.find('.') != std::string_view::npos) {
      uint8_t v4[4];
      if (!parse_v4(g, v4)) return false;
      out.push_back(static_cast<uint16_t>(v4[0] << 8 | v4[1]));
      out.push_back(static_cast<uint16_t>(v4[2] << 8 | v4[3]));
      return true;
    }
    if (g.size() > 4) return false;
    uint16_t v = 0;
    for (char c : g) {
      int d;
      if (c >= '0' && c <= '9')
        d = c - '0';
      else if (c >= 'a' && c <= 'f')
        d = c - 'a' + 10;
      else if (c >= 'A' && c <= 'F')
        d = c - 'A' + 10;
      else
        return false;
      v = static_cast<uint16_t>(v << 4 | d);
    }
    out.push_back(v);
    if (j == std::string_view::npos) return true;
    i = j + 1;
  }
}

inline bool parse_v6(std::string_view s, std::array<uint8_t, 16>& out) {
  std::vector<uint16_t> head, tail;
  size_t d = s.find("::");
  if (d != std::string_view::npos) {
    if (s.find("::", d + 1) != std::string_view::npos) return false;
    if (!parse_hex_groups(s.substr(0, d), head) || !parse_hex_groups(s.substr(d + 2), tail))
      return false;
    if (head.size() + tail.size() > 7) return false;
  } else {
    if (!parse_hex_groups(s, head) || head.size() != 8) return false;
  }
  std::array<uint16_t, 8> g{};
  for (size_t i = 0; i < head.size(); ++i) g[i] = head[i];
  for (size_t i = 0; i < tail.size(); ++i) g[8 - tail.size() + i] = tail[i];
  for (size_t i = 0; i < 8; ++i) {
    out[2 * i] = static_cast<uint8_t>(g[i] >> 8);
    out[2 * i + 1] = static_cast<uint8_t>(g[i] & 0xff);
  }
  return true;
}
}  // namespace detail

// Parses `text` (surrounding white space ignored); the result's `valid` is false on bad syntax.
inline cidr parse_cidr(std::string_view text) {
  cidr c;
  text = trim(text);
  if (text.empty()) return c;
  std::string_view addr = text;
  int prefix = -1;
  size_t slash = text.find('/');
  if (slash != std::string_view::npos) {
    addr = text.substr(0, slash);
    std::string_view p = text.substr(slash + 1);
    if (p.empty() || p.size() > 3) return c;
    prefix = 0;
    for (char ch : p) {
      if (ch < '0' || ch > '9') return c;
      prefix = prefix * 10 + (ch - '0');
    }
  }
  if (addr.find(':') != std::string_view::npos) {
    if (!detail::parse_v6(addr, c.addr)) return c;
    c.v6 = true;
    if (prefix < 0) prefix = 128;
    if (prefix > 128) return c;
  } else {
    uint8_t v4[4];
    if (!detail::parse_v4(addr, v4)) return c;
    for (int i = 0; i < 4; ++i) c.addr[i] = v4[i];
    if (prefix < 0) prefix = 32;
    if (prefix > 32) return c;
  }
  c.prefix = prefix;
  c.valid = true;
  return c;
}

// True when every address of `c` lies inside the block given by its leading bytes and prefix
// length: cidr_within(c, {172, 16}, 12). The family is not checked: call it for the right one.
inline bool cidr_within(const cidr& c, std::initializer_list<uint8_t> block,
                        int block_prefix) noexcept {
  if (c.prefix < block_prefix) return false;
  int i = 0;
  int bits = block_prefix;
  for (uint8_t b : block) {
    if (bits <= 0) break;
    int n = bits >= 8 ? 8 : bits;
    uint8_t mask = static_cast<uint8_t>(0xff << (8 - n));
    if ((c.addr[i] & mask) != (b & mask)) return false;
    bits -= n;
    ++i;
  }
  return true;
}

// True when `c` is valid and wholly non-routable: RFC 1918, CGNAT 100.64/10, loopback 127/8,
// link-local 169.254/16; IPv6 ULA fc00::/7, link-local fe80::/10 and ::1. Not 0.0.0.0/8 or
// documentation ranges.
inline bool is_private_range(const cidr& c) noexcept {
  if (!c.valid) return false;
  if (!c.v6) {
    return cidr_within(c, {10}, 8) || cidr_within(c, {172, 16}, 12) ||
           cidr_within(c, {192, 168}, 16) || cidr_within(c, {100, 64}, 10) ||
           cidr_within(c, {127}, 8) || cidr_within(c, {169, 254}, 16);
  }
  if (cidr_within(c, {0xfc}, 7) || cidr_within(c, {0xfe, 0x80}, 10)) return true;
  return c.prefix == 128 &&
         std::all_of(c.addr.begin(), c.addr.end() - 1, [](uint8_t b) { return b == 0; }) &&
         c.addr[15] == 1;
}

// ------------------------------------------------------------------------------------------
// Distinct items per key in a sliding window of event time
// ------------------------------------------------------------------------------------------

namespace detail {
using util::string_hash;  // its former home
}  // namespace detail

// Per-key state of a distinct_window. Derive from it to keep more per key.
struct distinct_state {
  struct event_ref {
    int64_t t;
    std::string id, name;
  };
  // item -> last event time it was seen (ms)
  std::unordered_map<std::string, int64_t, detail::string_hash, std::equal_to<>> items;
  std::deque<event_ref> events;  // the events that added items, oldest first (capped)
  int64_t max_ms = 0;            // latest event time added
  int64_t cooldown_until = 0;    // no new alert before this event time
  int64_t last_prune_ms = 0;
};

// Erases the entries of a map of window states (members max_ms and cooldown_until) that had no
// event for `window_ms` and are past their cooldown: shared by the windowed detectors.
// Each entry is taken out with extract() and handed to `take(node)`, which may keep the node for
// reuse (and drop the key from a lookup_cache); a node it leaves alone is freed.
template <class Map, class Take>
void evict_idle_windows(Map& map, int64_t now_ms, int64_t window_ms, Take&& take) {
  for (auto it = map.begin(); it != map.end();) {
    if (it->second.max_ms < now_ms - window_ms && it->second.cooldown_until < now_ms) {
      auto next = std::next(it);
      take(map.extract(it));
      it = next;
    } else {
      ++it;
    }
  }
}
template <class Map>
void evict_idle_windows(Map& map, int64_t now_ms, int64_t window_ms) {
  evict_idle_windows(map, now_ms, window_ms, [](typename Map::node_type&&) {});
}

// Counts distinct items (APIs, secrets, instances...) per key (usually the principal) within a
// window of event time that ends at the key's latest event, tolerating out-of-order events, with
// one alert per window: crossed() -> emit -> reset_after_alert(). At most max_keys keys.
template <class State = distinct_state>
class distinct_window {
  static_assert(std::is_base_of_v<distinct_state, State>, "State must derive from distinct_state");

 public:
  // `max_events` caps the event references kept per key (evidence).
  distinct_window(int64_t window_ms, size_t max_keys, size_t max_events = 200)
      : window_ms_(window_ms), max_keys_(max_keys), max_events_(max_events) {}

  // The state of `key`, created when absent; nullptr when the table is full even after evict().
  State* get(std::string_view key, int64_t now_ms) {
    if (State* const* cached = recent_.find(key)) return *cached;
    auto it = map_.find(key);
    if (it == map_.end()) {
      if (map_.size() >= max_keys_) evict(now_ms);
      if (map_.size() >= max_keys_) return nullptr;
      it = map_.try_emplace(std::string(key)).first;
    }
    recent_.put(key, &it->second);
    return &it->second;
  }

  // Adds `item` seen at `t_ms` by event `event_id`/`event_name`; false (nothing added) when the
  // event lies before the window that ends at the latest event of `s`.
  bool add(State& s, std::string_view item, int64_t t_ms, std::string_view event_id,
           std::string_view event_name) {
    int64_t now = std::max(s.max_ms, t_ms);
    if (t_ms < now - window_ms_) return false;
    s.max_ms = now;
    // Full pruning is O(items): do it every eighth of a window, and exactly before decisions
    // (live()).
    if (now - s.last_prune_ms >= window_ms_ / 8) prune(s, now);
    while (!s.events.empty() && s.events.front().t < now - window_ms_) s.events.pop_front();
    auto it = s.items.find(item);
    if (it == s.items.end())
      s.items.emplace(std::string(item), t_ms);
    else if (t_ms > it->second)
      it->second = t_ms;
    if (s.events.size() < max_events_ && (s.events.empty() || s.events.back().id != event_id))
      s.events.push_back({t_ms, std::string(event_id), std::string(event_name)});
    return true;
  }

  // True when `s` is past the cooldown of its last alert.
  bool armed(const State& s) const { return s.max_ms >= s.cooldown_until; }

  // True when `s` is armed and holds at least `threshold` distinct items within the window.
  bool crossed(State& s, size_t threshold) const {
    return s.items.size() >= threshold && armed(s) && live(s) >= threshold;
  }

  // After an alert: a fresh window (items and events cleared) and no alert for one window;
  // also calls s.on_reset() when State defines it, to clear what the derived state adds.
  void reset_after_alert(State& s) const {
    s.cooldown_until = s.max_ms + window_ms_;
    s.items.clear();
    s.events.clear();
    if constexpr (requires(State & x) { x.on_reset(); }) s.on_reset();
  }

  // Forgets keys without an event for a window and past their cooldown.
  void evict(int64_t now_ms) {
    evict_idle_windows(
        map_, now_ms, window_ms_,
        [this](typename string_map<State>::node_type&& node) { recent_.forget(node.key()); });
  }

  // The window length (ms).
  int64_t window_ms() const { return window_ms_; }

  // Distinct items within the window ending at the latest event of `s` (exact).
  size_t live(State& s) const {
    prune(s, s.max_ms);
    return s.items.size();
  }

  // Replaces the events of `f` with the first `max` events kept in `s` (time range too).
  static void fill_events(finding& f, const State& s, size_t max) {
    f.event_ids.clear();
    f.event_names.clear();
    f.first_seen_ms = f.last_seen_ms = 0;
    size_t n = 0;
    for (auto& r : s.events) {
      if (n++ >= max) break;
      f.with_event(r.id, r.name, r.t);
    }
  }

  // Up to `max` of the items of `s` (an arbitrary subset when there are more), sorted.
  static std::vector<std::string> sorted_items(const State& s, size_t max) {
    std::vector<std::string> out;
    for (auto& [item, t] : s.items) {
      if (out.size() >= max) break;
      out.push_back(item);
    }
    std::sort(out.begin(), out.end());
    return out;
  }

 private:
  void prune(State& s, int64_t now) const {
    s.last_prune_ms = now;
    int64_t horizon = now - window_ms_;
    for (auto it = s.items.begin(); it != s.items.end();) {
      if (it->second < horizon)
        it = s.items.erase(it);
      else
        ++it;
    }
    while (!s.events.empty() && s.events.front().t < horizon) s.events.pop_front();
  }

  int64_t window_ms_;
  size_t max_keys_;
  size_t max_events_;
  string_map<State> map_;  // same hash and order as std::unordered_map<std::string, State>
  lookup_cache<State*, 64> recent_;  // keys of the latest events -> their entries in map_
};

// ------------------------------------------------------------------------------------------
// Security scanners
// ------------------------------------------------------------------------------------------

// Default lower-case substrings naming cloud security posture scanners, as the TOML literal of a
// TH_PARAM_STRING_LIST default, so that every family recognises the same tools (recon-tooling
// `scanner_user_agents`, iam-keys `scanner_user_agents`). What the tools send: Prowler the user
// agent suffix "APN_1826889" and the role session "ProwlerAssessmentSession"; ScoutSuite
// "Scout Suite/<version>"; Cloud Custodian the user agent and session "CloudCustodian";
// Steampipe, CloudSploit, CloudMapper, PMapper and Cloudsplaining their names.
inline constexpr const char* kSecurityScannerAgentsToml =
    "[\"scoutsuite\", \"scout suite\", \"scout-suite\", \"prowler\", \"apn_1826889\", "
    "\"cloudsploit\", \"cloudsplaining\", \"cloudmapper\", \"pmapper\", \"steampipe\", "
    "\"cloudcustodian\", \"cloud-custodian\"]";

}  // namespace trailhound::sdk::util
