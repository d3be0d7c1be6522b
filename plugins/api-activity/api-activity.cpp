// SPDX-License-Identifier: Apache-2.0
// api-activity: per-identity behavioural baselines (hourly call rate, authorization-error bursts,
// service sprawl) and first use of a region by an account or an identity.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <map>
#include <string>
#include <string_view>
#include <trailhound/baseline.hpp>
#include <trailhound/sdk.hpp>
#include <trailhound/util.hpp>
#include <unordered_map>
#include <utility>
#include <vector>

namespace {
using namespace trailhound::sdk;
namespace bl = trailhound::baseline;
using util::string_map;

constexpr int64_t kDisorderMs = 5 * 60 * 1000;
constexpr size_t kMaxHourNames = 24;    // distinct eventSource:eventName kept per open hour
constexpr size_t kMaxHourSources = 64;  // distinct eventSources kept per open hour
constexpr size_t kMaxDenied = 32;       // distinct denied actions kept per open hour
constexpr size_t kMaxRegions = 64;      // region ids fit a 64-bit mask
constexpr size_t kMaxPendingIds = 20;
constexpr std::string_view kMagic = "THAA1";

// Authorization failures: what a stolen key with unknown permissions produces while probing.
bool authorization_error(std::string_view code) {
  if (code.empty()) return false;
  return bl::starts_with(code, "AccessDenied") || bl::contains(code, "UnauthorizedOperation") ||
         bl::contains(code, "NotAuthorized") || bl::contains(code, "Unauthorized") ||
         code == "AuthorizationError" || code == "AuthorizationErrorException" ||
         code == "Forbidden" || code == "ForbiddenException";
}

// Services whose calls are logged in us-east-1 (or one fixed region) whatever the caller's
// region, and STS whose regional endpoints SDKs pick for themselves: no evidence of region use.
bool global_service(std::string_view source) {
  static constexpr std::string_view kGlobal[] = {"iam.amazonaws.com",
                                                 "sts.amazonaws.com",
                                                 "signin.amazonaws.com",
                                                 "organizations.amazonaws.com",
                                                 "cloudfront.amazonaws.com",
                                                 "route53.amazonaws.com",
                                                 "route53domains.amazonaws.com",
                                                 "support.amazonaws.com",
                                                 "health.amazonaws.com",
                                                 "budgets.amazonaws.com",
                                                 "ce.amazonaws.com",
                                                 "account.amazonaws.com",
                                                 "billingconsole.amazonaws.com",
                                                 "payments.amazonaws.com",
                                                 "trustedadvisor.amazonaws.com",
                                                 "globalaccelerator.amazonaws.com",
                                                 "networkmanager.amazonaws.com",
                                                 "shield.amazonaws.com",
                                                 "waf.amazonaws.com",
                                                 "sso.amazonaws.com",
                                                 "sso-directory.amazonaws.com",
                                                 "identitystore.amazonaws.com",
                                                 "notifications.amazonaws.com",
                                                 "cur.amazonaws.com",
                                                 "pricing.amazonaws.com",
                                                 "tax.amazonaws.com",
                                                 "freetier.amazonaws.com",
                                                 "uxc.amazonaws.com",
                                                 "resource-explorer-2.amazonaws.com"};
  for (std::string_view g : kGlobal)
    if (source == g) return true;
  return false;
}

// Running statistics of one metric over the ring (hours other than the one being judged).
struct ring_stats {
  double mean = 0, stddev = 0, window_peak = 0;
  int64_t hours = 0;
};

class api_activity final : public detector {
 public:
  static const detector_info& info() {
    static const detector_info i{
        "api-activity",
        "1.0.0",
        "Unusual API activity against the identity's own baseline",
        "Learns, per identity (the role ARN for assumed roles, the ARN otherwise), its hourly "
        "management API call count, authorization-error count and number of distinct services, "
        "and reports hours far above that identity's own history. Also reports the first use of "
        "a region by an account (and by an identity) after warm-up.",
        {{"*", "*"}},
        {
            {"history_days", TH_PARAM_INT, "14",
             "Days of hourly history kept per identity (the baseline window).", true, 1, 90},
            {"min_history_hours", TH_PARAM_INT, "168",
             "Hours between an identity's first event and the judged hour before any rate, "
             "error or sprawl rule can fire for it.",
             true, 1, 2160},
            {"rate_floor", TH_PARAM_INT, "300",
             "Calls per hour never reported whatever the baseline (quiet identities).", true, 1,
             100000000},
            {"stddev_factor", TH_PARAM_DOUBLE, "6",
             "k in mean + k * standard deviation of the identity's hourly history.", true, 1, 100},
            {"peak_factor", TH_PARAM_DOUBLE, "1.5",
             "The hour must also exceed this multiple of the identity's historical peak hour "
             "(decaying, see peak_half_life); 0 disables the peak test.",
             true, 0, 100},
            {"peak_half_life", TH_PARAM_DURATION, "\"30d\"",
             "Half-life of the remembered peak hour (keeps monthly jobs normal).", true, 3600,
             31536000},
            {"error_floor", TH_PARAM_INT, "20",
             "Authorization errors per hour never reported whatever the baseline.", true, 1,
             10000000},
            {"sprawl_floor", TH_PARAM_INT, "8",
             "Distinct eventSources per hour never reported whatever the baseline.", true, 2, 500},
            {"sprawl_factor", TH_PARAM_DOUBLE, "2",
             "Distinct eventSources in an hour must exceed this multiple of the identity's "
             "historical maximum.",
             true, 1, 100},
            {"include_data_events", TH_PARAM_BOOL, "false",
             "Also count data events (S3 object, Lambda invoke...) in the rate baseline.", false, 0,
             0},
            {"warmup", TH_PARAM_DURATION, "\"7d\"",
             "Event time an account (and an identity) must be observed before a first region "
             "use is news.",
             true, 0, 31536000},
            {"region_window", TH_PARAM_DURATION, "\"1h\"",
             "New regions of one account (or identity) within this window are one finding.", true,
             60, 86400},
            {"retention", TH_PARAM_DURATION, "\"90d\"",
             "Identities and accounts not seen for this long are forgotten.", true, 86400,
             63072000},
            {"max_identities", TH_PARAM_INT, "10000",
             "Most identities with a baseline; the least recently seen are forgotten beyond.", true,
             10, 1000000},
        },
        {
            {"api-call-rate-spike", severity::medium,
             "API call rate far above the identity's own hourly baseline", "T1078,T1580,T1087",
             "Management API calls of one identity in one hour above max(rate_floor, mean + "
             "stddev_factor * stddev, peak_factor * historical peak) of its own hourly history."},
            {"api-error-burst", severity::medium,
             "Burst of authorization errors above the identity's norm", "T1078,T1580,T1069",
             "AccessDenied / UnauthorizedOperation / *NotAuthorized* errors of one identity in one "
             "hour above max(error_floor, its own baseline). Low when a single action is retried, "
             "high when many distinct actions were denied (permission enumeration)."},
            {"service-sprawl", severity::medium,
             "Identity touched far more services than it ever does", "T1580,T1526",
             "Distinct eventSources of one identity in one hour above max(sprawl_floor, "
             "sprawl_factor * its historical hourly maximum)."},
            {"new-region-for-account", severity::medium, "First use of a region by the account",
             "T1535",
             "After warm-up, an account used a region never seen in it before (global services "
             "and AWS-service events excluded). High for a sweep of 3+ regions or changes made "
             "there."},
            {"new-region-for-identity", severity::low,
             "Identity used a region it never used before", "T1535",
             "After warm-up, an identity used a region the account already uses but that this "
             "identity never did."},
        },
        /*state_schema_version=*/1};
    return i;
  }

