// SPDX-License-Identifier: Apache-2.0
// new-source: an identity calling from a network, country or client it never used before, and
// impossible travel between consecutive calls, against a learned per-identity baseline.
#include <maxminddb.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <stdexcept>
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
constexpr std::string_view kMagic = "THNS1";
constexpr size_t kMaxCountries = 32;       // per identity / account
constexpr size_t kMaxUaFamilies = 32;      // per identity
constexpr size_t kVariableUaFamilies = 8;  // an identity with this many families is not judged
constexpr size_t kMaxPending = 10000;
constexpr size_t kGeoCacheCap = 100000;
constexpr size_t kMaxTravelers = 100000;
constexpr size_t kUaClassifiedBytes = 512;  // baseline::classify_user_agent reads no further
constexpr size_t kMaxUaKeys = 4096;         // user agents whose class is cached

uint16_t pack_country(std::string_view iso) {
  if (iso.size() != 2) return 0;
  return static_cast<uint16_t>((static_cast<unsigned char>(iso[0]) << 8) |
                               static_cast<unsigned char>(iso[1]));
}
std::string country_text(uint16_t c) {
  if (!c) return "";
  return std::string{static_cast<char>(c >> 8), static_cast<char>(c & 0xff)};
}

double distance_km(double lat1, double lon1, double lat2, double lon2) {
  constexpr double kRad = 3.14159265358979323846 / 180.0;
  double dlat = (lat2 - lat1) * kRad, dlon = (lon2 - lon1) * kRad;
  double a = std::sin(dlat / 2) * std::sin(dlat / 2) + std::cos(lat1 * kRad) *
                                                           std::cos(lat2 * kRad) *
                                                           std::sin(dlon / 2) * std::sin(dlon / 2);
  return 2 * 6371.0 * std::asin(std::min(1.0, std::sqrt(a)));
}

// Calls that read secrets or change things: a new source doing these matters more.
bool sensitive_read(std::string_view name) {
  static constexpr std::string_view kNames[] = {"GetSecretValue",
                                                "BatchGetSecretValue",
                                                "GetParameter",
                                                "GetParameters",
                                                "GetParametersByPath",
                                                "Decrypt",
                                                "GetPasswordData",
                                                "GetSessionToken",
                                                "GetFederationToken",
                                                "AssumeRole",
                                                "GetAccountAuthorizationDetails",
                                                "ListAccessKeys",
                                                "GetCredentialReport"};
  for (auto n : kNames)
    if (name == n) return true;
  return false;
}

// True when `ua` contains "exec-env/AWS_Lambda", "AWS_ECS_", "exec-env/CloudShell" or
// "AWS_Lambda_". Same answer as four substring searches, in two passes over the rare 'A'/'C'.
bool workload_user_agent(std::string_view ua) {
  constexpr std::string_view kExecEnv = "exec-env/";
  auto after_exec_env = [&](size_t p) {
    return p >= kExecEnv.size() && ua.substr(p - kExecEnv.size(), kExecEnv.size()) == kExecEnv;
  };
  for (size_t p = ua.find("AWS_"); p != std::string_view::npos; p = ua.find("AWS_", p + 1)) {
    std::string_view rest = ua.substr(p + 4);
    if (rest.starts_with("ECS_") || rest.starts_with("Lambda_") ||
        (rest.starts_with("Lambda") && after_exec_env(p)))
      return true;
  }
  for (size_t p = ua.find("CloudShell"); p != std::string_view::npos;
       p = ua.find("CloudShell", p + 1))
    if (after_exec_env(p)) return true;
  return false;
}

// True when each of the 8 bytes of `w` is '0'-'9' or 'a'-'f', tested on all 8 at once: for a
// byte below 0x80, adding 0x80 - c sets its high bit exactly when it is >= c, without carrying
// into the next byte.
bool lower_hex_word(uint64_t w) {
  constexpr uint64_t kHigh = 0x8080808080808080ull, kOnes = 0x0101010101010101ull;
  if (w & kHigh) return false;  // not ASCII
  auto at_least = [w](unsigned c) { return (w + kOnes * (0x80 - c)) & kHigh; };
  const uint64_t ok = (at_least('0') & ~at_least('9' + 1)) | (at_least('a') & ~at_least('f' + 1));
  return ok == kHigh;
}

// True when the role session name (after the last '/' of the session ARN, the whole ARN
// without one) is an EC2 instance id: "i-" and 8 to 17 lower-case hex digits.
bool instance_session(std::string_view arn) {
  // memrchr rather than rfind: rfind walks the ~80-byte ARN a byte at a time.
  const void* slash = arn.empty() ? nullptr : memrchr(arn.data(), '/', arn.size());
  const char* name = slash ? static_cast<const char*>(slash) + 1 : arn.data();
  const size_t len = static_cast<size_t>(arn.data() + arn.size() - name);
  if (len < 10 || len > 19 || name[0] != 'i' || name[1] != '-') return false;
  // The 8 to 17 digits as 8-byte words, the last one overlapping the previous.
  const char* digits = name + 2;
  const size_t n = len - 2;
  uint64_t w;
  for (size_t at = 0; at + 8 < n; at += 8) {
    std::memcpy(&w, digits + at, 8);
    if (!lower_hex_word(w)) return false;
  }
  std::memcpy(&w, digits + n - 8, 8);
  return lower_hex_word(w);
}

