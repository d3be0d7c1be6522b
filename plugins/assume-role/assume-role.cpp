// SPDX-License-Identifier: Apache-2.0
// assume-role: role assumptions and the sessions that follow them, measured against a learned
// per-caller and per-role baseline (new roles, chains, privileged roles, external callers, new
// networks, role hopping, sessions calling APIs their role never called).
#include <algorithm>
#include <cctype>
#include <cstdint>
#include <deque>
#include <iterator>
#include <stdexcept>
#include <string>
#include <string_view>
#include <trailhound/baseline.hpp>
#include <trailhound/sdk.hpp>
#include <trailhound/util.hpp>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

namespace {
using namespace trailhound::sdk;
namespace bl = trailhound::baseline;
using bl::ends_with;
using bl::kDayMs;
using bl::starts_with;
using util::string_map;
constexpr int64_t kDisorderMs = 5 * 60 * 1000;  // out-of-order slack before a window closes
constexpr std::string_view kSts = "sts.amazonaws.com";
constexpr std::string_view kIam = "iam.amazonaws.com";

// Memory caps (documented in docs/detectors/assume-role.md).
constexpr size_t kMaxCallers = 50000;
constexpr size_t kMaxRoles = 50000;
constexpr size_t kRolesPerCaller = 256;
constexpr size_t kNetsPerCaller = 32;
constexpr size_t kTriedPerCaller = 128;
constexpr size_t kApisPerRole = 1024;
constexpr size_t kMaxPrivileged = 20000;
constexpr size_t kMaxExternalPairs = 50000;
constexpr size_t kMaxAccounts = 10000;
constexpr size_t kMaxSessions = 50000;
constexpr size_t kDedupRing = 8192;
constexpr size_t kNovelPerSession = 50;
constexpr size_t kHopsPerCaller = 200;
constexpr size_t kMaxMemo = 8192;  // cached hashes of session calls (memo_for)

// ------------------------------------------------------------------------------------------
// Small helpers
// ------------------------------------------------------------------------------------------
// "arn:aws:iam::123456789012:role/path/Name" -> "123456789012"
std::string_view arn_account(std::string_view arn) {
  size_t n = 0, start = 0;
  for (size_t i = 0; i < arn.size(); ++i) {
    if (arn[i] != ':') continue;
    if (++n == 4) start = i + 1;
    if (n == 5) return arn.substr(start, i - start);
  }
  return {};
}
// Last path segment of a role ARN: the role name.
std::string_view arn_role_name(std::string_view arn) {
  size_t slash = arn.rfind('/');
  return slash == std::string_view::npos ? std::string_view() : arn.substr(slash + 1);
}

// The network of an address: IPv4 /24, IPv6 /48. Empty for anything that isn't an address.
std::string network_of(std::string_view ip) {
  if (ip.find(':') != std::string_view::npos) {
    // IPv6: first three groups (no "::" compression inside them, else give up on precision)
    size_t n = 0;
    for (size_t i = 0; i < ip.size(); ++i) {
      char c = ip[i];
      if (c == ':' && ++n == 3) return std::string(ip.substr(0, i)) + "::/48";
      if (c != ':' && !std::isxdigit(static_cast<unsigned char>(c))) return {};
    }
    return {};
  }
  int dots = 0;
  size_t last_dot = 0;
  for (size_t i = 0; i < ip.size(); ++i) {
    char c = ip[i];
    if (c == '.') {
      ++dots;
      last_dot = i;
    } else if (c < '0' || c > '9') {
      return {};
    }
  }
  if (dots != 3) return {};
  return std::string(ip.substr(0, last_dot)) + ".0/24";
}

bool private_ip(std::string_view ip) {
  if (ip.find(':') != std::string_view::npos) {
    std::string l;
    for (char c : ip.substr(0, 4)) l.push_back(static_cast<char>(std::tolower(c)));
    return ip == "::1" || starts_with(l, "fc") || starts_with(l, "fd") || starts_with(l, "fe8") ||
           starts_with(l, "fe9") || starts_with(l, "fea") || starts_with(l, "feb");
  }
  unsigned a = 0, b = 0;
  size_t i = 0;
  while (i < ip.size() && ip[i] != '.') a = a * 10 + static_cast<unsigned>(ip[i++] - '0');
  ++i;
  while (i < ip.size() && ip[i] != '.') b = b * 10 + static_cast<unsigned>(ip[i++] - '0');
  return a == 10 || a == 127 || (a == 172 && b >= 16 && b <= 31) || (a == 192 && b == 168) ||
         (a == 169 && b == 254) || (a == 100 && b >= 64 && b <= 127);
}

// A policy document (JSON text, maybe URL-encoded) that allows every action: "Action": "*"
// (or ["*"]) with "Effect": "Allow". A tolerant scan, not a parser.
bool allows_everything(std::string_view doc) {
  std::string d =
      doc.find('%') != std::string_view::npos ? util::percent_decode(doc) : std::string(doc);
  std::string c;
  c.reserve(d.size());
  for (char ch : d)
    if (!std::isspace(static_cast<unsigned char>(ch))) c.push_back(ch);
  if (c.find("\"Effect\":\"Allow\"") == std::string::npos) return false;
  return c.find("\"Action\":\"*\"") != std::string::npos ||
         c.find("\"Action\":[\"*\"") != std::string::npos ||
         c.find("\"Action\":\"iam:*\"") != std::string::npos;
}

bool read_only_call(const event& e) {
  if (e.read_only() == TH_FLAG_TRUE) return true;
  if (e.read_only() == TH_FLAG_FALSE) return false;
  std::string_view n = e.name();
  return starts_with(n, "List") || starts_with(n, "Describe") || starts_with(n, "Get") ||
         starts_with(n, "Head") || starts_with(n, "BatchGet") || starts_with(n, "Lookup");
}

// Services where a write nobody in the role ever made is a takeover step.
bool sensitive_service(std::string_view src) {
  for (std::string_view s :
       {"iam.amazonaws.com", "sts.amazonaws.com", "organizations.amazonaws.com",
        "cloudtrail.amazonaws.com", "kms.amazonaws.com", "secretsmanager.amazonaws.com",
        "guardduty.amazonaws.com", "config.amazonaws.com", "sso.amazonaws.com"})
    if (src == s) return true;
  return false;
}

// ------------------------------------------------------------------------------------------
// Baseline building blocks and their encoding
// ------------------------------------------------------------------------------------------

// Hashes with their last-seen hour (hour_u32), capped: the least recently seen goes first.
using seen_set = bl::seen_set<uint32_t>;

// A seen_set in the state: count, then each hash (8 bytes) and hour (varint).
void save_set(bl::writer& w, const seen_set& st) {
  w.u(st.items.size());
  for (auto& [hash, hour] : st.items) {
    w.h(hash);
    w.u(hour);
  }
}
void load_set(bl::reader& r, seen_set& st, size_t cap) {
  uint64_t n = r.count_at_most(cap);
  st.items.clear();
  st.items.reserve(n);
  for (uint64_t k = 0; k < n; ++k) {
    uint64_t hash = r.h();
    uint32_t hour = static_cast<uint32_t>(r.u());
    st.items.emplace_back(hash, hour);
  }
  std::sort(st.items.begin(), st.items.end());
}

constexpr std::string_view kMagic = "THAR";

// ------------------------------------------------------------------------------------------
// The detector
// ------------------------------------------------------------------------------------------
class assume_role final : public detector {
 public:
  static const detector_info& info() {
    static const detector_info i{
        "assume-role",
        "1.0.0",
        "Unusual role assumptions and sessions",
        "Learns who assumes which roles, from which networks, and which APIs the sessions of each "
        "role call; reports a caller assuming a role it never assumed (after the account's "
        "warm-up), new role chains, privileged roles assumed by unusual callers, callers from "
        "external accounts, assumptions from a new network, role hopping, and sessions calling "
        "APIs that sessions of their role never called.",
        // Every event: the sessions that follow an assumption, and the role API baselines.
        {{"*", "*"}},
        {
            {"warmup", TH_PARAM_DURATION, "\"7d\"",
             "Event time an account must have been observed before never-seen-before behaviour "
             "in it is reported (everything is new at first).",
             true, 0, 31536000},
            {"privileged_role_patterns", TH_PARAM_STRING_LIST,
             "[\"*Admin*\", \"*admin*\", \"OrganizationAccountAccessRole\", \"*BreakGlass*\"]",
             "Role name globs (case-sensitive, '*' and '?') of privileged roles. Roles seen "
             "receiving AdministratorAccess/IAMFullAccess or an Allow-* inline policy in the logs "
             "are privileged too.",
             false, 0, 0},
            {"hopping_threshold", TH_PARAM_INT, "5",
             "Distinct unusual roles (never assumed before by the caller, or denied) one caller "
             "tries within hopping_window that count as role hopping.",
             true, 2, 10000},
            {"hopping_window", TH_PARAM_DURATION, "\"1h\"", "Sliding window for hopping_threshold.",
             true, 60, 86400},
            {"network_min_history", TH_PARAM_INT, "10",
             "Successful assumptions a caller needs before a new source network is reported.", true,
             1, 1000000},
            {"network_roaming_percent", TH_PARAM_INT, "10",
             "A caller whose history has more new networks than this percentage of its "
             "assumptions roams (laptops, CI runners) and is not reported for new networks.",
             true, 0, 100},
            {"min_role_calls", TH_PARAM_INT, "50",
             "API calls a role's sessions must have made before a session calling a never-seen "
             "API is reported.",
             true, 1, 100000000},
            {"session_window", TH_PARAM_DURATION, "\"1h\"",
             "Novel APIs of one session are collected for this long (event time) after the first "
             "one, then reported as one finding (also at session expiry and end of input).",
             true, 60, 86400},
            {"retention", TH_PARAM_DURATION, "\"90d\"",
             "Baseline entries not seen for this long are forgotten.", true, 86400, 315360000},
        },
        {
            {"new-role-for-caller", severity::medium, "Caller assumed a role it never assumed",
             "T1078.004",
             "A caller (IAM user, role, SAML or web identity) assumed a role it was never seen "
             "assuming, after the account's warm-up."},
            {"new-role-chain", severity::medium, "New role chain", "T1078.004,T1550.001",
             "A role session assumed another role, and this chain (caller role -> role) was never "
             "seen before. Known chains are baseline and never reported."},
            {"privileged-role-new-caller", severity::high,
             "Privileged role assumed by an unusual caller", "T1078.004,T1548.005",
             "A role matching privileged_role_patterns, or seen receiving admin policies, was "
             "assumed by a caller that never assumed it before."},
            {"external-account-assume", severity::high, "Role assumed from an external account",
             "T1199,T1078.004",
             "A caller from an account outside the organisation (org_account_ids) or, without "
             "that setting, from an account whose logs are not in the input, assumed a role for "
             "the first time."},
            {"new-source-network", severity::medium, "Role assumed from a new network", "T1078.004",
             "A caller with a stable history assumed a role from a /24 (IPv6 /48) it never used."},
            {"role-hopping", severity::high, "Caller tried many unusual roles",
             "T1548.005,T1087.004",
             "One caller tried at least hopping_threshold distinct roles within hopping_window "
             "that it never assumed before (or was denied)."},
            {"session-novel-apis", severity::medium,
             "Assumed-role session called APIs its role never called", "T1078.004",
             "A session obtained through AssumeRole called APIs (eventSource:eventName) that "
             "sessions of its role never called; one finding per session and session_window."},
        },
        1};
    return i;
  }

