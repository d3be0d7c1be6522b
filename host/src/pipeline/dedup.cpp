// SPDX-License-Identifier: Apache-2.0
// Sliding-window duplicate filter.
#include "pipeline/dedup.hpp"

#include <cstring>

namespace trailhound::pipeline {

uint64_t hash64(std::string_view s) noexcept {
  // FNV-1a followed by a murmur-style finaliser for good bit mixing.
  uint64_t h = 0xcbf29ce484222325ull;
  for (unsigned char c : s) h = (h ^ c) * 0x100000001b3ull;
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdull;
  h ^= h >> 33;
  h *= 0xc4ceb9fe1a85ec53ull;
  h ^= h >> 33;
  return h;
}

void dedup_window::expire(int64_t now_ms) {
  // Arrival order is close to event-time order; an entry is dropped once it is older than the
  // window relative to the newest event seen. Late entries stay until they reach the front.
  while (!order_.empty() && order_.front().first < now_ms - window_ms_) {
    ids_.erase(order_.front().second);
    order_.pop_front();
  }
}

bool dedup_window::seen(std::string_view event_id, int64_t event_time_ms) {
  if (event_id.empty()) return false;
  uint64_t h = hash64(event_id);
  if (ids_.count(h)) return true;
  if (event_time_ms > max_time_ms_) {
    max_time_ms_ = event_time_ms;
    expire(max_time_ms_);
  }
  ids_.insert(h);
  order_.emplace_back(event_time_ms, h);
  return false;
}

}  // namespace trailhound::pipeline
