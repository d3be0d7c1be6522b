// SPDX-License-Identifier: Apache-2.0
// mfa-and-signin: console sign-in without MFA, console brute force, MFA device removal and
// sensitive admin actions from sessions that did not authenticate with MFA.
#include <algorithm>
#include <cstdlib>
#include <deque>
#include <string>
#include <string_view>
#include <trailhound/sdk.hpp>
#include <trailhound/util.hpp>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace {
using namespace trailhound::sdk;
namespace util = trailhound::sdk::util;
using util::account_of;

constexpr size_t MAX_KEYS = 50000;  // per state map
// How long a step read before the step that should precede it waits for it (event time): the
// records of one CloudTrail file are unordered and files arrive minutes apart.
constexpr int64_t kReorderMs = 15 * 60 * 1000;
constexpr int64_t kHoldMs = 5 * 60 * 1000;      // findings held for a late record that changes them
constexpr int64_t DAY_MS = 24LL * 3600 * 1000;  // re-report period of login-without-MFA
constexpr std::string_view HIDDEN_USER = "HIDDEN_DUE_TO_SECURITY_REASONS";

// An AWS service endpoint or an empty address is no attacker source address.
bool is_service_address(std::string_view ip) {
  return ip.empty() || ip.ends_with(".amazonaws.com") || ip == "AWS Internal";
}

// Read-like event names, for records whose readOnly flag is absent.
bool read_like_name(std::string_view n) {
  return util::starts_with_any(n, {"Get", "List", "Describe", "Lookup", "Search", "Head", "Check",
                                   "Simulate", "Test", "Validate"});
}

// Writes that are harmless or part of setting MFA up (an admin without MFA enrolling a device
// is fixing the very problem), and KMS cryptographic operations that change nothing.
bool exempt_sensitive_name(std::string_view n) {
  static const std::unordered_set<std::string_view> names = {"EnableMFADevice",
                                                             "CreateVirtualMFADevice",
                                                             "ResyncMFADevice",
                                                             "ChangePassword",
                                                             "Encrypt",
                                                             "Decrypt",
                                                             "ReEncrypt",
                                                             "GenerateDataKey",
                                                             "GenerateDataKeyWithoutPlaintext",
                                                             "GenerateDataKeyPair",
                                                             "GenerateDataKeyPairWithoutPlaintext",
                                                             "GenerateRandom",
                                                             "GenerateMac",
                                                             "VerifyMac",
                                                             "Sign",
                                                             "Verify",
                                                             "GenerateCredentialReport",
                                                             "GenerateServiceLastAccessedDetails",
                                                             "GenerateOrganizationsAccessReport"};
  return names.count(n) > 0;
}