  assume_role(const context& ctx, const config& cfg)
      : detector(ctx),
        warmup_ms_(cfg.get_duration_ms("warmup")),
        patterns_(cfg.get_list("privileged_role_patterns")),
        hop_threshold_(static_cast<size_t>(cfg.get_int("hopping_threshold"))),
        hop_window_ms_(cfg.get_duration_ms("hopping_window")),
        net_min_history_(static_cast<uint32_t>(cfg.get_int("network_min_history"))),
        roaming_pct_(static_cast<uint32_t>(cfg.get_int("network_roaming_percent"))),
        min_role_calls_(static_cast<uint64_t>(cfg.get_int("min_role_calls"))),
        session_window_ms_(cfg.get_duration_ms("session_window")),
        retention_ms_(cfg.get_duration_ms("retention")) {}

  // Hot path: every event of the input. For most: one flag, one account compare, one or two
  // hash lookups.
  void on_event(const event& e) override {
    if (e.aws_service()) return;
    const int64_t t = e.time_ms();
    accounts_.note(e.recipient_account(), t);
    std::string_view src = e.source();
    if (util::equals(src, kSts) && starts_with(e.name(), "AssumeRole")) {
      on_assume(e);
    } else if (util::equals(src, kIam) && e.succeeded()) {
      std::string_view n = e.name();
      if (n == "AttachRolePolicy" || n == "PutRolePolicy") on_role_policy(e);
    }
    if (util::equals(e.identity_type(), "AssumedRole")) on_session_call(e);
  }

