// SPDX-License-Identifier: Apache-2.0
// iam-keys: IAM access key abuse (keys for other users, reactivation, enumeration, backdoor
// users, first use of an unknown long-term key).
#include <algorithm>
#include <deque>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <trailhound/baseline.hpp>
#include <trailhound/habit.hpp>
#include <trailhound/sdk.hpp>
#include <trailhound/util.hpp>
#include <unordered_map>
#include <vector>

namespace {
using namespace trailhound::sdk;
namespace util = trailhound::sdk::util;
namespace habit = trailhound::habit;
using util::account_of;

constexpr int64_t kDisorderMs = 5 * 60 * 1000;  // out-of-order slack before state is dropped
// How long a step read before the step that should precede it (unordered records in a file, files
// delivered minutes apart) waits for it, in event time.
constexpr int64_t kReorderMs = 15 * 60 * 1000;
constexpr int64_t kDayMs = 86400000LL;
constexpr size_t kMaxEpisodes = 8;          // enumeration episodes remembered per identity
constexpr size_t kMaxStateEntries = 50000;  // per map; protects memory on hostile input
constexpr size_t kMaxListedUsers = 25;
constexpr std::string_view kIam = "iam.amazonaws.com";
constexpr std::string_view kSts = "sts.amazonaws.com";

bool contains(std::string_view s, std::string_view p) {
  return s.find(p) != std::string_view::npos;
}

// Console sessions (the IAM console's Users page lists every user's keys).
bool console_session(const event& e) {
  // A top-level field of the record ("sessionCredentialFromConsole": "true").
  if (e["sessionCredentialFromConsole"].as_bool(false) ||
      e["userIdentity"]["sessionCredentialFromConsole"].as_bool(false))
    return true;
  return e.source_ip() == "AWS Internal" || e.user_agent() == "AWS Internal" ||
         contains(e.user_agent(), "console.amazonaws.com");
}

// Infrastructure-as-code tools that call sts:GetCallerIdentity first on every run.
bool iac_user_agent(std::string_view ua) {
  return contains(ua, "Terraform") || contains(ua, "terraform-provider-aws") ||
         contains(ua, "Pulumi") || contains(ua, "aws-cdk") || contains(ua, "OpenTofu");
}

// Policies whose attachment to a fresh user makes it an administrator.
bool admin_like_policy_arn(std::string_view arn) {
  for (std::string_view p : {"/AdministratorAccess", "/IAMFullAccess", "/PowerUserAccess"})
    if (arn.size() >= p.size() && arn.substr(arn.size() - p.size()) == p) return true;
  return false;
}

class iam_keys final : public detector {
 public:
  static const detector_info& info() {
    static const detector_info i{
        "iam-keys",
        "1.0.0",
        "IAM access key abuse",
        "Long-term IAM access keys used for persistence and by thieves: keys created for other "
        "users or for root, keys reactivated, access key enumeration across users, a key "
        "creation followed by a backdoor user, and a never-seen long-term key whose first call "
        "is sts:GetCallerIdentity.",
        // Every event: the first-use rule must see each long-term key's first call.
        {{"*", "*"}},
        {
            {"enumeration_threshold", TH_PARAM_INT, "10",
             "Distinct userName values in ListAccessKeys calls by one principal within "
             "enumeration_window that count as enumeration.",
             true, 2, 100000},
            {"enumeration_window", TH_PARAM_DURATION, "\"10m\"",
             "Sliding window for enumeration_threshold.", true, 60, 86400},
            {"scanner_user_agents", TH_PARAM_STRING_LIST, util::kSecurityScannerAgentsToml,
             "Case-insensitive substrings naming security scanners, searched in the user agent "
             "and in the caller's ARN (role, session or user name): their enumeration is low. "
             "The default list is shared with recon-tooling.",
             false, 0, 0},
            {"schedule_tolerance", TH_PARAM_DURATION, "\"1h\"",
             "An enumeration episode starting within this much of the time of day of an earlier "
             "episode of the same identity on another day (within schedule_lookback) is a "
             "scheduled job: info. 0 turns this off.",
             true, 0, 43200},
            {"schedule_lookback", TH_PARAM_DURATION, "\"8d\"",
             "How far back earlier enumeration episodes count for schedule_tolerance (kept in the "
             "learned state between runs).",
             true, 86400, 7776000},
            {"habit_min_days", TH_PARAM_INT, "3",
             "An enumeration episode of an identity that had episodes on at least this many "
             "earlier days within habit_lookback (at any time of day) is its routine: not "
             "reported when it would be info anyway, else info. 0 turns this off.",
             true, 0, 63},
            {"habit_lookback", TH_PARAM_DURATION, "\"30d\"",
             "How far back the earlier days of habit_min_days count (kept in the learned state).",
             true, 86400, 5443200},
            {"chain_window", TH_PARAM_DURATION, "\"1h\"",
             "CreateAccessKey followed within this window by CreateUser / AttachUserPolicy / "
             "PutUserPolicy / CreateLoginProfile from the same caller is a backdoor chain.",
             true, 60, 86400},
            {"rotation_grace", TH_PARAM_DURATION, "\"15m\"",
             "A key created for another user is held this long (event time) to see whether an "
             "old key of that user is deactivated or deleted (rotation: reported low).",
             true, 0, 86400},
            {"first_use_detection", TH_PARAM_BOOL, "true",
             "Report a never-seen long-term key (AKIA...) whose first call is "
             "sts:GetCallerIdentity or sts:GetSessionToken.",
             false, 0, 0},
            {"first_use_warmup", TH_PARAM_DURATION, "\"24h\"",
             "Keys first seen within this much event time of the start of input are learned, "
             "not reported (everything is new at the start of a scan).",
             true, 0, 2592000},
            {"seen_keys_cap", TH_PARAM_INT, "200000",
             "Most long-term keys remembered; the least recently used are forgotten beyond.", true,
             1000, 10000000},
            {"root_keys", TH_PARAM_BOOL, "false",
             "Also report CreateAccessKey by the root user for itself. Off by default: the "
             "root-account detector reports it as root-access-key-created.",
             false, 0, 0},
        },
        {
            {"access-key-created-for-other-user", severity::high,
             "Access key created for another IAM user", "T1098.001",
             "CreateAccessKey whose userName is not the caller's own user; low when the same "
             "user's old key is retired around it (rotation)."},
            {"access-key-created-for-root", severity::high, "Access key created for the root user",
             "T1098.001,T1078.004", "CreateAccessKey by the root user without userName."},
            {"access-key-reactivated", severity::medium, "Access key set back to Active",
             "T1098.001,T1078.004",
             "UpdateAccessKey with status Active (a deactivated, possibly compromised key "
             "revived)."},
            {"access-key-enumeration", severity::medium, "Access keys listed across many users",
             "T1087.004",
             "ListAccessKeys for at least enumeration_threshold distinct users by one principal "
             "within enumeration_window. Low for security scanners (scanner_user_agents) and the "
             "console; info when the identity enumerated at the same time of day on an earlier "
             "day (a scheduled job, schedule_tolerance). An identity that enumerated on "
             "habit_min_days earlier days (its routine): info, and not reported at all when it "
             "would be info anyway."},
            {"backdoor-user-chain", severity::high,
             "Access key creation followed by user creation or privilege grant",
             "T1136.003,T1098.001,T1098.003",
             "CreateAccessKey followed within chain_window by CreateUser, AttachUserPolicy, "
             "PutUserPolicy or CreateLoginProfile from the same caller (records read in the "
             "reverse order are matched too)."},
            {"new-key-first-call-whoami", severity::medium,
             "Unknown long-term key starts with GetCallerIdentity", "T1078.004,T1033",
             "A long-term access key never seen before in this run (after warm-up) whose first "
             "call (by event time, records read out of order included) is sts:GetCallerIdentity "
             "or sts:GetSessionToken: typical first move with a stolen key. Held a few minutes "
             "to see the key's CreateAccessKey: high when made for another user, silent when "
             "the user made it for itself (rotation)."},
        },
        /* state_schema_version: keys seen, the warm-up start, enumeration episodes and habits
           survive runs (the habit section is an optional, versioned tail: schema 1 kept) */
        1};
    return i;
  }

