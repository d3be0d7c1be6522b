// SPDX-License-Identifier: Apache-2.0
// Duplicate-delivery filter: 64-bit hashes of eventIDs seen within a sliding window of event time.
// Memory is bounded by the number of events inside the window, never by the length of the scan.
#pragma once

#include <cstdint>
#include <deque>
#include <string_view>
#include <utility>
#include <vector>

namespace trailhound::pipeline {

uint64_t hash64(std::string_view s) noexcept;

class dedup_window {
 public:
  explicit dedup_window(int64_t window_ms) : window_ms_(window_ms), slots_(1024, 0) {}

  // True when this eventID was already seen (within the window); records it otherwise.
  // Events without an id are never duplicates.
  bool seen(std::string_view event_id, int64_t event_time_ms) {
    return !event_id.empty() && seen_hash(hash64(event_id), event_time_ms);
  }
  // The same with hash64(eventID) computed beforehand (on a loader thread).
  bool seen_hash(uint64_t id_hash, int64_t event_time_ms);
  // Starts loading the table slot of an id checked a few events later: once the window holds
  // many events the table outgrows the caches, and each check would wait for memory.
  void prefetch(uint64_t id_hash) const noexcept {
    __builtin_prefetch(slots_.data() + slot_of(id_hash ? id_hash : 1));
  }
  size_t size() const noexcept { return size_; }

 private:
  // Open addressing with linear probing over a power-of-two table (never empty, so that prefetch()
  // needs no test: GCC 12 drops a prefetch behind one); 0 marks an empty slot (a
  // hash of 0 is stored as 1). Erasing shifts the following entries back, so there are no
  // tombstones and probes stay short however many entries come and go.
  void insert(uint64_t h);
  void erase(uint64_t h) noexcept;
  void expire(int64_t now_ms) noexcept;
  size_t slot_of(uint64_t h) const noexcept { return static_cast<size_t>(h) & (slots_.size() - 1); }

  int64_t window_ms_;
  int64_t max_time_ms_ = INT64_MIN;
  std::vector<uint64_t> slots_;
  size_t size_ = 0;
  std::deque<std::pair<int64_t, uint64_t>> order_;  // (event time, hash) in arrival order
};

}  // namespace trailhound::pipeline