class mfa_and_signin final : public detector {
 public:
  static const detector_info& info() {
    static const detector_info i{
        "mfa-and-signin",
        "1.0.0",
        "MFA and console sign-in",
        "Console sign-in without MFA, console password brute force and spraying (and a success "
        "after it), MFA devices removed, and sensitive IAM/KMS/CloudTrail/Organizations changes by "
        "admin principals whose session was not MFA-authenticated.",
        {{"signin.amazonaws.com", "ConsoleLogin"},
         {"iam.amazonaws.com", "*"},
         {"kms.amazonaws.com", "*"},
         {"cloudtrail.amazonaws.com", "*"},
         {"organizations.amazonaws.com", "*"}},
        {{"failed_login_user_threshold", TH_PARAM_INT, "5",
          "Failed console sign-ins for one user within failed_login_window that make a burst", true,
          2, 100000},
         {"failed_login_ip_threshold", TH_PARAM_INT, "10",
          "Failed console sign-ins from one source address within failed_login_window that make a "
          "burst",
          true, 2, 100000},
         {"failed_login_window", TH_PARAM_DURATION, "\"10m\"",
          "Sliding window for counting failed console sign-ins", true, 60, 86400},
         {"spray_distinct_users", TH_PARAM_INT, "3",
          "Distinct user names in a per-address burst that make it password spraying", true, 2,
          100000},
         {"brute_force_success_window", TH_PARAM_DURATION, "\"1h\"",
          "How long after the last failure of a burst a successful sign-in (same user or same "
          "address) is reported as brute force succeeded",
          true, 60, 7 * 86400},
         {"mfa_reenable_window", TH_PARAM_DURATION, "\"1h\"",
          "A user who deactivates their own MFA device and enables one again within this window "
          "replaced the device: not reported",
          true, 60, 7 * 86400},
         {"include_assumed_roles", TH_PARAM_BOOL, "false",
          "admin-sensitive-action-without-mfa also covers assumed-role sessions of admin roles "
          "(automation roles never carry MFA: noisy). IAM Identity Center roles (AWSReservedSSO_*) "
          "are always excluded: MFA happens at the identity provider",
          false, 0, 0}},
        {{"console-login-without-mfa", severity::medium, "Console sign-in without MFA", "T1078.004",
          "An IAM user signed in to the console with a password only (additionalEventData.MFAUsed "
          "= No). High for admin principals. Root is left to the root-account family; federated "
          "(SAML, IAM Identity Center) sign-ins authenticate MFA at the identity provider."},
         {"console-brute-force-user", severity::medium,
          "Burst of failed console sign-ins for one user", "T1110.001",
          "failed_login_user_threshold failed ConsoleLogin attempts for one user within "
          "failed_login_window."},
         {"console-brute-force-ip", severity::medium,
          "Burst of failed console sign-ins from one address", "T1110.001,T1110.003",
          "failed_login_ip_threshold failed ConsoleLogin attempts from one source address within "
          "failed_login_window; password spraying when spray_distinct_users or more users."},
         {"console-brute-force-succeeded", severity::high,
          "Console sign-in succeeded after a brute-force burst", "T1110.001,T1078.004",
          "A successful ConsoleLogin for a user, or from an address, that produced a failed "
          "sign-in burst shortly before. Critical without MFA, medium when MFA was used."},
         {"mfa-removed-root", severity::critical, "MFA device of the root user deactivated",
          "T1556.006",
          "DeactivateMFADevice (or DeleteVirtualMFADevice) of the root user's device."},
         {"mfa-removed-other-user", severity::high, "MFA device of another user deactivated",
          "T1556.006",
          "A principal deactivated the MFA device of a different IAM user. Medium when the caller "
          "is an admin or break-glass principal (help-desk reset of a lost device)."},
         {"mfa-removed-self", severity::medium, "User removed their own MFA device", "T1556.006",
          "An IAM user deactivated their own MFA device and did not enable a new one within "
          "mfa_reenable_window (a device replacement is not reported)."},
         {"admin-sensitive-action-without-mfa", severity::high,
          "Admin changed IAM/KMS/CloudTrail/Organizations without MFA", "T1078.004,T1556.006",
          "A write call to IAM, KMS, CloudTrail or Organizations by an admin principal "
          "(admin_principals) from a session with mfaAuthenticated=false. Inactive without "
          "admin_principals. One finding per session."}}};
    return i;
  }

  mfa_and_signin(const context& ctx, const config& cfg)
      : detector(ctx),
        user_threshold_(cfg.get_int("failed_login_user_threshold")),
        ip_threshold_(cfg.get_int("failed_login_ip_threshold")),
        window_ms_(cfg.get_duration_ms("failed_login_window")),
        spray_users_(cfg.get_int("spray_distinct_users")),
        success_window_ms_(cfg.get_duration_ms("brute_force_success_window")),
        reenable_window_ms_(cfg.get_duration_ms("mfa_reenable_window")),
        include_assumed_roles_(cfg.get_bool("include_assumed_roles")) {}

  void on_event(const event& e) override {
    std::string_view src = e.source();
    std::string_view name = e.name();
    if (src == "signin.amazonaws.com") {
      if (name == "ConsoleLogin") on_console_login(e);
      return;
    }
    if (src == "iam.amazonaws.com") {
      if (name == "DeactivateMFADevice" || name == "DeleteVirtualMFADevice") {
        on_mfa_removed(e);
        return;
      }
      if (name == "EnableMFADevice") on_mfa_enabled(e);
    }
    on_sensitive_call(e);
  }