// Workloads running inside AWS whose role-session source addresses are AWS-owned and change
// with every instance, task or function: EC2 instance profiles, Lambda, ECS, CloudShell.
// `workload_agent` is workload_user_agent(e.user_agent()).
bool aws_workload(const event& e, bool workload_agent) {
  if (!util::equals(e.identity_type(), "AssumedRole")) return false;
  // All checks are pure: the cheap ones (the user agent answer is cached) go first.
  return workload_agent || instance_session(e.principal_arn()) ||
         e["userIdentity"]["sessionContext"]["ec2RoleDelivery"].exists();
}

struct geo_info {
  uint16_t country = 0;
  bool located = false;
  double lat = 0, lon = 0;
};

// Keys (network keys, user agent families) with their last seen hour (hour_of), capped.
using seen_set = bl::seen_set<int64_t>;

// A seen_set in the state: as a recent_list (count, varint keys, zigzag hours) in key order.
void save_set(bl::writer& w, const seen_set& st) { bl::save_recent(w, st.items); }
void load_set(bl::reader& r, seen_set& st) {
  st.items.clear();
  bl::load_recent(r, st.items);
  std::sort(st.items.begin(), st.items.end());
}

class new_source final : public detector {
 public:
  static const detector_info& info() {
    static const detector_info i{
        "new-source",
        "1.0.0",
        "Identity calling from a source it never used",
        "Learns per identity (role ARN for assumed roles) and per account the networks (/24, "
        "/48), countries (with a MaxMind database) and user agent families it calls from, and "
        "reports a source never seen before once the account is past warm-up; plus impossible "
        "travel between consecutive located calls of one principal.",
        {{"*", "*"}},
        {
            {"warmup", TH_PARAM_DURATION, "\"7d\"",
             "Event time an account must be observed before anything in it is 'new'.", true, 0,
             31536000},
            {"identity_warmup", TH_PARAM_DURATION, "\"1d\"",
             "Event time an identity must be observed before its sources are judged (a new "
             "identity's first sources are learned).",
             true, 0, 31536000},
            {"aggregation_window", TH_PARAM_DURATION, "\"15m\"",
             "Calls of one identity from one new network within this window of the first are "
             "one finding (reported when the window closes).",
             true, 60, 86400},
            {"evidence_events", TH_PARAM_INT, "10",
             "Events from the new source listed in a finding.", true, 1, 100},
            {"variable_networks", TH_PARAM_INT, "10",
             "An identity that used this many distinct networks within diversity_window (or 4+ "
             "networks with a new one on half of its active days) is 'variable' (CI runners, "
             "roaming users): its new networks are not reported; from half of it on they are "
             "reported one step lower.",
             true, 2, 1000},
            {"diversity_window", TH_PARAM_DURATION, "\"30d\"", "Window for variable_networks.",
             true, 86400, 31536000},
            {"geoip_db", TH_PARAM_STRING, "\"\"",
             "Path of a MaxMind GeoIP2/GeoLite2 City or Country database (.mmdb). Empty: no "
             "country and no impossible-travel rules.",
             false, 0, 0},
            {"max_speed_kmh", TH_PARAM_DOUBLE, "1000",
             "Travel faster than this between two located calls is impossible.", true, 100, 100000},
            {"min_travel_km", TH_PARAM_DOUBLE, "500",
             "Geolocation is coarse: distances below this are never impossible travel.", true, 0,
             20000},
            {"user_agents", TH_PARAM_BOOL, "true", "Report user agent families new to an identity.",
             false, 0, 0},
            {"retention", TH_PARAM_DURATION, "\"90d\"",
             "Identities, accounts and sources not seen for this long are forgotten.", true, 86400,
             63072000},
            {"max_identities", TH_PARAM_INT, "20000",
             "Most identities remembered; the least recently seen are forgotten beyond.", true, 10,
             1000000},
            {"networks_per_identity", TH_PARAM_INT, "128",
             "Most networks remembered per identity (least recently used forgotten).", true, 8,
             4096},
            {"networks_per_account", TH_PARAM_INT, "20000", "Most networks remembered per account.",
             true, 100, 1000000},
        },
        {
            {"new-source-network", severity::low, "Identity called from a network it never used",
             "T1078,T1078.004",
             "After warm-up, calls of an identity from a /24 (IPv4) or /48 (IPv6) network it never "
             "used. One finding per identity and network with the first calls from it. Raised for "
             "long-term credentials (IAM user keys, root) and for write or secret-reading calls; "
             "lowered or skipped for identities whose sources always vary."},
            {"new-source-country", severity::medium, "Identity called from a country it never used",
             "T1078,T1078.004",
             "With geoip_db: calls of an identity from a country it never called from. High when "
             "no identity of the account ever called from there and the calls use long-term "
             "credentials or change things."},
            {"impossible-travel", severity::high,
             "Consecutive calls from places too far apart to travel between", "T1078,T1078.004",
             "With geoip_db: two consecutive located calls of one principal (a user, or one role "
             "session) whose distance / time exceeds max_speed_kmh."},
            {"new-user-agent-family", severity::low, "Identity used a client family it never used",
             "T1078,T1078.004",
             "After warm-up, a user agent family (aws-cli, boto3, terraform, console browser, S3 "
             "Browser...) an identity never used. Medium together with a new network; info for "
             "role sessions."},
        },
        /*state_schema_version=*/1};
    return i;
  }

