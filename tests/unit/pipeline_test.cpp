// SPDX-License-Identifier: Apache-2.0
// The duplicate filter of the scan pipeline.
#include <gtest/gtest.h>

#include <deque>
#include <random>
#include <string>
#include <unordered_set>

#include "pipeline/dedup.hpp"

namespace {

using trailhound::pipeline::dedup_window;

constexpr int64_t HOUR = 3600 * 1000;

TEST(dedup_window, same_event_id_within_the_window_is_a_duplicate) {
  dedup_window d(6 * HOUR);
  const std::string id = "3fcfb4b3-2d1f-4f3a-9d2e-5b0c6a7e8f91";
  EXPECT_FALSE(d.seen(id, 10 * HOUR));
  EXPECT_TRUE(d.seen(id, 10 * HOUR));
  EXPECT_TRUE(d.seen(id, 12 * HOUR));  // redelivered later, still inside the window
  EXPECT_FALSE(d.seen("other-id", 10 * HOUR));
  EXPECT_FALSE(d.seen("", 10 * HOUR));  // no eventID: never a duplicate
  EXPECT_FALSE(d.seen("", 10 * HOUR));
}

TEST(dedup_window, entries_older_than_the_window_are_forgotten) {
  dedup_window d(6 * HOUR);
  EXPECT_FALSE(d.seen("a", 0));
  EXPECT_FALSE(d.seen("b", 7 * HOUR));  // moves the window past "a"
  EXPECT_EQ(d.size(), 1u);
  EXPECT_FALSE(d.seen("a", 7 * HOUR));
  EXPECT_TRUE(d.seen("b", 7 * HOUR));
}

// The open-addressing table against a plain reference model, through growth and many deletions
// (backward-shift deletion must never lose an entry that shares a probe run).
TEST(dedup_window, agrees_with_a_reference_set_over_a_long_random_stream) {
  dedup_window d(1000);
  std::unordered_set<uint64_t> ref;
  std::deque<std::pair<int64_t, uint64_t>> order;
  int64_t max_t = INT64_MIN;
  std::mt19937_64 rng(7);
  int64_t t = 0;
  for (int i = 0; i < 200'000; ++i) {
    t += static_cast<int64_t>(rng() % 5);
    const int64_t when = t - static_cast<int64_t>(rng() % 50);      // slightly out of order
    const uint64_t h = (rng() % 4096) * 0x9e3779b97f4a7c15ull + 1;  // collisions on purpose
    bool expected = ref.count(h) > 0;
    if (!expected) {
      if (when > max_t) {
        max_t = when;
        while (!order.empty() && order.front().first < max_t - 1000) {
          ref.erase(order.front().second);
          order.pop_front();
        }
      }
      ref.insert(h);
      order.emplace_back(when, h);
    }
    ASSERT_EQ(d.seen_hash(h, when), expected) << "step " << i;
    ASSERT_EQ(d.size(), ref.size()) << "step " << i;
  }
}

}  // namespace