  iam_keys(const context& ctx, const config& cfg)
      : detector(ctx),
        enum_threshold_(cfg.get_int("enumeration_threshold")),
        enum_window_ms_(cfg.get_duration_ms("enumeration_window")),
        chain_window_ms_(cfg.get_duration_ms("chain_window")),
        rotation_grace_ms_(cfg.get_duration_ms("rotation_grace")),
        first_use_(cfg.get_bool("first_use_detection")),
        warmup_ms_(cfg.get_duration_ms("first_use_warmup")),
        seen_cap_(static_cast<size_t>(cfg.get_int("seen_keys_cap"))),
        root_keys_(cfg.get_bool("root_keys")),
        schedule_tolerance_ms_(cfg.get_duration_ms("schedule_tolerance")),
        schedule_lookback_ms_(cfg.get_duration_ms("schedule_lookback")),
        habits_(cfg.get_int("habit_min_days"), cfg.get_duration_ms("habit_lookback"),
                kMaxStateEntries) {
    for (auto& s : cfg.get_list("scanner_user_agents"))
      if (!s.empty()) scanners_.push_back(util::to_lower(s));
  }

  void on_event(const event& e) override {
    // Hot path: every event of the input arrives here. Two string compares for most of them.
    if (e.aws_service()) return;
    if (e.time_ms() < start_ms_) start_ms_ = e.time_ms();
    if (first_use_) {
      std::string_view key = e.access_key_id();
      if (key.size() > 4 && key.starts_with("AKIA")) track_key(e, key);
    }
    if (e.source() != kIam) return;

    std::string_view name = e.name();
    if (name == "ListAccessKeys") {
      on_list_access_keys(e);  // denied attempts count too: probing
      return;
    }
    if (e.failed()) return;
    if (name == "CreateAccessKey") {
      on_create_access_key(e);
    } else if (name == "UpdateAccessKey") {
      on_update_access_key(e);
    } else if (name == "DeleteAccessKey") {
      note_retired(e, e.request()["userName"].str(), e.request()["accessKeyId"].str());
    } else if (name == "CreateUser" || name == "AttachUserPolicy" || name == "PutUserPolicy" ||
               name == "CreateLoginProfile") {
      on_persistence_op(e);
    }
  }

