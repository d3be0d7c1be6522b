// SPDX-License-Identifier: Apache-2.0
// root-account: use of the AWS account root user and changes to account-level settings.
#include <algorithm>
#include <map>
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
using util::account_of;

constexpr int64_t kDisorderMs = 5 * 60 * 1000;  // out-of-order slack before a window closes
constexpr size_t kMaxListedEvents = 50;         // event ids kept in an aggregated finding
constexpr size_t kMaxListedValues = 10;         // IPs / user agents / keys listed
constexpr size_t kMaxStateEntries = 50000;      // per map; protects memory on hostile input

constexpr std::string_view kIam = "iam.amazonaws.com";
constexpr std::string_view kSignin = "signin.amazonaws.com";
constexpr std::string_view kAccount = "account.amazonaws.com";
constexpr std::string_view kBilling = "billingconsole.amazonaws.com";
constexpr std::string_view kPayments = "payments.amazonaws.com";
constexpr std::string_view kOrganizations = "organizations.amazonaws.com";

// How much an account-level setting change matters on its own.
enum class setting_weight { none, normal, takeover };

// Account-level settings (contacts, regions, root e-mail/password, billing and payment methods).
// Sources: AWS Account Management and Billing/Payments CloudTrail event references.
setting_weight account_setting_weight(std::string_view source, std::string_view name) {
  if (source == kAccount) {
    if (name == "StartPrimaryEmailUpdate" || name == "AcceptPrimaryEmailUpdate")
      return setting_weight::takeover;  // the root user's e-mail (password resets go there)
    if (name == "PutContactInformation" || name == "PutAlternateContact" ||
        name == "DeleteAlternateContact" || name == "EnableRegion" || name == "DisableRegion" ||
        name == "PutAccountName")
      return setting_weight::normal;
    return setting_weight::none;
  }
  if (source == kBilling) {
    if (name == "SetAccountPreferences" || name == "CloseAccount") return setting_weight::takeover;
    if (name == "SetContactAddress" || name == "SetAdditionalContacts" ||
        name == "SetSecurityQuestions" || name == "SetIAMAccessPreference" ||
        name == "SetPayInformation" || name == "SetBillingAddress" ||
        name == "CreatePaymentMethod" || name == "UpdatePaymentMethod" ||
        name == "DeletePaymentMethod" || name == "SetDefaultPaymentMethod")
      return setting_weight::normal;
    return setting_weight::none;
  }
  if (source == kPayments) {
    if (name == "Instruments_Create" || name == "Instruments_Update" ||
        name == "Instruments_Delete" || name == "Preferences_CreatePaymentProfile" ||
        name == "Preferences_UpdatePaymentProfile" || name == "Preferences_DeletePaymentProfile")
      return setting_weight::normal;
  }
  return setting_weight::none;
}

// A call that only reads. readOnly is authoritative when present; older records lack it.
bool is_read_only(const event& e) {
  if (e.read_only() == TH_FLAG_TRUE) return true;
  if (e.read_only() == TH_FLAG_FALSE) return false;
  return util::starts_with_any(e.name(),
                               {"Get", "List", "Describe", "Lookup", "Search", "Head", "BatchGet"});
}

// Lists a distinct non-empty value, up to kMaxListedValues.
void add_capped(std::vector<std::string>& v, std::string_view s) {
  if (!s.empty()) util::add_unique(v, s, kMaxListedValues);
}