  void on_tick(int64_t now_ms) override {
    now_ms_ = std::max(now_ms_, now_ms);
    release_root_deletes(now_ms_, false);
    evict_(now_ms_);
    successes_.erase(std::remove_if(successes_.begin(), successes_.end(),
                                    [&](const success_candidate& c) {
                                      return c.time_ms < now_ms_ - kReorderMs;
                                    }),
                     successes_.end());
    enables_.erase(std::remove_if(enables_.begin(), enables_.end(),
                                  [&](const auto& en) {
                                    return en.second < now_ms_ - reenable_window_ms_ - kReorderMs;
                                  }),
                   enables_.end());
    // Self-removals whose re-enable window closed without a new device.
    for (auto it = pending_self_.begin(); it != pending_self_.end();) {
      if (now_ms_ - it->second.time_ms >= reenable_window_ms_) {
        emit_self_removal_(it->second);
        it = pending_self_.erase(it);
      } else {
        ++it;
      }
    }
  }

  void on_flush() override {
    for (auto& [key, p] : pending_self_) emit_self_removal_(p);
    pending_self_.clear();
    release_root_deletes(0, true);
  }

  // A root device deletion with no deactivation read around it: reported on its own.
  struct held_delete {
    std::string account;
    int64_t time_ms = 0;
    finding f;
  };
  void release_root_deletes(int64_t now_ms, bool all) {
    for (auto it = held_root_deletes_.begin(); it != held_root_deletes_.end();) {
      if (!all && now_ms < it->time_ms + kHoldMs) {
        ++it;
        continue;
      }
      auto r = root_reported_.find(it->account);
      bool covered =
          r != root_reported_.end() && std::llabs(it->time_ms - r->second) <= reenable_window_ms_;
      if (!covered) {
        root_reported_[it->account] = it->time_ms;
        emit(it->f);
      }
      it = held_root_deletes_.erase(it);
    }
  }

 private:
  // ----------------------------------------------------------------------------------------
  // Console sign-in
  // ----------------------------------------------------------------------------------------
  struct failure {
    int64_t time_ms;
    std::string event_id;
    std::string user;  // "" when hidden
  };
  struct window_state {
    std::deque<failure> failures;
    int64_t alerted_until_ms = 0;  // no new burst finding before this time
    int64_t burst_last_ms = 0;     // last failure time of the latest reported burst (0: none)
    int64_t burst_count = 0;
    std::string burst_finding_rule;
    std::vector<std::string> burst_event_ids;
  };

  static std::string user_key(const event& e) {
    std::string acct = account_of(e);
    if (e.is_root()) return acct + "|root";
    std::string_view user = e.user_name();
    if (user.empty() || user == HIDDEN_USER) return {};
    return acct + "|" + std::string(user);
  }

  void on_console_login(const event& e) {
    std::string_view result = e.response()["ConsoleLogin"].str();
    bool failed = result == "Failure" || e.error_message() == "Failed authentication" ||
                  (result.empty() && e.failed());
    now_ms_ = std::max(now_ms_, e.time_ms());
    if (failed) {
      on_failed_login(e);
      return;
    }
    if (result != "Success") return;
    check_burst_success(e);
    check_login_without_mfa(e);
  }

  void check_login_without_mfa(const event& e) {
    // Only IAM users: root is the root-account family's, AssumedRole / FederatedUser console
    // sessions come from an identity provider or another session (MFA is not AWS's to see).
    if (e.identity_type() != "IAMUser") return;
    if (e.additional()["MFAUsed"].str() != "No") return;
    std::string key = user_key(e) + "|" + std::string(e.source_ip());
    auto it = no_mfa_reported_.find(key);
    if (it != no_mfa_reported_.end() && e.time_ms() - it->second < DAY_MS &&
        e.time_ms() >= it->second)
      return;
    if (no_mfa_reported_.size() >= MAX_KEYS) no_mfa_reported_.clear();
    no_mfa_reported_[key] = e.time_ms();

    std::string_view arn = e.principal_arn();
    bool admin = ctx().is_admin(arn);
    bool break_glass = ctx().is_break_glass(arn);
    bool trusted = util::from_trusted_ip(ctx(), e);
    finding f = make_finding("console-login-without-mfa", e);
    if (admin) f.sev = severity::high;
    if (break_glass) f.sev = lower(f.sev);
    if (trusted) f.sev = lower(f.sev);
    f.summary = "IAM user " + std::string(e.user_name()) +
                " signed in to the console without MFA from " + std::string(e.source_ip()) +
                (admin ? " (admin principal)" : "") +
                (break_glass ? " (break-glass principal)" : "") +
                (trusted ? " (trusted network)" : "") + ".";
    f.ev.add("userName", e.user_name())
        .add("MFAUsed", e.additional()["MFAUsed"].str())
        .add("LoginTo", e.additional()["LoginTo"].str())
        .add("sourceIPAddress", e.source_ip())
        .add_bool("adminPrincipal", admin)
        .add_bool("breakGlassPrincipal", break_glass)
        .add_bool("trustedSourceIp", trusted);
    emit(f);
  }