  new_source(const context& ctx, const config& cfg)
      : detector(ctx),
        warmup_ms_(cfg.get_duration_ms("warmup")),
        identity_warmup_ms_(cfg.get_duration_ms("identity_warmup")),
        window_ms_(cfg.get_duration_ms("aggregation_window")),
        evidence_events_(static_cast<size_t>(cfg.get_int("evidence_events"))),
        variable_networks_(static_cast<size_t>(cfg.get_int("variable_networks"))),
        diversity_h_(cfg.get_duration_ms("diversity_window") / bl::kHourMs),
        max_speed_(cfg.get_double("max_speed_kmh")),
        min_travel_km_(cfg.get_double("min_travel_km")),
        user_agents_(cfg.get_bool("user_agents")),
        retention_ms_(cfg.get_duration_ms("retention")),
        max_identities_(static_cast<size_t>(cfg.get_int("max_identities"))),
        nets_per_identity_(static_cast<size_t>(cfg.get_int("networks_per_identity"))),
        nets_per_account_(static_cast<size_t>(cfg.get_int("networks_per_account"))) {
    std::string path = cfg.get_string("geoip_db");
    if (!path.empty()) {
      int st = MMDB_open(path.c_str(), MMDB_MODE_MMAP, &mmdb_);
      if (st != MMDB_SUCCESS)
        throw std::runtime_error("geoip_db: cannot open '" + path + "': " + MMDB_strerror(st));
      geo_ = true;
    }
  }
  ~new_source() override {
    if (geo_) MMDB_close(&mmdb_);
  }

  void on_event(const event& e) override {
    if (e.aws_service() || util::equals(e.category(), "Insight")) return;
    std::string_view who = e.identity();
    if (who.empty()) return;
    // Service names, "AWS Internal" and private addresses (VPC endpoints) are not sources.
    const source_address src = address_of(e.source_ip());
    if (!src.is_public) return;
    const bl::ip_addr& ip = src.ip;
    const ua_class ua = user_agent_class(e.user_agent());
    if (aws_workload(e, ua.workload)) {
      ++workload_skips_;  // counted in batches: a host counter call per event is costly
      return;
    }
    const int64_t t = e.time_ms();
    const int64_t hour = bl::hour_of(t);
    std::string_view acct_id =
        e.recipient_account().empty() ? e.principal_account() : e.recipient_account();
    account_state& acct = account(acct_id, t);
    identity_state& id = identity(who, t);
    const uint64_t net = bl::network_key(ip);
    const geo_info geo = geo_ ? locate(e.source_ip()) : geo_info{};
    const bool trusted = ctx().trusted_cidrs_known() && ctx().is_trusted_ip(e.source_ip());
    const bool learning = t - acct.first_ms < warmup_ms_ || t - id.first_ms < identity_warmup_ms_;

    if (geo.located && !trusted) check_travel(e, geo, learning);

    // Calls joining a finding that is still collecting its first events.
    pending* open = find_pending(who, net, t);
    if (open) add_event(*open, e);

    const bool net_new_identity = !id.networks.contains(net);
    const bool net_new_account = !acct.networks.count(net);
    const bool country_new = geo.country && !has_country(id.countries, geo.country);
    const bool country_new_account = geo.country && !has_country(acct.countries, geo.country);
    // Only a candidate for a new finding needs the identity's recent network diversity (O(n)).
    const bool candidate = !open && (net_new_identity || country_new);
    const size_t diversity = candidate ? id.networks.count_since(hour - diversity_h_) : 0;

    // Learn first, report after: one finding per identity and network / country.
    id.networks.touch(net, hour, nets_per_identity_);
    touch_account_net(acct, net, hour);
    if (geo.country) {
      add_country(id.countries, geo.country, hour);
      add_country(acct.countries, geo.country, hour);
    }
    const uint64_t ua_key = ua.family_key;
    const bool ua_new = ua_key && !id.uas.contains(ua_key);
    const size_t ua_count = id.uas.items.size();
    if (ua_key) id.uas.touch(ua_key, hour, kMaxUaFamilies);

    if (learning) return;
    if (trusted) {
      if (net_new_identity || country_new) ctx().count("trusted_sources_not_reported");
      return;
    }
    if (candidate) {
      if (!country_new && variable(id, diversity)) {
        ctx().count("variable_identity_networks_not_reported");
      } else {
        pending p;
        p.country_rule = country_new;
        p.identity = std::string(who);
        p.net = net;
        p.network = bl::network_text(ip);
        p.account = std::string(acct_id);
        p.start_ms = t;
        p.new_for_account = p.country_rule ? country_new_account : net_new_account;
        p.network_new_for_account = net_new_account;
        p.long_term = long_term(e);
        p.diversity = diversity;
        p.known_networks = id.networks.items.size() - 1;
        p.country = geo.country;
        for (auto& [c, _] : id.countries)
          if (c != geo.country && p.previous_countries.size() < 5)
            p.previous_countries.push_back(country_text(c));
        p.principal = std::string(e.principal_arn());
        p.identity_type = std::string(e.identity_type());
        p.access_key = std::string(e.access_key_id());
        p.user_agent = std::string(e.user_agent());
        p.region = std::string(e.region());
        if (pending_.size() < kMaxPending) {
          pending_.push_back(std::move(p));
          open = &pending_.back();
          add_event(*open, e);
        }
      }
    }
    if (user_agents_ && ua_new && ua_count > 0 && ua_count < kVariableUaFamilies)
      report_user_agent(e, id, bl::classify_user_agent(e.user_agent()), open != nullptr);
  }