  void on_tick(int64_t now_ms) override {
    flush_pending(now_ms, false);
    flush_whoami(now_ms, false);
    release_chains(now_ms, false);
    for (auto it = recent_new_.begin(); it != recent_new_.end();)
      it = it->second.first_ms < now_ms - kReorderMs ? recent_new_.erase(it) : std::next(it);
    for (auto it = recent_ops_.begin(); it != recent_ops_.end();) {
      auto& v = it->second;
      v.erase(std::remove_if(v.begin(), v.end(),
                             [&](const chain_op& o) { return o.time_ms < now_ms - kReorderMs; }),
              v.end());
      it = v.empty() ? recent_ops_.erase(it) : std::next(it);
    }
    for (auto it = episodes_.begin(); it != episodes_.end();) {
      auto& v = it->second;
      v.erase(std::remove_if(v.begin(), v.end(),
                             [&](int64_t t) { return t < now_ms - schedule_lookback_ms_; }),
              v.end());
      it = v.empty() ? episodes_.erase(it) : std::next(it);
    }
    for (auto it = chains_.begin(); it != chains_.end();) {
      if (now_ms >= it->second.time_ms + chain_window_ms_ + kDisorderMs)
        it = chains_.erase(it);
      else
        ++it;
    }
    for (auto it = retired_.begin(); it != retired_.end();) {
      if (now_ms >= it->second.time_ms + rotation_grace_ms_ + kDisorderMs)
        it = retired_.erase(it);
      else
        ++it;
    }
    for (auto it = listers_.begin(); it != listers_.end();) {
      prune(it->second, now_ms - kDisorderMs);
      if (it->second.users.empty())
        it = listers_.erase(it);
      else
        ++it;
    }
    // Keys created in this run are remembered for a week of event time (first use may lag).
    for (auto it = created_.begin(); it != created_.end();) {
      if (now_ms >= it->second.time_ms + 7 * 86400000LL)
        it = created_.erase(it);
      else
        ++it;
    }
  }

  void on_flush() override {
    flush_pending(0, true);
    flush_whoami(0, true);
    release_chains(0, true);
  }

 private:
  // ---------------------------------------------------------------------------------------
  // helpers
  static std::string caller_arn(const event& e) {
    std::string_view arn = e.principal_arn();
    if (!arn.empty()) return std::string(arn);
    if (e.is_root()) return util::root_arn(e.principal_account());
    return std::string(e.principal_id());
  }
  // The user a key operation without userName applies to: the calling IAM user itself.
  static bool is_self(const event& e, std::string_view target) {
    if (target.empty()) return true;
    return e.identity_type() == "IAMUser" && target == e.user_name();
  }
  // admin_principals (CI / automation roles) and break-glass lower one step each, never silence.
  void adjust_for_principal(const event& e, finding& f) const {
    if (util::break_glass_caller(ctx(), e)) {
      f.sev = lower(f.sev);
      f.ev.add_bool("breakGlass", true);
    } else if (util::admin_caller(ctx(), e)) {
      f.sev = lower(f.sev);
      f.ev.add_bool("adminPrincipal", true);
    }
  }
  void add_caller(finding& f, const event& e) const {
    f.ev.add("callerArn", caller_arn(e)).add("callerType", e.identity_type());
    if (!e.session_issuer_arn().empty()) f.ev.add("sessionIssuerArn", e.session_issuer_arn());
    if (!e.access_key_id().empty()) f.ev.add("callerAccessKeyId", e.access_key_id());
    f.ev.add("sourceIPAddress", e.source_ip()).add("userAgent", e.user_agent());
  }

