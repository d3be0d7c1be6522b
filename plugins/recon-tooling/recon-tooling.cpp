// SPDX-License-Identifier: Apache-2.0
// Reconnaissance with stolen keys: user agents of attack and pentest tooling, bursts of access
// denied errors across many APIs, and read-only enumeration across many services.
#include <algorithm>
#include <cctype>
#include <cstdint>
#include <cstring>
#include <functional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <trailhound/baseline.hpp>
#include <trailhound/habit.hpp>
#include <trailhound/sdk.hpp>
#include <trailhound/util.hpp>
#include <unordered_map>
#include <utility>
#include <vector>

namespace {
using namespace trailhound::sdk;
namespace util = trailhound::sdk::util;
namespace habit = trailhound::habit;
namespace bl = trailhound::baseline;

constexpr size_t MAX_EVIDENCE_EVENTS = 50;
constexpr size_t MAX_EVIDENCE_ITEMS = 100;
constexpr size_t MAX_UA_CACHE = 4096;

// Saved state (schema 2): repeat suppression, the open windows and the enumeration habits.
// Bounded: each table at most max_principals entries (the most recent), each window key at most
// kMaxSavedItems APIs, and the windows stop being written past kMaxStateBytes (the rest then
// restart empty). Schema 1 (no habits) is refused by the host: it starts fresh and says so.
constexpr std::string_view kMagic = "THRT2";
constexpr uint32_t kStateSchema = 2;
constexpr size_t kMaxSavedItems = 4096;
constexpr size_t kMaxStateBytes = 64u << 20;

bool is_letter(char c) { return std::isalpha(static_cast<unsigned char>(c)) != 0; }

// Case-insensitive search of `needle` (already lower case) in `hay_lower`, where the match must
// not be glued to other letters: "kali" matches "Linux/6.6.9-kali1-amd64" and "Kali Linux" but
// not "Kalimba". Digits and punctuation count as boundaries.
bool match_token(std::string_view hay_lower, std::string_view needle) {
  if (needle.empty()) return false;
  size_t pos = 0;
  while ((pos = hay_lower.find(needle, pos)) != std::string_view::npos) {
    bool left_ok = pos == 0 || !is_letter(hay_lower[pos - 1]) || !is_letter(needle.front());
    size_t end = pos + needle.size();
    bool right_ok =
        end >= hay_lower.size() || !is_letter(hay_lower[end]) || !is_letter(needle.back());
    if (left_ok && right_ok) return true;
    ++pos;
  }
  return false;
}

bool read_like(const event& e) {
  if (e.read_only() == TH_FLAG_TRUE) return true;
  return util::starts_with_any(e.name(), {"List", "Describe", "Get"});
}

// User agents of the AWS console (which fans one page view out to many API calls).
bool console_agent(std::string_view ua_lower) {
  return ua_lower.find("console") != std::string_view::npos ||
         ua_lower.find("aws internal") != std::string_view::npos ||
         ua_lower.find("aws-internal") != std::string_view::npos ||
         ua_lower.rfind("mozilla/", 0) == 0;
}
// Infrastructure-as-code planners read many services by design.
bool iac_agent(std::string_view ua_lower) {
  return ua_lower.find("terraform") != std::string_view::npos ||
         ua_lower.find("pulumi") != std::string_view::npos ||
         ua_lower.find("aws-cdk") != std::string_view::npos ||
         ua_lower.find("cloudformation") != std::string_view::npos;
}

// A string hash taking 8 bytes per step (std::hash takes about twice the instructions on the
// ~150-byte user agents and ~60-byte ARNs hashed per event). Not for persisted keys.
inline uint64_t fast_hash(std::string_view s) noexcept {
  const char* p = s.data();
  size_t n = s.size();
  uint64_t h = 0x9e3779b97f4a7c15ull ^ (n * 0xff51afd7ed558ccdull);
  for (; n >= 8; p += 8, n -= 8) {
    uint64_t v;
    std::memcpy(&v, p, 8);
    h = (h ^ v) * 0xbf58476d1ce4e5b9ull;
    h ^= h >> 29;
  }
  if (n) {
    // The last n bytes as the low bytes of v. Read as the string's last 8 bytes shifted down
    // when it has them (a fixed-size load instead of a memcpy call; same value, same hash).
    uint64_t v = 0;
    if (s.size() >= 8) {
      std::memcpy(&v, s.data() + s.size() - 8, 8);
      v >>= 8 * (8 - n);
    } else {
      std::memcpy(&v, p, n);
    }
    h = (h ^ v) * 0x94d049bb133111ebull;
  }
  h ^= h >> 32;
  h *= 0xd6e8feb86659fd93ull;
  return h ^ (h >> 32);
}

// Heterogeneous lookup: find by std::string_view without building a std::string per event.
// Not noexcept on purpose: libstdc++ then keeps each node's hash, and a lookup never hashes the
// stored keys again while it walks a bucket (see util::string_hash).
struct sv_hash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return fast_hash(s); }
};
template <class V>
using string_map = std::unordered_map<std::string, V, sv_hash, std::equal_to<>>;

// map[key] = max(map[key], t) with a default of 0, without a std::string unless `key` is new.
void bump(string_map<int64_t>& m, std::string_view key, int64_t t) {
  auto it = m.find(key);
  if (it == m.end())
    m.emplace(std::string(key), std::max<int64_t>(0, t));
  else
    it->second = std::max(it->second, t);
}