  void on_tick(int64_t now_ms) override {
    flush_counters();
    flush_pending(now_ms, false);
    if (now_ms - last_ageing_ms_ >= bl::kDayMs) {
      last_ageing_ms_ = now_ms;
      const int64_t cut = now_ms - retention_ms_;
      const int64_t cut_h = bl::hour_of(cut);
      recent_ids_.clear();  // entries may go
      std::erase_if(identities_, [&](const auto& kv) { return kv.second.last_ms < cut; });
      for (auto& [_, s] : identities_) {
        std::erase_if(s.networks.items, [&](const auto& x) { return x.second < cut_h; });
        std::erase_if(s.uas.items, [&](const auto& x) { return x.second < cut_h; });
        std::erase_if(s.countries, [&](const auto& x) { return x.second < cut_h; });
      }
      last_acct_ = nullptr;  // entries may go
      std::erase_if(accounts_, [&](const auto& kv) { return kv.second.last_ms < cut; });
      for (auto& [_, a] : accounts_) {
        std::erase_if(a.networks, [&](const auto& x) { return x.second < cut_h; });
        std::erase_if(a.countries, [&](const auto& x) { return x.second < cut_h; });
      }
      std::erase_if(travel_,
                    [&](const auto& kv) { return kv.second.time_ms < now_ms - bl::kDayMs; });
    }
  }

  void on_flush() override {
    flush_counters();
    flush_pending(0, true);
  }

  std::string save_state() const override {
    bl::writer w;
    w.str().append(kMagic);
    w.u(accounts_.size());
    for (auto& [name, a] : bl::sorted_entries(accounts_)) {
      w.s(*name);
      w.i(a->first_ms);
      w.i(a->last_ms);
      std::vector<std::pair<uint64_t, int64_t>> nets(a->networks.begin(), a->networks.end());
      std::sort(nets.begin(), nets.end());
      w.u(nets.size());
      for (auto& [k, h] : nets) {
        w.u(k);
        w.i(h);
      }
      save_countries(w, a->countries);
    }
    w.u(identities_.size());
    for (auto& [name, s] : bl::sorted_entries(identities_)) {
      w.s(*name);
      w.i(s->first_ms);
      w.i(s->last_ms);
      w.i(s->last_day);
      w.u(s->active_days);
      save_set(w, s->networks);
      save_set(w, s->uas);
      save_countries(w, s->countries);
    }
    w.u(travel_.size());
    for (auto& [name, p] : bl::sorted_entries(travel_)) {
      w.s(*name);
      w.i(p->time_ms);
      w.d(p->lat);
      w.d(p->lon);
      w.u(p->country);
      w.s(p->ip);
    }
    return std::move(w.str());
  }

