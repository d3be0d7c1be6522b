// SPDX-License-Identifier: Apache-2.0
// Subscription index: (eventSource, eventName) -> the detector instances subscribed, with "*"
// wildcards, resolved once per distinct pair and cached (no scan of all detectors per event).
#pragma once

#include <cstdint>
#include <cstring>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace trailhound::routing {

struct string_hash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
};
template <class V>
using string_map = std::unordered_map<std::string, V, string_hash, std::equal_to<>>;

namespace detail {

inline uint64_t load8(const char* p) noexcept {
  uint64_t w;
  std::memcpy(&w, p, 8);
  return w;
}
inline uint32_t load4(const char* p) noexcept {
  uint32_t w;
  std::memcpy(&w, p, 4);
  return w;
}

// Byte equality without a call to memcmp: event sources and names are short, and this runs for
// every event.
inline bool same_bytes(std::string_view a, std::string_view b) noexcept {
  size_t n = b.size();
  if (a.size() != n) return false;
  const char *x = a.data(), *y = b.data();
  if (n < 8) {  // the first and the last 4 bytes (overlapping), or byte by byte
    if (n >= 4) return load4(x) == load4(y) && load4(x + n - 4) == load4(y + n - 4);
    for (size_t i = 0; i < n; ++i)
      if (x[i] != y[i]) return false;
    return true;
  }
  for (; n > 8; x += 8, y += 8, n -= 8)
    if (load8(x) != load8(y)) return false;
  return load8(x + n - 8) == load8(y + n - 8);  // the last 8 bytes, overlapping
}

}  // namespace detail

// The route cache's key for an (eventSource, eventName) pair. The scan computes it on the loader
// threads, so that the dispatching thread only compares strings.
uint64_t route_key_hash(std::string_view event_source, std::string_view event_name) noexcept;

class router {
 public:
  // Adds a subscription of instance `target` (an index chosen by the caller).
  void subscribe(uint32_t target, std::string_view event_source, std::string_view event_name);
  // The targets for an event, in subscription order without duplicates. The reference stays valid
  // until the next subscribe() or route().
  const std::vector<uint32_t>& route(std::string_view event_source, std::string_view event_name) {
    return route(event_source, event_name, route_key_hash(event_source, event_name));
  }
  // The same with `key_hash` == route_key_hash(event_source, event_name) computed beforehand.
  const std::vector<uint32_t>& route(std::string_view event_source, std::string_view event_name,
                                     uint64_t key_hash) {
    const size_t mask = slots_.size() - 1;  // a power of two, never 0
    for (size_t i = static_cast<size_t>(key_hash) & mask;; i = (i + 1) & mask) {
      const slot& s = slots_[i];
      if (s.pair == 0) return add_pair(event_source, event_name, key_hash);
      if (s.hash != key_hash) continue;
      const cached_pair& p = pairs_[s.pair - 1];
      if (detail::same_bytes(p.source, event_source) && detail::same_bytes(p.name, event_name))
        return p.targets;
    }
  }
  size_t cached_pairs() const noexcept { return pairs_.size(); }
  static constexpr size_t MAX_CACHED_PAIRS = 65536;

 private:
  struct sub {
    uint32_t target;
    std::string source, name;
  };
  struct cached_pair {
    std::string source, name;
    std::vector<uint32_t> targets;
  };
  // Open addressing with linear probing over a power-of-two table, at most half full. A slot holds
  // the key hash (compared first) and 1 + the index of its pair in pairs_ (0: empty).
  struct slot {
    uint64_t hash;
    uint32_t pair;
  };

  // A pair not cached yet: resolved against the subscriptions and added.
  const std::vector<uint32_t>& add_pair(std::string_view event_source, std::string_view event_name,
                                        uint64_t key_hash);
  void clear_cache();
  void grow();
  size_t free_slot(uint64_t key_hash) const noexcept;

  static constexpr size_t initial_slots = 256;
  std::vector<sub> subs_;
  std::vector<slot> slots_ = std::vector<slot>(initial_slots, slot{0, 0});
  std::vector<cached_pair> pairs_;
};

}  // namespace trailhound::routing