class root_account final : public detector {
 public:
  static const detector_info& info() {
    static const detector_info i{
        "root-account",
        "1.0.0",
        "Root user activity and account-level settings",
        "Use of the account root user (console sign-in, API calls, long-term root keys, root MFA "
        "and password changes) and changes to account-wide settings: contacts, root e-mail, "
        "regions, billing and payment methods, the IAM password policy, leaving the organization.",
        {{"*", "*"}},  // root use can be any call of any service
        {
            {"activity_window", TH_PARAM_DURATION, "\"1h\"",
             "Root API calls of one account are summarised in one finding per window of this "
             "length (starting at the first call), emitted when the window closes.",
             true, 60, 86400},
            {"login_failure_window", TH_PARAM_DURATION, "\"1h\"",
             "Failed root sign-ins from one source IP are reported once per window; a success "
             "after failures in this window is raised.",
             true, 60, 86400},
            {"root_key_reminder", TH_PARAM_DURATION, "\"24h\"",
             "A long-term root access key in use is reported again after this much event time.",
             true, 300, 2592000},
            {"min_password_length", TH_PARAM_INT, "14",
             "An IAM password policy with a shorter minimum length is reported as weak "
             "(CIS AWS Foundations recommends 14).",
             true, 6, 128},
        },
        {
            {"root-api-call", severity::medium, "Root user API activity", "T1078.004",
             "API calls made with root user credentials, aggregated per account per "
             "activity_window; high when any call changed something."},
            {"root-console-login", severity::medium, "Root user console sign-in with MFA",
             "T1078.004", "Successful console sign-in of the root user, with MFA."},
            {"root-console-login-without-mfa", severity::high,
             "Root user console sign-in without MFA", "T1078.004",
             "Successful console sign-in of the root user without a second factor."},
            {"root-console-login-failed", severity::medium, "Failed root user console sign-in",
             "T1110,T1078.004",
             "Failed console sign-in as the root user; one finding per source IP per window."},
            {"root-access-key-created", severity::high, "Access key created for the root user",
             "T1098.001",
             "The root user created a long-term access key for itself (CreateAccessKey without "
             "userName)."},
            {"root-access-key-used", severity::high, "Long-term root access key in use",
             "T1078.004",
             "An API call signed with a long-term root access key (AKIA...), not a console "
             "session."},
            {"root-mfa-removed", severity::high, "Root user MFA device removed", "T1556.006",
             "DeactivateMFADevice / DeleteVirtualMFADevice on the root user's MFA device."},
            {"root-password-changed", severity::high, "Root user password changed", "T1098",
             "The root user's console password was changed or reset (signin PasswordUpdated, "
             "PasswordRecoveryCompleted)."},
            {"root-password-recovery-requested", severity::medium,
             "Root user password recovery requested", "T1098",
             "Someone started the root 'Forgot password' flow (PasswordRecoveryRequested)."},
            {"account-setting-changed", severity::medium, "Account-level setting changed", "T1098",
             "Contacts, root e-mail, account name, regions, billing or payment settings changed; "
             "high when done by root or when it touches the root e-mail/password or closes the "
             "account."},
            {"password-policy-weakened", severity::medium, "IAM password policy weakened", "T1556",
             "DeleteAccountPasswordPolicy, or UpdateAccountPasswordPolicy leaving a weak policy "
             "(short minimum length, no character classes, no reuse prevention with short "
             "length)."},
            {"leave-organization", severity::high, "Account left its AWS Organization",
             "T1562,T1666",
             "LeaveOrganization: the account escapes the organization's SCPs, CloudTrail and "
             "security tooling."},
        }};
    return i;
  }

  root_account(const context& ctx, const config& cfg)
      : detector(ctx),
        activity_window_ms_(cfg.get_duration_ms("activity_window")),
        failure_window_ms_(cfg.get_duration_ms("login_failure_window")),
        key_reminder_ms_(cfg.get_duration_ms("root_key_reminder")),
        min_password_length_(cfg.get_int("min_password_length")) {}

  void on_event(const event& e) override {
    // An AWS service acting on the account's behalf (invokedBy support.amazonaws.com, ...) is
    // never root use and never a human setting change.
    if (e.aws_service()) return;
    std::string_view src = e.source();
    std::string_view name = e.name();
    const bool root = e.is_root();

    if (src == kSignin) {
      if (root) on_signin(e);
      return;  // sign-in events are not API calls
    }
    if (root) on_root_call(e);

    if (e.failed()) return;  // a rejected change changed nothing
    if (src == kIam) {
      if (name == "UpdateAccountPasswordPolicy" || name == "DeleteAccountPasswordPolicy")
        on_password_policy(e);
    } else if (src == kOrganizations) {
      if (name == "LeaveOrganization") on_leave_organization(e);
    } else if (src == kAccount || src == kBilling || src == kPayments) {
      setting_weight w = account_setting_weight(src, name);
      if (w != setting_weight::none) on_account_setting(e, w);
    }
  }