  api_activity(const context& ctx, const config& cfg)
      : detector(ctx),
        slots_(static_cast<size_t>(cfg.get_int("history_days") * 24)),
        min_history_hours_(cfg.get_int("min_history_hours")),
        rate_floor_(static_cast<double>(cfg.get_int("rate_floor"))),
        k_(cfg.get_double("stddev_factor")),
        peak_factor_(cfg.get_double("peak_factor")),
        peak_half_life_h_(std::max<double>(
            1.0, cfg.get_duration_ms("peak_half_life") / static_cast<double>(bl::kHourMs))),
        error_floor_(static_cast<double>(cfg.get_int("error_floor"))),
        sprawl_floor_(static_cast<double>(cfg.get_int("sprawl_floor"))),
        sprawl_factor_(cfg.get_double("sprawl_factor")),
        data_events_(cfg.get_bool("include_data_events")),
        warmup_ms_(cfg.get_duration_ms("warmup")),
        region_window_ms_(cfg.get_duration_ms("region_window")),
        retention_ms_(cfg.get_duration_ms("retention")),
        max_identities_(static_cast<size_t>(cfg.get_int("max_identities"))) {}

  void on_event(const event& e) override {
    if (e.aws_service()) return;
    std::string_view cat = e.category();
    if (util::equals(cat, "Insight") || (util::equals(cat, "Data") && !data_events_)) return;
    std::string_view who = e.identity();
    if (who.empty()) return;
    const int64_t t = e.time_ms();
    std::string_view acct_id =
        e.recipient_account().empty() ? e.principal_account() : e.recipient_account();
    account_state& acct = account(acct_id, t);
    identity_state* id = identity(who, acct_id, t);
    if (!id) return;

    const int64_t h = bl::hour_of(t);
    if (!advance(*id, h)) return;  // older than the ring: too late to count
    const size_t idx = slot(h);
    if (id->calls[idx] < UINT32_MAX) ++id->calls[idx];
    const bool head = h == id->head_hour;
    if (head) note_name(*id, e);

    if (authorization_error(e.error_code())) {
      if (id->errors[idx] < UINT16_MAX) ++id->errors[idx];
      if (head) note_denied(*id, e);
      check_errors(*id, e, h, idx);
    }
    note_source(*id, e, h, idx);
    check_rate(*id, e, h, idx);
    check_regions(acct, *id, e, acct_id);
  }

