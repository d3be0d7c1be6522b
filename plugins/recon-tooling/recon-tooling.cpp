// SPDX-License-Identifier: Apache-2.0
// Reconnaissance with stolen keys: user agents of attack and pentest tooling, bursts of access
// denied errors across many APIs, and read-only enumeration across many services.
#include <algorithm>
#include <cctype>
#include <set>
#include <string>
#include <string_view>
#include <trailhound/sdk.hpp>
#include <trailhound/util.hpp>
#include <unordered_map>
#include <vector>

namespace {
using namespace trailhound::sdk;
namespace util = trailhound::sdk::util;

constexpr size_t MAX_EVIDENCE_EVENTS = 50;
constexpr size_t MAX_EVIDENCE_ITEMS = 100;
constexpr size_t MAX_UA_CACHE = 4096;

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

// ------------------------------------------------------------------------------------------
// Distinct APIs per principal in a sliding window of event time (util::distinct_window), with
// what the current window saw of error codes and user agents.
// ------------------------------------------------------------------------------------------
struct window_state : util::distinct_state {
  std::vector<std::string> codes, agents;
  int64_t calls = 0;
  bool all_console = true, all_benign_agent = true;
  void on_reset() {  // called by reset_after_alert()
    codes.clear();
    agents.clear();
    calls = 0;
    all_console = all_benign_agent = true;
  }
};
using distinct_window = util::distinct_window<window_state>;

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
         {"max_principals", TH_PARAM_INT, "50000", "Principals tracked at once (memory bound)",
          true, 100, 10000000}},
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
          "principal, high with offensive tooling."}}};
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
        enum_(cfg.get_duration_ms("enumeration_window"), max_principals_) {
    for (auto& s : cfg.get_list("attack_tool_user_agents"))
      if (!s.empty()) attack_.push_back(util::to_lower(s));
    for (auto& s : cfg.get_list("scanner_user_agents"))
      if (!s.empty()) scanners_.push_back(util::to_lower(s));
  }

  void on_event(const event& e) override {
    if (util::service_actor(e)) return;
    const ua_info& ua = classify_agent(e.user_agent());
    bool denied = e.failed() && util::is_access_denied_code(e.error_code());
    bool enum_candidate = enum_enabled_ && e.category() != "Data" && read_like(e);
    if (ua.tool.empty() && !denied && !enum_candidate) return;
    key_buf_.assign(util::principal_key(e));
    if (key_buf_.empty()) return;
    const std::string& key = key_buf_;
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

 private:
  struct ua_info {
    std::string tool;  // matched pattern ("" = none)
    bool scanner = false;
    bool console = false;
    bool iac = false;
  };

  const ua_info& classify_agent(std::string_view ua) {
    // Consecutive events very often share one user agent.
    if (last_info_ && ua == last_ua_) return *last_info_;
    const ua_info& info = classify_agent_slow(ua);
    last_ua_.assign(ua);
    last_info_ = &info;
    return info;
  }
  const ua_info& classify_agent_slow(std::string_view ua) {
    auto it = ua_cache_.find(std::string(ua));
    if (it != ua_cache_.end()) return it->second;
    if (ua_cache_.size() >= MAX_UA_CACHE) {
      ua_cache_.clear();
      last_info_ = nullptr;
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

  // "ec2.amazonaws.com" + "DescribeInstances" -> "ec2:DescribeInstances" (into a reused buffer).
  const std::string& api_item(const event& e) {
    std::string_view src = e.source();
    size_t dot = src.find(".amazonaws.com");
    if (dot != std::string_view::npos) src = src.substr(0, dot);
    item_buf_.assign(src);
    item_buf_.push_back(':');
    item_buf_.append(e.name());
    return item_buf_;
  }

  severity adjust(severity s, const event& e) const {
    if (ctx().is_break_glass(e.principal_arn())) s = lower(s);
    if (util::from_trusted_ip(ctx(), e)) s = lower(s);
    return s;
  }

  // ------------------------------------------------------------------ tool user agents
  void on_tool(const event& e, const std::string& key, const ua_info& ua) {
    if (!ua.scanner) {
      auto& t = attack_principals_[key];
      t = std::max(t, e.time_ms());
    }
    std::string k = key + "|" + ua.tool;
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

  bool attack_tool_recently(const std::string& key, int64_t t) const {
    auto it = attack_principals_.find(key);
    return it != attack_principals_.end() && t - it->second <= tool_window_ms_;
  }

  // The distinct APIs of `s` (up to MAX_EVIDENCE_ITEMS, sorted) and how many services they span.
  static std::vector<std::string> sorted_items(const window_state& s, size_t& services) {
    std::set<std::string> svc;
    for (auto& [item, t] : s.items) svc.insert(item.substr(0, item.find(':')));
    services = svc.size();
    return distinct_window::sorted_items(s, MAX_EVIDENCE_ITEMS);
  }

  // ------------------------------------------------------------------ access denied burst
  void on_denied(const event& e, const std::string& key, const ua_info& ua) {
    window_state* s = denied_.get(key, e.time_ms());
    if (!s) return;
    if (!denied_.add(*s, api_item(e), e.time_ms(), e.id(), e.name())) return;
    ++s->calls;
    util::add_unique(s->codes, e.error_code(), 10);
    util::add_unique(s->agents, e.user_agent(), 5);
    if (!ua.console) s->all_console = false;
    if (!ua.scanner && !ua.console) s->all_benign_agent = false;
    if (!denied_.crossed(*s, denied_threshold_)) return;
    size_t services = 0;
    auto apis = sorted_items(*s, services);
    bool tool = attack_tool_recently(key, e.time_ms());
    denied_principals_[key] = std::max(denied_principals_[key], e.time_ms());
    if (repeat_suppressed("access-denied-burst", e, tool)) {
      denied_.reset_after_alert(*s);
      return;
    }
    finding f = make_finding("access-denied-burst", e);
    distinct_window::fill_events(f, *s, MAX_EVIDENCE_EVENTS);
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
    f.dedup_key = key;
    emit(f);
    denied_.reset_after_alert(*s);
  }

  // ------------------------------------------------------------------ enumeration
  void on_read(const event& e, const std::string& key, const ua_info& ua) {
    window_state* s = enum_.get(key, e.time_ms());
    if (!s) return;
    if (!enum_.add(*s, api_item(e), e.time_ms(), e.id(), e.name())) return;
    ++s->calls;
    util::add_unique(s->agents, e.user_agent(), 5);
    if (!ua.console) s->all_console = false;
    if (!ua.scanner && !ua.console && !ua.iac) s->all_benign_agent = false;
    if (!enum_.crossed(*s, enum_threshold_)) return;
    size_t services = 0;
    auto apis = sorted_items(*s, services);
    if (services < enum_min_services_) return;
    bool tool = attack_tool_recently(key, e.time_ms());
    if (repeat_suppressed("enumeration-burst", e, tool)) {
      enum_.reset_after_alert(*s);
      return;
    }
    finding f = make_finding("enumeration-burst", e);
    distinct_window::fill_events(f, *s, MAX_EVIDENCE_EVENTS);
    auto dp = denied_principals_.find(key);
    bool probed = dp != denied_principals_.end() && e.time_ms() - dp->second <= tool_window_ms_;
    if (tool)
      f.sev = severity::high;
    else if (probed && !s->all_benign_agent)
      f.sev = severity::medium;
    f.sev = adjust(f.sev, e);
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
    f.dedup_key = key;
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
  std::unordered_map<std::string, ua_info> ua_cache_;
  std::string last_ua_, key_buf_, item_buf_;
  const ua_info* last_info_ = nullptr;
  std::unordered_map<std::string, int64_t> tool_seen_;          // principal|tool -> last alert
  std::unordered_map<std::string, int64_t> attack_principals_;  // principal -> last tool call
  std::unordered_map<std::string, int64_t> burst_alerted_;      // rule|identity -> last alert
  std::unordered_map<std::string, int64_t> denied_principals_;  // principal -> last denied burst
  distinct_window denied_, enum_;
};

}  // namespace

TRAILHOUND_MODULE("recon-tooling", "1.0.0", recon_tooling)