  void on_tick(int64_t now_ms) override {
    release_logins(now_ms, false);
    for (auto it = windows_.begin(); it != windows_.end();) {
      if (now_ms >= it->second.end_ms + kDisorderMs) {
        emit_window(it->first, it->second);
        it = windows_.erase(it);
      } else {
        ++it;
      }
    }
    for (auto it = failures_.begin(); it != failures_.end();) {
      if (now_ms >= it->second.start_ms + failure_window_ms_ + kDisorderMs)
        it = failures_.erase(it);
      else
        ++it;
    }
    for (auto it = last_failure_.begin(); it != last_failure_.end();) {
      if (now_ms >= it->second + failure_window_ms_ + kDisorderMs) {
        recent_failures_.erase(it->first);
        it = last_failure_.erase(it);
      } else {
        ++it;
      }
    }
    for (auto it = key_last_reported_.begin(); it != key_last_reported_.end();) {
      if (now_ms >= it->second + key_reminder_ms_ + kDisorderMs)
        it = key_last_reported_.erase(it);
      else
        ++it;
    }
  }

  void on_flush() override {
    release_logins(0, true);
    for (auto& [acct, w] : windows_) emit_window(acct, w);
    windows_.clear();
  }

 private:
  // ---------------------------------------------------------------------------------------
  // helpers
  static std::string root_arn(const event& e) {
    std::string_view arn = e.principal_arn();
    if (!arn.empty()) return std::string(arn);
    return util::root_arn(e.principal_account().empty() ? e.recipient_account()
                                                        : e.principal_account());
  }
  static bool assumed_root(const event& e) {
    return e["userIdentity"]["sessionContext"]["assumedRoot"].as_bool(false);
  }
  // The identity whose break-glass / admin status decides severity.
  static std::string actor_arn(const event& e) {
    if (e.is_root()) return root_arn(e);
    return std::string(e.identity());
  }
  void add_actor(finding& f, const event& e) const {
    f.ev.add("identityType", e.identity_type());
    f.ev.add("principalArn", e.is_root() ? root_arn(e) : std::string(e.principal_arn()));
    if (!e.access_key_id().empty()) f.ev.add("accessKeyId", e.access_key_id());
    if (!e.session_issuer_arn().empty()) f.ev.add("sessionIssuerArn", e.session_issuer_arn());
  }
  // Break-glass principals: expected to be used in emergencies, so one step lower, never silent.
  bool break_glass(const event& e, finding& f) const {
    if (!ctx().is_break_glass(actor_arn(e))) return false;
    f.sev = lower(f.sev);
    f.ev.add_bool("breakGlass", true);
    return true;
  }

  // ---------------------------------------------------------------------------------------
  // sign-in
  void on_signin(const event& e) {
    std::string_view name = e.name();
    if (name == "ConsoleLogin") {
      on_console_login(e);
    } else if ((name == "PasswordUpdated" || name == "PasswordRecoveryCompleted") &&
               e.succeeded()) {
      finding f = make_finding("root-password-changed", e);
      f.summary = "The root user's console password of account " + account_of(e) + " was " +
                  (name == "PasswordUpdated" ? "changed" : "reset by recovery") + " from " +
                  std::string(e.source_ip()) + ".";
      add_actor(f, e);
      f.ev.add("eventName", name).add("sourceIPAddress", e.source_ip());
      f.ev.add("userAgent", e.user_agent());
      break_glass(e, f);
      emit(f);
    } else if (name == "PasswordRecoveryRequested") {
      finding f = make_finding("root-password-recovery-requested", e);
      f.summary = "The root user's password recovery was requested for account " + account_of(e) +
                  " from " + std::string(e.source_ip()) +
                  "; a reset link went to the root e-mail address.";
      add_actor(f, e);
      f.ev.add("sourceIPAddress", e.source_ip()).add("userAgent", e.user_agent());
      if (e.failed()) f.ev.add("errorCode", e.error_code());
      break_glass(e, f);
      emit(f);
    }
  }

