// SPDX-License-Identifier: Apache-2.0
// Subscription index with a per-pair cache.
#include "routing/router.hpp"

#include <algorithm>

namespace trailhound::routing {
namespace {

// Word-at-a-time: event sources and names are 10 to 40 bytes, so a byte-wise hash would cost the
// loader threads more than the lookups it saves.
uint64_t hash_words(std::string_view s, uint64_t h) noexcept {
  const uint64_t k = 0x9e3779b97f4a7c15ull;
  h = (h ^ s.size()) * k;
  const char* p = s.data();
  size_t n = s.size();
  if (n < 8) {
    for (size_t i = 0; i < n; ++i) h = (h ^ static_cast<unsigned char>(p[i])) * k;
    return h;
  }
  for (; n > 8; p += 8, n -= 8) {
    h = (h ^ detail::load8(p)) * k;
    h ^= h >> 32;
  }
  h = (h ^ detail::load8(p + n - 8)) * k;  // the last 8 bytes, overlapping the previous word
  return h ^ (h >> 32);
}

}  // namespace

uint64_t route_key_hash(std::string_view event_source, std::string_view event_name) noexcept {
  uint64_t h = hash_words(event_name, hash_words(event_source, 0x243f6a8885a308d3ull));
  // murmur3's finaliser: the table index uses the low bits.
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdull;
  h ^= h >> 33;
  h *= 0xc4ceb9fe1a85ec53ull;
  return h ^ (h >> 33);
}

void router::subscribe(uint32_t target, std::string_view event_source,
                       std::string_view event_name) {
  subs_.push_back(sub{target, std::string(event_source.empty() ? "*" : event_source),
                      std::string(event_name.empty() ? "*" : event_name)});
  clear_cache();
}

void router::clear_cache() {
  std::vector<slot> empty(initial_slots, slot{0, 0});  // may throw: nothing has changed yet
  slots_.swap(empty);
  pairs_.clear();
}

void router::grow() {
  std::vector<slot> old(slots_.size() * 2, slot{0, 0});
  old.swap(slots_);
  for (const slot& s : old)
    if (s.pair) slots_[free_slot(s.hash)] = s;
}

size_t router::free_slot(uint64_t key_hash) const noexcept {
  const size_t mask = slots_.size() - 1;
  size_t i = static_cast<size_t>(key_hash) & mask;
  while (slots_[i].pair) i = (i + 1) & mask;
  return i;
}

const std::vector<uint32_t>& router::add_pair(std::string_view event_source,
                                              std::string_view event_name, uint64_t key_hash) {
  // Names are attacker-controlled: a flood of distinct pairs must not grow memory without bound.
  if (pairs_.size() >= MAX_CACHED_PAIRS) clear_cache();
  if ((pairs_.size() + 1) * 2 > slots_.size()) grow();  // keep the table at most half full

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
  pairs_.push_back(
      cached_pair{std::string(event_source), std::string(event_name), std::move(targets)});
  slots_[free_slot(key_hash)] = slot{key_hash, static_cast<uint32_t>(pairs_.size())};
  return pairs_.back().targets;
}

}  // namespace trailhound::routing