  // ---------------------------------------------------------------------------------------
  // CreateAccessKey
  void on_create_access_key(const event& e) {
    std::string_view target = e.request()["userName"].str();
    value key = e.response()["accessKey"];
    std::string_view new_key = key["accessKeyId"].str();
    const std::string acct = account_of(e);
    const bool self = is_self(e, target);
    std::string owner = std::string(target.empty() ? e.user_name() : target);

    if (!new_key.empty() && created_.size() < kMaxStateEntries)
      created_[std::string(new_key)] =
          created_key{e.time_ms(), caller_arn(e), owner, self && !e.is_root()};

    // Remember for the backdoor chain (any key creation, including the caller's own).
    if (chains_.size() < kMaxStateEntries) {
      chain_start& c = chains_[std::string(e.identity())];
      c = chain_start{e.time_ms(), std::string(e.id()), owner, std::string(new_key), false};
      match_earlier_ops(std::string(e.identity()), c);
    }
    // A whoami of this key read before its creation (held in pending_whoami_).
    if (!new_key.empty()) resolve_whoami(new_key, self && !e.is_root(), caller_arn(e), owner);

    if (e.is_root() && target.empty()) {
      if (!root_keys_) return;
      finding f = make_finding("access-key-created-for-root", e);
      f.summary = "The root user of account " + acct + " created a long-term access key for " +
                  "itself" + (new_key.empty() ? "" : " (" + std::string(new_key) + ")") + ".";
      add_caller(f, e);
      if (!new_key.empty()) f.ev.add("accessKeyId", new_key);
      f.dedup_key = std::string(new_key);
      adjust_for_principal(e, f);
      emit(f);
      return;
    }
    if (self) return;  // a user rotating its own key

    pending_key p;
    p.f = make_finding("access-key-created-for-other-user", e);
    finding& f = p.f;
    f.summary = std::string(e.identity()) + " created an access key" +
                (new_key.empty() ? "" : " (" + std::string(new_key) + ")") + " for IAM user " +
                std::string(target) + " in account " + acct + ".";
    f.ev.add("userName", target);
    if (!new_key.empty()) f.ev.add("accessKeyId", new_key);
    std::string_view status = key["status"].str();
    if (!status.empty()) f.ev.add("status", status);
    add_caller(f, e);
    f.dedup_key = std::string(new_key);
    adjust_for_principal(e, f);
    p.user_key = acct + "|" + std::string(target);
    p.deadline_ms = e.time_ms() + rotation_grace_ms_;
    // An old key of the same user retired shortly before: rotation.
    auto r = retired_.find(p.user_key);
    if (r != retired_.end() && e.time_ms() - r->second.time_ms <= rotation_grace_ms_ &&
        r->second.time_ms - e.time_ms() <= rotation_grace_ms_) {
      mark_rotation(p, r->second);
      emit(p.f);
      return;
    }
    if (rotation_grace_ms_ == 0 || pending_.size() >= kMaxStateEntries) {
      emit(p.f);
      return;
    }
    pending_.push_back(std::move(p));
  }

  struct retired_key {
    int64_t time_ms = 0;
    std::string event_name, access_key_id, event_id;
  };
  struct pending_key {
    finding f;
    std::string user_key;  // account|userName
    int64_t deadline_ms = 0;
    bool rotation = false;
  };

  void mark_rotation(pending_key& p, const retired_key& r) {
    if (p.rotation) return;
    p.rotation = true;
    p.f.sev = lower(p.f.sev, 2);  // high -> low; admin/break-glass already took one more
    p.f.ev.add_bool("rotation", true);
    p.f.ev.add("retiredBy", r.event_name).add("retiredAccessKeyId", r.access_key_id);
    p.f.event_ids.push_back(r.event_id);
    p.f.event_names.push_back(r.event_name);
    p.f.summary += " An old key of the same user was " +
                   std::string(r.event_name == "DeleteAccessKey" ? "deleted" : "deactivated") +
                   " around it: looks like key rotation.";
  }

  void note_retired(const event& e, std::string_view target, std::string_view key_id) {
    std::string user = std::string(target.empty() ? e.user_name() : target);
    std::string uk = account_of(e) + "|" + user;
    retired_key r{e.time_ms(), std::string(e.name()), std::string(key_id), std::string(e.id())};
    for (auto& p : pending_)
      if (p.user_key == uk && !p.rotation) mark_rotation(p, r);
    if (retired_.size() < kMaxStateEntries) retired_[uk] = r;
  }

  void flush_pending(int64_t now_ms, bool all) {
    auto it = pending_.begin();
    while (it != pending_.end()) {
      if (all || now_ms >= it->deadline_ms + kDisorderMs) {
        emit(it->f);
        it = pending_.erase(it);
      } else {
        ++it;
      }
    }
  }

  // ---------------------------------------------------------------------------------------
  // UpdateAccessKey
  void on_update_access_key(const event& e) {
    std::string_view status = e.request()["status"].str();
    std::string_view target = e.request()["userName"].str();
    std::string_view key_id = e.request()["accessKeyId"].str();
    if (status == "Inactive") {
      note_retired(e, target, key_id);  // deactivation is rotation or containment: benign
      return;
    }
    if (status != "Active") return;
    finding f = make_finding("access-key-reactivated", e);
    const bool root_key = e.is_root() && target.empty();
    const bool self = is_self(e, target) && !root_key;
    if (root_key)
      f.sev = severity::high;
    else if (self)
      f.sev = severity::low;  // an inactive key cannot revive itself
    std::string owner = root_key
                            ? std::string("the root user")
                            : "IAM user " + std::string(target.empty() ? e.user_name() : target);
    f.summary = std::string(e.identity()) + " set access key " + std::string(key_id) + " of " +
                owner + " back to Active in account " + account_of(e) + ".";
    f.ev.add("userName", target.empty() ? e.user_name() : target);
    f.ev.add("accessKeyId", key_id).add("status", status);
    f.ev.add_bool("ownKey", self).add_bool("rootKey", root_key);
    add_caller(f, e);
    f.dedup_key = std::string(key_id) + "|" + std::to_string(e.time_ms());
    adjust_for_principal(e, f);
    emit(f);
  }

  // ---------------------------------------------------------------------------------------
  // ListAccessKeys enumeration
  struct lister {
    std::map<std::string, int64_t> users;             // userName -> last time listed
    std::deque<std::pair<int64_t, std::string>> ids;  // (time, eventID), for the finding
    bool fired = false;
    int64_t failed = 0;
  };