  void on_tick(int64_t now_ms) override {
    // Sessions: report novel APIs whose window closed; forget expired sessions.
    for (auto it = sessions_.begin(); it != sessions_.end();) {
      session& s = it->second;
      if (!s.novel.empty() && now_ms >= s.window_start + session_window_ms_ + kDisorderMs)
        report_session(s);
      if (now_ms >= s.expires_ms + kDisorderMs) {
        if (!s.novel.empty()) report_session(s);
        arn_index_.erase(s.arn_hash);
        it = sessions_.erase(it);
      } else {
        ++it;
      }
    }
    // Once a day of event time: age the baselines.
    if (now_ms >= next_sweep_ms_) {
      if (next_sweep_ms_ != 0) sweep(now_ms);
      next_sweep_ms_ = now_ms + kDayMs;
    }
  }

  void on_flush() override {
    for (auto& [_, s] : sessions_)
      if (!s.novel.empty()) report_session(s);
  }

  // --------------------------------------------------------------------------------------
  // Persistence (schema 1): accounts, callers, roles, privileged roles, external pairs.
  std::string save_state() const override {
    bl::writer w;
    w.s(kMagic);
    w.u(1);
    w.u(accounts_.first_ms().size());
    for (auto& [acct, first] : accounts_.first_ms()) {
      w.s(acct);
      w.i(first);
    }
    w.u(callers_.size());
    for (auto& [key, c] : callers_) {
      w.s(key);
      w.u(c.assumptions);
      w.u(c.new_nets);
      w.u(c.last_hour);
      save_set(w, c.roles);
      save_set(w, c.nets);
      save_set(w, c.tried);
    }
    w.u(roles_.size());
    for (auto& [hash, r] : roles_) {
      w.h(hash);
      w.u(r.calls);
      w.u(r.last_hour);
      save_set(w, r.apis);
    }
    save_set(w, privileged_);
    save_set(w, external_pairs_);
    w.u(uid_index_.size());
    for (auto& [hash, v] : uid_index_) {
      w.h(hash);
      w.s(v.first);
      w.u(v.second);
    }
    return w.take();
  }

  void load_state(uint32_t schema_version, std::string_view data) override {
    if (schema_version != 1) throw std::runtime_error("assume-role state: unknown schema");
    bl::reader r(data, "assume-role state");
    if (r.s() != kMagic || r.u() != 1) throw std::runtime_error("assume-role state: bad header");
    string_map<int64_t> accounts;
    decltype(callers_) callers;
    decltype(roles_) roles;
    uint64_t n = r.count_at_most(kMaxAccounts);
    for (uint64_t k = 0; k < n; ++k) {
      std::string a = r.s();
      accounts[a] = r.i();
    }
    n = r.count_at_most(kMaxCallers);
    for (uint64_t k = 0; k < n; ++k) {
      std::string key = r.s();
      caller_state c;
      c.assumptions = static_cast<uint32_t>(r.u());
      c.new_nets = static_cast<uint32_t>(r.u());
      c.last_hour = static_cast<uint32_t>(r.u());
      load_set(r, c.roles, kRolesPerCaller);
      load_set(r, c.nets, kNetsPerCaller);
      load_set(r, c.tried, kTriedPerCaller);
      callers.emplace(std::move(key), std::move(c));
    }
    n = r.count_at_most(kMaxRoles);
    for (uint64_t k = 0; k < n; ++k) {
      uint64_t hash = r.h();
      role_state rs;
      rs.calls = r.u();
      rs.last_hour = static_cast<uint32_t>(r.u());
      load_set(r, rs.apis, kApisPerRole);
      roles.emplace(hash, std::move(rs));
    }
    seen_set priv, ext;
    load_set(r, priv, kMaxPrivileged);
    load_set(r, ext, kMaxExternalPairs);
    decltype(uid_index_) uids;
    n = r.count_at_most(kMaxCallers);
    for (uint64_t k = 0; k < n; ++k) {
      uint64_t hash = r.h();
      std::string arn = r.s();
      uids.emplace(hash, std::make_pair(std::move(arn), static_cast<uint32_t>(r.u())));
    }
    if (!r.done()) throw std::runtime_error("assume-role state: trailing bytes");
    accounts_.replace(std::move(accounts));
    callers_ = std::move(callers);
    roles_ = std::move(roles);
    privileged_ = std::move(priv);
    external_pairs_ = std::move(ext);
    uid_index_ = std::move(uids);
  }

