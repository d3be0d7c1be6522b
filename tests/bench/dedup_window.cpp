// SPDX-License-Identifier: Apache-2.0
// The duplicate filter under cache pressure, as on the dispatching thread: 4M random eventIDs
// over 4 days of event time with the 6-hour window (about 250,000 ids held), and between events
// a walk over 8 MB standing in for the detectors' own memory traffic. Prints the seconds; compare
// two builds alternately (the machines are noisy). Not a test: nothing here is asserted.
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <random>
#include <utility>
#include <vector>

#include "pipeline/dedup.hpp"

int main() {
  constexpr int64_t events = 4'000'000;
  constexpr int64_t span_ms = 4LL * 86'400'000;
  std::mt19937_64 rng(1);
  std::vector<std::pair<uint64_t, int64_t>> stream;
  stream.reserve(events);
  for (int64_t i = 0; i < events; ++i)
    stream.emplace_back(rng(), 1'700'000'000'000 + i * span_ms / events / 1000 * 1000);
  std::vector<char> other(8 << 20, 1);

  trailhound::pipeline::dedup_window window(6LL * 3'600'000);
  const auto t0 = std::chrono::steady_clock::now();
  size_t duplicates = 0, sink = 0;
  for (size_t i = 0; i < stream.size(); ++i) {
    if (i + 2 < stream.size()) window.prefetch(stream[i + 2].first);  // as run_scan does
    duplicates += window.seen_hash(stream[i].first, stream[i].second);
    for (size_t k = 0; k < 16; ++k) sink += other[(i * 4096 + k * 64 * 131) % other.size()];
  }
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("%.3f s for %lld events (%zu duplicates, %zu ids held)%s\n", s,
              static_cast<long long>(events), duplicates, window.size(), sink == 0 ? " " : "");
}