  void prune(lister& l, int64_t now_ms) const {
    int64_t cut = now_ms - enum_window_ms_;
    for (auto it = l.users.begin(); it != l.users.end();) {
      if (it->second < cut)
        it = l.users.erase(it);
      else
        ++it;
    }
    while (!l.ids.empty() && l.ids.front().first < cut) l.ids.pop_front();
    if (l.users.empty()) {
      l.fired = false;  // the episode is over: a later one is news again
      l.failed = 0;
    }
  }

  void on_list_access_keys(const event& e) {
    std::string who(e.identity());
    // Listing one's own keys (no userName, or one's own) is not enumeration.
    if (who.empty() || is_self(e, e.request()["userName"].str())) return;
    auto it = listers_.find(who);
    if (it == listers_.end()) {
      if (listers_.size() >= kMaxStateEntries) return;
      it = listers_.emplace(who, lister{}).first;
    }
    lister& l = it->second;
    prune(l, e.time_ms());
    std::string_view target = e.request()["userName"].str();
    int64_t& t = l.users[std::string(target)];
    t = std::max(t, e.time_ms());
    if (l.ids.size() < 200) l.ids.emplace_back(e.time_ms(), std::string(e.id()));
    if (e.failed()) ++l.failed;
    if (l.fired || static_cast<int64_t>(l.users.size()) < enum_threshold_) return;
    l.fired = true;

    finding f = make_finding("access-key-enumeration", e);
    f.event_ids.clear();
    f.event_names.clear();
    for (auto& [time, id] : l.ids) f.with_event(id, "ListAccessKeys", time);
    std::vector<std::string> users;
    for (auto& [u, _] : l.users)
      if (users.size() < kMaxListedUsers) users.push_back(u);
    f.summary = who + " listed the access keys of " + std::to_string(l.users.size()) +
                " distinct IAM users within " + std::to_string(enum_window_ms_ / 60000) +
                " minutes in account " + account_of(e) + ".";
    f.ev.add("distinctUsers", static_cast<int64_t>(l.users.size()));
    f.ev.add("userNames", users);
    f.ev.add("windowSeconds", enum_window_ms_ / 1000);
    if (l.failed) f.ev.add("failedCalls", l.failed);
    add_caller(f, e);
    if (console_session(e)) {
      f.sev = lower(f.sev);  // the IAM console's user list does this for every page view
      f.ev.add_bool("consoleSession", true);
    }
    std::string scanner = scanner_match(e);
    if (!scanner.empty()) {
      // Posture scanners (Prowler, ScoutSuite, ...) list every user's keys on every run.
      if (f.sev > severity::low) f.sev = severity::low;
      f.ev.add("securityScanner", scanner);
    }
    int64_t start = e.time_ms();
    for (auto& [time, id] : l.ids) start = std::min(start, time);
    int64_t previous = 0;
    if (recurring_episode(who, start, previous)) {
      // The same identity enumerated at this time of day before: a scheduled job.
      f.sev = severity::info;
      f.ev.add_bool("recurringSchedule", true);
      f.ev.add("previousEpisodeTime", trailhound::baseline::iso_time(previous));
      f.summary += " It did the same at this time of day on an earlier day (scheduled job).";
    }
    remember_episode(who, start);
    adjust_for_principal(e, f);
    // Habits: only here, once per episode. Listing every user's keys on many days is the
    // identity's routine: a finding that is info anyway is only counted, any other is info.
    const uint64_t hk = habit::key_of(who, "access-key-enumeration");
    const habit::verdict routine = habits_.check(hk, start);
    habits_.record(hk, start);
    if (routine.habitual) {
      if (f.sev == severity::info) {
        ctx().count("habitual_enumeration_not_reported");
        return;
      }
      f.sev = severity::info;
      f.ev.add_json("habitual", habits_.evidence_json(routine));
      f.summary += " It enumerated on " + std::to_string(routine.earlier_days) +
                   " earlier days since " + trailhound::baseline::iso_time(routine.first_ms) +
                   " (its routine).";
    }
    emit(f);
  }

  // The first of scanners_ found in the user agent or the caller's ARN (lower case), or "".
  std::string scanner_match(const event& e) const {
    if (scanners_.empty()) return {};
    std::string ua = util::to_lower(e.user_agent());
    std::string arn = util::to_lower(caller_arn(e));
    for (auto& s : scanners_)
      if (ua.find(s) != std::string::npos || arn.find(s) != std::string::npos) return s;
    return {};
  }

  // True when `identity` had an enumeration episode on another day (at least 20 h before, within
  // schedule_lookback) whose time of day is within schedule_tolerance of `start`'s.
  bool recurring_episode(const std::string& identity, int64_t start, int64_t& previous) const {
    if (schedule_tolerance_ms_ <= 0) return false;
    auto it = episodes_.find(identity);
    if (it == episodes_.end()) return false;
    for (int64_t t : it->second) {
      int64_t gap = start - t;
      if (gap < 20 * 3600 * 1000LL || gap > schedule_lookback_ms_) continue;
      int64_t off = gap % kDayMs;
      if (std::min(off, kDayMs - off) <= schedule_tolerance_ms_) {
        previous = t;
        return true;
      }
    }
    return false;
  }