// ------------------------------------------------------------------------------------------
// Distinct APIs per principal in a sliding window of event time, with what the current window
// saw of error codes and user agents. Same semantics as util::distinct_window (window ending at
// the key's latest event, events up to a window late accepted, one alert per window), tuned for
// a detector that sees every event: string_view lookups, event references in one buffer instead
// of two strings each, and pruning only when a decision or the memory bound needs it.
// ------------------------------------------------------------------------------------------
struct window_state {
  struct event_ref {
    int64_t t;
    uint64_t off;  // into `text`: the event id, then the event name
    uint32_t id_len, name_len;
  };
  string_map<int64_t> items;   // "ec2:DescribeInstances" -> latest event time
  int64_t oldest = INT64_MAX;  // lower bound of the item times: prune() skips while >= horizon
  size_t prune_at = 64;        // prune when the map reaches this size (stale items bounded)
  uint64_t generation = 0;     // changes whenever an item is inserted or erased
  uint64_t services_generation = UINT64_MAX;
  size_t services = 0;          // distinct services of `items` at services_generation
  std::vector<event_ref> refs;  // the events that added to the window, oldest first, from head
  size_t head = 0;
  std::string text;            // ids and names of refs, back to back
  int64_t max_ms = 0;          // latest event time added
  int64_t cooldown_until = 0;  // no new alert before this event time
  std::vector<std::string> codes, agents;
  int64_t calls = 0;
  bool all_console = true, all_benign_agent = true;

  size_t event_count() const { return refs.size() - head; }
  std::string_view id_of(const event_ref& r) const {
    return std::string_view(text).substr(r.off, r.id_len);
  }
  std::string_view name_of(const event_ref& r) const {
    return std::string_view(text).substr(r.off + r.id_len, r.name_len);
  }
  void push_event(int64_t t, std::string_view id, std::string_view name) {
    if (refs.capacity() < 4) {  // room for a few events: fewer regrowths
      refs.reserve(4);
      text.reserve(256);
    }
    refs.push_back(
        {t, text.size(), static_cast<uint32_t>(id.size()), static_cast<uint32_t>(name.size())});
    text.append(id);
    text.append(name);
  }
  // Drops references from the front while older than `horizon` (like a deque's pop_front).
  void pop_events(int64_t horizon) {
    while (head < refs.size() && refs[head].t < horizon) ++head;
    if (head == refs.size()) {
      clear_events();
    } else if (head >= 32 && head * 2 >= refs.size()) {
      const uint64_t base = refs[head].off;
      text.erase(0, base);
      refs.erase(refs.begin(), refs.begin() + static_cast<std::ptrdiff_t>(head));
      head = 0;
      for (auto& r : refs) r.off -= base;
    }
  }
  void clear_events() {
    refs.clear();
    text.clear();
    head = 0;
  }
  void clear_items() {
    items.clear();
    oldest = INT64_MAX;
    prune_at = 64;
    ++generation;
  }
};

class api_window {
 public:
  static constexpr size_t kMaxEvents = 200;  // event references kept per key (evidence)

  api_window(int64_t window_ms, size_t max_keys) : window_ms_(window_ms), max_keys_(max_keys) {}

  // The state of `key`, created when absent; nullptr when the table is full even after evict().
  window_state* get(std::string_view key, int64_t now_ms) {
    if (window_state* const* hit = recent_.find(key)) return *hit;
    auto it = map_.find(key);
    if (it == map_.end()) {
      if (map_.size() >= max_keys_) evict(now_ms);
      if (map_.size() >= max_keys_) return nullptr;
      it = spare_states_.empty() ? map_.emplace(std::string(key), window_state{}).first
                                 : insert_spare_state(key);
    }
    recent_.put(key, &it->second);
    return &it->second;
  }

  // Adds `item` seen at `t` by event `id`/`name`; false (nothing added) when the event lies
  // before the window that ends at the latest event of `s`.
  bool add(window_state& s, std::string_view item, int64_t t, std::string_view id,
           std::string_view name) {
    const int64_t now = std::max(s.max_ms, t);
    if (t < now - window_ms_) return false;
    s.max_ms = now;
    s.pop_events(now - window_ms_);
    auto it = s.items.find(item);
    if (it == s.items.end()) {
      // Stale items (older than the window) are harmless until a decision prunes them, but
      // bounded: at most about as many as live ones.
      if (s.items.size() >= s.prune_at) {
        prune(s, now);
        s.prune_at = std::max<size_t>(64, 2 * s.items.size());
      }
      insert_item(s, item, t);
      s.oldest = std::min(s.oldest, t);
      ++s.generation;
    } else if (t > it->second) {
      it->second = t;
    }
    if (s.event_count() < kMaxEvents &&
        (s.event_count() == 0 || !util::equals(s.id_of(s.refs.back()), id)))
      s.push_event(t, id, name);
    return true;
  }

  // True when `s` is past the cooldown of its last alert.
  bool armed(const window_state& s) const { return s.max_ms >= s.cooldown_until; }

  // True when `s` is armed and holds at least `threshold` distinct items within the window.
  bool crossed(window_state& s, size_t threshold) {
    return s.items.size() >= threshold && armed(s) && live(s) >= threshold;
  }

  // Distinct items within the window ending at the latest event of `s` (exact).
  size_t live(window_state& s) {
    prune(s, s.max_ms);
    return s.items.size();
  }