  void on_tick(int64_t now_ms) override {
    flush_regions(now_ms, false);
    if (now_ms - last_ageing_ms_ >= bl::kDayMs) {
      last_ageing_ms_ = now_ms;
      const int64_t cut = now_ms - retention_ms_;
      forget_cached_entries();
      std::erase_if(identities_, [&](const auto& kv) { return kv.second.last_ms < cut; });
      std::erase_if(accounts_, [&](const auto& kv) { return kv.second.last_ms < cut; });
    }
  }

  void on_flush() override { flush_regions(0, true); }

  std::string save_state() const override {
    bl::writer w;
    w.str().append(kMagic);
    w.u(slots_);
    w.u(regions_.size());
    for (auto& r : regions_) w.s(r);
    w.u(accounts_.size());
    for (auto& [name, a] : bl::sorted_entries(accounts_)) {
      w.s(*name);
      w.i(a->first_ms);
      w.i(a->last_ms);
      w.u(a->regions);
    }
    w.u(identities_.size());
    for (auto& [name, sp] : bl::sorted_entries(identities_)) {
      const identity_state& s = *sp;
      w.s(*name);
      w.s(s.account);
      w.i(s.first_ms);
      w.i(s.last_ms);
      w.i(s.head_hour);
      for (size_t j = 0; j < slots_; ++j) w.u(s.calls[j]);
      for (size_t j = 0; j < slots_; ++j) w.u(s.errors[j]);
      for (size_t j = 0; j < slots_; ++j) w.u(s.sources[j]);
      for (auto* set : {&s.src_head, &s.src_prev}) {
        w.u(set->size());
        for (size_t j = 0; j < set->size(); ++j) w.s((*set)[j]);
      }
      w.d(s.peak_calls);
      w.d(s.peak_errors);
      w.d(s.peak_sources);
      w.i(s.peak_hour);
      w.i(s.rate_fired);
      w.i(s.error_fired);
      w.i(s.sprawl_fired);
      w.i(s.alert_hour);
      w.u(s.alerts_in_hour);
      w.u(s.regions);
    }
    return std::move(w.str());
  }

  void load_state(uint32_t version, std::string_view data) override {
    if (version != 1) bl::reader::fail();
    bl::reader r(data);
    r.expect(kMagic);
    const size_t stored_slots = r.u();
    std::vector<std::string> regions;
    for (uint64_t n = r.count(), j = 0; j < n; ++j) regions.push_back(r.s());
    if (regions.size() > kMaxRegions) bl::reader::fail();
    string_map<account_state> accounts;
    for (uint64_t n = r.count(), j = 0; j < n; ++j) {
      std::string name = r.s();
      account_state a;
      a.first_ms = r.i();
      a.last_ms = r.i();
      a.regions = r.u();
      accounts.emplace(std::move(name), a);
    }
    string_map<identity_state> ids;
    for (uint64_t n = r.count(stored_slots * 3), j = 0; j < n; ++j) {
      std::string name = r.s();
      identity_state s;
      s.account = r.s();
      s.first_ms = r.i();
      s.last_ms = r.i();
      s.head_hour = r.i();
      std::vector<uint64_t> calls(stored_slots), errors(stored_slots), sources(stored_slots);
      for (auto& x : calls) x = r.u();
      for (auto& x : errors) x = r.u();
      for (auto& x : sources) x = r.u();
      for (auto* set : {&s.src_head, &s.src_prev})
        for (uint64_t m = r.count(), q = 0; q < m; ++q) set->push_back(r.s());
      s.peak_calls = r.d();
      s.peak_errors = r.d();
      s.peak_sources = r.d();
      s.peak_hour = r.i();
      s.rate_fired = r.i();
      s.error_fired = r.i();
      s.sprawl_fired = r.i();
      s.alert_hour = r.i();
      s.alerts_in_hour = static_cast<int>(r.u());
      s.regions = r.u();
      allocate(s);
      // A different history_days: keep the identity and its peaks, re-learn the hourly ring.
      if (stored_slots == slots_) {
        for (size_t q = 0; q < slots_; ++q) {
          s.calls[q] = static_cast<uint32_t>(std::min<uint64_t>(calls[q], UINT32_MAX));
          s.errors[q] = static_cast<uint16_t>(std::min<uint64_t>(errors[q], UINT16_MAX));
          s.sources[q] = static_cast<uint8_t>(std::min<uint64_t>(sources[q], UINT8_MAX));
        }
      }
      ids.emplace(std::move(name), std::move(s));
    }
    if (!r.done()) bl::reader::fail();
    regions_ = std::move(regions);
    last_region_id_ = -1;
    accounts_ = std::move(accounts);
    identities_ = std::move(ids);
    forget_cached_entries();
  }