 private:
  struct hop {
    int64_t time_ms;
    std::string role;
    std::string event_id;
    bool failed;
  };
  struct caller_state {
    seen_set roles;  // roles assumed successfully
    seen_set nets;   // source networks of successful assumptions
    seen_set tried;  // roles tried and denied
    uint32_t assumptions = 0;
    uint32_t new_nets = 0;  // how often a network was new: the caller's roaming rate
    uint32_t last_hour = 0;
    std::deque<hop> hops;  // transient: unusual attempts within hopping_window
    int64_t hop_quiet_until = 0;
  };
  struct role_state {
    seen_set apis;  // eventSource:eventName hashes called by any session of the role
    uint64_t calls = 0;
    uint32_t last_hour = 0;
  };
  struct novel_call {
    std::string api, event_id, error;
    int64_t time_ms;
    bool write;
  };
  struct session {
    std::string role_arn, caller, session_name, source_ip, account, access_key, assumed_arn,
        assume_event_id, region;
    uint64_t role_hash = 0, arn_hash = 0;
    int64_t start_ms = 0, expires_ms = 0, window_start = 0;
    uint32_t calls = 0;
    std::vector<novel_call> novel;
    std::vector<std::string> novel_seen;  // dedup of api names within the window
    std::string last_ip, last_user_agent;
  };

  // hash64 (FNV-1a) hashes of what the calls of one role session repeat (its role, its key),
  // found by the session ARN with std::hash: it costs a multiply per byte, and these
  // strings come with every call. Each cached hash is checked against its text, so a stale or
  // colliding entry only costs a recomputation.
  struct call_memo {
    // bl::hash64(text) of the last text seen in one field.
    struct slot {
      std::string text;
      uint64_t hash = 0;
      bool set = false;
      uint64_t get(std::string_view s) {
        if (!set || !util::equals(text, s)) {
          text.assign(s);
          hash = bl::hash64(s);
          set = true;
        }
        return hash;
      }
    };
    uint64_t arn_hash = 0;  // bl::hash64(session ARN), the key of this entry
    slot issuer, key;
  };

  // bl::hash64("eventSource" then 0x3a-mixed "eventName"): the role's API baseline key. Not
  // memoized per session (consecutive calls of a session mostly differ in API) but across the
  // input (cached_api_hash): FNV-1a costs a multiply per byte of the ~35, a hit in api_hashes_
  // a fingerprint and two short comparisons.
  static uint64_t api_hash(std::string_view source, std::string_view event_name) {
    return bl::hash64(event_name, bl::hash64(source) ^ 0x3a);
  }
  struct api_entry {
    std::string source;
    uint64_t hash = 0;
  };
  uint64_t cached_api_hash(std::string_view source, std::string_view event_name) {
    const api_entry* hit = api_hashes_.find(event_name);
    if (hit && util::equals(hit->source, source)) return hit->hash;
    const uint64_t h = api_hash(source, event_name);
    api_hashes_.put(event_name, api_entry{std::string(source), h});
    return h;
  }

  call_memo& memo_for(std::string_view session_arn) {
    if (call_memo* const* hit = recent_memo_.find(session_arn)) return **hit;
    auto it = memo_.find(session_arn);
    if (it == memo_.end()) {
      if (memo_.size() >= kMaxMemo) {  // bounded: attacker-chosen ARNs
        recent_memo_.clear();
        memo_.clear();
      }
      it = memo_.emplace(std::string(session_arn), call_memo{}).first;
      it->second.arn_hash = bl::hash64(session_arn);
    }
    recent_memo_.put(session_arn, &it->second);
    return it->second;
  }

  // ---------------------------------------------------------------------------------------
  bool warmed(std::string_view acct, int64_t t) const {
    return accounts_.warmed(acct, t, warmup_ms_);
  }

  // The identity that assumes: the role for sessions, the IdP subject for federation.
  // Cross-account assumptions are logged in the role's account with a bare identity
  // ({"type":"AWSAccount","principalId":"AROA...:session","accountId":...}): map its unique id
  // to the ARN learned from the caller-side copy, so both copies share one baseline.
  void note_uid(const event& e) {
    std::string_view type = e.identity_type();
    if (type != "IAMUser" && type != "AssumedRole" && type != "Root") return;
    std::string_view pid = e.principal_id();
    pid = pid.substr(0, pid.find(':'));
    if (pid.empty() || e.principal_account().empty()) return;
    uint64_t h = bl::hash64_pair(e.principal_account(), pid);
    auto it = uid_index_.find(h);
    if (it != uid_index_.end()) {
      it->second.second = std::max(it->second.second, bl::hour_u32(e.time_ms()));
      return;
    }
    if (uid_index_.size() >= kMaxCallers) return;
    uid_index_.emplace(h, std::make_pair(std::string(e.identity()), bl::hour_u32(e.time_ms())));
  }