  void on_failed_login(const event& e) {
    int64_t t = e.time_ms();
    std::string ukey = user_key(e);
    std::string_view user = e.user_name();
    std::string user_label = e.is_root()
                                 ? std::string("root")
                                 : (user == HIDDEN_USER ? std::string() : std::string(user));
    failure fl{t, std::string(e.id()), user_label};
    if (!ukey.empty()) {
      if (users_.size() >= MAX_KEYS && !users_.count(ukey)) evict_(now_ms_, true);
      window_state& w = users_[ukey];
      add_failure_(w, fl);
      if (static_cast<int64_t>(w.failures.size()) >= user_threshold_ && t >= w.alerted_until_ms)
        report_burst_(e, w, "console-brute-force-user", ukey);
      else if (w.burst_last_ms && t >= w.burst_last_ms && t < w.alerted_until_ms)
        w.burst_last_ms = t;  // the burst goes on: a success counts from its last failure
      if (!successes_.empty()) match_earlier_successes(w, ukey, true, user_threshold_);
    }
    std::string_view ip = e.source_ip();
    if (!is_service_address(ip)) {
      std::string ikey(ip);
      if (ips_.size() >= MAX_KEYS && !ips_.count(ikey)) evict_(now_ms_, true);
      window_state& w = ips_[ikey];
      add_failure_(w, fl);
      if (static_cast<int64_t>(w.failures.size()) >= ip_threshold_ && t >= w.alerted_until_ms)
        report_burst_(e, w, "console-brute-force-ip", ikey);
      else if (w.burst_last_ms && t >= w.burst_last_ms && t < w.alerted_until_ms)
        w.burst_last_ms = t;
      if (!successes_.empty()) match_earlier_successes(w, ikey, false, ip_threshold_);
    }
  }

  void add_failure_(window_state& w, const failure& fl) {
    // Keep the deque ordered by time (events may arrive minutes out of order).
    auto pos = std::upper_bound(w.failures.begin(), w.failures.end(), fl.time_ms,
                                [](int64_t t, const failure& f) { return t < f.time_ms; });
    w.failures.insert(pos, fl);
    int64_t newest = w.failures.back().time_ms;
    while (!w.failures.empty() && w.failures.front().time_ms < newest - window_ms_)
      w.failures.pop_front();
    while (w.failures.size() > 1000) w.failures.pop_front();
  }

  void report_burst_(const event& e, window_state& w, const char* rule, const std::string& key) {
    std::vector<std::string> users;
    for (auto& f : w.failures)
      if (!f.user.empty() && std::find(users.begin(), users.end(), f.user) == users.end())
        users.push_back(f.user);
    int64_t hidden = 0;
    for (auto& f : w.failures) hidden += f.user.empty() ? 1 : 0;

    finding f = make_finding(rule, e);
    f.event_ids.clear();
    f.event_names.clear();
    f.first_seen_ms = f.last_seen_ms = 0;
    w.burst_event_ids.clear();
    for (auto& fl : w.failures) {
      f.with_event(fl.event_id, "ConsoleLogin", fl.time_ms);
      w.burst_event_ids.push_back(fl.event_id);
    }
    bool ip_rule = std::string_view(rule) == "console-brute-force-ip";
    bool spray = ip_rule && static_cast<int64_t>(users.size() + (hidden ? 1 : 0)) >= spray_users_;
    bool trusted = util::from_trusted_ip(ctx(), e);
    if (spray) f.sev = severity::high;
    if (trusted) f.sev = lower(f.sev);
    if (!ip_rule) {
      // Failed sign-ins carry no ARN: name the targeted user.
      std::string acct = key.substr(0, key.find('|'));
      std::string who = key.substr(key.find('|') + 1);
      f.principal = who == "root" ? util::root_arn(acct) : "arn:aws:iam::" + acct + ":user/" + who;
    }
    if (ip_rule) {
      f.summary = std::to_string(w.failures.size()) + " failed console sign-ins from " + key +
                  " within " + std::to_string(window_ms_ / 60000) + " min against " +
                  std::to_string(users.size()) + " user name(s)" +
                  (hidden ? " plus non-existent user names" : "") +
                  (spray ? " (password spraying)" : "") + ".";
    } else {
      f.summary = std::to_string(w.failures.size()) + " failed console sign-ins for user " +
                  (users.empty() ? key : users.front()) + " within " +
                  std::to_string(window_ms_ / 60000) + " min.";
    }
    f.dedup_key = key + "|" + std::to_string(w.failures.front().time_ms);
    f.ev.add("failedAttempts", static_cast<int64_t>(w.failures.size()))
        .add("windowSeconds", window_ms_ / 1000)
        .add("userNames", users)
        .add("hiddenUserNameAttempts", hidden)
        .add("sourceIPAddress", e.source_ip())
        .add("errorMessage", e.error_message())
        .add_bool("passwordSpraying", spray)
        .add_bool("trustedSourceIp", trusted);
    if (!ip_rule) f.ev.add("account", key.substr(0, key.find('|')));
    emit(f);
    w.alerted_until_ms = e.time_ms() + window_ms_;
    w.burst_last_ms = e.time_ms();
    w.burst_count = static_cast<int64_t>(w.failures.size());
    w.burst_finding_rule = rule;
  }