  // After an alert: a fresh window and no alert for one window.
  void reset_after_alert(window_state& s) {
    s.cooldown_until = s.max_ms + window_ms_;
    clear_items(s);
    s.clear_events();
    s.codes.clear();
    s.agents.clear();
    s.calls = 0;
    s.all_console = s.all_benign_agent = true;
  }

  // Forgets keys without an event for a window and past their cooldown.
  void evict(int64_t now_ms) {
    util::evict_idle_windows(map_, now_ms, window_ms_, [this](state_node&& node) {
      recent_.forget(node.key());
      recycle_state(std::move(node));
    });
  }

  int64_t window_ms() const { return window_ms_; }
  size_t max_keys() const { return max_keys_; }
  const string_map<window_state>& states() const { return map_; }
  void replace(string_map<window_state>&& m) {
    recent_.clear();
    map_ = std::move(m);
  }

  // Distinct services (the part of an item before ':') of the items of `s`, after live().
  static size_t services(window_state& s) {
    if (s.services_generation != s.generation) {
      std::vector<std::string_view> svc;
      svc.reserve(s.items.size());
      for (auto& [item, t] : s.items)
        svc.push_back(std::string_view(item).substr(0, item.find(':')));
      std::sort(svc.begin(), svc.end());
      s.services = static_cast<size_t>(std::unique(svc.begin(), svc.end()) - svc.begin());
      s.services_generation = s.generation;
    }
    return s.services;
  }

  // The `max` smallest items of `s`, sorted (all of them when there are fewer: the same list
  // whatever order the map holds them in, also after a restore).
  static std::vector<std::string> sorted_items(const window_state& s, size_t max) {
    std::vector<const std::string*> v;
    v.reserve(s.items.size());
    for (auto& [item, t] : s.items) v.push_back(&item);
    auto less = [](const std::string* a, const std::string* b) { return *a < *b; };
    size_t n = std::min(max, v.size());
    std::partial_sort(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(n), v.end(), less);
    std::vector<std::string> out;
    out.reserve(n);
    for (size_t i = 0; i < n; ++i) out.push_back(*v[i]);
    return out;
  }

  // Replaces the events of `f` with the first `max` events kept in `s` (time range too).
  static void fill_events(finding& f, const window_state& s, size_t max) {
    f.event_ids.clear();
    f.event_names.clear();
    f.first_seen_ms = f.last_seen_ms = 0;
    for (size_t i = s.head, n = 0; i < s.refs.size() && n < max; ++i, ++n)
      f.with_event(s.id_of(s.refs[i]), s.name_of(s.refs[i]), s.refs[i].t);
  }

 private:
  // Erases the items older than the window ending at `now`; nothing to scan while the oldest
  // item time (a lower bound) is inside the window.
  void prune(window_state& s, int64_t now) {
    const int64_t horizon = now - window_ms_;
    if (s.oldest >= horizon) return;
    int64_t oldest = INT64_MAX;
    for (auto it = s.items.begin(); it != s.items.end();) {
      if (it->second < horizon) {
        auto next = std::next(it);
        recycle_item(s.items.extract(it));  // erase(), keeping the node
        it = next;
        ++s.generation;
      } else {
        oldest = std::min(oldest, it->second);
        ++it;
      }
    }
    s.oldest = oldest;
    s.pop_events(horizon);
  }

  // Windows open and close all the time (an idle key is evicted, a burst resets its items):
  // the nodes of erased items and evicted states, with their strings' buffers, are kept for
  // the next ones instead of being freed and allocated again. Same maps, same order.
  using item_node = string_map<int64_t>::node_type;
  using state_node = string_map<window_state>::node_type;
  static constexpr size_t kSpareItems = 1024, kSpareStates = 64;

  void recycle_item(item_node&& node) {
    if (spare_items_.size() < kSpareItems) spare_items_.push_back(std::move(node));
  }
  void insert_item(window_state& s, std::string_view item, int64_t t) {
    if (spare_items_.empty()) {
      s.items.emplace(std::string(item), t);
      return;
    }
    item_node node = std::move(spare_items_.back());
    spare_items_.pop_back();
    node.key().assign(item);
    node.mapped() = t;
    s.items.insert(std::move(node));
  }
  // s.clear_items(), keeping the nodes.
  void clear_items(window_state& s) {
    while (!s.items.empty()) recycle_item(s.items.extract(s.items.begin()));
    s.clear_items();
  }
  void recycle_state(state_node&& node) {
    clear_items(node.mapped());
    if (spare_states_.size() < kSpareStates) spare_states_.push_back(std::move(node));
  }
  // A spare state under `key`, reset to a fresh window_state (its event buffers kept).
  string_map<window_state>::iterator insert_spare_state(std::string_view key) {
    state_node node = std::move(spare_states_.back());
    spare_states_.pop_back();
    node.key().assign(key);
    window_state& s = node.mapped();
    // Every member fresh (the items map included: its bucket count), the buffers kept.
    window_state fresh;
    fresh.refs.swap(s.refs);
    fresh.text.swap(s.text);
    fresh.codes.swap(s.codes);
    fresh.agents.swap(s.agents);
    fresh.clear_events();
    fresh.codes.clear();
    fresh.agents.clear();
    s = std::move(fresh);
    return map_.insert(std::move(node)).position;
  }

  int64_t window_ms_;
  size_t max_keys_;
  string_map<window_state> map_;
  util::lookup_cache<window_state*> recent_;  // keys of recent events -> their states in map_
  std::vector<item_node> spare_items_;
  std::vector<state_node> spare_states_;
};