  void on_console_login(const event& e) {
    std::string_view result = e.response()["ConsoleLogin"].str();
    const bool failed =
        result == "Failure" || e.failed() || (result.empty() && !e.error_message().empty());
    const std::string acct = account_of(e);
    const std::string ip(e.source_ip());
    value mfa_v = e.additional()["MFAUsed"];
    std::string_view mfa = mfa_v.str();

    if (failed) {
      if (failures_.size() >= kMaxStateEntries) failures_.clear();
      failure_state& st = failures_[acct + "|" + ip];
      bool fresh = st.count == 0 || e.time_ms() >= st.start_ms + failure_window_ms_;
      if (fresh) st = failure_state{e.time_ms(), 0};
      ++st.count;
      if (last_failure_.size() >= kMaxStateEntries) {
        last_failure_.clear();
        recent_failures_.clear();
      }
      last_failure_[acct] = std::max(last_failure_[acct], e.time_ms());
      ++recent_failures_[acct];
      // A success of this account read before this earlier failure (unordered records).
      for (auto& h : held_logins_)
        if (h.account == acct && h.time_ms >= e.time_ms() &&
            h.time_ms - e.time_ms() <= failure_window_ms_)
          ++h.prior_failures;
      if (!fresh) return;  // once per account and source IP per window
      finding f = make_finding("root-console-login-failed", e);
      f.summary = "Failed console sign-in as the root user of account " + acct + " from " + ip +
                  ". Further failures from this address in the next window are not reported "
                  "separately.";
      add_actor(f, e);
      f.ev.add("ConsoleLogin", result.empty() ? std::string_view("Failure") : result);
      if (!e.error_message().empty()) f.ev.add("errorMessage", e.error_message());
      f.ev.add("MFAUsed", mfa).add("sourceIPAddress", ip).add("userAgent", e.user_agent());
      f.dedup_key = acct + "|" + ip;
      emit(f);
      return;
    }

    const bool no_mfa = mfa == "No";
    finding f = make_finding(no_mfa ? "root-console-login-without-mfa" : "root-console-login", e);
    f.summary = std::string("Console sign-in as the root user of account ") + acct + " from " + ip +
                (no_mfa ? " without MFA." : (mfa == "Yes" ? " with MFA." : "."));
    add_actor(f, e);
    f.ev.add("ConsoleLogin", result.empty() ? std::string_view("Success") : result);
    f.ev.add("MFAUsed", mfa.empty() ? std::string_view("unknown") : mfa);
    std::string_view login_to = e.additional()["LoginTo"].str();
    if (!login_to.empty()) f.ev.add("LoginTo", login_to);
    f.ev.add("sourceIPAddress", ip).add("userAgent", e.user_agent());
    // A success shortly after failed attempts (any source address) looks like a guessed or
    // reset password: one step higher.
    held_login h{std::move(f), acct, e.time_ms(), 0};
    auto lf = last_failure_.find(acct);
    if (lf != last_failure_.end() && e.time_ms() >= lf->second &&
        e.time_ms() - lf->second <= failure_window_ms_)
      h.prior_failures = recent_failures_[acct];
    last_failure_.erase(acct);
    recent_failures_.erase(acct);
    break_glass(e, h.f);
    // Failures read after it may still precede it in event time (records of a file are
    // unordered, files arrive minutes apart): held kDisorderMs of event time.
    if (h.prior_failures > 0 || held_logins_.size() >= kMaxStateEntries || e.time_ms() <= 0)
      emit_login(h);
    else
      held_logins_.push_back(std::move(h));
  }

  struct held_login {
    finding f;
    std::string account;
    int64_t time_ms = 0;
    int64_t prior_failures = 0;
  };

  void emit_login(held_login& h) {
    if (h.prior_failures > 0) {
      h.f.sev = raise(h.f.sev);
      h.f.ev.add("priorFailedAttempts", h.prior_failures);
      h.f.summary += " It follows failed root sign-in attempts.";
    }
    emit(h.f);
  }

  void release_logins(int64_t now_ms, bool all) {
    for (auto it = held_logins_.begin(); it != held_logins_.end();) {
      if (all || now_ms >= it->time_ms + kDisorderMs) {
        emit_login(*it);
        it = held_logins_.erase(it);
      } else {
        ++it;
      }
    }
  }