 private:
  struct account_state {
    int64_t first_ms = 0, last_ms = 0;
    uint64_t regions = 0;
  };
  struct identity_state {
    std::string account;
    int64_t first_ms = 0, last_ms = 0;
    int64_t head_hour = INT64_MIN;
    std::vector<uint32_t> calls;              // ring of hourly management call counts
    std::vector<uint16_t> errors;             // ring of hourly authorization errors
    std::vector<uint8_t> sources;             // ring of hourly distinct eventSources
    util::packed_strings src_head, src_prev;  // eventSources of head_hour and the hour before
    double peak_calls = 0, peak_errors = 0, peak_sources = 0;  // decaying long-term peaks
    int64_t peak_hour = INT64_MIN;
    int64_t rate_fired = INT64_MIN, error_fired = INT64_MIN, sprawl_fired = INT64_MIN;
    int64_t alert_hour = INT64_MIN;  // hour of the behaviours reported so far
    int alerts_in_hour = 0;
    uint64_t regions = 0;
    // Not persisted: detail of the open hour for evidence, and cached thresholds.
    util::packed_strings names;  // "eventSource:eventName" called in the head hour...
    struct call_count {
      uint64_t key;  // call_key()
      uint32_t count;
    };
    std::vector<call_count> name_calls;  // ...and how often
    std::vector<std::string> denied;
    int64_t rate_thr_hour = INT64_MIN, error_thr_hour = INT64_MIN;
    double rate_thr = 0, error_thr = 0;
    ring_stats rate_stats, error_stats;
  };
  struct pending_region {
    bool account_level = false;
    std::string key, account, principal, identity, source_ip, user_agent;
    int64_t start_ms = 0, last_ms = 0;
    std::vector<std::string> regions, event_ids, event_names, write_calls;
    bool any_success = false;
    bool trusted_only = true;
  };

  size_t slot(int64_t hour) const {
    int64_t m = hour % static_cast<int64_t>(slots_);
    return static_cast<size_t>(m < 0 ? m + static_cast<int64_t>(slots_) : m);
  }
  void allocate(identity_state& s) const {
    s.calls.assign(slots_, 0);
    s.errors.assign(slots_, 0);
    s.sources.assign(slots_, 0);
  }

  account_state& account(std::string_view name, int64_t t) {
    // Consecutive events mostly share the account: reuse the last entry instead of hashing.
    // (Identities interleave too much for the same trick to pay off.)
    if (!last_acct_ || !util::equals(name, last_acct_name_)) {
      auto it = accounts_.find(name);
      if (it == accounts_.end())
        it = accounts_.emplace(std::string(name), account_state{t, t, 0}).first;
      last_acct_name_.assign(name);
      last_acct_ = &it->second;
    }
    account_state& a = *last_acct_;
    a.first_ms = std::min(a.first_ms, t);
    a.last_ms = std::max(a.last_ms, t);
    return a;
  }

  identity_state* identity(std::string_view who, std::string_view acct, int64_t t) {
    identity_state& s = util::cached_entry(identities_, recent_ids_, who, [&] {
      if (identities_.size() >= max_identities_) evict_identities();
      identity_state fresh;
      fresh.account = std::string(acct);
      fresh.first_ms = fresh.last_ms = t;
      allocate(fresh);
      return fresh;
    });
    s.first_ms = std::min(s.first_ms, t);
    s.last_ms = std::max(s.last_ms, t);
    return &s;
  }

  // Drops the caches of account() and identity() before entries are erased.
  void forget_cached_entries() {
    last_acct_ = nullptr;
    recent_ids_.clear();
  }

  // Forgets the least recently seen tenth of the identities.
  void evict_identities() {
    forget_cached_entries();
    const size_t removed = bl::evict_oldest_tenth(
        identities_, [](const auto& s) { return s.last_ms; }, bl::evict_ties::older_first);
    ctx().count("identities_evicted", static_cast<int64_t>(removed));
  }

  double decayed(double peak, int64_t from_hour, int64_t to_hour) const {
    if (from_hour == INT64_MIN || to_hour <= from_hour) return peak;
    return peak * std::exp2(-static_cast<double>(to_hour - from_hour) / peak_half_life_h_);
  }

  // Moves the identity's ring forward to `h`. False when h is older than the ring holds.
  bool advance(identity_state& s, int64_t h) {
    const auto n_slots = static_cast<int64_t>(slots_);
    if (s.head_hour == INT64_MIN) {
      s.head_hour = h;
      s.peak_hour = h;
      return true;
    }
    if (h <= s.head_hour) return h > s.head_hour - n_slots;
    // Fold the closing head hour into the long-term peaks.
    const size_t old = slot(s.head_hour);
    s.peak_calls = std::max(decayed(s.peak_calls, s.peak_hour, s.head_hour), double(s.calls[old]));
    s.peak_errors =
        std::max(decayed(s.peak_errors, s.peak_hour, s.head_hour), double(s.errors[old]));
    s.peak_sources =
        std::max(decayed(s.peak_sources, s.peak_hour, s.head_hour), double(s.sources[old]));
    s.peak_hour = s.head_hour;
    const int64_t steps = std::min(h - s.head_hour, n_slots);
    for (int64_t j = 1; j <= steps; ++j) {
      const size_t q = slot(h - steps + j);
      s.calls[q] = 0;
      s.errors[q] = 0;
      s.sources[q] = 0;
    }
    if (h == s.head_hour + 1)
      s.src_prev.swap(s.src_head);  // swapped, not moved: both keep their buffers
    else
      s.src_prev.clear();
    s.src_head.clear();
    s.names.clear();
    s.name_calls.clear();
    s.denied.clear();
    s.head_hour = h;
    return true;
  }