  void remember_episode(const std::string& identity, int64_t start) {
    if (episodes_.size() >= kMaxStateEntries && !episodes_.count(identity)) return;
    auto& v = episodes_[identity];
    v.push_back(start);
    std::sort(v.begin(), v.end());
    if (v.size() > kMaxEpisodes) v.erase(v.begin());
  }

  // ---------------------------------------------------------------------------------------
  // backdoor chain
  struct chain_start {
    int64_t time_ms = 0;
    std::string event_id, user_name, access_key_id;
    bool consumed = false;
  };

  // A CreateUser / AttachUserPolicy / PutUserPolicy / CreateLoginProfile, prepared as a chain
  // finding; completed by the CreateAccessKey before it, which may also be read after it.
  struct chain_op {
    int64_t time_ms = 0;
    finding f;
    std::string name, user, account, identity;
    bool admin_policy = false;
  };

  void on_persistence_op(const event& e) {
    chain_op op;
    op.time_ms = e.time_ms();
    op.f = make_finding("backdoor-user-chain", e);
    op.name = std::string(e.name());
    op.identity = std::string(e.identity());
    op.account = account_of(e);
    value req = e.request();
    op.user = std::string(req["userName"].str());
    std::string_view policy_arn = req["policyArn"].str();
    std::string_view policy_name = req["policyName"].str();
    op.f.ev.add("followUpEvent", e.name());
    if (!op.user.empty()) op.f.ev.add("userName", op.user);
    if (!policy_arn.empty()) op.f.ev.add("policyArn", policy_arn);
    if (!policy_name.empty()) op.f.ev.add("policyName", policy_name);
    add_caller(op.f, e);
    op.admin_policy = admin_like_policy_arn(policy_arn);
    adjust_for_principal(e, op.f);

    auto it = chains_.find(op.identity);
    if (it != chains_.end() && chain_matches(it->second, op.time_ms)) {
      hold_chain(std::move(op), it->second);
      return;
    }
    // Its CreateAccessKey may still be read (kReorderMs).
    auto& v = recent_ops_[op.identity];
    if (v.size() < 16 && recent_ops_.size() < kMaxStateEntries) v.push_back(std::move(op));
  }

  bool chain_matches(const chain_start& c, int64_t op_ms) const {
    int64_t dt = op_ms - c.time_ms;
    return !c.consumed && dt >= 0 && dt <= chain_window_ms_;
  }

  // A key creation read after persistence calls of the same caller that followed it.
  void match_earlier_ops(const std::string& identity, chain_start& c) {
    auto it = recent_ops_.find(identity);
    if (it == recent_ops_.end()) return;
    auto& v = it->second;
    auto best = v.end();
    for (auto o = v.begin(); o != v.end(); ++o)
      if (chain_matches(c, o->time_ms) && (best == v.end() || o->time_ms < best->time_ms)) best = o;
    if (best == v.end()) return;
    chain_op op = std::move(*best);
    v.erase(best);
    if (v.empty()) recent_ops_.erase(it);
    hold_chain(std::move(op), c);
  }

  // One finding per key creation, on its earliest follow-up by event time: the chosen follow-up
  // is held kDisorderMs of event time, and an earlier one read meanwhile replaces it.
  struct held_chain {
    chain_op op;
    chain_start start;
  };
  void hold_chain(chain_op op, const chain_start& c) {
    auto h = held_chains_.find(c.event_id);
    if (h != held_chains_.end()) {
      if (op.time_ms < h->second.op.time_ms) h->second.op = std::move(op);
      return;
    }
    if (held_chains_.size() >= kMaxStateEntries) {
      chain_start copy = c;
      emit_chain(std::move(op), copy);
      mark_chain_done(copy);
      return;
    }
    held_chains_.emplace(c.event_id, held_chain{std::move(op), c});
  }
  void release_chains(int64_t now_ms, bool all) {
    for (auto it = held_chains_.begin(); it != held_chains_.end();) {
      if (!all && now_ms < it->second.op.time_ms + kDisorderMs) {
        ++it;
        continue;
      }
      emit_chain(std::move(it->second.op), it->second.start);
      mark_chain_done(it->second.start);
      it = held_chains_.erase(it);
    }
  }
  void mark_chain_done(const chain_start& c) {
    for (auto& [who, start] : chains_)
      if (start.event_id == c.event_id) start.consumed = true;
  }