// ------------------------------------------------------------------------------------------
// The detector
// ------------------------------------------------------------------------------------------
class recon_tooling final : public detector {
 public:
  static const detector_info& info() {
    static const detector_info i{
        "recon-tooling",
        "1.0.0",
        "Reconnaissance and attack tooling",
        "API calls made with the user agents of offensive tooling (Kali/Parrot/Pentoo, Pacu, "
        "TruffleHog, S3 Browser, CloudFox...), security scanners (low), bursts of access "
        "denied errors across many distinct APIs (probing with a stolen key), and read-only "
        "enumeration across many services.",
        {{"*", "*"}},
        {{"attack_tool_user_agents", TH_PARAM_STRING_LIST,
          "[\"kali\", \"parrot\", \"pentoo\", \"blackarch\", \"pacu\", \"trufflehog\", "
          "\"s3browser\", \"s3 browser\", \"cloudfox\", \"weirdaal\", \"enumerate-iam\", "
          "\"stratus-red-team\", \"aws-enum\", \"nimbostratus\", \"endgame\", \"cloudbrute\", "
          "\"gato-x\"]",
          "Case-insensitive user agent substrings of offensive tools/OSes (not glued to other "
          "letters)"},
         {"scanner_user_agents", TH_PARAM_STRING_LIST, util::kSecurityScannerAgentsToml,
          "Case-insensitive user agent substrings of security scanners (reported low); the "
          "default list is shared with iam-keys"},
         {"tool_window", TH_PARAM_DURATION, "\"1h\"",
          "One finding per principal and tool within this much event time", true, 60, 604800},
         {"denied_threshold", TH_PARAM_INT, "10",
          "Distinct APIs (eventSource:eventName) denied to one principal within denied_window",
          true, 2, 100000},
         {"denied_high_services", TH_PARAM_INT, "5",
          "A denied burst spanning at least this many services is high (wide probing)", true, 1,
          1000},
         {"denied_window", TH_PARAM_DURATION, "\"10m\"", "Window of the denied-burst rule", true,
          60, 86400},
         {"enumeration_enabled", TH_PARAM_BOOL, "true", "Run the enumeration-burst rule"},
         {"enumeration_threshold", TH_PARAM_INT, "40",
          "Distinct read-only APIs (List*/Describe*/Get*) called by one principal within "
          "enumeration_window",
          true, 5, 100000},
         {"enumeration_min_services", TH_PARAM_INT, "8",
          "...spread over at least this many services", true, 1, 1000},
         {"enumeration_window", TH_PARAM_DURATION, "\"10m\"", "Window of the enumeration rule",
          true, 60, 86400},
         {"burst_repeat", TH_PARAM_DURATION, "\"24h\"",
          "After a denied or enumeration burst of an identity (role or user), further bursts of "
          "the same rule by that identity within this time are counted, not reported "
          "(scheduled scanners repeat every cycle)",
          true, 0, 2592000},
         {"habit_min_days", TH_PARAM_INT, "3",
          "An enumeration burst of an identity that had such bursts on at least this many "
          "earlier days within habit_lookback is its routine: info (a nightly scanner). 0 turns "
          "this off",
          true, 0, 63},
         {"habit_lookback", TH_PARAM_DURATION, "\"30d\"",
          "How far back the earlier days of habit_min_days count (kept in the saved state)", true,
          86400, 5443200},
         {"max_principals", TH_PARAM_INT, "50000",
          "Principals tracked at once (memory bound; also the most enumeration habits kept)", true,
          100, 10000000}},
        {{"attack-tool-user-agent", severity::high, "API call from offensive security tooling",
          "T1087.004,T1580,T1526",
          "The user agent names an attack tool or penetration-testing OS (Kali, Parrot, "
          "Pentoo, Pacu, TruffleHog, S3 Browser, CloudFox, WeirdAAL, Stratus Red Team...). One "
          "finding per principal and tool per tool_window."},
         {"security-scanner-user-agent", severity::low, "API calls from a security scanner",
          "T1526,T1580",
          "The user agent names a cloud security scanner (ScoutSuite, Prowler, CloudSploit...): "
          "usually the security team, but also used by attackers for discovery."},
         {"access-denied-burst", severity::medium,
          "Access denied on many distinct APIs by one principal", "T1087.004,T1580,T1526",
          "At least denied_threshold distinct APIs returned AccessDenied/UnauthorizedOperation "
          "to one principal within denied_window: permission probing with a stolen key. One API "
          "failing repeatedly (a misconfigured application) never fires. High across "
          "denied_high_services services or with offensive tooling; low when only the console "
          "or a known scanner was denied."},
         {"enumeration-burst", severity::low,
          "Read-only enumeration across many services by one principal", "T1580,T1526,T1087.004",
          "At least enumeration_threshold distinct List/Describe/Get APIs over at least "
          "enumeration_min_services services within enumeration_window. Low alone (CSPM and "
          "inventory tools do this), medium after an access-denied burst of the same "
          "principal, high with offensive tooling; info when the identity had such a (low) "
          "burst on habit_min_days earlier days within habit_lookback (its routine)."}},
        kStateSchema};
    return i;
  }