  std::string caller_key(const event& e) const {
    std::string_view type = e.identity_type();
    value ui = e["userIdentity"];
    if (type == "WebIdentityUser") {
      std::string_view idp = ui["identityProvider"].str();
      std::string_view sub = ui["userName"].str();
      // GitHub OIDC: "repo:org/name:ref:refs/heads/x" -> "repo:org/name" (branches vary)
      if (starts_with(sub, "repo:")) {
        size_t c = sub.find(':', 5);
        if (c != std::string_view::npos) sub = sub.substr(0, c);
      }
      if (idp.empty() && sub.empty()) return std::string(e.principal_id());
      return "web:" + std::string(idp) + "|" + std::string(sub);
    }
    if (type == "SAMLUser") {
      return "saml:" + std::string(ui["identityProvider"].str()) + "|" +
             std::string(ui["userName"].str().empty() ? e.principal_id() : ui["userName"].str());
    }
    if (type == "AWSAccount") {
      std::string_view pid = e.principal_id();
      pid = pid.substr(0, pid.find(':'));  // AROA...:session -> the role's unique id
      auto it = uid_index_.find(bl::hash64_pair(e.principal_account(), pid));
      if (it != uid_index_.end()) return it->second.first;
      return "account:" + std::string(e.principal_account()) + "|" + std::string(pid);
    }
    return std::string(e.identity());
  }

  bool privileged_role(std::string_view role_account, std::string_view role_name,
                       bool* learned) const {
    *learned = false;
    for (auto& p : patterns_)
      if (util::glob_match(p, role_name, util::match_case::sensitive)) return true;
    if (privileged_.contains(bl::hash64_pair(role_account, role_name))) {
      *learned = true;
      return true;
    }
    return false;
  }

  void adjust_for_principal(const event& e, finding& f) const {
    util::lower_for_known_principal(ctx(), e, f);
  }

  caller_state* caller(const std::string& key, int64_t t) {
    auto it = callers_.find(key);
    if (it != callers_.end()) return &it->second;
    if (callers_.size() >= kMaxCallers) evict_callers(t);
    if (callers_.size() >= kMaxCallers) return nullptr;
    return &callers_.emplace(key, caller_state{}).first->second;
  }

  bool duplicate(uint64_t key) { return key != 0 && dedup_.seen_before(key); }

