// SPDX-License-Identifier: Apache-2.0
// Subscription index with a per-pair cache.
#include "routing/router.hpp"

#include <algorithm>

namespace trailhound::routing {

void router::subscribe(uint32_t target, std::string_view event_source,
                       std::string_view event_name) {
  subs_.push_back(sub{target, std::string(event_source.empty() ? "*" : event_source),
                      std::string(event_name.empty() ? "*" : event_name)});
  cache_.clear();
  cached_pairs_ = 0;
}

const std::vector<uint32_t>& router::route(std::string_view event_source,
                                           std::string_view event_name) {
  // Names are attacker-controlled: a flood of distinct pairs must not grow memory without bound.
  if (cached_pairs_ >= MAX_CACHED_PAIRS) {
    cache_.clear();
    cached_pairs_ = 0;
  }
  auto by_source = cache_.find(event_source);
  if (by_source == cache_.end())
    by_source =
        cache_.emplace(std::string(event_source), string_map<std::vector<uint32_t>>{}).first;
  auto& names = by_source->second;
  auto hit = names.find(event_name);
  if (hit != names.end()) return hit->second;

  // First time this pair is seen: resolve against every subscription once.
  std::vector<uint32_t> targets;
  for (const sub& s : subs_) {
    bool source_ok = s.source == "*" || s.source == event_source;
    bool name_ok = s.name == "*" || s.name == event_name;
    if (source_ok && name_ok &&
        std::find(targets.begin(), targets.end(), s.target) == targets.end())
      targets.push_back(s.target);
  }
  std::sort(targets.begin(), targets.end());
  ++cached_pairs_;
  return names.emplace(std::string(event_name), std::move(targets)).first->second;
}

}  // namespace trailhound::routing