  // A successful sign-in, prepared as console-brute-force-succeeded, with the burst it follows
  // still to be attached.
  struct success_candidate {
    finding f;
    int64_t time_ms = 0;
    std::string ukey, ip, mfa;
  };

  void check_burst_success(const event& e) {
    int64_t t = e.time_ms();
    window_state* hit = nullptr;
    std::string via;
    std::string ukey = user_key(e);
    if (!ukey.empty()) {
      auto it = users_.find(ukey);
      if (it != users_.end() && it->second.burst_last_ms && t >= it->second.burst_last_ms &&
          t - it->second.burst_last_ms <= success_window_ms_) {
        hit = &it->second;
        via = "user";
      }
    }
    if (!hit && !is_service_address(e.source_ip())) {
      auto it = ips_.find(std::string(e.source_ip()));
      if (it != ips_.end() && it->second.burst_last_ms && t >= it->second.burst_last_ms &&
          t - it->second.burst_last_ms <= success_window_ms_) {
        hit = &it->second;
        via = "sourceIPAddress";
      }
    }
    std::string_view mfa = e.additional()["MFAUsed"].str();
    success_candidate c;
    c.f = make_finding("console-brute-force-succeeded", e);
    if (mfa == "No" && e.identity_type() == "IAMUser")
      c.f.sev = severity::critical;
    else if (mfa == "Yes")
      c.f.sev = severity::medium;
    std::string who =
        e.user_name().empty() ? std::string(e.principal_arn()) : std::string(e.user_name());
    c.f.summary = "Console sign-in of " + who + " from " + std::string(e.source_ip());
    c.f.ev.add("userName", e.user_name())
        .add("identityType", e.identity_type())
        .add("sourceIPAddress", e.source_ip());
    c.time_ms = t;
    c.ukey = ukey;
    c.ip = is_service_address(e.source_ip()) ? std::string() : std::string(e.source_ip());
    c.mfa = std::string(mfa);
    if (!hit) {
      // Failures of its burst may still be read (unordered records, late files).
      if (successes_.size() < MAX_KEYS) successes_.push_back(std::move(c));
      return;
    }
    int64_t first = hit->failures.empty() ? t : hit->failures.front().time_ms;
    emit_success(c, hit->burst_event_ids, first, hit->burst_count, hit->burst_last_ms, via,
                 hit->burst_finding_rule);
    hit->burst_last_ms = 0;  // one success finding per burst
  }