  void emit_chain(chain_op op, const chain_start& c) {
    finding& f = op.f;
    int64_t dt = op.time_ms - c.time_ms;
    std::string op_id = f.event_ids.empty() ? std::string() : f.event_ids.front();
    f.event_ids.clear();
    f.event_names.clear();
    f.first_seen_ms = 0;
    f.last_seen_ms = 0;
    f.with_event(c.event_id, "CreateAccessKey", c.time_ms);
    f.with_event(op_id, op.name, op.time_ms);
    f.summary = op.identity + " created an access key (for " + c.user_name + ") and " +
                std::to_string(dt / 60000) + " minute(s) later called " + op.name +
                (op.user.empty() ? "" : " on user " + op.user) + " in account " + op.account + ".";
    evidence key_ev;
    key_ev.add("eventID", c.event_id).add("userName", c.user_name);
    key_ev.add("accessKeyId", c.access_key_id);
    f.ev.add_json("createAccessKey", key_ev.str());
    f.ev.add("secondsBetween", dt / 1000);
    if (op.admin_policy) {
      f.sev = raise(f.sev);
      f.ev.add_bool("adminPolicy", true);
    }
    f.dedup_key = c.event_id;
    emit(f);
  }

  // ---------------------------------------------------------------------------------------
  // first use of an unknown long-term key
  struct created_key {
    int64_t time_ms = 0;
    std::string creator, owner;
    bool self = false;
  };

  struct new_key {
    int64_t first_ms = 0;  // earliest event time of the key's calls read so far
    bool reported = false;
  };
  struct pending_whoami {
    finding f;
    std::string key;
    int64_t time_ms = 0;
    int lowered = 0;  // steps taken off for a trusted source / admin / break-glass caller
  };

  void track_key(const event& e, std::string_view key) {
    uint64_t h = trailhound::baseline::hash64(key);  // stable across builds: it is persisted
    auto [it, inserted] = seen_.try_emplace(h, e.time_ms());
    if (!inserted) {
      it->second = std::max(it->second, e.time_ms());
      // Read out of order: a whoami read after another call of a key new in this run is still its
      // first call when it happened before every call read so far.
      auto r = recent_new_.find(h);
      if (r == recent_new_.end()) return;
      bool first = !r->second.reported && e.time_ms() <= r->second.first_ms;
      r->second.first_ms = std::min(r->second.first_ms, e.time_ms());
      if (!first) return;
    } else {
      if (seen_.size() > seen_cap_) evict_seen();
      if (e.time_ms() < start_ms_ + warmup_ms_) return;  // learning
      if (recent_new_.size() < kMaxStateEntries) recent_new_[h] = new_key{e.time_ms(), false};
    }
    if (e.source() != kSts || e.failed()) return;
    std::string_view name = e.name();
    if (name != "GetCallerIdentity" && name != "GetSessionToken") return;
    auto r = recent_new_.find(h);
    if (r != recent_new_.end()) r->second.reported = true;

    finding f = make_finding("new-key-first-call-whoami", e);
    auto c = created_.find(std::string(key));
    bool created = c != created_.end();
    if (created) {
      if (c->second.self) return;  // a user testing the key it just created (rotation)
      f.sev = severity::high;      // a key made for someone else, now probing who it is
      f.ev.add("createdBy", c->second.creator).add("keyOwner", c->second.owner);
    } else if (iac_user_agent(e.user_agent())) {
      f.sev = lower(f.sev);  // Terraform & co. start every run with GetCallerIdentity
      f.ev.add_bool("iacUserAgent", true);
    }
    severity before = f.sev;
    if (util::from_trusted_ip(ctx(), e)) {
      f.sev = lower(f.sev);
      f.ev.add_bool("trustedSource", true);
    }
    f.summary = "Long-term access key " + std::string(key) + " of " + caller_arn(e) +
                ", never seen before in this input, made its first call " + std::string(name) +
                " from " + std::string(e.source_ip()) + ".";
    f.ev.add("accessKeyId", key).add("eventName", name);
    f.ev.add("principalArn", caller_arn(e)).add("identityType", e.identity_type());
    f.ev.add("sourceIPAddress", e.source_ip()).add("userAgent", e.user_agent());
    f.dedup_key = std::string(key);
    adjust_for_principal(e, f);
    if (created || pending_whoami_.size() >= kMaxStateEntries || e.time_ms() <= 0) {
      emit(f);
      return;
    }
    // Its CreateAccessKey may still be read: held kDisorderMs (resolve_whoami).
    int lowered = static_cast<int>(before) - static_cast<int>(f.sev);
    pending_whoami_.push_back(pending_whoami{std::move(f), std::string(key), e.time_ms(), lowered});
  }

  // CreateAccessKey of `key` read after its first whoami: a rotation test (own key) is dropped, a
  // key made for another user is high.
  void resolve_whoami(std::string_view key, bool self, const std::string& creator,
                      const std::string& owner) {
    for (auto it = pending_whoami_.begin(); it != pending_whoami_.end(); ++it) {
      if (it->key != key) continue;
      if (self) {
        pending_whoami_.erase(it);
        return;
      }
      it->f.sev = lower(severity::high, it->lowered);
      it->f.ev.add("createdBy", creator).add("keyOwner", owner);
      emit(it->f);
      pending_whoami_.erase(it);
      return;
    }
  }

  void flush_whoami(int64_t now_ms, bool all) {
    for (auto it = pending_whoami_.begin(); it != pending_whoami_.end();) {
      if (all || now_ms >= it->time_ms + kDisorderMs) {
        emit(it->f);
        it = pending_whoami_.erase(it);
      } else {
        ++it;
      }
    }
  }