  // ---------------------------------------------------------------------------------------
  // root API calls
  void on_root_call(const event& e) {
    std::string_view src = e.source();
    std::string_view name = e.name();
    std::string_view key = e.access_key_id();

    if (src == kIam && e.succeeded()) {
      value user = e.request()["userName"];
      const bool for_self = user.missing() || user.is_null() || user.str().empty();
      if (name == "CreateAccessKey" && for_self) {
        finding f = make_finding("root-access-key-created", e);
        std::string_view new_key = e.response().path("accessKey.accessKeyId").str();
        f.summary = "The root user of account " + account_of(e) +
                    " created a long-term access key for itself" +
                    (new_key.empty() ? std::string() : " (" + std::string(new_key) + ")") +
                    ". Root access keys should not exist.";
        add_actor(f, e);
        if (!new_key.empty()) f.ev.add("newAccessKeyId", new_key);
        std::string_view status = e.response().path("accessKey.status").str();
        if (!status.empty()) f.ev.add("status", status);
        f.ev.add("sourceIPAddress", e.source_ip()).add("userAgent", e.user_agent());
        f.dedup_key = std::string(new_key);
        break_glass(e, f);
        emit(f);
      } else if (name == "DeactivateMFADevice" || name == "DeleteVirtualMFADevice") {
        std::string_view serial = e.request()["serialNumber"].str();
        // Root's device is "arn:aws:iam::<acct>:mfa/root-account-mfa-device" (or any device
        // deactivated by root without a userName, i.e. its own).
        bool root_device = serial.find(":mfa/root-account-mfa-device") != std::string_view::npos;
        if (name == "DeactivateMFADevice" && for_self) root_device = true;
        if (root_device) {
          finding f = make_finding("root-mfa-removed", e);
          f.summary = "The root user's MFA device of account " + account_of(e) + " was removed (" +
                      std::string(name) + "). Root sign-in now needs only the password.";
          add_actor(f, e);
          f.ev.add("eventName", name).add("serialNumber", serial);
          f.ev.add("sourceIPAddress", e.source_ip()).add("userAgent", e.user_agent());
          break_glass(e, f);
          emit(f);
        }
      }
    }

    // Long-term root key (AKIA...); console sessions use temporary ASIA... keys.
    if (key.starts_with("AKIA")) {
      std::string k(key);
      auto it = key_last_reported_.find(k);
      if (it == key_last_reported_.end() || e.time_ms() >= it->second + key_reminder_ms_) {
        if (key_last_reported_.size() >= kMaxStateEntries) key_last_reported_.clear();
        key_last_reported_[k] = e.time_ms();
        finding f = make_finding("root-access-key-used", e);
        f.summary = "A long-term access key of the root user of account " + account_of(e) + " (" +
                    k + ") signed " + std::string(src) + " " + std::string(name) + " from " +
                    std::string(e.source_ip()) +
                    ". Further use of this key is summarised in root-api-call.";
        add_actor(f, e);
        f.ev.add("eventSource", src).add("eventName", name);
        f.ev.add("sourceIPAddress", e.source_ip()).add("userAgent", e.user_agent());
        if (e.failed()) f.ev.add("errorCode", e.error_code());
        f.dedup_key = k;
        break_glass(e, f);
        emit(f);
      }
    }

    // Summary of all root calls of the account in the current window.
    std::string acct = account_of(e);
    auto it = windows_.find(acct);
    if (it == windows_.end()) {
      if (windows_.size() >= kMaxStateEntries) return;
      it = windows_.emplace(acct, root_window{}).first;
      it->second.start_ms = e.time_ms();
      it->second.end_ms = e.time_ms() + activity_window_ms_;
      it->second.arn = root_arn(e);
      it->second.region = std::string(e.region());
    }
    root_window& w = it->second;
    ++w.total;
    w.first_ms = w.first_ms == 0 ? e.time_ms() : std::min(w.first_ms, e.time_ms());
    w.last_ms = std::max(w.last_ms, e.time_ms());
    std::string call = std::string(src) + ":" + std::string(name);
    ++w.calls[call];
    if (!is_read_only(e) && e.succeeded()) w.write_calls.insert(call);
    if (e.failed()) ++w.failed;
    if (assumed_root(e))
      ++w.assumed_root;
    else
      ++w.direct;
    add_capped(w.ips, e.source_ip());
    add_capped(w.agents, e.user_agent());
    add_capped(w.keys, key);
    if (w.event_ids.size() < kMaxListedEvents) {
      w.event_ids.emplace_back(e.id());
      w.event_names.emplace_back(name);
    }
  }

