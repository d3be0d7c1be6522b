// SPDX-License-Identifier: Apache-2.0
// Learned habits: on which days (of event time) an identity did one kind of rare thing (shared a
// snapshot with account X, ran an enumeration burst), so that the same thing on yet another day
// is recognised as its routine rather than as unusual. Only touched on the rare events that
// matter, never per ordinary event.
// Used by exfiltration-config, recon-tooling and iam-keys; saved with the baseline.hpp codec.
#pragma once

#include <algorithm>
#include <bit>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <trailhound/baseline.hpp>
#include <trailhound/sdk.hpp>
#include <unordered_map>
#include <utility>
#include <vector>

namespace trailhound::habit {

namespace bl = trailhound::baseline;

// Days are kept as a 64-bit mask ending at the entry's latest day: the lookback is at most 63
// earlier days.
constexpr int64_t kMaxLookbackDays = 63;
constexpr std::string_view kMagic = "HABIT";
constexpr uint64_t kVersion = 1;

// Floor division of event time into UTC days (correct before 1970 too).
inline int64_t day_of(int64_t ms) {
  return ms >= 0 ? ms / bl::kDayMs : -((-ms + bl::kDayMs - 1) / bl::kDayMs);
}

// Persisted key of (who, what, target): FNV-1a (stable across builds), fields separated so that
// ("ab", "c") and ("a", "bc") differ.
inline uint64_t key_of(std::string_view who, std::string_view what, std::string_view target = {}) {
  std::string k;
  k.reserve(who.size() + what.size() + target.size() + 2);
  k.append(who).push_back('\x1f');
  k.append(what).push_back('\x1f');
  k.append(target);
  return bl::hash64(k);
}

struct entry {
  int64_t first_ms = 0;  // first occurrence recorded (evidence)
  int64_t last_day = 0;  // the day of bit 0 of `days`
  uint64_t days = 0;     // bit i: seen on day last_day - i
};

struct verdict {
  bool habitual = false;
  int earlier_days = 0;  // distinct days before the current one, within the lookback
  int64_t first_ms = 0;  // first occurrence recorded (0: never)
};

class book {
 public:
  // `min_days` 0 turns recognition off (record() still learns). At most `cap` entries: a full
  // book forgets the entries whose latest day is oldest.
  book(int64_t min_days, int64_t lookback_ms, size_t cap)
      : min_days_(min_days),
        lookback_days_(std::clamp<int64_t>(lookback_ms / bl::kDayMs, 1, kMaxLookbackDays)),
        cap_(std::max<size_t>(cap, 1)) {}

  // How many distinct earlier days (within the lookback before the day of `t_ms`) `key` was
  // recorded on. The current day never counts: one busy night is not a habit.
  verdict check(uint64_t key, int64_t t_ms) const {
    verdict v;
    auto it = map_.find(key);
    if (it == map_.end()) return v;
    const entry& e = it->second;
    v.first_ms = e.first_ms;
    const int64_t d = day_of(t_ms);
    // Days d-lookback .. d-1 are bits last_day-d+1 .. last_day-d+lookback.
    const int64_t lo = std::max<int64_t>(e.last_day - d + 1, 0);
    const int64_t hi = std::min<int64_t>(e.last_day - d + lookback_days_, 63);
    if (lo <= hi) {
      const int64_t width = hi - lo + 1;
      const uint64_t mask = (width >= 64 ? ~0ull : (1ull << width) - 1) << lo;
      v.earlier_days = std::popcount(e.days & mask);
    }
    v.habitual = min_days_ > 0 && v.earlier_days >= min_days_;
    return v;
  }

  // Records that `key` happened at `t_ms`.
  void record(uint64_t key, int64_t t_ms) {
    const int64_t d = day_of(t_ms);
    auto it = map_.find(key);
    if (it == map_.end()) {
      if (map_.size() >= cap_) evict();
      map_.emplace(key, entry{t_ms, d, 1});
      return;
    }
    entry& e = it->second;
    e.first_ms = std::min(e.first_ms, t_ms);
    if (d > e.last_day) {
      const int64_t shift = d - e.last_day;
      e.days = shift >= 64 ? 0 : e.days << shift;
      e.last_day = d;
      e.days |= 1;
    } else if (e.last_day - d < 64) {
      e.days |= 1ull << (e.last_day - d);
    }
  }

  // Evidence of a habitual finding: {"earlier_days": n, "first_seen": "...", ...}.
  std::string evidence_json(const verdict& v) const {
    trailhound::sdk::evidence ev;
    ev.add("earlier_days", v.earlier_days)
        .add("first_seen", bl::iso_time(v.first_ms))
        .add("min_days", min_days_)
        .add("lookback_days", lookback_days_);
    return ev.str();
  }

  // An empty book with the same settings (to load into, then swap: all or nothing).
  book empty() const { return book(min_days_, lookback_days_ * bl::kDayMs, cap_); }

  int64_t min_days() const { return min_days_; }
  int64_t lookback_days() const { return lookback_days_; }
  size_t size() const { return map_.size(); }

  // Section: magic, version, count, then entries in key order (the same book saves to the same
  // bytes).
  void save(bl::writer& w) const {
    w.str().append(kMagic);
    w.u(kVersion);
    std::vector<std::pair<uint64_t, const entry*>> v;
    v.reserve(map_.size());
    for (auto& [k, e] : map_) v.emplace_back(k, &e);
    std::sort(v.begin(), v.end(), [](auto& a, auto& b) { return a.first < b.first; });
    w.u(v.size());
    for (auto& [k, e] : v) {
      w.u(k);
      w.i(e->first_ms);
      w.i(e->last_day);
      w.u(e->days);
    }
  }

  // Reads what save() wrote; throws std::runtime_error on anything else and then leaves the book
  // unchanged. More entries than the cap (a smaller cap configured since): the most recent kept.
  void load(bl::reader& r) {
    r.expect(kMagic);
    const uint64_t version = r.u();
    if (version != kVersion)
      throw std::runtime_error("habit section: unknown version " + std::to_string(version));
    std::unordered_map<uint64_t, entry> m;
    for (uint64_t n = r.count(4), j = 0; j < n; ++j) {
      const uint64_t k = r.u();
      entry e;
      e.first_ms = r.i();
      e.last_day = r.i();
      e.days = r.u();
      if (e.days == 0 || !m.emplace(k, e).second)
        throw std::runtime_error("habit section: bad entry");
    }
    map_ = std::move(m);
    while (map_.size() > cap_) evict();
  }

 private:
  // Forgets the tenth of the entries (at least one) whose latest day is oldest, smallest keys
  // first among ties (deterministic).
  void evict() {
    std::vector<std::pair<int64_t, uint64_t>> v;
    v.reserve(map_.size());
    for (auto& [k, e] : map_) v.emplace_back(e.last_day, k);
    const size_t n = std::min(v.size(), std::max<size_t>(1, v.size() / 10));
    std::partial_sort(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(n), v.end());
    for (size_t i = 0; i < n; ++i) map_.erase(v[i].second);
  }

  int64_t min_days_;
  int64_t lookback_days_;
  size_t cap_;
  std::unordered_map<uint64_t, entry> map_;
};

}  // namespace trailhound::habit