  void emit_success(success_candidate& c, const std::vector<std::string>& burst_ids,
                    int64_t first_failure_ms, int64_t failures, int64_t last_failure_ms,
                    const std::string& via, const std::string& burst_rule) {
    finding& f = c.f;
    for (auto& id : burst_ids) {
      f.event_ids.push_back(id);
      f.event_names.emplace_back("ConsoleLogin");
    }
    if (first_failure_ms < f.first_seen_ms) f.first_seen_ms = first_failure_ms;
    int64_t gap = (c.time_ms - last_failure_ms) / 1000;
    f.summary += " succeeded " + std::to_string(gap) + " s after a burst of " +
                 std::to_string(failures) + " failed sign-ins (matched by " + via + ")" +
                 (c.mfa == "No" ? ", without MFA." : (c.mfa == "Yes" ? ", with MFA." : "."));
    f.ev.add("matchedBy", via)
        .add("burstRule", burst_rule)
        .add("failedAttempts", failures)
        .add("secondsSinceLastFailure", gap)
        .add("MFAUsed", c.mfa);
    emit(f);
  }

  // After a failure of window `w` (user or source address `key`) was added: successes read before
  // failures that preceded them. A success matches when at least `threshold` failures of the window
  // happened before it, the last of them within brute_force_success_window.
  void match_earlier_successes(window_state& w, const std::string& key, bool by_user,
                               int64_t threshold) {
    for (auto it = successes_.begin(); it != successes_.end(); ++it) {
      if ((by_user ? it->ukey : it->ip) != key) continue;
      std::vector<std::string> ids;
      int64_t first = 0, last = 0;
      for (auto& fl : w.failures) {
        if (fl.time_ms > it->time_ms) break;  // ordered by time
        if (ids.empty()) first = fl.time_ms;
        last = fl.time_ms;
        ids.push_back(fl.event_id);
      }
      if (static_cast<int64_t>(ids.size()) < threshold || it->time_ms - last > success_window_ms_)
        continue;
      success_candidate c = std::move(*it);
      successes_.erase(it);
      emit_success(c, ids, first, static_cast<int64_t>(ids.size()), last,
                   by_user ? "user" : "sourceIPAddress",
                   by_user ? "console-brute-force-user" : "console-brute-force-ip");
      w.burst_last_ms = 0;  // one success finding per burst
      return;
    }
  }

  // ----------------------------------------------------------------------------------------
  // MFA device removal
  // ----------------------------------------------------------------------------------------
  struct pending_removal {
    std::string account, region, principal, source_ip, user_agent, user_name, serial;
    std::string event_id, event_name;
    int64_t time_ms = 0;
    std::vector<std::pair<std::string, int64_t>> delete_events;  // DeleteVirtualMFADevice
  };

