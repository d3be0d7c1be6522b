// SPDX-License-Identifier: Apache-2.0
// Sliding-window duplicate filter.
#include "pipeline/dedup.hpp"

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

void dedup_window::insert(uint64_t h) {
  if ((size_ + 1) * 2 > slots_.size()) {  // keep the load at most 1/2
    std::vector<uint64_t> old(slots_.size() * 2, 0);
    old.swap(slots_);
    for (uint64_t k : old)
      if (k) {
        size_t i = slot_of(k);
        while (slots_[i]) i = (i + 1) & (slots_.size() - 1);
        slots_[i] = k;
      }
  }
  size_t i = slot_of(h);
  while (slots_[i]) i = (i + 1) & (slots_.size() - 1);
  slots_[i] = h;
  ++size_;
}

void dedup_window::erase(uint64_t h) noexcept {
  const size_t mask = slots_.size() - 1;
  size_t i = slot_of(h);
  while (slots_[i] != h) {
    if (slots_[i] == 0) return;
    i = (i + 1) & mask;
  }
  // Backward-shift deletion: move later members of the probe run into the hole when their home
  // slot does not lie cyclically in (hole, their position].
  for (size_t j = (i + 1) & mask; slots_[j]; j = (j + 1) & mask) {
    const size_t home = slot_of(slots_[j]);
    const bool stays = i <= j ? (i < home && home <= j) : (i < home || home <= j);
    if (!stays) {
      slots_[i] = slots_[j];
      i = j;
    }
  }
  slots_[i] = 0;
  --size_;
}

void dedup_window::expire(int64_t now_ms) noexcept {
  // Arrival order is close to event-time order; an entry is dropped once it is older than the
  // window relative to the newest event seen. Late entries stay until they reach the front.
  // The ids to erase next are known in advance: their table slots are requested a few erases
  // ahead (each erase is a random access to a table larger than the caches).
  constexpr size_t erase_ahead = 8;
  while (!order_.empty() && order_.front().first < now_ms - window_ms_) {
    if (order_.size() > erase_ahead)
      __builtin_prefetch(slots_.data() + slot_of(order_[erase_ahead].second));
    erase(order_.front().second);
    order_.pop_front();
  }
}

bool dedup_window::seen_hash(uint64_t h, int64_t event_time_ms) {
  if (h == 0) h = 1;
  // One probe finds the id or the empty slot that ends its run. That slot is where insert()
  // would put it, unless expiring older ids (which shifts entries back) or growing the table
  // comes first: then insert() probes again.
  const size_t mask = slots_.size() - 1;
  size_t i = slot_of(h);
  for (; slots_[i] != 0; i = (i + 1) & mask)
    if (slots_[i] == h) return true;
  const bool expiring = event_time_ms > max_time_ms_;
  if (expiring) {
    max_time_ms_ = event_time_ms;
    expire(max_time_ms_);
  }
  if (expiring || (size_ + 1) * 2 > slots_.size()) {
    insert(h);
  } else {
    slots_[i] = h;
    ++size_;
  }
  order_.emplace_back(event_time_ms, h);
  return false;
}

}  // namespace trailhound::pipeline