  // Learned state: the warm-up start, the long-term keys already seen and the keys created (so a
  // resumed or next-day run neither restarts the warm-up nor calls known keys new).
  std::string save_state() const override {
    trailhound::baseline::writer w;
    w.i(start_ms_);
    w.u(seen_.size());
    for (const auto& [h, t] : seen_) {
      w.u(h);
      w.i(t);
    }
    w.u(created_.size());
    for (const auto& [key, c] : created_) {
      w.s(key);
      w.i(c.time_ms);
      w.s(c.creator);
      w.s(c.owner);
      w.u(c.self ? 1 : 0);
    }
    // Optional tails (absent in older states): enumeration episodes per identity, then the
    // enumeration habits (a section with its own magic and version).
    w.u(episodes_.size());
    for (const auto& [who, times] : episodes_) {
      w.s(who);
      w.u(times.size());
      for (int64_t t : times) w.i(t);
    }
    habits_.save(w);
    return std::move(w.str());
  }
  // All or nothing: read into fresh tables, kept only when the whole blob is valid (a corrupt one
  // throws: the host says so and the detector starts fresh).
  void load_state(uint32_t, std::string_view data) override {
    trailhound::baseline::reader r(data);
    const int64_t start_ms = r.i();
    std::unordered_map<uint64_t, int64_t> seen;
    for (uint64_t n = r.count(2); n--;) {
      uint64_t h = r.u();
      seen[h] = r.i();
    }
    std::unordered_map<std::string, created_key> created;
    for (uint64_t n = r.count(4); n--;) {
      std::string key = r.s();
      created_key c;
      c.time_ms = r.i();
      c.creator = r.s();
      c.owner = r.s();
      c.self = r.u() != 0;
      created[std::move(key)] = std::move(c);
    }
    std::unordered_map<std::string, std::vector<int64_t>> episodes;
    if (!r.done()) {
      for (uint64_t n = r.count(2); n--;) {
        std::string who = r.s();
        auto& v = episodes[std::move(who)];
        for (uint64_t k = r.count(1); k--;) v.push_back(r.i());
        std::sort(v.begin(), v.end());
        while (v.size() > kMaxEpisodes) v.erase(v.begin());
      }
    }
    habit::book habits = habits_.empty();
    const bool has_habits = !r.done();
    if (has_habits) habits.load(r);
    if (!r.done()) r.fail();
    start_ms_ = start_ms;
    seen_ = std::move(seen);
    created_ = std::move(created);
    episodes_ = std::move(episodes);
    habits_ = std::move(habits);
    if (!has_habits)
      ctx().log(TH_LOG_INFO,
                "saved state from an older version (no enumeration habits): habits "
                "start empty, keys and warm-up kept");
  }

  // Forgets the least recently used tenth of the remembered keys.
  void evict_seen() {
    std::vector<int64_t> times;
    times.reserve(seen_.size());
    for (auto& [_, t] : seen_) times.push_back(t);
    size_t n = std::max<size_t>(1, times.size() / 10);
    std::nth_element(times.begin(), times.begin() + static_cast<std::ptrdiff_t>(n - 1),
                     times.end());
    int64_t cut = times[n - 1];
    size_t removed = 0;
    // Strictly older first, then ties at the cut until n are gone.
    for (bool ties : {false, true}) {
      for (auto it = seen_.begin(); it != seen_.end() && removed < n;) {
        if (it->second < cut || (ties && it->second == cut)) {
          it = seen_.erase(it);
          ++removed;
        } else {
          ++it;
        }
      }
    }
  }

  int64_t enum_threshold_;
  int64_t enum_window_ms_;
  int64_t chain_window_ms_;
  int64_t rotation_grace_ms_;
  bool first_use_;
  int64_t warmup_ms_;
  size_t seen_cap_;
  bool root_keys_;
  int64_t schedule_tolerance_ms_;
  int64_t schedule_lookback_ms_;
  std::vector<std::string> scanners_;  // lower case

  int64_t start_ms_ = INT64_MAX;                          // earliest event time seen
  std::unordered_map<uint64_t, int64_t> seen_;            // hash(key) -> last seen
  std::unordered_map<std::string, created_key> created_;  // keys created in this run
  std::unordered_map<std::string, retired_key> retired_;  // account|user -> last retirement
  std::vector<pending_key> pending_;                      // held for rotation_grace
  std::unordered_map<std::string, chain_start> chains_;   // caller identity -> last key
  std::unordered_map<std::string, lister> listers_;       // caller identity -> listings
  std::unordered_map<uint64_t, new_key> recent_new_;      // hash(key) -> keys new in the run
  std::vector<pending_whoami> pending_whoami_;            // held for their CreateAccessKey
  std::unordered_map<std::string, std::vector<chain_op>> recent_ops_;  // identity -> unmatched
  std::unordered_map<std::string, held_chain> held_chains_;  // key creation eventID -> finding
  std::unordered_map<std::string, std::vector<int64_t>> episodes_;  // identity -> enum. starts
  habit::book habits_;  // identity -> days with an enumeration episode
};

}  // namespace

TRAILHOUND_MODULE("iam-keys", "1.0.0", iam_keys)
