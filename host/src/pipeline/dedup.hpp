// SPDX-License-Identifier: Apache-2.0
// Duplicate-delivery filter: 64-bit hashes of eventIDs seen within a sliding window of event time.
// Memory is bounded by the number of events inside the window, never by the length of the scan.
#pragma once

#include <cstdint>
#include <deque>
#include <string_view>
#include <unordered_set>

namespace trailhound::pipeline {

class dedup_window {
 public:
  explicit dedup_window(int64_t window_ms) : window_ms_(window_ms) {}

  // True when this eventID was already seen (within the window); records it otherwise.
  // Events without an id are never duplicates.
  bool seen(std::string_view event_id, int64_t event_time_ms);
  size_t size() const noexcept { return ids_.size(); }

 private:
  void expire(int64_t now_ms);
  int64_t window_ms_;
  int64_t max_time_ms_ = INT64_MIN;
  std::unordered_set<uint64_t> ids_;
  std::deque<std::pair<int64_t, uint64_t>> order_;  // (event time, hash) in arrival order
};

uint64_t hash64(std::string_view s) noexcept;

}  // namespace trailhound::pipeline