  // Mean, standard deviation and maximum of one ring over the identity's known hours, excluding
  // hour `h` itself.
  template <class T>
  ring_stats stats(const identity_state& s, const std::vector<T>& ring, int64_t h) const {
    ring_stats r;
    const int64_t lo = std::max(bl::hour_of(s.first_ms), s.head_hour - int64_t(slots_) + 1);
    double sum = 0, sumsq = 0;
    for (int64_t x = lo; x <= s.head_hour; ++x) {
      if (x == h) continue;
      const double v = ring[slot(x)];
      sum += v;
      sumsq += v * v;
      r.window_peak = std::max(r.window_peak, v);
      ++r.hours;
    }
    if (r.hours > 0) {
      r.mean = sum / double(r.hours);
      r.stddev = std::sqrt(std::max(0.0, sumsq / double(r.hours) - r.mean * r.mean));
    }
    return r;
  }

  bool enough_history(const identity_state& s, int64_t h) const {
    return h - bl::hour_of(s.first_ms) >= min_history_hours_;
  }

  // True when `text` is "<src>:<name>": compared piecewise, so that the hot path does not build
  // the string (it is built only when added).
  static bool is_call(std::string_view text, std::string_view src, std::string_view name) {
    return text.size() == src.size() + 1 + name.size() && text[src.size()] == ':' &&
           text.starts_with(src) && text.ends_with(name);
  }
  static std::string call_text(const event& e) {
    const std::string_view src = e.source(), name = e.name();
    std::string out;  // one allocation instead of three temporaries
    out.reserve(src.size() + 1 + name.size());
    out.append(src).append(1, ':').append(name);
    return out;
  }

  // Up to 8 bytes from the start (or the end) of `s`.
  static uint64_t edge_bytes(std::string_view s, bool from_end) {
    uint64_t w = 0;
    if (s.size() >= 8) {
      std::memcpy(&w, s.data() + (from_end ? s.size() - 8 : 0), 8);
    } else {
      for (char c : s) w = w << 8 | static_cast<unsigned char>(c);
    }
    return w;
  }
  // A cheap key of the call "src:name", compared before the text: the lengths, the start of
  // the service and the end of the name (where the calls of one identity differ).
  static uint64_t call_key(std::string_view src, std::string_view name) {
    return edge_bytes(src, false) * 0x9e3779b97f4a7c15ull ^ edge_bytes(name, true) ^
           (static_cast<uint64_t>(src.size()) << 40) ^ (static_cast<uint64_t>(name.size()) << 52);
  }

  void note_name(identity_state& s, const event& e) {
    const std::string_view src = e.source(), name = e.name();
    const uint64_t key = call_key(src, name);
    for (size_t j = 0; j < s.name_calls.size(); ++j)
      if (s.name_calls[j].key == key && is_call(s.names[j], src, name)) {
        ++s.name_calls[j].count;
        return;
      }
    if (s.names.size() < kMaxHourNames) {
      call_buf_.assign(src).append(1, ':').append(name);
      s.names.push_back(call_buf_);
      s.name_calls.push_back({key, 1});
    }
  }

  void note_denied(identity_state& s, const event& e) {
    const std::string_view src = e.source(), name = e.name();
    if (s.denied.size() < kMaxDenied &&
        std::none_of(s.denied.begin(), s.denied.end(),
                     [&](const std::string& d) { return is_call(d, src, name); }))
      s.denied.push_back(call_text(e));
  }

  void note_source(identity_state& s, const event& e, int64_t h, size_t idx) {
    util::packed_strings* set = nullptr;
    if (h == s.head_hour)
      set = &s.src_head;
    else if (h == s.head_hour - 1)
      set = &s.src_prev;
    if (!set) return;  // an older hour: too late for its distinct sources
    std::string_view src = e.source();
    if (set->contains(src)) return;
    if (set->size() >= kMaxHourSources) return;
    set->push_back(src);
    if (s.sources[idx] < UINT8_MAX) ++s.sources[idx];
    check_sprawl(s, e, h, *set);
  }

  // Raises a finding when another behaviour already fired for the identity in the same hour.
  void mark_alert(identity_state& s, int64_t h, finding& f) {
    if (s.alert_hour != h) {
      s.alert_hour = h;
      s.alerts_in_hour = 0;
    }
    if (s.alerts_in_hour++ > 0) {
      f.sev = raise(f.sev);
      f.ev.add_bool("otherAnomaliesThisHour", true);
    }
  }