  void on_mfa_removed(const event& e) {
    if (e.failed() || e.aws_service()) return;
    now_ms_ = std::max(now_ms_, e.time_ms());
    std::string_view target = e.request()["userName"].str();
    std::string_view serial = e.request()["serialNumber"].str();
    bool is_delete = e.name() == "DeleteVirtualMFADevice";
    bool root_device = serial.ends_with(":mfa/root-account-mfa-device") ||
                       (e.is_root() && (target.empty() || target == "root"));
    std::string acct = account_of(e);

    if (is_delete) {
      // A virtual device can only be deleted once it is no longer assigned: the deactivation
      // was the change. Attach the delete to a pending self-removal; report it alone only for
      // the root device (its deactivation may lie before the logs); ignore it otherwise (the
      // console deletes unassigned devices after a failed enrollment).
      for (auto& [key, p] : pending_self_)
        if (p.serial == serial && !serial.empty()) {
          p.delete_events.emplace_back(std::string(e.id()), e.time_ms());
          return;
        }
      if (!root_device) return;
      auto it = root_reported_.find(acct);
      if (it != root_reported_.end() && std::llabs(e.time_ms() - it->second) <= reenable_window_ms_)
        return;
    }

    std::string caller_user(e.identity_type() == "IAMUser" ? e.user_name() : std::string_view());
    if (root_device) {
      finding f = make_finding("mfa-removed-root", e);
      f.summary = std::string(e.name()) + " removed the root user's MFA device " +
                  std::string(serial) + " in account " + acct + " (caller " +
                  std::string(e.identity()) + ").";
      f.dedup_key = std::string(serial);
      f.ev.add("serialNumber", serial)
          .add("userName", target)
          .add("callerArn", e.principal_arn())
          .add("callerType", e.identity_type());
      if (is_delete && held_root_deletes_.size() < MAX_KEYS && e.time_ms() > 0) {
        // Its deactivation may still be read (unordered records): held kHoldMs.
        held_root_deletes_.push_back(held_delete{acct, e.time_ms(), std::move(f)});
        return;
      }
      root_reported_[acct] = e.time_ms();
      // Deletes of the device read before this deactivation belong to it.
      for (auto it = held_root_deletes_.begin(); it != held_root_deletes_.end();) {
        if (it->account == acct && std::llabs(it->time_ms - e.time_ms()) <= reenable_window_ms_) {
          if (!it->f.event_ids.empty())
            f.with_event(it->f.event_ids.front(), "DeleteVirtualMFADevice", it->time_ms);
          it = held_root_deletes_.erase(it);
        } else {
          ++it;
        }
      }
      emit(f);
      return;
    }
    if (target.empty()) return;  // nothing names the owner: not enough to report
    bool self = !caller_user.empty() && caller_user == target;
    if (self) {
      std::string key = acct + "|" + std::string(target);
      // A new device enabled around it, read first: a replacement (same tolerance as below).
      for (auto& [k, t] : enables_)
        if (k == key && t - e.time_ms() >= -5 * 60 * 1000 && t - e.time_ms() <= reenable_window_ms_)
          return;
      if (pending_self_.size() >= MAX_KEYS) on_flush();
      pending_removal& p = pending_self_[key];
      p = pending_removal{acct,
                          std::string(e.region()),
                          std::string(e.principal_arn()),
                          std::string(e.source_ip()),
                          std::string(e.user_agent()),
                          std::string(target),
                          std::string(serial),
                          std::string(e.id()),
                          std::string(e.name()),
                          e.time_ms(),
                          {}};
      return;
    }
    std::string_view caller = e.identity();
    bool admin = util::admin_caller(ctx(), e);
    bool break_glass = util::break_glass_caller(ctx(), e);
    finding f = make_finding("mfa-removed-other-user", e);
    if (admin || break_glass) f.sev = lower(f.sev);
    f.summary = std::string(caller) + " deactivated the MFA device " + std::string(serial) +
                " of IAM user " + std::string(target) +
                (admin ? " (caller is an admin principal)" : "") +
                (break_glass ? " (caller is a break-glass principal)" : "") + ".";
    f.dedup_key = std::string(serial);
    f.ev.add("userName", target)
        .add("serialNumber", serial)
        .add("callerArn", e.principal_arn())
        .add("callerType", e.identity_type())
        .add_bool("adminCaller", admin)
        .add_bool("breakGlassCaller", break_glass);
    emit(f);
  }

  void on_mfa_enabled(const event& e) {
    if (e.failed()) return;
    std::string_view target = e.request()["userName"].str();
    if (target.empty() && e.identity_type() == "IAMUser") target = e.user_name();
    if (target.empty()) return;
    std::string key = account_of(e) + "|" + std::string(target);
    if (enables_.size() < MAX_KEYS) enables_.emplace_back(key, e.time_ms());
    auto it = pending_self_.find(key);
    if (it == pending_self_.end()) return;
    // Enabled within the window (either order tolerated by a few minutes): a replacement.
    int64_t dt = e.time_ms() - it->second.time_ms;
    if (dt >= -5 * 60 * 1000 && dt <= reenable_window_ms_) pending_self_.erase(it);
  }

  void emit_self_removal_(const pending_removal& p) {
    finding f = ctx().make_finding("mfa-removed-self");
    f.account_id = p.account;
    f.region = p.region;
    f.principal = p.principal;
    f.source_ip = p.source_ip;
    f.user_agent = p.user_agent;
    f.with_event(p.event_id, p.event_name, p.time_ms);
    for (auto& [id, t] : p.delete_events) f.with_event(id, "DeleteVirtualMFADevice", t);
    bool admin = ctx().is_admin(p.principal);
    if (admin) f.sev = raise(f.sev);
    f.summary = "IAM user " + p.user_name + " deactivated their own MFA device " + p.serial +
                " and enabled no new device within " + std::to_string(reenable_window_ms_ / 60000) +
                " min" + (admin ? " (admin principal)." : ".");
    f.dedup_key = p.serial;
    f.ev.add("userName", p.user_name)
        .add("serialNumber", p.serial)
        .add("reenableWindowSeconds", reenable_window_ms_ / 1000)
        .add_bool("virtualDeviceDeleted", !p.delete_events.empty())
        .add_bool("adminPrincipal", admin);
    emit(f);
  }