  void load_state(uint32_t version, std::string_view data) override {
    if (version != 1) bl::reader::fail();
    bl::reader r(data);
    r.expect(kMagic);
    string_map<account_state> accounts;
    for (uint64_t n = r.count(), j = 0; j < n; ++j) {
      std::string name = r.s();
      account_state a;
      a.first_ms = r.i();
      a.last_ms = r.i();
      for (uint64_t m = r.count(2), q = 0; q < m; ++q) {
        uint64_t k = r.u();
        a.networks[k] = r.i();
      }
      load_countries(r, a.countries);
      accounts.emplace(std::move(name), std::move(a));
    }
    string_map<identity_state> ids;
    for (uint64_t n = r.count(), j = 0; j < n; ++j) {
      std::string name = r.s();
      identity_state s;
      s.first_ms = r.i();
      s.last_ms = r.i();
      s.last_day = r.i();
      s.active_days = static_cast<uint32_t>(r.u());
      load_set(r, s.networks);
      load_set(r, s.uas);
      load_countries(r, s.countries);
      ids.emplace(std::move(name), std::move(s));
    }
    string_map<located_call> travel;
    for (uint64_t n = r.count(), j = 0; j < n; ++j) {
      std::string name = r.s();
      located_call c;
      c.time_ms = r.i();
      c.lat = r.d();
      c.lon = r.d();
      c.country = static_cast<uint16_t>(r.u());
      c.ip = r.s();
      travel.emplace(std::move(name), std::move(c));
    }
    if (!r.done()) bl::reader::fail();
    accounts_ = std::move(accounts);
    last_acct_ = nullptr;
    recent_ids_.clear();
    identities_ = std::move(ids);
    travel_ = std::move(travel);
  }

 private:
  using country_list = bl::recent_list<uint16_t>;  // (country, last hour)
  struct account_state {
    int64_t first_ms = 0, last_ms = 0;
    std::unordered_map<uint64_t, int64_t> networks;  // network key -> last seen hour
    country_list countries;
  };
  struct identity_state {
    int64_t first_ms = 0, last_ms = 0;
    int64_t last_day = INT64_MIN;  // day of the newest event
    uint32_t active_days = 0;      // days with at least one event
    seen_set networks, uas;
    country_list countries;
  };
  struct located_call {
    int64_t time_ms = 0;
    double lat = 0, lon = 0;
    uint16_t country = 0;
    std::string ip;
  };
  struct pending {
    bool country_rule = false;
    std::string identity, network, account, principal, identity_type, access_key, user_agent,
        region;
    uint64_t net = 0;
    int64_t start_ms = 0, last_ms = 0;
    bool new_for_account = false, network_new_for_account = false, long_term = false;
    size_t diversity = 0, known_networks = 0, calls = 0;
    uint16_t country = 0;
    std::vector<std::string> previous_countries, ips, event_ids, event_names, write_calls,
        sensitive_calls;
    bool failed_only = true;
  };

  // What on_event needs of a user agent, a pure function of it: cached in a small lookup_cache
  // (a few clients make most of the calls), then in a bounded map, so that classify_user_agent
  // and the workload scan only run for a user agent not seen recently.
  struct ua_class {
    uint64_t family_key = 0;  // hash64 of the user agent family, 0: none
    bool workload = false;    // workload_user_agent()
  };
  static ua_class classify(std::string_view ua) {
    ua_class c;
    // classify_user_agent reads no further than kUaClassifiedBytes.
    bl::ua_family f = bl::classify_user_agent(ua.substr(0, kUaClassifiedBytes));
    c.family_key = f.family.empty() ? 0 : bl::hash64(f.family);
    c.workload = workload_user_agent(ua);
    return c;
  }
  // bl::parse_public_ip() of a source address, cached: an identity calls from few addresses, and
  // a hit costs less than parsing the text again.
  struct source_address {
    bool is_public = false;
    bl::ip_addr ip;
  };
  source_address address_of(std::string_view text) {
    if (const source_address* hit = addresses_.find(text)) return *hit;
    source_address a;
    a.is_public = bl::parse_public_ip(text, a.ip);
    if (text.size() <= 64) addresses_.put(text, a);  // addresses are short; anything else rare
    return a;
  }

  ua_class user_agent_class(std::string_view ua) {
    // User agents are attacker-chosen: the rare long one is not kept (bounded memory).
    if (ua.size() > kUaClassifiedBytes) return classify(ua);
    if (const ua_class* hit = ua_recent_.find(ua)) return *hit;
    auto it = ua_classes_.find(ua);
    if (it == ua_classes_.end()) {
      if (ua_classes_.size() >= kMaxUaKeys) ua_classes_.clear();
      it = ua_classes_.emplace(std::string(ua), classify(ua)).first;
    }
    ua_recent_.put(ua, it->second);
    return it->second;
  }

  void flush_counters() {
    if (workload_skips_ == 0) return;
    ctx().count("aws_workload_sessions_skipped", workload_skips_);
    workload_skips_ = 0;
  }

  // Sources that always vary (CI runners, roaming users): variable_networks distinct networks
  // recently, or a new network on at least half of its active days (from 4 networks on).
  bool variable(const identity_state& id, size_t diversity) const {
    return diversity >= variable_networks_ || (diversity >= 4 && diversity * 2 >= id.active_days);
  }