  void common_evidence(finding& f, const event& e, const identity_state& s, int64_t h) const {
    f.principal = std::string(e.identity());
    f.ev.add("identity", e.identity()).add("identityType", e.identity_type());
    if (!e.access_key_id().empty()) f.ev.add("accessKeyId", e.access_key_id());
    f.ev.add("hourStart", bl::iso_time(h * bl::kHourMs));
    f.ev.add("historyHours", static_cast<int64_t>(h - bl::hour_of(s.first_ms)));
    f.ev.add("sourceIPAddress", e.source_ip()).add("userAgent", e.user_agent());
    f.dedup_key = std::string(e.identity()) + "|" + std::to_string(h);
    f.first_seen_ms = h * bl::kHourMs;
    f.last_seen_ms = e.time_ms();
  }

  void adjust(finding& f, const event& e) const {
    if (ctx().is_admin(e.identity()) || ctx().is_admin(e.principal_arn())) {
      f.sev = lower(f.sev);
      f.ev.add_bool("adminPrincipal", true);
    }
  }

  void add_top_names(finding& f, const identity_state& s) const {
    std::vector<std::pair<std::string_view, uint32_t>> names;
    for (size_t j = 0; j < s.names.size(); ++j)
      names.emplace_back(s.names[j], s.name_calls[j].count);
    std::stable_sort(names.begin(), names.end(),
                     [](auto& a, auto& b) { return a.second > b.second; });
    if (names.size() > 10) names.resize(10);
    std::string obj = "{";
    for (size_t j = 0; j < names.size(); ++j) {
      if (j) obj += ",";
      detail::append_json_string(obj, names[j].first);
      obj += ":" + std::to_string(names[j].second);
    }
    obj += "}";
    f.ev.add_json("topCalls", obj);
  }

  // --- rate --------------------------------------------------------------------------------
  void check_rate(identity_state& s, const event& e, int64_t h, size_t idx) {
    const double count = s.calls[idx];
    if (count <= rate_floor_ || s.rate_fired == h || !enough_history(s, h)) return;
    if (s.rate_thr_hour != h) {
      s.rate_stats = stats(s, s.calls, h);
      double peak = std::max(s.rate_stats.window_peak, decayed(s.peak_calls, s.peak_hour, h));
      s.rate_thr = std::max(
          {rate_floor_, s.rate_stats.mean + k_ * s.rate_stats.stddev, peak_factor_ * peak});
      s.rate_stats.window_peak = peak;
      s.rate_thr_hour = h;
    }
    if (count <= s.rate_thr) return;
    s.rate_fired = h;
    finding f = make_finding("api-call-rate-spike", e);
    f.summary = std::string(e.identity()) + " made " + std::to_string(int64_t(count)) +
                " management API calls in the hour from " + bl::iso_time(h * bl::kHourMs) +
                ", above its threshold of " + std::to_string(int64_t(std::ceil(s.rate_thr))) +
                " (hourly mean " + fmt(s.rate_stats.mean) + ", peak " +
                fmt(s.rate_stats.window_peak) + " over " + std::to_string(s.rate_stats.hours) +
                " hours of history).";
    common_evidence(f, e, s, h);
    f.ev.add("callCount", int64_t(count));
    add_num(f, "threshold", s.rate_thr);
    add_num(f, "baselineMean", s.rate_stats.mean);
    add_num(f, "baselineStdDev", s.rate_stats.stddev);
    add_num(f, "baselinePeak", s.rate_stats.window_peak);
    add_top_names(f, s);
    mark_alert(s, h, f);
    adjust(f, e);
    emit(f);
  }

  // --- authorization errors ------------------------------------------------------------------
  void check_errors(identity_state& s, const event& e, int64_t h, size_t idx) {
    const double count = s.errors[idx];
    if (count <= error_floor_ || s.error_fired == h || !enough_history(s, h)) return;
    if (s.error_thr_hour != h) {
      s.error_stats = stats(s, s.errors, h);
      double peak = std::max(s.error_stats.window_peak, decayed(s.peak_errors, s.peak_hour, h));
      s.error_thr = std::max(
          {error_floor_, s.error_stats.mean + k_ * s.error_stats.stddev, peak_factor_ * peak});
      s.error_stats.window_peak = peak;
      s.error_thr_hour = h;
    }
    if (count <= s.error_thr) return;
    s.error_fired = h;
    finding f = make_finding("api-error-burst", e);
    size_t services = 0;
    {
      std::vector<std::string_view> seen;
      for (auto& d : s.denied) {
        std::string_view svc = std::string_view(d).substr(0, d.find(':'));
        if (std::find(seen.begin(), seen.end(), svc) == seen.end()) seen.push_back(svc);
      }
      services = seen.size();
    }
    if (s.denied.size() < 3) {
      f.sev = severity::low;  // one action retried: a broken job, not someone probing
    } else if (s.denied.size() >= 10 && services >= 3) {
      f.sev = severity::high;  // many actions across services: permission enumeration
    }
    f.summary = std::string(e.identity()) + " received " + std::to_string(int64_t(count)) +
                " authorization errors in the hour from " + bl::iso_time(h * bl::kHourMs) +
                " across " + std::to_string(s.denied.size()) +
                " distinct actions (its threshold is " +
                std::to_string(int64_t(std::ceil(s.error_thr))) + ").";
    common_evidence(f, e, s, h);
    f.ev.add("errorCount", int64_t(count));
    add_num(f, "threshold", s.error_thr);
    add_num(f, "baselineMean", s.error_stats.mean);
    add_num(f, "baselineStdDev", s.error_stats.stddev);
    add_num(f, "baselinePeak", s.error_stats.window_peak);
    f.ev.add("errorCode", e.error_code());
    f.ev.add("deniedActions", s.denied);
    f.ev.add("distinctDeniedActions", static_cast<int64_t>(s.denied.size()));
    mark_alert(s, h, f);
    adjust(f, e);
    emit(f);
  }