  // ---------------------------------------------------------------------------------------
  // AssumeRole, AssumeRoleWithSAML, AssumeRoleWithWebIdentity
  void on_assume(const event& e) {
    std::string_view n = e.name();
    if (n != "AssumeRole" && n != "AssumeRoleWithSAML" && n != "AssumeRoleWithWebIdentity") return;
    value req = e.request();
    std::string_view role_arn = req["roleArn"].str();
    if (role_arn.empty()) return;
    note_uid(e);
    std::string key = caller_key(e);
    if (key.empty()) return;
    value resp = e.response();
    std::string_view issued_key = resp.path("credentials.accessKeyId").str();
    // A cross-account assumption is logged in both accounts (same sharedEventID).
    std::string_view shared = e["sharedEventID"].str();
    uint64_t dedup = !shared.empty()       ? bl::hash64(shared)
                     : !issued_key.empty() ? bl::hash64(issued_key)
                                           : 0;
    if (duplicate(dedup)) return;

    const int64_t t = e.time_ms();
    const uint32_t hour = bl::hour_u32(t);
    caller_state* cp = caller(key, t);
    if (!cp) return;
    caller_state& c = *cp;
    c.last_hour = std::max(c.last_hour, hour);
    std::string acct(e.recipient_account().empty() ? arn_account(role_arn) : e.recipient_account());
    const bool warm = warmed(acct, t);
    const uint64_t rh = bl::hash64(role_arn);
    const bool pair_known = c.roles.contains(rh);

    if (e.failed()) {
      // Denied attempts: probing. Only roles never tried before count towards hopping.
      if (!pair_known && c.tried.touch(rh, hour, kTriedPerCaller)) note_hop(e, c, role_arn, true);
      return;
    }
    if (!pair_known && warm) note_hop(e, c, role_arn, false);

    std::string_view role_account = arn_account(role_arn);
    std::string_view role_name = arn_role_name(role_arn);
    std::string_view type = e.identity_type();
    // a role session, also in the role account's bare copy (principalId "AROA...:session")
    const bool chain =
        type == "AssumedRole" || (type == "AWSAccount" && starts_with(e.principal_id(), "AROA"));
    bool learned_priv = false;
    const bool privileged = privileged_role(role_account, role_name, &learned_priv);
    const bool sso_role = starts_with(role_name, "AWSReservedSSO_");

    std::string_view caller_acct = e.principal_account();
    bool external = false;
    if (type != "WebIdentityUser" && type != "SAMLUser" && !caller_acct.empty() &&
        !role_account.empty() && caller_acct != role_account) {
      external = ctx().org_accounts_known() ? !ctx().is_org_account(caller_acct)
                                            : !accounts_.known(caller_acct);
    }
    const uint64_t ext_hash = bl::hash64_pair(caller_acct, role_arn);

    std::string_view ip = e.source_ip();
    std::string net = network_of(ip);
    const uint64_t nh = net.empty() ? 0 : bl::hash64(net);
    const bool net_new = !net.empty() && !c.nets.contains(nh);
    const bool trusted_ip = ctx().trusted_cidrs_known() && ctx().is_trusted_ip(ip);
    const bool stable = type != "WebIdentityUser" && c.assumptions >= net_min_history_ &&
                        static_cast<uint64_t>(c.new_nets) * 100 <=
                            static_cast<uint64_t>(c.assumptions) * roaming_pct_;
    const bool report_net = warm && net_new && stable && !trusted_ip;

    const char* rule = nullptr;
    if (warm && external && !external_pairs_.contains(ext_hash))
      rule = "external-account-assume";
    else if (warm && !pair_known)
      rule = privileged ? "privileged-role-new-caller"
             : chain    ? "new-role-chain"
                        : "new-role-for-caller";
    if (rule) {
      finding f = make_finding(rule, e);
      std::string_view r(rule);
      if (r == "external-account-assume" && privileged) f.sev = severity::critical;
      if (sso_role && type == "SAMLUser") {
        f.sev = lower(f.sev);  // Identity Center permission set newly assigned by an admin
        f.ev.add_bool("ssoPermissionSet", true);
      }
      if (report_net && r != "external-account-assume") {
        f.sev = raise(f.sev);
        f.ev.add_bool("newSourceNetwork", true);
      }
      f.summary =
          key + " assumed role " + std::string(role_arn) +
          (r == "external-account-assume"
               ? " from account " + std::string(caller_acct) + ", outside the organisation"
           : r == "new-role-chain"             ? " from a role session: a chain never seen before"
           : r == "privileged-role-new-caller" ? ", a privileged role it never assumed before"
                                               : ", a role it never assumed before") +
          " (source " + std::string(ip) + ").";
      add_assume_evidence(f, e, key, role_arn, net);
      f.ev.add_bool("privilegedRole", privileged);
      if (learned_priv) f.ev.add_bool("adminPolicyObserved", true);
      if (chain) f.ev.add_bool("roleChain", true);
      if (external) {
        f.ev.add("callerAccountId", caller_acct);
        f.ev.add_bool("orgAccountsKnown", ctx().org_accounts_known());
      }
      f.ev.add("callerHistoryRoles", static_cast<uint64_t>(c.roles.items.size()));
      f.dedup_key = key + "|" + std::string(role_arn);
      adjust_for_principal(e, f);
      emit(f);
    } else if (report_net) {
      finding f = make_finding("new-source-network", e);
      if (private_ip(ip)) {
        f.sev = lower(f.sev);  // a new subnet or VPC endpoint of our own
        f.ev.add_bool("privateAddress", true);
      }
      f.summary = key + " assumed role " + std::string(role_arn) + " from " + std::string(ip) +
                  ", a network (" + net + ") it never used in " + std::to_string(c.assumptions) +
                  " earlier assumptions.";
      add_assume_evidence(f, e, key, role_arn, net);
      f.ev.add("knownNetworks", static_cast<uint64_t>(c.nets.items.size()));
      f.ev.add("historyAssumptions", static_cast<uint64_t>(c.assumptions));
      f.dedup_key = key + "|" + net;
      adjust_for_principal(e, f);
      emit(f);
    }

    // Learn.
    c.roles.touch(rh, hour, kRolesPerCaller);
    if (!net.empty() && c.nets.touch(nh, hour, kNetsPerCaller)) ++c.new_nets;
    if (c.assumptions < UINT32_MAX) ++c.assumptions;
    if (external) external_pairs_.touch(ext_hash, hour, kMaxExternalPairs);

    // Follow the session.
    if (!issued_key.empty()) track_session(e, key, role_arn, resp, acct);
  }

  void add_assume_evidence(finding& f, const event& e, const std::string& key,
                           std::string_view role_arn, const std::string& net) const {
    f.ev.add("caller", key).add("callerType", e.identity_type());
    if (!e.principal_arn().empty()) f.ev.add("callerArn", e.principal_arn());
    f.ev.add("roleArn", role_arn);
    std::string_view sess = e.request()["roleSessionName"].str();
    if (!sess.empty()) f.ev.add("roleSessionName", sess);
    f.ev.add("eventName", e.name());
    f.ev.add("sourceIPAddress", e.source_ip());
    if (!net.empty()) f.ev.add("sourceNetwork", net);
    f.ev.add("userAgent", e.user_agent());
  }

