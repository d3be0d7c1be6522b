// SPDX-License-Identifier: Apache-2.0
// iam-keys: IAM access key abuse (keys for other users, reactivation, enumeration, backdoor
// users, first use of an unknown long-term key).
#include <algorithm>
#include <deque>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <trailhound/sdk.hpp>
#include <trailhound/util.hpp>
#include <unordered_map>
#include <vector>

namespace {
using namespace trailhound::sdk;
namespace util = trailhound::sdk::util;
using util::account_of;

constexpr int64_t kDisorderMs = 5 * 60 * 1000;  // out-of-order slack before state is dropped
constexpr size_t kMaxStateEntries = 50000;      // per map; protects memory on hostile input
constexpr size_t kMaxListedUsers = 25;
constexpr std::string_view kIam = "iam.amazonaws.com";
constexpr std::string_view kSts = "sts.amazonaws.com";

bool contains(std::string_view s, std::string_view p) {
  return s.find(p) != std::string_view::npos;
}

// Console sessions (the IAM console's Users page lists every user's keys).
bool console_session(const event& e) {
  if (e["userIdentity"]["sessionCredentialFromConsole"].as_bool(false)) return true;
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
             "within enumeration_window."},
            {"backdoor-user-chain", severity::high,
             "Access key creation followed by user creation or privilege grant",
             "T1136.003,T1098.001,T1098.003",
             "CreateAccessKey followed within chain_window by CreateUser, AttachUserPolicy, "
             "PutUserPolicy or CreateLoginProfile from the same caller."},
            {"new-key-first-call-whoami", severity::medium,
             "Unknown long-term key starts with GetCallerIdentity", "T1078.004,T1033",
             "A long-term access key never seen before in this run (after warm-up) whose first "
             "call is sts:GetCallerIdentity or sts:GetSessionToken: typical first move with a "
             "stolen key."},
        }};
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
        root_keys_(cfg.get_bool("root_keys")) {}

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

  void on_flush() override { flush_pending(0, true); }

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
    }

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
    adjust_for_principal(e, f);
    emit(f);
  }

  // ---------------------------------------------------------------------------------------
  // backdoor chain
  struct chain_start {
    int64_t time_ms = 0;
    std::string event_id, user_name, access_key_id;
    bool consumed = false;
  };

  void on_persistence_op(const event& e) {
    auto it = chains_.find(std::string(e.identity()));
    if (it == chains_.end()) return;
    chain_start& c = it->second;
    int64_t dt = e.time_ms() - c.time_ms;
    if (c.consumed || dt < 0 || dt > chain_window_ms_) return;
    c.consumed = true;  // one finding per key creation

    finding f = make_finding("backdoor-user-chain", e);
    f.event_ids.clear();
    f.event_names.clear();
    f.first_seen_ms = 0;
    f.last_seen_ms = 0;
    f.with_event(c.event_id, "CreateAccessKey", c.time_ms);
    f.with_event(e);
    value req = e.request();
    std::string_view user = req["userName"].str();
    std::string_view policy_arn = req["policyArn"].str();
    std::string_view policy_name = req["policyName"].str();
    f.summary = std::string(e.identity()) + " created an access key (for " + c.user_name +
                ") and " + std::to_string(dt / 60000) + " minute(s) later called " +
                std::string(e.name()) + (user.empty() ? "" : " on user " + std::string(user)) +
                " in account " + account_of(e) + ".";
    evidence key_ev;
    key_ev.add("eventID", c.event_id).add("userName", c.user_name);
    key_ev.add("accessKeyId", c.access_key_id);
    f.ev.add_json("createAccessKey", key_ev.str());
    f.ev.add("followUpEvent", e.name());
    if (!user.empty()) f.ev.add("userName", user);
    if (!policy_arn.empty()) f.ev.add("policyArn", policy_arn);
    if (!policy_name.empty()) f.ev.add("policyName", policy_name);
    f.ev.add("secondsBetween", dt / 1000);
    add_caller(f, e);
    if (admin_like_policy_arn(policy_arn)) {
      f.sev = raise(f.sev);
      f.ev.add_bool("adminPolicy", true);
    }
    f.dedup_key = c.event_id;
    adjust_for_principal(e, f);
    emit(f);
  }

  // ---------------------------------------------------------------------------------------
  // first use of an unknown long-term key
  struct created_key {
    int64_t time_ms = 0;
    std::string creator, owner;
    bool self = false;
  };

  void track_key(const event& e, std::string_view key) {
    uint64_t h = std::hash<std::string_view>{}(key);
    auto [it, inserted] = seen_.try_emplace(h, e.time_ms());
    if (!inserted) {
      it->second = std::max(it->second, e.time_ms());
      return;
    }
    if (seen_.size() > seen_cap_) evict_seen();
    if (e.time_ms() < start_ms_ + warmup_ms_) return;  // learning
    if (e.source() != kSts || e.failed()) return;
    std::string_view name = e.name();
    if (name != "GetCallerIdentity" && name != "GetSessionToken") return;

    finding f = make_finding("new-key-first-call-whoami", e);
    auto c = created_.find(std::string(key));
    if (c != created_.end()) {
      if (c->second.self) return;  // a user testing the key it just created (rotation)
      f.sev = severity::high;      // a key made for someone else, now probing who it is
      f.ev.add("createdBy", c->second.creator).add("keyOwner", c->second.owner);
    } else if (iac_user_agent(e.user_agent())) {
      f.sev = lower(f.sev);  // Terraform & co. start every run with GetCallerIdentity
      f.ev.add_bool("iacUserAgent", true);
    }
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
    emit(f);
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

  int64_t start_ms_ = INT64_MAX;                          // earliest event time seen
  std::unordered_map<uint64_t, int64_t> seen_;            // hash(key) -> last seen
  std::unordered_map<std::string, created_key> created_;  // keys created in this run
  std::unordered_map<std::string, retired_key> retired_;  // account|user -> last retirement
  std::vector<pending_key> pending_;                      // held for rotation_grace
  std::unordered_map<std::string, chain_start> chains_;   // caller identity -> last key
  std::unordered_map<std::string, lister> listers_;       // caller identity -> listings
};

}  // namespace

TRAILHOUND_MODULE("iam-keys", "1.0.0", iam_keys)