  static bool long_term(const event& e) {
    return bl::starts_with(e.access_key_id(), "AKIA") || e.identity_type() == "IAMUser" ||
           e.identity_type() == "Root";
  }
  static bool has_country(const country_list& l, uint16_t c) { return bl::recent_contains(l, c); }
  static void add_country(country_list& l, uint16_t c, int64_t hour) {
    bl::recent_touch(l, c, hour, kMaxCountries);
  }
  static void save_countries(bl::writer& w, const country_list& l) { bl::save_recent(w, l); }
  static void load_countries(bl::reader& r, country_list& l) { bl::load_recent(r, l); }

  account_state& account(std::string_view name, int64_t t) {
    // Consecutive events mostly share the account: reuse the last entry instead of hashing.
    if (!last_acct_ || !util::equals(name, last_acct_name_)) {
      auto it = accounts_.find(name);
      if (it == accounts_.end()) {
        it = accounts_.emplace(std::string(name), account_state{}).first;
        it->second.first_ms = it->second.last_ms = t;
      }
      last_acct_name_.assign(name);
      last_acct_ = &it->second;
    }
    auto& a = *last_acct_;
    a.first_ms = std::min(a.first_ms, t);
    a.last_ms = std::max(a.last_ms, t);
    return a;
  }

  identity_state& identity(std::string_view who, int64_t t) {
    auto& s = util::cached_entry(identities_, recent_ids_, who, [&] {
      if (identities_.size() >= max_identities_) evict_identities();
      identity_state fresh;
      fresh.first_ms = fresh.last_ms = t;
      return fresh;
    });
    s.first_ms = std::min(s.first_ms, t);
    s.last_ms = std::max(s.last_ms, t);
    const int64_t day = bl::hour_of(t) / 24;
    if (day > s.last_day) {
      s.last_day = day;
      ++s.active_days;
    }
    return s;
  }

  void evict_identities() {
    recent_ids_.clear();
    const size_t removed = bl::evict_oldest_tenth(
        identities_, [](const auto& s) { return s.last_ms; }, bl::evict_ties::older_first);
    ctx().count("identities_evicted", static_cast<int64_t>(removed));
  }

  void touch_account_net(account_state& a, uint64_t net, int64_t hour) {
    auto it = a.networks.find(net);
    if (it != a.networks.end()) {
      it->second = std::max(it->second, hour);
      return;
    }
    if (a.networks.size() >= nets_per_account_) {
      // Forget the least recently used tenth.
      std::vector<int64_t> hs;
      hs.reserve(a.networks.size());
      for (auto& [_, h] : a.networks) hs.push_back(h);
      size_t n = std::max<size_t>(1, hs.size() / 10);
      std::nth_element(hs.begin(), hs.begin() + static_cast<std::ptrdiff_t>(n - 1), hs.end());
      const int64_t cut = hs[n - 1];
      std::erase_if(a.networks, [&](const auto& x) { return x.second <= cut; });
    }
    a.networks.emplace(net, hour);
  }

  geo_info locate(std::string_view ip_text) {
    const uint64_t key = bl::hash64(ip_text);
    auto it = geo_cache_.find(key);
    if (it != geo_cache_.end()) return it->second;
    if (geo_cache_.size() >= kGeoCacheCap) geo_cache_.clear();
    geo_info g;
    std::string ip(ip_text);
    int gai = 0, err = 0;
    MMDB_lookup_result_s res = MMDB_lookup_string(&mmdb_, ip.c_str(), &gai, &err);
    if (gai == 0 && err == MMDB_SUCCESS && res.found_entry) {
      MMDB_entry_data_s d;
      if ((MMDB_get_value(&res.entry, &d, "country", "iso_code", nullptr) == MMDB_SUCCESS &&
           d.has_data && d.type == MMDB_DATA_TYPE_UTF8_STRING) ||
          (MMDB_get_value(&res.entry, &d, "registered_country", "iso_code", nullptr) ==
               MMDB_SUCCESS &&
           d.has_data && d.type == MMDB_DATA_TYPE_UTF8_STRING))
        g.country = pack_country(std::string_view(d.utf8_string, d.data_size));
      MMDB_entry_data_s la, lo;
      if (MMDB_get_value(&res.entry, &la, "location", "latitude", nullptr) == MMDB_SUCCESS &&
          MMDB_get_value(&res.entry, &lo, "location", "longitude", nullptr) == MMDB_SUCCESS &&
          la.has_data && lo.has_data && la.type == MMDB_DATA_TYPE_DOUBLE &&
          lo.type == MMDB_DATA_TYPE_DOUBLE) {
        g.located = true;
        g.lat = la.double_value;
        g.lon = lo.double_value;
      }
    }
    geo_cache_.emplace(key, g);
    return g;
  }