  recon_tooling(const context& ctx, const config& cfg)
      : detector(ctx),
        tool_window_ms_(cfg.get_duration_ms("tool_window")),
        denied_threshold_(static_cast<size_t>(cfg.get_int("denied_threshold"))),
        denied_high_services_(static_cast<size_t>(cfg.get_int("denied_high_services"))),
        enum_enabled_(cfg.get_bool("enumeration_enabled")),
        enum_threshold_(static_cast<size_t>(cfg.get_int("enumeration_threshold"))),
        enum_min_services_(static_cast<size_t>(cfg.get_int("enumeration_min_services"))),
        burst_repeat_ms_(cfg.get_duration_ms("burst_repeat")),
        max_principals_(static_cast<size_t>(cfg.get_int("max_principals"))),
        denied_(cfg.get_duration_ms("denied_window"), max_principals_),
        enum_(cfg.get_duration_ms("enumeration_window"), max_principals_),
        habits_(cfg.get_int("habit_min_days"), cfg.get_duration_ms("habit_lookback"),
                max_principals_) {
    for (auto& s : cfg.get_list("attack_tool_user_agents"))
      if (!s.empty()) attack_.push_back(util::to_lower(s));
    for (auto& s : cfg.get_list("scanner_user_agents"))
      if (!s.empty()) scanners_.push_back(util::to_lower(s));
  }

  // Called for every record: the common uninteresting one (a write, a data event, a service)
  // costs a few flag and length checks and one user-agent cache hit, with no allocation.
  void on_event(const event& e) override {
    if (util::service_actor(e)) return;
    const bool denied = e.failed() && util::is_access_denied_code(e.error_code());
    const bool enum_candidate =
        enum_enabled_ && read_like(e) && !util::equals(e.category(), "Data");
    const ua_info& ua = classify_agent(e.user_agent());
    if (ua.tool.empty() && !denied && !enum_candidate) return;
    const std::string_view key = util::principal_key(e);
    if (key.empty()) return;
    if (!ua.tool.empty()) on_tool(e, key, ua);
    if (denied) on_denied(e, key, ua);
    if (enum_candidate) on_read(e, key, ua);
  }

  void on_tick(int64_t t) override {
    denied_.evict(t);
    enum_.evict(t);
    for (auto it = tool_seen_.begin(); it != tool_seen_.end();) {
      if (it->second < t - tool_window_ms_)
        it = tool_seen_.erase(it);
      else
        ++it;
    }
    for (auto it = burst_alerted_.begin(); it != burst_alerted_.end();) {
      if (it->second < t - burst_repeat_ms_)
        it = burst_alerted_.erase(it);
      else
        ++it;
    }
    for (auto it = denied_principals_.begin(); it != denied_principals_.end();) {
      if (it->second < t - tool_window_ms_)
        it = denied_principals_.erase(it);
      else
        ++it;
    }
    for (auto it = attack_principals_.begin(); it != attack_principals_.end();) {
      if (it->second < t - tool_window_ms_)
        it = attack_principals_.erase(it);
      else
        ++it;
    }
  }

  // --------------------------------------------------------------------------------------
  // Persistence: without it a run that starts at midnight forgets yesterday's bursts and
  // reports the nightly scanner again (burst_repeat), windows open at the split restart, and
  // daily runs never learn the scanner's habit.
  std::string save_state() const override {
    bl::writer w;
    w.str().append(kMagic);
    w.u(kStateSchema);
    for (auto* m : {&tool_seen_, &attack_principals_, &burst_alerted_, &denied_principals_})
      save_times(w, *m);
    size_t budget = kMaxStateBytes;
    for (auto* win : {&denied_, &enum_}) save_window(w, *win, budget);
    habits_.save(w);
    return std::move(w.str());
  }

  void load_state(uint32_t schema_version, std::string_view data) override {
    if (schema_version != kStateSchema)
      throw std::runtime_error("recon-tooling state: unknown schema " +
                               std::to_string(schema_version));
    bl::reader r(data);
    r.expect(kMagic);
    if (r.u() != kStateSchema) throw std::runtime_error("recon-tooling state: bad header");
    // Everything is read into fresh tables first: a corrupt blob leaves the detector fresh.
    string_map<int64_t> times[4];
    for (auto& m : times) load_times(r, m);
    string_map<window_state> wins[2];
    for (auto& m : wins) load_window(r, m);
    habit::book habits = habits_.empty();
    habits.load(r);
    if (!r.done()) throw std::runtime_error("recon-tooling state: trailing bytes");
    habits_ = std::move(habits);
    tool_seen_ = std::move(times[0]);
    attack_principals_ = std::move(times[1]);
    burst_alerted_ = std::move(times[2]);
    denied_principals_ = std::move(times[3]);
    denied_.replace(std::move(wins[0]));
    enum_.replace(std::move(wins[1]));
  }

 private:
  // Entries sorted by key (the same state saves to the same bytes); the most recent
  // max_principals when there are more.
  void save_times(bl::writer& w, const string_map<int64_t>& m) const {
    auto entries = bl::sorted_entries(m);
    if (entries.size() > max_principals_) {
      std::stable_sort(entries.begin(), entries.end(),
                       [](auto& a, auto& b) { return *a.second > *b.second; });
      entries.resize(max_principals_);
      std::sort(entries.begin(), entries.end(),
                [](auto& a, auto& b) { return *a.first < *b.first; });
    }
    w.u(entries.size());
    for (auto& [k, t] : entries) {
      w.s(*k);
      w.i(*t);
    }
  }
  void load_times(bl::reader& r, string_map<int64_t>& m) const {
    for (uint64_t n = r.count(2), j = 0; j < n; ++j) {
      std::string k = r.s();
      int64_t t = r.i();
      if (m.size() < max_principals_) m.emplace(std::move(k), t);
    }
  }