  struct root_window {
    int64_t start_ms = 0, end_ms = 0, first_ms = 0, last_ms = 0;
    std::string arn, region;
    std::map<std::string, int64_t> calls;  // "source:name" -> count
    std::set<std::string> write_calls;
    int64_t total = 0, failed = 0, assumed_root = 0, direct = 0;
    std::vector<std::string> ips, agents, keys, event_ids, event_names;
  };

  void emit_window(const std::string& acct, const root_window& w) {
    finding f = ctx().make_finding("root-api-call");
    f.account_id = acct;
    f.region = w.region;
    f.principal = w.arn;
    if (!w.ips.empty()) f.source_ip = w.ips.front();
    if (!w.agents.empty()) f.user_agent = w.agents.front();
    f.event_ids = w.event_ids;
    f.event_names = w.event_names;
    f.first_seen_ms = w.first_ms;
    f.last_seen_ms = w.last_ms;
    if (!w.write_calls.empty()) f.sev = severity::high;

    std::string calls = "{";
    for (auto& [c, n] : w.calls) {
      if (calls.size() > 1) calls += ",";
      calls += util::json_quote(c) + ":" + std::to_string(n);
    }
    calls += "}";
    f.ev.add("principalArn", w.arn);
    f.ev.add("callCount", w.total);
    f.ev.add_json("calls", calls);
    f.ev.add("writeCalls", std::vector<std::string>(w.write_calls.begin(), w.write_calls.end()));
    f.ev.add("failedCalls", w.failed);
    f.ev.add("sourceIPAddresses", w.ips);
    f.ev.add("userAgents", w.agents);
    if (!w.keys.empty()) f.ev.add("accessKeyIds", w.keys);
    if (w.assumed_root) f.ev.add("assumedRootCalls", w.assumed_root);
    f.summary = "The root user of account " + acct + " made " + std::to_string(w.total) +
                " API call(s) (" + std::to_string(w.calls.size()) + " distinct" +
                (w.write_calls.empty()
                     ? ", all read-only"
                     : ", " + std::to_string(w.write_calls.size()) + " changing something") +
                ") within " + std::to_string(activity_window_ms_ / 60000) + " minutes.";
    // Only centralized-root-access sessions (sts:AssumeRoot from the management account, scoped
    // to a task policy): expected privileged tasks, one step lower.
    if (w.direct == 0 && w.assumed_root > 0) {
      f.sev = lower(f.sev);
      f.summary += " All calls came from sts:AssumeRoot task sessions.";
    }
    if (ctx().is_break_glass(w.arn)) {
      f.sev = lower(f.sev);
      f.ev.add_bool("breakGlass", true);
    }
    f.dedup_key = acct + "|" + std::to_string(w.start_ms);
    emit(f);
  }

  // ---------------------------------------------------------------------------------------
  // account settings
  void on_account_setting(const event& e, setting_weight w) {
    finding f = make_finding("account-setting-changed", e);
    const bool root = e.is_root();
    if (w == setting_weight::takeover || root) f.sev = severity::high;
    std::string acct = account_of(e);
    std::string_view target = e.request()["accountId"].str();  // management account -> member
    f.summary = std::string(e.name()) + " (" + std::string(e.source()) + ") by " +
                (root ? std::string("the root user") : std::string(e.identity())) + " in account " +
                acct +
                (target.empty() || target == acct ? std::string()
                                                  : " for member account " + std::string(target)) +
                ".";
    add_actor(f, e);
    f.ev.add("eventSource", e.source()).add("eventName", e.name());
    if (!target.empty()) f.ev.add("targetAccountId", target);
    value req = e.request();
    if (req.exists() && !req.is_null()) f.ev.add_json("requestParameters", req.json());
    f.ev.add("sourceIPAddress", e.source_ip()).add("userAgent", e.user_agent());
    if (!break_glass(e, f) && !root && ctx().is_admin(actor_arn(e)) &&
        w != setting_weight::takeover) {
      f.sev = lower(f.sev);  // configured administrators doing routine account administration
      f.ev.add_bool("adminPrincipal", true);
    }
    emit(f);
  }