  // --- service sprawl ------------------------------------------------------------------------
  void check_sprawl(identity_state& s, const event& e, int64_t h, const util::packed_strings& set) {
    const double distinct = double(set.size());
    if (distinct <= sprawl_floor_ || s.sprawl_fired == h || !enough_history(s, h)) return;
    ring_stats st = stats(s, s.sources, h);
    double peak = std::max(st.window_peak, decayed(s.peak_sources, s.peak_hour, h));
    double thr = std::max(sprawl_floor_, sprawl_factor_ * peak);
    if (distinct <= thr) return;
    s.sprawl_fired = h;
    finding f = make_finding("service-sprawl", e);
    f.summary = std::string(e.identity()) + " called " + std::to_string(set.size()) +
                " distinct AWS services in the hour from " + bl::iso_time(h * bl::kHourMs) +
                "; its historical maximum is " + fmt(peak) + " per hour.";
    common_evidence(f, e, s, h);
    f.ev.add("distinctEventSources", static_cast<int64_t>(set.size()));
    f.ev.add("eventSources", set.to_vector());
    add_num(f, "historicalMax", peak);
    add_num(f, "threshold", thr);
    mark_alert(s, h, f);
    adjust(f, e);
    emit(f);
  }

  // --- regions -------------------------------------------------------------------------------
  int region_id(std::string_view region) {
    for (size_t j = 0; j < regions_.size(); ++j)
      if (regions_[j] == region) return static_cast<int>(j);
    if (regions_.size() >= kMaxRegions) return -1;
    regions_.emplace_back(region);
    return static_cast<int>(regions_.size() - 1);
  }

  // Id of an already known region, -1 otherwise (never adds one). The last answer is kept:
  // consecutive events mostly share their region, so this is usually one comparison.
  int known_region(std::string_view region) {
    if (last_region_id_ >= 0 && util::equals(region, last_region_)) return last_region_id_;
    for (size_t j = 0; j < regions_.size(); ++j)
      if (regions_[j] == region) {
        last_region_.assign(region);
        last_region_id_ = static_cast<int>(j);
        return last_region_id_;
      }
    return -1;
  }

  void check_regions(account_state& a, identity_state& s, const event& e, std::string_view acct) {
    std::string_view region = e.region();
    if (region.empty()) return;
    int id = known_region(region);
    // The common event: a region the account and the identity already used and no open region
    // finding to join. Nothing to do whether or not the service is global, so skip that check.
    if (id >= 0 && pending_.empty()) {
      const uint64_t b = 1ull << id;
      if ((a.regions & b) && (s.regions & b)) return;
    }
    if (global_service(e.source())) return;
    if (id < 0) id = region_id(region);
    if (id < 0) return;
    const uint64_t bit = 1ull << id;
    const bool acct_new = !(a.regions & bit);
    const bool ident_new = !(s.regions & bit);
    if (!acct_new && !ident_new) {
      // Later calls in a region reported as new in the open window join its finding.
      for (auto& p : pending_)
        if (p.account_level && p.key == acct && e.time_ms() < p.start_ms + region_window_ms_ &&
            std::find(p.regions.begin(), p.regions.end(), region) != p.regions.end()) {
          add_pending(true, p.key, e, region, acct);
          break;
        }
      return;
    }
    a.regions |= bit;
    s.regions |= bit;
    const int64_t t = e.time_ms();
    if (t - a.first_ms < warmup_ms_) return;  // learning the account
    if (acct_new) {
      add_pending(true, std::string(acct), e, region, acct);
    } else if (t - s.first_ms >= warmup_ms_) {
      add_pending(false, std::string(e.identity()), e, region, acct);
    }
  }

  void add_pending(bool account_level, const std::string& key, const event& e,
                   std::string_view region, std::string_view acct) {
    const int64_t t = e.time_ms();
    pending_region* p = nullptr;
    for (auto& x : pending_)
      if (x.account_level == account_level && x.key == key && t < x.start_ms + region_window_ms_) {
        p = &x;
        break;
      }
    if (!p) {
      if (pending_.size() >= 10000) return;
      pending_.emplace_back();
      p = &pending_.back();
      p->account_level = account_level;
      p->key = key;
      p->account = std::string(acct);
      p->principal = std::string(e.principal_arn());
      p->identity = std::string(e.identity());
      p->source_ip = std::string(e.source_ip());
      p->user_agent = std::string(e.user_agent());
      p->start_ms = t;
    }
    p->last_ms = std::max(p->last_ms, t);
    if (std::find(p->regions.begin(), p->regions.end(), region) == p->regions.end())
      p->regions.emplace_back(region);
    if (p->event_ids.size() < kMaxPendingIds) {
      p->event_ids.emplace_back(e.id());
      p->event_names.emplace_back(e.name());
    }
    if (e.succeeded()) {
      p->any_success = true;
      if (e.read_only() == TH_FLAG_FALSE && p->write_calls.size() < 20) {
        std::string call =
            std::string(region) + ":" + std::string(e.source()) + ":" + std::string(e.name());
        if (std::find(p->write_calls.begin(), p->write_calls.end(), call) == p->write_calls.end())
          p->write_calls.push_back(std::move(call));
      }
    }
    if (!(ctx().trusted_cidrs_known() && ctx().is_trusted_ip(e.source_ip())))
      p->trusted_only = false;
  }