  // Per key: times, flags, codes and agents, the live items (latest kMaxSavedItems) and the
  // event references, written until `budget` bytes are used.
  void save_window(bl::writer& out, const api_window& win, size_t& budget) const {
    bl::writer w;
    uint64_t n = 0;
    for (auto& [key, sp] : bl::sorted_entries(win.states())) {
      const window_state& s = *sp;
      if (n >= max_principals_ || w.str().size() >= budget) break;
      ++n;
      w.s(*key);
      w.i(s.max_ms);
      w.i(s.cooldown_until);
      w.i(s.calls);
      w.u((s.all_console ? 1u : 0u) | (s.all_benign_agent ? 2u : 0u));
      for (auto* list : {&s.codes, &s.agents}) {
        w.u(list->size());
        for (auto& x : *list) w.s(x);
      }
      std::vector<std::pair<const std::string*, int64_t>> items;
      for (auto& [item, t] : s.items)
        if (t >= s.max_ms - win.window_ms()) items.emplace_back(&item, t);  // stale: not saved
      if (items.size() > kMaxSavedItems) {
        std::nth_element(items.begin(), items.begin() + kMaxSavedItems - 1, items.end(),
                         [](auto& a, auto& b) { return a.second > b.second; });
        items.resize(kMaxSavedItems);
      }
      std::sort(items.begin(), items.end(), [](auto& a, auto& b) { return *a.first < *b.first; });
      w.u(items.size());
      for (auto& [item, t] : items) {
        w.s(*item);
        w.i(t);
      }
      w.u(s.event_count());
      for (size_t i = s.head; i < s.refs.size(); ++i) {
        w.i(s.refs[i].t);
        w.s(s.id_of(s.refs[i]));
        w.s(s.name_of(s.refs[i]));
      }
    }
    budget -= std::min(budget, w.str().size());
    out.u(n);
    out.str().append(w.str());
  }
  void load_window(bl::reader& r, string_map<window_state>& m) const {
    for (uint64_t n = r.count(8), j = 0; j < n; ++j) {
      std::string key = r.s();
      window_state s;
      s.max_ms = r.i();
      s.cooldown_until = r.i();
      s.calls = r.i();
      uint64_t flags = r.u();
      s.all_console = flags & 1u;
      s.all_benign_agent = flags & 2u;
      for (auto* list : {&s.codes, &s.agents}) {
        uint64_t k = r.count();
        if (k > 10) bl::reader::fail();  // add_unique caps: 10 codes, 5 agents
        for (uint64_t q = 0; q < k; ++q) list->push_back(r.s());
      }
      uint64_t items = r.count(2);
      if (items > kMaxSavedItems) bl::reader::fail();
      for (uint64_t q = 0; q < items; ++q) {
        std::string item = r.s();
        int64_t t = r.i();
        s.oldest = std::min(s.oldest, t);
        s.items.emplace(std::move(item), t);
      }
      s.prune_at = std::max<size_t>(64, 2 * s.items.size());
      uint64_t events = r.count(3);
      if (events > api_window::kMaxEvents) bl::reader::fail();
      for (uint64_t q = 0; q < events; ++q) {
        int64_t t = r.i();
        std::string id = r.s();
        std::string name = r.s();
        s.push_event(t, id, name);
      }
      if (m.size() < max_principals_) m.emplace(std::move(key), std::move(s));
    }
  }

  struct ua_info {
    std::string tool;  // matched pattern ("" = none)
    bool scanner = false;
    bool console = false;
    bool iac = false;
  };

  // Every event needs its user agent classified, and a few agents make most of the traffic:
  // a small direct-mapped table indexed by a fingerprint of the agent (length and three 8-byte
  // samples), verified by one comparison, answers before any hashing of the whole string.
  struct ua_slot {
    std::string ua;
    const ua_info* info = nullptr;
  };
  static constexpr size_t kUaSlots = 64;
  static size_t ua_slot_of(std::string_view ua) {
    uint64_t h = ua.size() * 0x9e3779b97f4a7c15ull;
    if (ua.size() >= 8) {
      uint64_t a, b, c;
      std::memcpy(&a, ua.data(), 8);
      std::memcpy(&b, ua.data() + ua.size() / 2 - 4, 8);
      std::memcpy(&c, ua.data() + ua.size() - 8, 8);
      h ^= (a * 0xbf58476d1ce4e5b9ull) ^ (b * 0x94d049bb133111ebull) ^ c;
      h *= 0xd6e8feb86659fd93ull;
    } else {
      for (char ch : ua) h = (h ^ static_cast<unsigned char>(ch)) * 0x100000001b3ull;
    }
    return static_cast<size_t>(h >> 58);  // kUaSlots == 64
  }
  const ua_info& classify_agent(std::string_view ua) {
    ua_slot& slot = ua_slots_[ua_slot_of(ua)];
    if (slot.info && util::equals(slot.ua, ua)) return *slot.info;
    const ua_info& info = classify_agent_slow(ua);
    slot.ua.assign(ua);
    slot.info = &info;
    return info;
  }
  const ua_info& classify_agent_slow(std::string_view ua) {
    auto it = ua_cache_.find(ua);
    if (it != ua_cache_.end()) return it->second;
    if (ua_cache_.size() >= MAX_UA_CACHE) {
      ua_cache_.clear();
      for (auto& s : ua_slots_) s.info = nullptr;  // they pointed into the cache
    }
    ua_info info;
    std::string lower = util::to_lower(ua);
    for (auto& p : attack_)
      if (match_token(lower, p)) {
        info.tool = p;
        break;
      }
    if (info.tool.empty())
      for (auto& p : scanners_)
        if (match_token(lower, p)) {
          info.tool = p;
          info.scanner = true;
          break;
        }
    info.console = console_agent(lower);
    info.iac = iac_agent(lower);
    return ua_cache_.emplace(std::string(ua), std::move(info)).first->second;
  }