  void on_password_policy(const event& e) {
    const std::string acct = account_of(e);
    std::vector<std::string> reasons;
    std::string fingerprint;
    if (e.name() == "DeleteAccountPasswordPolicy") {
      reasons.emplace_back(
          "password policy deleted (AWS default: 8 characters, no reuse "
          "prevention, no expiry)");
      fingerprint = "deleted";
    } else {
      value req = e.request();
      // UpdateAccountPasswordPolicy replaces the whole policy: an omitted setting takes its
      // default (minimum length 6, requirement off).
      int64_t len = req["minimumPasswordLength"].as_int(6);
      bool sym = req["requireSymbols"].as_bool(false);
      bool num = req["requireNumbers"].as_bool(false);
      bool up = req["requireUppercaseCharacters"].as_bool(false);
      bool low = req["requireLowercaseCharacters"].as_bool(false);
      int64_t reuse = req["passwordReusePrevention"].as_int(0);
      int classes = sym + num + up + low;
      if (len < min_password_length_)
        reasons.push_back("minimumPasswordLength " + std::to_string(len) + " < " +
                          std::to_string(min_password_length_));
      if (classes == 0 && len < 20)
        reasons.emplace_back(
            "no character class required (requireSymbols, requireNumbers, "
            "requireUppercaseCharacters, requireLowercaseCharacters all false)");
      fingerprint = std::to_string(len) + "/" + std::to_string(classes) + "/" +
                    std::to_string(sym) + std::to_string(num) + std::to_string(up) +
                    std::to_string(low) + "/" + std::to_string(reuse);
      if (reasons.empty()) {
        last_policy_.erase(acct);  // a strong policy: a later weak one is news again
        return;
      }
    }
    // The same weak policy applied again (Terraform re-apply): already reported.
    auto it = last_policy_.find(acct);
    if (it != last_policy_.end() && it->second == fingerprint) return;
    if (last_policy_.size() >= kMaxStateEntries) last_policy_.clear();
    last_policy_[acct] = fingerprint;

    finding f = make_finding("password-policy-weakened", e);
    if (e.is_root()) f.sev = raise(f.sev);
    f.summary = std::string(e.name()) + " by " +
                (e.is_root() ? std::string("the root user") : std::string(e.identity())) +
                " in account " + acct + ": " + reasons.front() + ".";
    add_actor(f, e);
    f.ev.add("eventName", e.name()).add("reasons", reasons);
    value req = e.request();
    if (req.exists() && !req.is_null()) f.ev.add_json("requestParameters", req.json());
    f.ev.add("sourceIPAddress", e.source_ip()).add("userAgent", e.user_agent());
    break_glass(e, f);
    emit(f);
  }

  void on_leave_organization(const event& e) {
    finding f = make_finding("leave-organization", e);
    f.summary = "Account " + account_of(e) + " left its AWS Organization (by " +
                (e.is_root() ? std::string("the root user") : std::string(e.identity())) +
                "): organization SCPs, the organization trail and delegated security services "
                "no longer cover it.";
    add_actor(f, e);
    f.ev.add("sourceIPAddress", e.source_ip()).add("userAgent", e.user_agent());
    break_glass(e, f);
    emit(f);
  }

  struct failure_state {
    int64_t start_ms = 0;
    int64_t count = 0;
  };

  int64_t activity_window_ms_;
  int64_t failure_window_ms_;
  int64_t key_reminder_ms_;
  int64_t min_password_length_;
  std::map<std::string, root_window> windows_;                  // account -> open window
  std::unordered_map<std::string, failure_state> failures_;     // account|ip -> window
  std::unordered_map<std::string, int64_t> last_failure_;       // account -> last failure
  std::unordered_map<std::string, int64_t> recent_failures_;    // account -> failures since
  std::unordered_map<std::string, int64_t> key_last_reported_;  // root key -> last finding
  std::unordered_map<std::string, std::string> last_policy_;    // account -> weak fingerprint
  std::vector<held_login> held_logins_;                         // successes held kDisorderMs
};

}  // namespace

TRAILHOUND_MODULE("root-account", "1.0.0", root_account)