  // Impossible travel: per principal (a user, or one role session: a shared role is used from
  // many places at once by different people).
  void check_travel(const event& e, const geo_info& geo, bool learning) {
    std::string_view key = e.principal_arn().empty() ? e.identity() : e.principal_arn();
    auto it = travel_.find(key);
    if (it == travel_.end()) {
      if (travel_.size() >= kMaxTravelers) return;
      travel_.emplace(std::string(key), located_call{e.time_ms(), geo.lat, geo.lon, geo.country,
                                                     std::string(e.source_ip())});
      return;
    }
    located_call& prev = it->second;
    const double km = distance_km(prev.lat, prev.lon, geo.lat, geo.lon);
    const int64_t dt_ms = std::llabs(e.time_ms() - prev.time_ms);
    const double hours = std::max(dt_ms, int64_t(60000)) / 3600000.0;  // 1 minute resolution
    const double speed = km / hours;
    const bool impossible =
        !learning && km >= min_travel_km_ && speed > max_speed_ && prev.ip != e.source_ip();
    if (impossible) {
      finding f = make_finding("impossible-travel", e);
      f.summary = std::string(key) + " called from " + prev.ip + " (" + country_text(prev.country) +
                  ") and " + std::to_string(dt_ms / 60000) + " minute(s) later from " +
                  std::string(e.source_ip()) + " (" + country_text(geo.country) + "), " +
                  std::to_string(int64_t(km)) + " km apart (" + std::to_string(int64_t(speed)) +
                  " km/h).";
      f.principal = std::string(e.principal_arn());
      f.ev.add("principalArn", key).add("identity", e.identity());
      f.ev.add("previousSourceIPAddress", prev.ip)
          .add("previousCountry", country_text(prev.country))
          .add("previousEventTime", bl::iso_time(prev.time_ms));
      f.ev.add("sourceIPAddress", e.source_ip()).add("country", country_text(geo.country));
      f.ev.add("distanceKm", int64_t(km)).add("minutesBetween", dt_ms / 60000);
      f.ev.add("speedKmh", int64_t(speed));
      f.ev.add("eventName", e.name()).add("userAgent", e.user_agent());
      if (!e.access_key_id().empty()) f.ev.add("accessKeyId", e.access_key_id());
      if (auto* id = find_identity(e.identity());
          id && variable(*id, id->networks.count_since(bl::hour_of(e.time_ms()) - diversity_h_))) {
        f.sev = lower(f.sev);  // sources of this identity always vary (CI runners)
        f.ev.add_bool("variableSources", true);
      }
      f.dedup_key = std::string(key) + "|" + prev.ip + "|" + std::string(e.source_ip());
      emit(f);
    }
    if (e.time_ms() >= prev.time_ms)
      prev = located_call{e.time_ms(), geo.lat, geo.lon, geo.country, std::string(e.source_ip())};
  }

  const identity_state* find_identity(std::string_view who) const {
    auto it = identities_.find(who);
    return it == identities_.end() ? nullptr : &it->second;
  }

  pending* find_pending(std::string_view who, uint64_t net, int64_t t) {
    for (auto& p : pending_)
      if (p.net == net && p.identity == who && t < p.start_ms + window_ms_) return &p;
    return nullptr;
  }

  void add_event(pending& p, const event& e) {
    ++p.calls;
    p.last_ms = std::max(p.last_ms, e.time_ms());
    if (p.event_ids.size() < evidence_events_) {
      p.event_ids.emplace_back(e.id());
      p.event_names.emplace_back(e.name());
    }
    std::string_view ipt = e.source_ip();
    if (p.ips.size() < 10 && std::find(p.ips.begin(), p.ips.end(), ipt) == p.ips.end())
      p.ips.emplace_back(ipt);
    if (e.failed()) return;
    p.failed_only = false;
    std::string call = std::string(e.source()) + ":" + std::string(e.name());
    auto add = [&](std::vector<std::string>& v) {
      if (v.size() < 20 && std::find(v.begin(), v.end(), call) == v.end()) v.push_back(call);
    };
    if (e.read_only() == TH_FLAG_FALSE && e.type() != "AwsConsoleSignIn") add(p.write_calls);
    if (sensitive_read(e.name())) add(p.sensitive_calls);
  }

  void flush_pending(int64_t now_ms, bool all) {
    for (auto it = pending_.begin(); it != pending_.end();) {
      if (!all && now_ms < it->start_ms + window_ms_ + kDisorderMs) {
        ++it;
        continue;
      }
      emit_pending(*it);
      it = pending_.erase(it);
    }
  }