  // "ec2.amazonaws.com" + "DescribeInstances" -> "ec2:DescribeInstances", in a reused buffer
  // (a fixed array for the usual short names: no capacity checks, no terminator writes).
  std::string_view api_item(const event& e) {
    static constexpr std::string_view kSuffix = ".amazonaws.com";
    std::string_view src = e.source();
    // The usual source ends with the suffix and has no other dot: no substring search needed.
    if (src.ends_with(kSuffix) &&
        src.substr(0, src.size() - kSuffix.size()).find('.') == std::string_view::npos) {
      src.remove_suffix(kSuffix.size());
    } else {
      size_t dot = src.find(kSuffix);
      if (dot != std::string_view::npos) src = src.substr(0, dot);
    }
    std::string_view name = e.name();
    if (src.size() + 1 + name.size() <= sizeof item_arr_) {
      char* out = std::copy(src.begin(), src.end(), item_arr_);  // std::copy: empty views ok
      *out++ = ':';
      std::copy(name.begin(), name.end(), out);
      return std::string_view(item_arr_, src.size() + 1 + name.size());
    }
    item_buf_.assign(src);
    item_buf_.push_back(':');
    item_buf_.append(name);
    return item_buf_;
  }

  severity adjust(severity s, const event& e) const {
    if (ctx().is_break_glass(e.principal_arn())) s = lower(s);
    if (util::from_trusted_ip(ctx(), e)) s = lower(s);
    return s;
  }

  // ------------------------------------------------------------------ tool user agents
  void on_tool(const event& e, std::string_view key, const ua_info& ua) {
    if (!ua.scanner) bump(attack_principals_, key, e.time_ms());
    std::string k = std::string(key) + "|" + ua.tool;
    auto it = tool_seen_.find(k);
    if (it != tool_seen_.end() && e.time_ms() < it->second + tool_window_ms_ &&
        e.time_ms() >= it->second - tool_window_ms_)
      return;
    if (tool_seen_.size() >= max_principals_) on_tick(e.time_ms());
    tool_seen_[k] = e.time_ms();
    finding f =
        make_finding(ua.scanner ? "security-scanner-user-agent" : "attack-tool-user-agent", e);
    f.sev = adjust(f.sev, e);
    f.summary = std::string(e.identity()) + " called " + std::string(e.source()) + " " +
                std::string(e.name()) + " with a user agent of " +
                (ua.scanner ? "the security scanner \"" : "offensive tooling \"") + ua.tool +
                "\" from " + std::string(e.source_ip()) + ".";
    f.ev.add("userAgent", e.user_agent())
        .add("matched", ua.tool)
        .add("eventSource", e.source())
        .add("eventName", e.name())
        .add("sourceIPAddress", e.source_ip())
        .add("principal", e.principal_arn());
    if (e.failed()) f.ev.add("errorCode", e.error_code());
    f.dedup_key = k;
    emit(f);
  }

  // True when `rule` already fired for this identity within burst_repeat (then counted only).
  bool repeat_suppressed(const char* rule, const event& e, bool tool) {
    if (tool || burst_repeat_ms_ <= 0) return false;
    std::string k = std::string(rule) + "|" + std::string(e.identity());
    auto it = burst_alerted_.find(k);
    if (it != burst_alerted_.end() && e.time_ms() - it->second < burst_repeat_ms_ &&
        e.time_ms() >= it->second) {
      ctx().count("repeat_bursts_suppressed");
      return true;
    }
    if (burst_alerted_.size() < max_principals_) burst_alerted_[k] = e.time_ms();
    return false;
  }

  bool attack_tool_recently(std::string_view key, int64_t t) const {
    auto it = attack_principals_.find(key);
    return it != attack_principals_.end() && t - it->second <= tool_window_ms_;
  }

