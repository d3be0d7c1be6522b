// SPDX-License-Identifier: Apache-2.0
// Subscription index: (eventSource, eventName) -> the detector instances subscribed, with "*"
// wildcards, resolved once per distinct pair and cached (no scan of all detectors per event).
#pragma once

#include <cstdint>
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

class router {
 public:
  // Adds a subscription of instance `target` (an index chosen by the caller).
  void subscribe(uint32_t target, std::string_view event_source, std::string_view event_name);
  // The targets for an event, in subscription order without duplicates. The reference stays valid
  // until the next subscribe().
  const std::vector<uint32_t>& route(std::string_view event_source, std::string_view event_name);
  size_t cached_pairs() const noexcept { return cached_pairs_; }
  static constexpr size_t MAX_CACHED_PAIRS = 65536;

 private:
  struct sub {
    uint32_t target;
    std::string source, name;
  };
  std::vector<sub> subs_;
  string_map<string_map<std::vector<uint32_t>>> cache_;
  size_t cached_pairs_ = 0;
};

}  // namespace trailhound::routing