  void emit_pending(const pending& p) {
    finding f = ctx().make_finding(p.country_rule ? "new-source-country" : "new-source-network");
    f.account_id = p.account;
    f.region = p.region;
    f.principal = p.identity;
    f.source_ip = p.ips.empty() ? "" : p.ips.front();
    f.user_agent = p.user_agent;
    f.event_ids = p.event_ids;
    f.event_names = p.event_names;
    f.first_seen_ms = p.start_ms;
    f.last_seen_ms = p.last_ms;
    const bool changes = !p.write_calls.empty() || !p.sensitive_calls.empty();
    if (p.country_rule) {
      if (p.new_for_account && (p.long_term || changes)) f.sev = raise(f.sev);
    } else {
      if (p.long_term) f.sev = raise(f.sev);
      if (changes) f.sev = raise(f.sev);
    }
    if (p.diversity * 2 >= variable_networks_) f.sev = lower(f.sev);
    if (p.failed_only) f.sev = lower(f.sev);
    std::string what = p.country_rule
                           ? "country " + country_text(p.country) + " (network " + p.network + ")"
                           : "network " + p.network;
    f.summary = p.identity + " called from " + what + " for the first time" +
                (p.new_for_account ? ", new to account " + p.account + " as well" : "") + ": " +
                std::to_string(p.calls) + " call(s) in the first " +
                std::to_string(window_ms_ / 60000) + " minutes" +
                (changes ? ", including changes or secret reads." : ".");
    f.ev.add("identity", p.identity).add("principalArn", p.principal);
    f.ev.add("identityType", p.identity_type);
    if (!p.access_key.empty()) f.ev.add("accessKeyId", p.access_key);
    f.ev.add_bool("longTermCredentials", p.long_term);
    f.ev.add("network", p.network).add("sourceIPAddresses", p.ips);
    if (p.country) f.ev.add("country", country_text(p.country));
    if (p.country_rule) f.ev.add("previousCountries", p.previous_countries);
    f.ev.add_bool("newForAccount", p.new_for_account);
    if (p.country_rule) f.ev.add_bool("networkNewForAccount", p.network_new_for_account);
    f.ev.add("knownNetworks", static_cast<int64_t>(p.known_networks));
    f.ev.add("recentDistinctNetworks", static_cast<int64_t>(p.diversity));
    f.ev.add("callCount", static_cast<int64_t>(p.calls));
    if (!p.write_calls.empty()) f.ev.add("writeCalls", p.write_calls);
    if (!p.sensitive_calls.empty()) f.ev.add("sensitiveCalls", p.sensitive_calls);
    if (p.failed_only) f.ev.add_bool("allCallsFailed", true);
    f.ev.add("userAgent", p.user_agent);
    f.dedup_key = p.identity + "|" + (p.country_rule ? country_text(p.country) : p.network);
    emit(f);
  }

  void report_user_agent(const event& e, const identity_state& id, const bl::ua_family& ua,
                         bool with_new_network) {
    finding f = make_finding("new-user-agent-family", e);
    const bool role = e.identity_type() == "AssumedRole";
    if (role) f.sev = lower(f.sev);
    if (with_new_network) f.sev = raise(f.sev);
    f.principal = std::string(e.identity());
    f.summary = std::string(e.identity()) + " used client family " + ua.text() +
                " for the first time" + (with_new_network ? ", from a new network." : ".");
    f.ev.add("identity", e.identity()).add("principalArn", e.principal_arn());
    f.ev.add("userAgentFamily", ua.family);
    if (!ua.major.empty()) f.ev.add("userAgentMajorVersion", ua.major);
    f.ev.add("userAgent", e.user_agent()).add("sourceIPAddress", e.source_ip());
    f.ev.add("knownFamilies", static_cast<int64_t>(id.uas.items.size() - 1));
    f.ev.add_bool("newNetwork", with_new_network);
    f.ev.add("eventName", e.name());
    if (!e.access_key_id().empty()) f.ev.add("accessKeyId", e.access_key_id());
    f.dedup_key = std::string(e.identity()) + "|" + ua.family;
    emit(f);
  }

  int64_t warmup_ms_, identity_warmup_ms_, window_ms_;
  size_t evidence_events_, variable_networks_;
  int64_t diversity_h_;
  double max_speed_, min_travel_km_;
  bool user_agents_;
  int64_t retention_ms_;
  size_t max_identities_, nets_per_identity_, nets_per_account_;

  bool geo_ = false;
  MMDB_s mmdb_{};
  std::unordered_map<uint64_t, geo_info> geo_cache_;
  string_map<account_state> accounts_;
  account_state* last_acct_ = nullptr;  // last entry returned by account(), and its name
  std::string last_acct_name_;
  string_map<identity_state> identities_;
  string_map<located_call> travel_;
  string_map<ua_class> ua_classes_;                 // user agent -> user_agent_class() (bounded)
  util::lookup_cache<ua_class, 512> ua_recent_;     // in front of ua_classes_
  util::lookup_cache<source_address> addresses_;    // source address text -> address_of()
  util::lookup_cache<identity_state*> recent_ids_;  // in front of identities_: clear() on erase
  std::vector<pending> pending_;
  int64_t last_ageing_ms_ = INT64_MIN / 2;
  int64_t workload_skips_ = 0;  // aws_workload_sessions_skipped not yet handed to the host
};

}  // namespace

TRAILHOUND_MODULE("new-source", "1.0.0", new_source)