  // ---------------------------------------------------------------------------------------
  // Role hopping: distinct unusual roles within the window.
  void note_hop(const event& e, caller_state& c, std::string_view role_arn, bool failed) {
    const int64_t t = e.time_ms();
    while (!c.hops.empty() && c.hops.front().time_ms < t - hop_window_ms_) c.hops.pop_front();
    if (c.hops.size() >= kHopsPerCaller) c.hops.pop_front();
    c.hops.push_back(hop{t, std::string(role_arn), std::string(e.id()), failed});
    if (t < c.hop_quiet_until) return;
    std::vector<std::string> roles;
    int64_t denied = 0;
    for (auto& h : c.hops) {
      if (std::find(roles.begin(), roles.end(), h.role) == roles.end()) roles.push_back(h.role);
      denied += h.failed;
    }
    if (roles.size() < hop_threshold_) return;
    c.hop_quiet_until = t + hop_window_ms_;  // once per window

    finding f = make_finding("role-hopping", e);
    f.event_ids.clear();
    f.event_names.clear();
    f.first_seen_ms = f.last_seen_ms = 0;
    for (auto& h : c.hops) f.with_event(h.event_id, "AssumeRole", h.time_ms);
    std::string key = caller_key(e);
    f.summary = key + " tried " + std::to_string(roles.size()) +
                " distinct roles it never assumed before within " +
                std::to_string(hop_window_ms_ / 60000) + " minutes (" + std::to_string(denied) +
                " denied).";
    if (roles.size() > 25) roles.resize(25);
    f.ev.add("caller", key).add("callerType", e.identity_type());
    f.ev.add("distinctRoles", static_cast<int64_t>(roles.size())).add("roleArns", roles);
    f.ev.add("deniedAttempts", denied);
    f.ev.add("windowSeconds", hop_window_ms_ / 1000);
    f.ev.add("sourceIPAddress", e.source_ip()).add("userAgent", e.user_agent());
    f.dedup_key = key + "|" + std::to_string(t / hop_window_ms_);
    adjust_for_principal(e, f);
    emit(f);
  }

  // ---------------------------------------------------------------------------------------
  // Privileged roles learned from the logs.
  void on_role_policy(const event& e) {
    value req = e.request();
    std::string_view role = req["roleName"].str();
    if (role.empty()) return;
    bool admin = false;
    if (e.name() == "AttachRolePolicy") {
      std::string_view p = req["policyArn"].str();
      admin = ends_with(p, "/AdministratorAccess") || ends_with(p, "/IAMFullAccess");
    } else {
      admin = allows_everything(req["policyDocument"].str());
    }
    if (!admin) return;
    std::string_view acct = e.recipient_account();
    privileged_.touch(bl::hash64_pair(acct, role), bl::hour_u32(e.time_ms()), kMaxPrivileged);
  }

  // ---------------------------------------------------------------------------------------
  // Sessions
  void track_session(const event& e, const std::string& key, std::string_view role_arn,
                     const value& resp, const std::string& acct) {
    std::string_view issued = resp.path("credentials.accessKeyId").str();
    uint64_t kh = bl::hash64(issued);
    if (sessions_.size() >= kMaxSessions && !sessions_.count(kh)) {
      ctx().count("sessions_not_followed");
      return;
    }
    session& s = sessions_[kh];
    s = session{};
    s.role_arn = std::string(role_arn);
    s.role_hash = bl::hash64(role_arn);
    s.caller = key;
    s.session_name = std::string(e.request()["roleSessionName"].str());
    s.source_ip = std::string(e.source_ip());
    s.account = acct;
    s.region = std::string(e.region());
    s.access_key = std::string(issued);
    s.assumed_arn = std::string(resp.path("assumedRoleUser.arn").str());
    s.assume_event_id = std::string(e.id());
    s.start_ms = e.time_ms();
    int64_t dur = e.request()["durationSeconds"].as_int(3600);
    dur = std::clamp<int64_t>(dur, 900, 43200);
    s.expires_ms = e.time_ms() + dur * 1000;
    if (!s.assumed_arn.empty()) {
      s.arn_hash = bl::hash64(s.assumed_arn);
      arn_index_[s.arn_hash] = kh;
    }
  }

  session* find_session(const event& e, call_memo& m) {
    if (sessions_.empty()) return nullptr;
    std::string_view k = e.access_key_id();
    if (!k.empty()) {
      auto it = sessions_.find(m.key.get(k));
      if (it != sessions_.end()) return &it->second;
    }
    // Console sessions sign with other keys: fall back to the assumed-role ARN.
    auto a = arn_index_.find(m.arn_hash);
    if (a == arn_index_.end()) return nullptr;
    auto it = sessions_.find(a->second);
    if (it == sessions_.end() || e.time_ms() > it->second.expires_ms + kDisorderMs) return nullptr;
    return &it->second;
  }

  void on_session_call(const event& e) {
    std::string_view issuer = e.session_issuer_arn();
    if (issuer.empty()) return;
    const int64_t t = e.time_ms();
    const uint32_t hour = bl::hour_u32(t);
    std::string_view src = e.source(), name = e.name();
    call_memo& m = memo_for(e.principal_arn());
    const uint64_t ah = cached_api_hash(src, name);
    const uint64_t rh = m.issuer.get(issuer);
    auto it = roles_.find(rh);
    if (it == roles_.end()) {
      if (roles_.size() >= kMaxRoles) evict_roles();
      if (roles_.size() >= kMaxRoles) return;
      it = roles_.emplace(rh, role_state{}).first;
    }
    role_state& r = it->second;
    if (session* s = find_session(e, m)) {
      ++s->calls;
      s->last_ip.assign(e.source_ip());  // reuses the strings' buffers
      s->last_user_agent.assign(e.user_agent());
      if (r.calls >= min_role_calls_ && !r.apis.contains(ah) && warmed(s->account, t)) {
        std::string api = std::string(src) + ":" + std::string(name);
        if (std::find(s->novel_seen.begin(), s->novel_seen.end(), api) == s->novel_seen.end() &&
            s->novel.size() < kNovelPerSession) {
          if (s->novel.empty()) s->window_start = t;
          s->novel_seen.push_back(api);
          s->novel.push_back(novel_call{api, std::string(e.id()), std::string(e.error_code()), t,
                                        !read_only_call(e)});
        }
      }
    }
    r.apis.touch(ah, hour, kApisPerRole);
    ++r.calls;
    r.last_hour = std::max(r.last_hour, hour);
  }