  // ----------------------------------------------------------------------------------------
  // Sensitive changes without MFA
  // ----------------------------------------------------------------------------------------
  void on_sensitive_call(const event& e) {
    if (e.mfa_authenticated() != TH_FLAG_FALSE) return;
    if (e.failed() || e.aws_service()) return;
    if (e.read_only() == TH_FLAG_TRUE) return;
    if (e.read_only() == TH_FLAG_UNKNOWN && read_like_name(e.name())) return;
    if (exempt_sensitive_name(e.name())) return;
    std::string_view type = e.identity_type();
    std::string_view issuer = e.session_issuer_arn();
    if (type == "AssumedRole") {
      if (!include_assumed_roles_) return;
      if (issuer.find(":role/aws-reserved/sso.amazonaws.com/") != std::string_view::npos ||
          issuer.find("/AWSReservedSSO_") != std::string_view::npos)
        return;
    } else if (type != "IAMUser") {
      return;  // Root: root-account family; AWSService / FederatedUser: not a MFA question
    }
    std::string_view arn = e.principal_arn();
    bool admin = ctx().is_admin(arn) || (!issuer.empty() && ctx().is_admin(issuer));
    if (!admin) return;
    std::string session = std::string(arn) + "|" + std::string(e.access_key_id());
    if (sensitive_reported_.count(session)) return;
    if (sensitive_reported_.size() >= MAX_KEYS) sensitive_reported_.clear();
    sensitive_reported_.insert(session);
    finding f = make_finding("admin-sensitive-action-without-mfa", e);
    if (ctx().is_break_glass(arn) || (!issuer.empty() && ctx().is_break_glass(issuer)))
      f.sev = lower(f.sev);
    f.summary = "Admin principal " + std::string(e.identity()) + " called " +
                std::string(e.source()) + " " + std::string(e.name()) +
                " from a session that was not MFA-authenticated (first such call of the session "
                "shown).";
    f.dedup_key = session;
    f.ev.add("eventSource", e.source())
        .add("eventName", e.name())
        .add("mfaAuthenticated", "false")
        .add("identityType", type)
        .add("accessKeyId", e.access_key_id())
        .add("sessionIssuerArn", issuer)
        .add_json("requestParameters", e.request().json());
    emit(f);
  }

  // ----------------------------------------------------------------------------------------
  void evict_(int64_t now, bool force = false) {
    int64_t keep = std::max(window_ms_, success_window_ms_);
    auto sweep = [&](std::unordered_map<std::string, window_state>& m) {
      for (auto it = m.begin(); it != m.end();) {
        auto& w = it->second;
        int64_t last = w.failures.empty() ? 0 : w.failures.back().time_ms;
        last = std::max(last, w.burst_last_ms);
        if (now - last > keep || (force && now - last > window_ms_))
          it = m.erase(it);
        else
          ++it;
      }
    };
    sweep(users_);
    sweep(ips_);
    for (auto it = no_mfa_reported_.begin(); it != no_mfa_reported_.end();)
      it = (now - it->second > DAY_MS) ? no_mfa_reported_.erase(it) : std::next(it);
    for (auto it = root_reported_.begin(); it != root_reported_.end();)
      it = (now - it->second > reenable_window_ms_) ? root_reported_.erase(it) : std::next(it);
  }

  int64_t user_threshold_, ip_threshold_, window_ms_, spray_users_, success_window_ms_,
      reenable_window_ms_;
  bool include_assumed_roles_;
  int64_t now_ms_ = 0;
  std::unordered_map<std::string, window_state> users_, ips_;
  std::unordered_map<std::string, int64_t> no_mfa_reported_;
  std::unordered_map<std::string, int64_t> root_reported_;
  std::unordered_map<std::string, pending_removal> pending_self_;
  std::vector<held_delete> held_root_deletes_;  // root device deletions held kHoldMs
  std::vector<success_candidate> successes_;    // sign-ins not matched to a burst (kReorderMs)
  std::vector<std::pair<std::string, int64_t>> enables_;  // account|user, EnableMFADevice time
  std::unordered_set<std::string> sensitive_reported_;
};

}  // namespace

TRAILHOUND_MODULE("mfa-and-signin", "1.0.0", mfa_and_signin)