  // ------------------------------------------------------------------ access denied burst
  void on_denied(const event& e, std::string_view key, const ua_info& ua) {
    window_state* s = denied_.get(key, e.time_ms());
    if (!s) return;
    if (!denied_.add(*s, api_item(e), e.time_ms(), e.id(), e.name())) return;
    ++s->calls;
    util::add_unique(s->codes, e.error_code(), 10);
    util::add_unique(s->agents, e.user_agent(), 5);
    if (!ua.console) s->all_console = false;
    if (!ua.scanner && !ua.console) s->all_benign_agent = false;
    if (!denied_.crossed(*s, denied_threshold_)) return;
    const size_t services = api_window::services(*s);
    auto apis = api_window::sorted_items(*s, MAX_EVIDENCE_ITEMS);
    bool tool = attack_tool_recently(key, e.time_ms());
    bump(denied_principals_, key, e.time_ms());
    if (repeat_suppressed("access-denied-burst", e, tool)) {
      denied_.reset_after_alert(*s);
      return;
    }
    finding f = make_finding("access-denied-burst", e);
    api_window::fill_events(f, *s, MAX_EVIDENCE_EVENTS);
    if (tool || services >= denied_high_services_) f.sev = severity::high;
    if (s->all_benign_agent && !tool) f.sev = severity::low;  // console page loads, scanners
    f.sev = adjust(f.sev, e);
    f.summary = std::string(e.identity()) + " was denied " + std::to_string(s->items.size()) +
                " distinct APIs across " + std::to_string(services) + " services within " +
                std::to_string(denied_.window_ms() / 60000) + " minutes" +
                (tool ? " while using offensive tooling." : ".");
    f.ev.add("principal", e.principal_arn())
        .add("distinctDeniedApis", static_cast<uint64_t>(s->items.size()))
        .add("services", static_cast<uint64_t>(services))
        .add("threshold", static_cast<uint64_t>(denied_threshold_))
        .add("calls", s->calls)
        .add("deniedApis", apis)
        .add("errorCodes", s->codes)
        .add("userAgents", s->agents)
        .add_bool("consoleOnly", s->all_console)
        .add_bool("attackToolSeen", tool);
    f.dedup_key = std::string(key);
    emit(f);
    denied_.reset_after_alert(*s);
  }

  // ------------------------------------------------------------------ enumeration
  void on_read(const event& e, std::string_view key, const ua_info& ua) {
    window_state* s = enum_.get(key, e.time_ms());
    if (!s) return;
    if (!enum_.add(*s, api_item(e), e.time_ms(), e.id(), e.name())) return;
    ++s->calls;
    util::add_unique(s->agents, e.user_agent(), 5);
    if (!ua.console) s->all_console = false;
    if (!ua.scanner && !ua.console && !ua.iac) s->all_benign_agent = false;
    if (!enum_.crossed(*s, enum_threshold_)) return;
    // Checked before building the evidence: a principal over the threshold on too few services
    // (an application) comes back here with every call.
    const size_t services = api_window::services(*s);
    if (services < enum_min_services_) return;
    auto apis = api_window::sorted_items(*s, MAX_EVIDENCE_ITEMS);
    bool tool = attack_tool_recently(key, e.time_ms());
    auto dp = denied_principals_.find(key);
    bool probed = dp != denied_principals_.end() && e.time_ms() - dp->second <= tool_window_ms_;
    const bool escalated = tool || (probed && !s->all_benign_agent);
    // Habits of the identity (the role, not the session: a scanner's session name changes every
    // night), learned from plain (low) bursts only: an escalated burst is never routine.
    habit::verdict routine;
    if (!escalated) {
      const uint64_t hk = habit::key_of(e.identity(), "enumeration-burst");
      routine = habits_.check(hk, e.time_ms());
      habits_.record(hk, e.time_ms());
    }
    if (repeat_suppressed("enumeration-burst", e, tool)) {
      enum_.reset_after_alert(*s);
      return;
    }
    finding f = make_finding("enumeration-burst", e);
    api_window::fill_events(f, *s, MAX_EVIDENCE_EVENTS);
    if (tool)
      f.sev = severity::high;
    else if (probed && !s->all_benign_agent)
      f.sev = severity::medium;
    f.sev = adjust(f.sev, e);
    if (routine.habitual) f.sev = severity::info;
    f.summary = std::string(e.identity()) + " called " + std::to_string(s->items.size()) +
                " distinct read-only APIs across " + std::to_string(services) +
                " services within " + std::to_string(enum_.window_ms() / 60000) + " minutes.";
    f.ev.add("principal", e.principal_arn())
        .add("distinctApis", static_cast<uint64_t>(s->items.size()))
        .add("services", static_cast<uint64_t>(services))
        .add("threshold", static_cast<uint64_t>(enum_threshold_))
        .add("calls", s->calls)
        .add("apis", apis)
        .add("userAgents", s->agents)
        .add_bool("deniedBurstSeen", probed)
        .add_bool("attackToolSeen", tool);
    if (routine.habitual) {
      f.ev.add_json("habitual", habits_.evidence_json(routine));
      f.summary += " It had such bursts on " + std::to_string(routine.earlier_days) +
                   " earlier days since " + trailhound::baseline::iso_time(routine.first_ms) +
                   " (its routine).";
    }
    f.dedup_key = std::string(key);
    emit(f);
    enum_.reset_after_alert(*s);
  }

  int64_t tool_window_ms_;
  size_t denied_threshold_;
  size_t denied_high_services_;
  bool enum_enabled_;
  size_t enum_threshold_, enum_min_services_;
  int64_t burst_repeat_ms_;
  size_t max_principals_;
  std::vector<std::string> attack_, scanners_;
  string_map<ua_info> ua_cache_;
  ua_slot ua_slots_[kUaSlots];
  char item_arr_[128];
  std::string item_buf_;
  string_map<int64_t> tool_seen_;          // principal|tool -> last alert
  string_map<int64_t> attack_principals_;  // principal -> last tool call
  string_map<int64_t> burst_alerted_;      // rule|identity -> last alert
  string_map<int64_t> denied_principals_;  // principal -> last denied burst
  api_window denied_, enum_;
  habit::book habits_;  // identity -> days with a plain enumeration burst
};

}  // namespace

TRAILHOUND_MODULE("recon-tooling", "1.0.0", recon_tooling)