  void report_session(session& s) {
    std::vector<std::string> writes, reads;
    bool sensitive = false;
    finding f = ctx().make_finding("session-novel-apis");
    for (auto& n : s.novel) {
      (n.write ? writes : reads).push_back(n.api);
      if (n.write && sensitive_service(n.api.substr(0, n.api.find(':')))) sensitive = true;
      f.with_event(n.event_id, n.api.substr(n.api.find(':') + 1), n.time_ms);
    }
    f.with_event(s.assume_event_id, "AssumeRole", s.start_ms);
    if (writes.empty())
      f.sev = severity::low;  // read-only novelty: scanners and curious humans
    else if (writes.size() >= 3 || sensitive)
      f.sev = severity::high;
    if (starts_with(arn_role_name(s.role_arn), "AWSReservedSSO_")) {
      f.sev = lower(f.sev);  // a human's permission set: people do new things
      f.ev.add_bool("ssoPermissionSet", true);
    }
    f.account_id = s.account;
    f.region = s.region;
    f.principal = s.assumed_arn.empty() ? s.role_arn : s.assumed_arn;
    f.source_ip = s.last_ip.empty() ? s.source_ip : s.last_ip;
    f.user_agent = s.last_user_agent;
    f.summary = "Session " + s.session_name + " of role " + s.role_arn + " (assumed by " +
                s.caller + " from " + s.source_ip + ") called " + std::to_string(s.novel.size()) +
                " API(s) that sessions of this role never " + "called (" +
                std::to_string(writes.size()) + " write).";
    f.ev.add("caller", s.caller).add("roleArn", s.role_arn);
    f.ev.add("roleSessionName", s.session_name);
    f.ev.add("sourceIPAddress", s.source_ip);
    f.ev.add("sessionAccessKeyId", s.access_key);
    if (!s.assumed_arn.empty()) f.ev.add("assumedRoleArn", s.assumed_arn);
    std::vector<std::string> all = writes;
    all.insert(all.end(), reads.begin(), reads.end());
    f.ev.add("novelApis", all);
    f.ev.add("novelWriteApis", writes).add("novelReadApis", reads);
    f.ev.add("sessionCalls", static_cast<uint64_t>(s.calls));
    f.dedup_key = s.access_key + "|" + std::to_string(s.window_start);
    emit(f);
    s.novel.clear();
    s.novel_seen.clear();
  }

  // ---------------------------------------------------------------------------------------
  // Ageing and caps
  void sweep(int64_t now_ms) {
    uint32_t min_hour = bl::hour_u32(now_ms - retention_ms_);
    for (auto it = callers_.begin(); it != callers_.end();) {
      caller_state& c = it->second;
      c.roles.age(min_hour);
      c.nets.age(min_hour);
      c.tried.age(min_hour);
      while (!c.hops.empty() && c.hops.front().time_ms < now_ms - hop_window_ms_)
        c.hops.pop_front();
      if (c.last_hour < min_hour && c.hops.empty())
        it = callers_.erase(it);
      else
        ++it;
    }
    for (auto it = roles_.begin(); it != roles_.end();) {
      it->second.apis.age(min_hour);
      if (it->second.last_hour < min_hour)
        it = roles_.erase(it);
      else
        ++it;
    }
    privileged_.age(min_hour);
    external_pairs_.age(min_hour);
    for (auto it = uid_index_.begin(); it != uid_index_.end();)
      it = it->second.second < min_hour ? uid_index_.erase(it) : std::next(it);
  }

  template <class Map>
  static void evict_oldest_tenth(Map& m) {
    bl::evict_oldest_tenth(
        m, [](const auto& v) { return v.last_hour; }, bl::evict_ties::in_map_order);
  }
  void evict_callers(int64_t) { evict_oldest_tenth(callers_); }
  void evict_roles() { evict_oldest_tenth(roles_); }

  // ---------------------------------------------------------------------------------------
  int64_t warmup_ms_;
  std::vector<std::string> patterns_;
  size_t hop_threshold_;
  int64_t hop_window_ms_;
  uint32_t net_min_history_;
  uint32_t roaming_pct_;
  uint64_t min_role_calls_;
  int64_t session_window_ms_;
  int64_t retention_ms_;

  // learned (persisted)
  util::account_first_seen accounts_{kMaxAccounts};  // recipient account -> first seen
  std::unordered_map<std::string, caller_state> callers_;
  std::unordered_map<uint64_t, role_state> roles_;  // hash(role ARN)
  seen_set privileged_;                             // hash(account, role name)
  seen_set external_pairs_;                         // hash(caller account, role ARN)
  // hash(account, unique id AIDA/AROA) -> (identity ARN, last hour)
  std::unordered_map<uint64_t, std::pair<std::string, uint32_t>> uid_index_;

  // transient
  std::unordered_map<uint64_t, session> sessions_;    // hash(issued access key)
  std::unordered_map<uint64_t, uint64_t> arn_index_;  // hash(assumed-role ARN) -> session
  string_map<call_memo> memo_;                        // session ARN -> hashes (memo_for)
  util::lookup_cache<call_memo*> recent_memo_;        // in front of memo_: clear() with it
  util::lookup_cache<api_entry, 512> api_hashes_;     // event name -> source and api_hash()
  bl::recent_keys dedup_{kDedupRing};
  int64_t next_sweep_ms_ = 0;
};

}  // namespace

TRAILHOUND_MODULE("assume-role", "1.0.0", assume_role)