  void flush_regions(int64_t now_ms, bool all) {
    for (auto it = pending_.begin(); it != pending_.end();) {
      if (!all && now_ms < it->start_ms + region_window_ms_ + kDisorderMs) {
        ++it;
        continue;
      }
      emit_region(*it);
      it = pending_.erase(it);
    }
  }

  void emit_region(const pending_region& p) {
    finding f =
        ctx().make_finding(p.account_level ? "new-region-for-account" : "new-region-for-identity");
    f.account_id = p.account;
    f.region = p.regions.front();
    f.principal = p.identity;
    f.source_ip = p.source_ip;
    f.user_agent = p.user_agent;
    for (size_t j = 0; j < p.event_ids.size(); ++j) f.event_ids.push_back(p.event_ids[j]);
    for (size_t j = 0; j < p.event_names.size(); ++j) f.event_names.push_back(p.event_names[j]);
    f.first_seen_ms = p.start_ms;
    f.last_seen_ms = p.last_ms;
    std::string list;
    for (auto& r : p.regions) list += (list.empty() ? "" : ", ") + r;
    if (p.account_level) {
      if (p.regions.size() >= 3 || !p.write_calls.empty()) f.sev = severity::high;
      f.summary = "Account " + p.account + " used " +
                  (p.regions.size() == 1 ? "region " : "regions ") + list +
                  " for the first time (by " + p.identity + ")" +
                  (p.write_calls.empty() ? "." : ", creating or changing resources there.");
    } else {
      if (!p.write_calls.empty()) f.sev = raise(f.sev);
      f.summary = p.identity + " used " + (p.regions.size() == 1 ? "region " : "regions ") + list +
                  " for the first time; the account already uses " +
                  (p.regions.size() == 1 ? "it." : "them.");
    }
    if (!p.any_success) {
      f.sev = lower(f.sev);  // every call failed: nothing was created there
    }
    if (p.trusted_only) {
      f.sev = lower(f.sev);
      f.ev.add_bool("trustedSource", true);
    }
    f.ev.add("regions", p.regions);
    f.ev.add("identity", p.identity).add("principalArn", p.principal);
    f.ev.add("sourceIPAddress", p.source_ip).add("userAgent", p.user_agent);
    if (!p.write_calls.empty()) f.ev.add("writeCalls", p.write_calls);
    f.ev.add_bool("allCallsFailed", !p.any_success);
    f.dedup_key = p.key + "|" + list;
    if (ctx().is_admin(p.identity) || ctx().is_admin(p.principal)) {
      f.sev = lower(f.sev);
      f.ev.add_bool("adminPrincipal", true);
    }
    emit(f);
  }

  // Numbers in evidence: integers as integers, others with two decimals.
  static void add_num(finding& f, std::string_view key, double v) {
    v = std::round(v * 100.0) / 100.0;
    if (v == std::floor(v) && std::fabs(v) < 1e15) {
      f.ev.add(key, static_cast<int64_t>(v));
    } else {
      char buf[40];
      std::snprintf(buf, sizeof buf, "%.2f", v);
      f.ev.add_json(key, buf);
    }
  }
  static std::string fmt(double v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.1f", v);
    return buf;
  }

  size_t slots_;
  int64_t min_history_hours_;
  double rate_floor_, k_, peak_factor_, peak_half_life_h_, error_floor_, sprawl_floor_,
      sprawl_factor_;
  bool data_events_;
  int64_t warmup_ms_, region_window_ms_, retention_ms_;
  size_t max_identities_;

  std::vector<std::string> regions_;  // region id -> name (bit index in the masks)
  std::string last_region_;           // cache of known_region(): name and id (-1: none)
  int last_region_id_ = -1;
  string_map<account_state> accounts_;
  string_map<identity_state> identities_;
  // Last entry returned by account(), with its name (nullptr: none).
  account_state* last_acct_ = nullptr;
  std::string last_acct_name_;
  util::lookup_cache<identity_state*> recent_ids_;  // in front of identities_ (erase: clear())
  std::string call_buf_;                            // note_name(): "eventSource:eventName"
  std::vector<pending_region> pending_;
  int64_t last_ageing_ms_ = INT64_MIN / 2;
};

}  // namespace

TRAILHOUND_MODULE("api-activity", "1.0.0", api_activity)
