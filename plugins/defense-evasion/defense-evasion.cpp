// SPDX-License-Identifier: Apache-2.0
// Defense evasion: audit logging, threat detection and security tooling stopped, deleted or
// weakened (CloudTrail, GuardDuty, Config, flow logs, log groups, Security Hub...).
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <optional>
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

namespace dedetail {

std::string str_of(const value& v) {
  if (v.is_string()) return std::string(v.str());
  if (v.is_number()) return std::to_string(v.as_int());
  if (v.is_bool()) return v.is_true() ? "true" : "false";
  return {};
}

// Strings of a list that may be an array, a single value, or {"items": [...]}/{"content": ...}.
std::vector<std::string> strings_of(const value& v) {
  std::vector<std::string> out;
  value list = v;
  if (v.is_object() && v["items"].exists()) list = v["items"];
  for (const value& x : list.elements()) {
    std::string s = str_of(x);
    if (s.empty() && x.is_object()) {
      for (const char* k : {"content", "value", "flowLogId", "alarmName"}) {
        s = str_of(x[k]);
        if (!s.empty()) break;
      }
    }
    if (!s.empty()) out.push_back(std::move(s));
  }
  return out;
}

// "arn:aws:cloudtrail:us-east-1:111122223333:trail/name" -> "name"; plain names unchanged.
std::string trail_name(std::string_view s) {
  size_t p = s.rfind("trail/");
  if (s.starts_with("arn:") && p != std::string_view::npos) return std::string(s.substr(p + 6));
  return std::string(s);
}

// A KMS key reference reduced to what can be compared: the key id of a key ARN or id.
std::string kms_key_id(std::string_view ref) {
  size_t p = ref.rfind("key/");
  if (p != std::string_view::npos) return util::to_lower(ref.substr(p + 4));
  return util::to_lower(ref);
}

// "arn:aws:logs:us-east-1:111122223333:log-group:CloudTrail/Logs:*" -> "CloudTrail/Logs".
std::string log_group_from_arn(std::string_view arn) {
  size_t p = arn.find("log-group:");
  if (p == std::string_view::npos) return {};
  std::string_view rest = arn.substr(p + 10);
  size_t end = rest.find(':');
  return std::string(end == std::string_view::npos ? rest : rest.substr(0, end));
}

}  // namespace dedetail

using dedetail::str_of;

// What a successful call would mean; emitted as is, or as an attempt when it was denied.
struct verdict {
  const char* rule = nullptr;
  severity sev = severity::medium;
  std::string summary;
  evidence ev;
  std::string dedup;
};

class defense_evasion final : public detector {
 public:
  static const detector_info& info() {
    static const detector_info i{
        "defense-evasion",
        "1.0.0",
        "Logging and security tooling disabled or weakened",
        "CloudTrail stopped, deleted or weakened (multi-region, log validation, global events, "
        "bucket, event selectors, short log retention, trail KMS key), GuardDuty disabled, "
        "suppressed or detached, Config recording stopped, flow logs and security log groups "
        "deleted, DNS query logging, Security Hub and Access Analyzer disabled, the account "
        "leaving its organization, security alarms deleted, and denied attempts at any of these.",
        {{"cloudtrail.amazonaws.com", "StopLogging"},
         {"cloudtrail.amazonaws.com", "DeleteTrail"},
         {"cloudtrail.amazonaws.com", "UpdateTrail"},
         {"cloudtrail.amazonaws.com", "CreateTrail"},
         {"cloudtrail.amazonaws.com", "PutEventSelectors"},
         {"cloudtrail.amazonaws.com", "DeleteEventDataStore"},
         {"cloudtrail.amazonaws.com", "StopEventDataStoreIngestion"},
         {"s3.amazonaws.com", "PutBucketLifecycle"},
         {"s3.amazonaws.com", "PutBucketLifecycleConfiguration"},
         {"s3.amazonaws.com", "PutBucketPolicy"},
         {"guardduty.amazonaws.com", "DeleteDetector"},
         {"guardduty.amazonaws.com", "UpdateDetector"},
         {"guardduty.amazonaws.com", "DisassociateFromMasterAccount"},
         {"guardduty.amazonaws.com", "DisassociateFromAdministratorAccount"},
         {"guardduty.amazonaws.com", "DeleteMembers"},
         {"guardduty.amazonaws.com", "DisassociateMembers"},
         {"guardduty.amazonaws.com", "StopMonitoringMembers"},
         {"guardduty.amazonaws.com", "CreateFilter"},
         {"guardduty.amazonaws.com", "UpdateFilter"},
         {"guardduty.amazonaws.com", "CreateIPSet"},
         {"guardduty.amazonaws.com", "UpdateIPSet"},
         {"guardduty.amazonaws.com", "DeleteIPSet"},
         {"guardduty.amazonaws.com", "DeleteThreatIntelSet"},
         {"guardduty.amazonaws.com", "UpdateThreatIntelSet"},
         {"config.amazonaws.com", "StopConfigurationRecorder"},
         {"config.amazonaws.com", "DeleteConfigurationRecorder"},
         {"config.amazonaws.com", "DeleteDeliveryChannel"},
         {"ec2.amazonaws.com", "DeleteFlowLogs"},
         {"logs.amazonaws.com", "DeleteLogGroup"},
         {"logs.amazonaws.com", "DeleteLogStream"},
         {"route53resolver.amazonaws.com", "DeleteResolverQueryLogConfig"},
         {"route53resolver.amazonaws.com", "DisassociateResolverQueryLogConfig"},
         {"securityhub.amazonaws.com", "DisableSecurityHub"},
         {"securityhub.amazonaws.com", "BatchDisableStandards"},
         {"access-analyzer.amazonaws.com", "DeleteAnalyzer"},
         {"organizations.amazonaws.com", "LeaveOrganization"},
         {"organizations.amazonaws.com", "RemoveAccountFromOrganization"},
         {"kms.amazonaws.com", "ScheduleKeyDeletion"},
         {"kms.amazonaws.com", "DisableKey"},
         {"monitoring.amazonaws.com", "DeleteAlarms"}},
        {{"lifecycle_max_days", TH_PARAM_INT, "7",
          "A lifecycle Expiration of at most this many days on a CloudTrail log bucket is "
          "reported",
          true, 0, 3650},
         {"log_bucket_patterns", TH_PARAM_STRING_LIST,
          "[\"*cloudtrail*\", \"*trail-logs*\", \"*audit-log*\"]",
          "Bucket names (case-insensitive globs) treated as CloudTrail log buckets even when no "
          "CreateTrail/UpdateTrail/bucket policy naming them was seen"},
         {"security_log_group_patterns", TH_PARAM_STRING_LIST,
          "[\"*cloudtrail*\", \"*flowlog*\", \"*flow-log*\", \"*flow_log*\", \"*vpc*\", "
          "\"*guardduty*\", \"*security*\", \"*audit*\"]",
          "CloudWatch log group names (case-insensitive globs) that hold security telemetry"},
         {"security_alarm_patterns", TH_PARAM_STRING_LIST,
          "[\"*cloudtrail*\", \"*guardduty*\", \"*securityhub*\", \"*security-hub*\", "
          "\"*unauthorized*\", \"*root-account*\", \"*root-login*\", \"*root-usage*\", "
          "\"*audit*\", \"*security*\", \"*console-signin*\", \"*console-login*\"]",
          "CloudWatch alarm names (case-insensitive globs) that watch for security events"},
         {"window", TH_PARAM_DURATION, "\"1h\"",
          "A trail set up (CreateTrail) this recently counts as new: data-only selectors on it "
          "are its purpose, and its deletion by its creator is a teardown; also the period in "
          "which denied attempts by one principal at one action are reported once"}},
        {{"cloudtrail-logging-stopped", severity::high, "CloudTrail logging stopped", "T1562.008",
          "StopLogging on a trail, or StopEventDataStoreIngestion on a CloudTrail "
          "Lake event data store."},
         {"cloudtrail-trail-deleted", severity::high, "CloudTrail trail deleted", "T1562.008",
          "DeleteTrail or DeleteEventDataStore. Low when the same principal created the trail "
          "within `window` (test setup and teardown)."},
         {"cloudtrail-trail-weakened", severity::medium, "CloudTrail trail weakened", "T1562.008",
          "UpdateTrail turning off multi-region (high), log file validation or global service "
          "events (medium), removing CloudWatch Logs delivery (medium) or encryption (low), or "
          "moving delivery to another bucket (medium; low when the previous bucket is unknown). "
          "A setting already off in a seen CreateTrail/UpdateTrail is not reported; one step "
          "lower when the previous value is unknown."},
         {"cloudtrail-event-selectors-reduced", severity::high,
          "CloudTrail event selectors drop management events", "T1562.008",
          "PutEventSelectors that log no management events, only read-only ones, or only an "
          "allow-list of sources (medium). A data-events-only selector is high on a trail seen "
          "logging management events, low on an unknown trail and not reported on a trail "
          "created within `window`."},
         {"cloudtrail-log-bucket-short-expiration", severity::high,
          "Short lifecycle expiration on a CloudTrail log bucket", "T1562.008,T1070",
          "PutBucketLifecycle with an enabled Expiration of at most lifecycle_max_days on a "
          "bucket a trail delivers to (high) or whose name matches log_bucket_patterns (medium); "
          "low when the rule's prefix does not cover the log prefix."},
         {"cloudtrail-kms-key-disabled", severity::high,
          "KMS key of a CloudTrail trail disabled or scheduled for deletion", "T1562.008",
          "DisableKey or ScheduleKeyDeletion of the key a seen trail encrypts its logs with."},
         {"guardduty-detector-deleted", severity::high, "GuardDuty detector deleted", "T1562.001",
          "DeleteDetector: GuardDuty is disabled in the region and its findings "
          "are lost."},
         {"guardduty-detector-suspended", severity::high, "GuardDuty detector suspended",
          "T1562.001", "UpdateDetector with enable=false."},
         {"guardduty-protection-disabled", severity::low, "GuardDuty protection plan disabled",
          "T1562.001",
          "UpdateDetector disabling a feature or data source (S3 data events, EKS audit logs, "
          "runtime monitoring, malware protection...): often a cost decision."},
         {"guardduty-disassociated-from-administrator", severity::high,
          "GuardDuty member left its administrator account", "T1562.001",
          "DisassociateFromAdministratorAccount / DisassociateFromMasterAccount: the central "
          "security team stops seeing this account's findings."},
         {"guardduty-members-removed", severity::medium,
          "GuardDuty member accounts removed or no longer monitored", "T1562.001",
          "DeleteMembers, DisassociateMembers or StopMonitoringMembers by the administrator."},
         {"guardduty-findings-auto-archived", severity::medium,
          "GuardDuty suppression rule (auto-archive filter) created", "T1562.001",
          "CreateFilter/UpdateFilter with action ARCHIVE; high when the filter has no criteria."},
         {"guardduty-ip-list-changed", severity::medium,
          "GuardDuty trusted IP list or threat list changed", "T1562.001",
          "CreateIPSet/UpdateIPSet (trusted IPs produce no findings), DeleteThreatIntelSet or "
          "UpdateThreatIntelSet deactivating it (medium); DeleteIPSet (low)."},
         {"config-recording-disabled", severity::medium, "AWS Config recording disabled",
          "T1562.001",
          "StopConfigurationRecorder, DeleteConfigurationRecorder or DeleteDeliveryChannel."},
         {"vpc-flow-logs-deleted", severity::medium, "VPC flow logs deleted", "T1562.008",
          "DeleteFlowLogs."},
         {"log-group-deleted", severity::medium, "Security log group deleted", "T1562.008,T1070",
          "DeleteLogGroup: high for a trail's CloudWatch Logs group, medium when the name "
          "matches security_log_group_patterns, low otherwise; /aws/lambda/ and /aws/codebuild/ "
          "groups are not reported. DeleteLogStream in a security log group: low."},
         {"dns-query-logging-disabled", severity::medium, "Route 53 Resolver query logging removed",
          "T1562.008", "DeleteResolverQueryLogConfig or DisassociateResolverQueryLogConfig."},
         {"security-hub-disabled", severity::high, "Security Hub disabled or standards removed",
          "T1562.001", "DisableSecurityHub (high) or BatchDisableStandards (medium)."},
         {"access-analyzer-deleted", severity::medium, "IAM Access Analyzer deleted", "T1562.001",
          "DeleteAnalyzer."},
         {"left-organization", severity::high, "Account left or was removed from its organization",
          "T1666",
          "LeaveOrganization (high): organization SCPs, trails and delegated security services "
          "no longer apply; RemoveAccountFromOrganization (medium)."},
         {"security-alarms-deleted", severity::medium, "Security CloudWatch alarms deleted",
          "T1562.001", "DeleteAlarms of alarms matching security_alarm_patterns."},
         {"defense-evasion-attempt-denied", severity::medium,
          "Denied attempt to disable logging or security tooling", "T1562.008,T1562.001",
          "Any of the other rules' actions refused with an access-denied error: a strong sign "
          "of stolen credentials probing. Once per principal and action per `window`."}},
        0,
        60000};
    return i;
  }

  defense_evasion(const context& ctx, const config& cfg)
      : detector(ctx),
        lifecycle_max_days_(cfg.get_int("lifecycle_max_days")),
        bucket_patterns_(cfg.get_list("log_bucket_patterns")),
        log_group_patterns_(cfg.get_list("security_log_group_patterns")),
        alarm_patterns_(cfg.get_list("security_alarm_patterns")),
        window_ms_(cfg.get_duration_ms("window")) {
    if (window_ms_ <= 0) window_ms_ = 3600 * 1000;
  }

  void on_event(const event& e) override {
    if (e.aws_service()) return;
    std::string_view name = e.name();
    bool denied = e.failed() && util::is_access_denied_like(e.error_code());
    if (e.failed() && !denied) return;  // nothing changed, and not a permission probe

    std::optional<verdict> v = evaluate(e, name);
    if (e.succeeded()) learn(e, name);
    if (!v) return;
    if (denied)
      emit_denied(e, *v);
    else
      emit_verdict(e, *v);
  }

  void on_tick(int64_t now_ms) override {
    for (auto it = denied_seen_.begin(); it != denied_seen_.end();)
      it = it->second < now_ms - window_ms_ ? denied_seen_.erase(it) : std::next(it);
    pending_keys_.erase(
        std::remove_if(pending_keys_.begin(), pending_keys_.end(),
                       [&](const pending_key& k) { return k.time_ms < now_ms - kReorderMs; }),
        pending_keys_.end());
  }

 private:
  // ---------------------------------------------------------------------------------------
  // Learned state: trails and what they deliver to
  // ---------------------------------------------------------------------------------------
  struct tristate {
    bool known = false;
    bool value = false;
  };
  struct trail_state {
    std::string bucket, key_prefix, kms_key, log_group;
    bool bucket_known = false;
    tristate multi_region, validation, global, management;
    int64_t created_ms = -1;
    std::string created_by;
  };

  std::string trail_key(const event& e, std::string_view ref) const {
    std::string acct(util::arn_account(ref));
    if (acct.empty()) acct = util::account_of(e);
    return acct + "/" + dedetail::trail_name(ref);
  }

  trail_state* find_trail(const event& e, std::string_view ref) {
    if (ref.empty()) return nullptr;
    auto it = trails_.find(trail_key(e, ref));
    return it == trails_.end() ? nullptr : &it->second;
  }

  trail_state& get_trail(const event& e, std::string_view ref) {
    if (trails_.size() >= kMaxTrails) trails_.clear();
    return trails_[trail_key(e, ref)];
  }

  static void set_tri(tristate& t, const value& v) {
    if (v.is_bool() || v.is_string()) {
      t.known = true;
      t.value = v.as_bool(t.value);
    }
  }

  // Reads trail settings from CreateTrail/UpdateTrail (response has the resulting state).
  void absorb_trail_settings(const event& e, trail_state& t) {
    for (const value& src : {e.request(), e.response()}) {
      if (!src.is_object()) continue;
      std::string b = str_of(src["s3BucketName"]);
      if (!b.empty()) {
        t.bucket = b;
        t.bucket_known = true;
        if (log_buckets_.size() >= kMaxTrails) log_buckets_.clear();
        log_buckets_[util::to_lower(b)] = dedetail::trail_name(str_of(src["name"]));
      }
      if (src["s3KeyPrefix"].exists()) t.key_prefix = str_of(src["s3KeyPrefix"]);
      set_tri(t.multi_region, src["isMultiRegionTrail"]);
      set_tri(t.global, src["includeGlobalServiceEvents"]);
      set_tri(t.validation, src["enableLogFileValidation"]);
      set_tri(t.validation, src["logFileValidationEnabled"]);
      std::string k = str_of(src["kmsKeyId"]);
      if (!k.empty()) {
        t.kms_key = k;
        if (trail_keys_.size() >= kMaxTrails) trail_keys_.clear();
        std::string kid = dedetail::kms_key_id(k);
        trail_keys_[kid] = dedetail::trail_name(str_of(src["name"]));
        if (!pending_keys_.empty()) resolve_pending_keys(kid, trail_keys_[kid]);
      } else if (src["kmsKeyId"].is_string()) {
        t.kms_key.clear();
      }
      std::string lg = dedetail::log_group_from_arn(str_of(src["cloudWatchLogsLogGroupArn"]));
      if (!lg.empty()) {
        t.log_group = lg;
        if (trail_log_groups_.size() >= kMaxTrails) trail_log_groups_.clear();
        trail_log_groups_[lg] = dedetail::trail_name(str_of(src["name"]));
      }
    }
  }

  void learn(const event& e, std::string_view name) {
    if (name == "CreateTrail") {
      std::string ref = str_of(e.response()["trailARN"]);
      if (ref.empty()) ref = str_of(e.request()["name"]);
      if (ref.empty()) return;
      trail_state& t = get_trail(e, ref);
      t = trail_state{};
      t.created_ms = e.time_ms();
      t.created_by = std::string(e.identity());
      t.management = {true, true};  // a new trail logs all management events
      absorb_trail_settings(e, t);
    } else if (name == "UpdateTrail") {
      std::string ref = str_of(e.request()["name"]);
      if (ref.empty()) return;
      absorb_trail_settings(e, get_trail(e, ref));
    } else if (name == "PutBucketPolicy") {
      // A bucket whose policy lets CloudTrail write to it receives CloudTrail logs.
      std::string bucket = str_of(e.request()["bucketName"]);
      if (bucket.empty()) return;
      value pol = e.request()["bucketPolicy"];
      std::string text = pol.is_string() ? std::string(pol.str()) : pol.json();
      if (text.find("cloudtrail.amazonaws.com") != std::string::npos) {
        if (log_buckets_.size() >= kMaxTrails) log_buckets_.clear();
        log_buckets_.emplace(util::to_lower(bucket), std::string());
      }
    }
    // PutEventSelectors updates the management flag inside its evaluation.
  }

  // ---------------------------------------------------------------------------------------
  // Evaluation: what the call does, whether or not it succeeded
  // ---------------------------------------------------------------------------------------
  std::optional<verdict> evaluate(const event& e, std::string_view name) {
    value req = e.request();
    std::string_view src = e.source();
    if (src == "cloudtrail.amazonaws.com") {
      if (name == "StopLogging" || name == "StopEventDataStoreIngestion") return stop_logging(e);
      if (name == "DeleteTrail" || name == "DeleteEventDataStore") return delete_trail(e);
      if (name == "UpdateTrail") return update_trail(e);
      if (name == "PutEventSelectors") return put_event_selectors(e);
      return std::nullopt;
    }
    if (src == "s3.amazonaws.com") {
      if (name == "PutBucketLifecycle" || name == "PutBucketLifecycleConfiguration")
        return bucket_lifecycle(e);
      return std::nullopt;
    }
    if (src == "guardduty.amazonaws.com") return guardduty(e, name);
    if (src == "config.amazonaws.com") {
      verdict v;
      v.rule = "config-recording-disabled";
      v.sev = severity::medium;
      std::string target = str_of(req["configurationRecorderName"]);
      const char* field = "configurationRecorderName";
      if (name == "DeleteDeliveryChannel") {
        target = str_of(req["deliveryChannelName"]);
        field = "deliveryChannelName";
      }
      v.summary = std::string(name) + " (" + (target.empty() ? "default" : target) +
                  "): AWS Config stops recording resource changes";
      v.ev.add(field, target);
      v.dedup = target;
      return v;
    }
    if (src == "ec2.amazonaws.com" && name == "DeleteFlowLogs") {
      std::vector<std::string> ids;
      for (const char* k : {"flowLogIds", "FlowLogIds", "flowLogId", "FlowLogId"})
        for (auto& s : dedetail::strings_of(req[k])) ids.push_back(s);
      value inner = req["DeleteFlowLogsRequest"];
      for (const char* k : {"FlowLogId", "FlowLogIds", "flowLogIds"})
        for (auto& s : dedetail::strings_of(inner[k])) ids.push_back(s);
      std::sort(ids.begin(), ids.end());
      ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
      verdict v;
      v.rule = "vpc-flow-logs-deleted";
      v.sev = severity::medium;
      v.summary = "VPC flow logs deleted" + (ids.empty() ? "" : ": " + util::join(ids));
      v.ev.add("flowLogIds", ids);
      v.dedup = util::join(ids, ",");
      return v;
    }
    if (src == "logs.amazonaws.com") return log_group(e, name);
    if (src == "route53resolver.amazonaws.com") {
      verdict v;
      v.rule = "dns-query-logging-disabled";
      v.sev = severity::medium;
      std::string id = str_of(req["resolverQueryLogConfigId"]);
      std::string res = str_of(req["resourceId"]);
      v.summary = name == "DeleteResolverQueryLogConfig"
                      ? "Route 53 Resolver query logging configuration " + id + " deleted"
                      : "Route 53 Resolver query logging " + id + " detached from " + res;
      v.ev.add("resolverQueryLogConfigId", id);
      if (!res.empty()) v.ev.add("resourceId", res);
      v.dedup = id + "#" + res;
      return v;
    }
    if (src == "securityhub.amazonaws.com") {
      verdict v;
      v.rule = "security-hub-disabled";
      if (name == "DisableSecurityHub") {
        v.sev = severity::high;
        v.summary = "Security Hub disabled in " + std::string(e.region());
      } else {
        std::vector<std::string> arns = dedetail::strings_of(req["standardsSubscriptionArns"]);
        v.sev = severity::medium;
        v.summary = "Security Hub standards disabled: " + util::join(arns);
        v.ev.add("standardsSubscriptionArns", arns);
        v.dedup = util::join(arns, ",");
      }
      return v;
    }
    if (src == "access-analyzer.amazonaws.com") {
      verdict v;
      v.rule = "access-analyzer-deleted";
      v.sev = severity::medium;
      std::string an = str_of(req["analyzerName"]);
      v.summary = "IAM Access Analyzer " + an + " deleted";
      v.ev.add("analyzerName", an);
      v.dedup = an;
      return v;
    }
    if (src == "organizations.amazonaws.com") {
      verdict v;
      v.rule = "left-organization";
      if (name == "LeaveOrganization") {
        v.sev = severity::high;
        v.summary = "Account " + std::string(e.recipient_account()) + " left its organization";
      } else {
        std::string acct = str_of(req["accountId"]);
        v.sev = severity::medium;
        v.summary = "Account " + acct + " removed from the organization";
        v.ev.add("accountId", acct);
        v.dedup = acct;
      }
      return v;
    }
    if (src == "kms.amazonaws.com") return kms_key(e, name);
    if (src == "monitoring.amazonaws.com") return delete_alarms(e);
    return std::nullopt;
  }

  std::optional<verdict> stop_logging(const event& e) {
    value req = e.request();
    verdict v;
    v.rule = "cloudtrail-logging-stopped";
    v.sev = severity::high;
    if (e.name() == "StopEventDataStoreIngestion") {
      std::string eds = str_of(req["eventDataStore"]);
      v.summary = "CloudTrail Lake ingestion stopped for " + eds;
      v.ev.add("eventDataStore", eds);
      v.dedup = eds;
      return v;
    }
    std::string ref = str_of(req["name"]);
    v.summary = "CloudTrail logging stopped for trail " + dedetail::trail_name(ref);
    v.ev.add("name", ref);
    if (const trail_state* t = find_trail(e, ref)) {
      if (t->bucket_known) v.ev.add("s3BucketName", t->bucket);
      if (t->multi_region.known) v.ev.add_bool("isMultiRegionTrail", t->multi_region.value);
    }
    v.dedup = dedetail::trail_name(ref);
    return v;
  }

  std::optional<verdict> delete_trail(const event& e) {
    value req = e.request();
    verdict v;
    v.rule = "cloudtrail-trail-deleted";
    v.sev = severity::high;
    if (e.name() == "DeleteEventDataStore") {
      std::string eds = str_of(req["eventDataStore"]);
      v.summary = "CloudTrail Lake event data store " + eds + " deleted";
      v.ev.add("eventDataStore", eds);
      v.dedup = eds;
      return v;
    }
    std::string ref = str_of(req["name"]);
    v.summary = "CloudTrail trail " + dedetail::trail_name(ref) + " deleted";
    v.ev.add("name", ref);
    if (const trail_state* t = find_trail(e, ref)) {
      if (t->bucket_known) v.ev.add("s3BucketName", t->bucket);
      if (t->created_ms >= 0 && e.time_ms() - t->created_ms <= window_ms_ &&
          t->created_by == e.identity()) {
        v.sev = severity::low;
        v.summary += " by the principal that created it " +
                     std::to_string((e.time_ms() - t->created_ms) / 1000) + "s earlier";
        v.ev.add("secondsAfterCreation", (e.time_ms() - t->created_ms) / 1000);
      }
    }
    v.dedup = dedetail::trail_name(ref);
    return v;
  }

  std::optional<verdict> update_trail(const event& e) {
    value req = e.request();
    std::string ref = str_of(req["name"]);
    const trail_state* t = find_trail(e, ref);
    std::vector<std::string> changes;
    severity top = severity::info;
    bool any = false;
    evidence ev;
    ev.add("name", ref);
    auto consider = [&](const char* what, severity s) {
      changes.emplace_back(what);
      if (!any || static_cast<int>(s) > static_cast<int>(top)) top = s;
      any = true;
    };
    // A flag turned off: reported unless it was already off; one step lower when unknown.
    auto flag_off = [&](const char* field, const tristate* prior, severity s, const char* what) {
      value v = req[field];
      if (!(v.is_bool() || v.is_string()) || v.as_bool(true)) return;
      if (prior && prior->known && !prior->value) return;
      bool unknown = !(prior && prior->known);
      ev.add_bool(field, false);
      consider(what, unknown ? lower(s) : s);
    };
    flag_off("isMultiRegionTrail", t ? &t->multi_region : nullptr, severity::high,
             "multi-region logging turned off");
    flag_off("enableLogFileValidation", t ? &t->validation : nullptr, severity::medium,
             "log file validation turned off");
    flag_off("includeGlobalServiceEvents", t ? &t->global : nullptr, severity::medium,
             "global service events (IAM, STS) turned off");
    std::string bucket = str_of(req["s3BucketName"]);
    if (!bucket.empty()) {
      if (t && t->bucket_known) {
        if (util::to_lower(t->bucket) != util::to_lower(bucket)) {
          ev.add("s3BucketName", bucket);
          ev.add("previousS3BucketName", t->bucket);
          consider("log delivery moved to another bucket", severity::medium);
        }
      } else {
        ev.add("s3BucketName", bucket);
        ev.add("previousS3BucketName", "unknown");
        consider("log delivery bucket set (previous bucket unknown)", severity::low);
      }
    }
    if (req["cloudWatchLogsLogGroupArn"].is_string() &&
        req["cloudWatchLogsLogGroupArn"].str().empty()) {
      ev.add("cloudWatchLogsLogGroupArn", "");
      consider("CloudWatch Logs delivery removed", severity::medium);
    }
    if (req["kmsKeyId"].is_string() && req["kmsKeyId"].str().empty() &&
        !(t && t->kms_key.empty() && t->created_ms >= 0)) {
      ev.add("kmsKeyId", "");
      consider("log encryption removed", severity::low);
    }
    if (!any) return std::nullopt;
    verdict v;
    v.rule = "cloudtrail-trail-weakened";
    v.sev = top;
    v.summary = "Trail " + dedetail::trail_name(ref) + " updated: " + util::join(changes, "; ");
    v.ev = ev;
    v.dedup = dedetail::trail_name(ref);
    return v;
  }

  std::optional<verdict> put_event_selectors(const event& e) {
    value req = e.request();
    std::string ref = str_of(req["trailName"]);
    trail_state* t = find_trail(e, ref);
    bool mgmt = false, mgmt_write = false, mgmt_read = false, data = false;
    bool allow_list = false, all_allow_listed = true;
    std::vector<std::string> sources, excluded;
    bool any_selector = false;

    value basic = req["eventSelectors"];
    value advanced = req["advancedEventSelectors"];
    if (basic.exists() && !basic.is_null()) {
      for (const value& s : basic.elements()) {
        any_selector = true;
        if (!s["dataResources"].elements().empty()) data = true;
        if (!s["includeManagementEvents"].as_bool(true)) continue;
        mgmt = true;
        all_allow_listed = false;
        std::string rw = util::to_lower(str_of(s["readWriteType"]));
        if (rw.empty() || rw == "all")
          mgmt_write = mgmt_read = true;
        else if (rw == "writeonly")
          mgmt_write = true;
        else if (rw == "readonly")
          mgmt_read = true;
      }
    }
    if (advanced.exists() && !advanced.is_null()) {
      for (const value& s : advanced.elements()) {
        any_selector = true;
        bool is_mgmt = false, is_data = false, ro_true = false, ro_false = false;
        std::vector<std::string> eq_sources, ne_sources;
        for (const value& fs : s["fieldSelectors"].elements()) {
          std::string field = str_of(fs["field"]);
          std::vector<std::string> eq = dedetail::strings_of(fs["equals"]);
          if (field == "eventCategory") {
            for (auto& x : eq) {
              if (x == "Management")
                is_mgmt = true;
              else
                is_data = true;
            }
          } else if (field == "readOnly") {
            for (auto& x : eq) (util::to_lower(x) == "true" ? ro_true : ro_false) = true;
          } else if (field == "eventSource") {
            eq_sources = eq;
            ne_sources = dedetail::strings_of(fs["notEquals"]);
          }
        }
        if (is_data) data = true;
        if (!is_mgmt) continue;
        mgmt = true;
        if (ro_true && !ro_false)
          mgmt_read = true;
        else if (ro_false && !ro_true)
          mgmt_write = true;
        else
          mgmt_write = mgmt_read = true;
        if (!eq_sources.empty()) {
          allow_list = true;
          for (auto& x : eq_sources) sources.push_back(x);
        } else {
          all_allow_listed = false;
        }
        for (auto& x : ne_sources)
          if (x != "kms.amazonaws.com" && x != "rdsdata.amazonaws.com") excluded.push_back(x);
      }
    }
    if (!any_selector && !basic.exists() && !advanced.exists()) return std::nullopt;

    bool new_trail = t && t->created_ms >= 0 && e.time_ms() - t->created_ms <= window_ms_;
    bool known_mgmt = t && t->management.known && t->management.value && !new_trail;
    verdict v;
    v.rule = "cloudtrail-event-selectors-reduced";
    v.ev.add("trailName", ref);
    if (!mgmt) {
      if (data) {
        if (new_trail) return record_selectors(e, t, mgmt && mgmt_write, std::nullopt);
        v.sev = known_mgmt ? severity::high : severity::low;
        v.summary = "Trail " + dedetail::trail_name(ref) +
                    " now logs data events only (no management events)" +
                    (known_mgmt ? "; it logged management events before"
                                : "; it may be a dedicated data-events trail");
      } else {
        v.sev = severity::high;
        v.summary = "Trail " + dedetail::trail_name(ref) +
                    " event selectors select no management and no data events";
      }
      v.ev.add_bool("includesManagementEvents", false);
      v.ev.add_bool("includesDataEvents", data);
    } else if (!mgmt_write) {
      v.sev = severity::high;
      v.summary = "Trail " + dedetail::trail_name(ref) +
                  " logs read-only management events only: write calls are no longer logged";
      v.ev.add("readWriteType", "ReadOnly");
    } else if (allow_list && all_allow_listed) {
      std::sort(sources.begin(), sources.end());
      v.sev = severity::medium;
      v.summary = "Trail " + dedetail::trail_name(ref) + " logs management events only from " +
                  util::join(sources);
      v.ev.add("eventSourceAllowList", sources);
    } else if (!excluded.empty()) {
      v.sev = severity::medium;
      v.summary = "Trail " + dedetail::trail_name(ref) + " excludes management events from " +
                  util::join(excluded);
      v.ev.add("excludedEventSources", excluded);
    } else {
      return record_selectors(e, t, true, std::nullopt);
    }
    if (basic.exists() && !basic.is_null()) v.ev.add_json("eventSelectors", basic.json());
    if (advanced.exists() && !advanced.is_null())
      v.ev.add_json("advancedEventSelectors", advanced.json());
    v.dedup = dedetail::trail_name(ref);
    return record_selectors(e, t, mgmt && mgmt_write, std::move(v));
  }

  // Remembers whether the trail now logs management write events (successful calls only).
  std::optional<verdict> record_selectors(const event& e, trail_state* t, bool logs_management,
                                          std::optional<verdict> v) {
    if (e.succeeded()) {
      std::string ref = str_of(e.request()["trailName"]);
      if (!ref.empty()) {
        trail_state& ts = t ? *t : get_trail(e, ref);
        ts.management = {true, logs_management};
      }
    }
    return v;
  }

  std::optional<verdict> bucket_lifecycle(const event& e) {
    value req = e.request();
    std::string bucket = str_of(req["bucketName"]);
    if (bucket.empty()) return std::nullopt;
    std::string lb = util::to_lower(bucket);
    auto known = log_buckets_.find(lb);
    const std::string* pattern = nullptr;
    if (known == log_buckets_.end()) {
      pattern = util::glob_first(bucket_patterns_, bucket, util::match_case::insensitive);
      if (!pattern) return std::nullopt;
    }
    std::string trail_prefix;
    if (known != log_buckets_.end())
      for (auto& [k, t] : trails_)
        if (t.bucket_known && util::to_lower(t.bucket) == lb) trail_prefix = t.key_prefix;

    value cfg = req["LifecycleConfiguration"];
    if (cfg.missing()) cfg = req["lifecycleConfiguration"];
    std::optional<int64_t> best_days;
    std::string best_id, best_prefix;
    bool best_covers = false;
    for (const value& r : cfg["Rule"].elements()) {
      if (util::to_lower(str_of(r["Status"])) == "disabled") continue;
      int64_t days = r["Expiration"]["Days"].as_int(-1);
      if (days < 0 || days > lifecycle_max_days_) continue;
      std::string prefix = str_of(r["Prefix"]);
      if (prefix.empty()) prefix = str_of(r["Filter"]["Prefix"]);
      if (prefix.empty()) prefix = str_of(r["Filter"]["And"]["Prefix"]);
      bool covers = prefix.empty() || std::string_view("AWSLogs/").starts_with(prefix) ||
                    prefix.starts_with("AWSLogs") ||
                    (!trail_prefix.empty() &&
                     (trail_prefix.starts_with(prefix) || prefix.starts_with(trail_prefix)));
      bool better =
          !best_days || (covers && !best_covers) || (covers == best_covers && days < *best_days);
      if (better) {
        best_days = days;
        best_id = str_of(r["ID"]);
        best_prefix = prefix;
        best_covers = covers;
      }
    }
    if (!best_days) return std::nullopt;
    verdict v;
    v.rule = "cloudtrail-log-bucket-short-expiration";
    v.sev = known != log_buckets_.end() ? severity::high : severity::medium;
    if (!best_covers) v.sev = severity::low;
    v.summary = "Lifecycle rule on CloudTrail log bucket " + bucket + " deletes objects after " +
                std::to_string(*best_days) + " day" + (*best_days == 1 ? "" : "s");
    v.ev.add("bucketName", bucket);
    if (!best_id.empty()) v.ev.add("ruleId", best_id);
    v.ev.add("expirationDays", *best_days);
    v.ev.add("prefix", best_prefix);
    if (known != log_buckets_.end()) {
      v.ev.add("knownLogBucketOfTrail",
               known->second.empty() ? "(bucket policy allows CloudTrail)" : known->second);
    } else {
      v.ev.add("matchedPattern", *pattern);
    }
    v.dedup = bucket;
    return v;
  }

  std::optional<verdict> guardduty(const event& e, std::string_view name) {
    value req = e.request();
    std::string det = str_of(req["detectorId"]);
    verdict v;
    v.ev.add("detectorId", det);
    v.dedup = det;
    if (name == "DeleteDetector") {
      v.rule = "guardduty-detector-deleted";
      v.sev = severity::high;
      v.summary = "GuardDuty detector " + det + " deleted in " + std::string(e.region());
      return v;
    }
    if (name == "UpdateDetector") {
      value en = req["enable"];
      if ((en.is_bool() || en.is_string()) && !en.as_bool(true)) {
        v.rule = "guardduty-detector-suspended";
        v.sev = severity::high;
        v.summary = "GuardDuty detector " + det + " suspended in " + std::string(e.region());
        v.ev.add_bool("enable", false);
        return v;
      }
      std::vector<std::string> off;
      for (const value& f : req["features"].elements())
        if (util::to_lower(str_of(f["status"])) == "disabled") off.push_back(str_of(f["name"]));
      value ds = req["dataSources"];
      auto ds_off = [&](const value& node, const char* label) {
        value en2 = node["enable"];
        if ((en2.is_bool() || en2.is_string()) && !en2.as_bool(true)) off.emplace_back(label);
      };
      ds_off(ds["s3Logs"], "S3_DATA_EVENTS");
      ds_off(ds["kubernetes"]["auditLogs"], "EKS_AUDIT_LOGS");
      value ebs = ds["malwareProtection"]["scanEc2InstanceWithFindings"]["ebsVolumes"];
      if ((ebs.is_bool() || ebs.is_string()) && !ebs.as_bool(true))
        off.emplace_back("EBS_MALWARE_PROTECTION");
      if (off.empty()) return std::nullopt;
      v.rule = "guardduty-protection-disabled";
      v.sev = severity::low;
      v.summary = "GuardDuty protection disabled on detector " + det + ": " + util::join(off);
      v.ev.add("disabledFeatures", off);
      return v;
    }
    if (name == "DisassociateFromMasterAccount" || name == "DisassociateFromAdministratorAccount") {
      v.rule = "guardduty-disassociated-from-administrator";
      v.sev = severity::high;
      v.summary = "GuardDuty in account " + std::string(e.recipient_account()) +
                  " disassociated from its administrator account";
      return v;
    }
    if (name == "DeleteMembers" || name == "DisassociateMembers" ||
        name == "StopMonitoringMembers") {
      std::vector<std::string> accts = dedetail::strings_of(req["accountIds"]);
      v.rule = "guardduty-members-removed";
      v.sev = severity::medium;
      v.summary = std::string(name) + ": GuardDuty no longer covers " +
                  (accts.empty() ? std::string("member accounts") : util::join(accts));
      v.ev.add("accountIds", accts);
      v.dedup = det + "#" + util::join(accts, ",");
      return v;
    }
    if (name == "CreateFilter" || name == "UpdateFilter") {
      if (util::to_lower(str_of(req["action"])) != "archive") return std::nullopt;
      std::string fname = str_of(req["name"]);
      if (fname.empty()) fname = str_of(req["filterName"]);
      value crit = req["findingCriteria"];
      bool empty_criteria = crit.missing() || crit.is_null() || crit["criterion"].size() == 0;
      v.rule = "guardduty-findings-auto-archived";
      v.sev = empty_criteria ? severity::high : severity::medium;
      v.summary = "GuardDuty filter " + fname + " auto-archives " +
                  (empty_criteria ? std::string("all findings") : std::string("matching findings"));
      v.ev.add("name", fname);
      v.ev.add("action", "ARCHIVE");
      v.ev.add_json("findingCriteria", crit.json());
      v.dedup = det + "#" + fname;
      return v;
    }
    if (name == "CreateIPSet" || name == "UpdateIPSet" || name == "DeleteIPSet") {
      value act = req["activate"];
      if (name != "DeleteIPSet" && (act.is_bool() || act.is_string()) && !act.as_bool(true))
        return std::nullopt;  // an inactive list suppresses nothing
      std::string id = str_of(req["ipSetId"]);
      if (id.empty()) id = str_of(e.response()["ipSetId"]);
      std::string nm = str_of(req["name"]);
      std::string loc = str_of(req["location"]);
      v.rule = "guardduty-ip-list-changed";
      v.sev = name == "DeleteIPSet" ? severity::low : severity::medium;
      v.summary = name == "DeleteIPSet"
                      ? "GuardDuty trusted IP list " + id + " deleted"
                      : "GuardDuty trusted IP list " + (nm.empty() ? id : nm) +
                            (name == "CreateIPSet" ? " created" : " updated") +
                            ": findings for its addresses are no longer generated";
      if (!nm.empty()) v.ev.add("name", nm);
      if (!id.empty()) v.ev.add("ipSetId", id);
      if (!loc.empty()) v.ev.add("location", loc);
      v.dedup = det + "#" + (id.empty() ? nm : id);
      return v;
    }
    if (name == "DeleteThreatIntelSet" || name == "UpdateThreatIntelSet") {
      value act = req["activate"];
      if (name == "UpdateThreatIntelSet" &&
          !((act.is_bool() || act.is_string()) && !act.as_bool(true)))
        return std::nullopt;
      std::string id = str_of(req["threatIntelSetId"]);
      v.rule = "guardduty-ip-list-changed";
      v.sev = severity::medium;
      v.summary = "GuardDuty threat list " + id +
                  (name == "DeleteThreatIntelSet" ? " deleted" : " deactivated");
      v.ev.add("threatIntelSetId", id);
      v.dedup = det + "#" + id;
      return v;
    }
    return std::nullopt;
  }

  std::optional<verdict> log_group(const event& e, std::string_view name) {
    value req = e.request();
    std::string group = str_of(req["logGroupName"]);
    if (group.empty()) return std::nullopt;
    auto trail_it = trail_log_groups_.find(group);
    const std::string* pattern =
        util::glob_first(log_group_patterns_, group, util::match_case::insensitive);
    bool noise = group.starts_with("/aws/lambda/") || group.starts_with("/aws/codebuild/");
    verdict v;
    v.rule = "log-group-deleted";
    v.ev.add("logGroupName", group);
    v.dedup = group;
    if (name == "DeleteLogStream") {
      if (trail_it == trail_log_groups_.end() && (!pattern || noise)) return std::nullopt;
      std::string stream = str_of(req["logStreamName"]);
      v.sev = severity::low;
      v.summary = "Log stream " + stream + " deleted from security log group " + group;
      v.ev.add("logStreamName", stream);
      v.dedup = group + "#" + stream;
      return v;
    }
    if (trail_it != trail_log_groups_.end()) {
      v.sev = severity::high;
      v.summary = "CloudWatch Logs group " + group + " of trail " + trail_it->second + " deleted";
      v.ev.add("trail", trail_it->second);
    } else if (noise) {
      return std::nullopt;  // function/build log cleanup by IaC
    } else if (pattern) {
      v.sev = severity::medium;
      v.summary = "Security log group " + group + " deleted";
      v.ev.add("matchedPattern", *pattern);
    } else {
      v.sev = severity::low;
      v.summary = "Log group " + group + " deleted";
    }
    return v;
  }

  std::optional<verdict> kms_key(const event& e, std::string_view name) {
    std::string ref = str_of(e.request()["keyId"]);
    if (ref.empty()) return std::nullopt;
    value days = e.request()["pendingWindowInDays"];
    int64_t window = days.exists() ? days.as_int() : -1;
    auto it = trail_keys_.find(dedetail::kms_key_id(ref));
    if (it == trail_keys_.end()) {
      // The trail settings naming this key may still be read (unordered records, late files).
      if (e.succeeded() && pending_keys_.size() < kMaxTrails)
        pending_keys_.push_back(pending_key{
            e.time_ms(), dedetail::kms_key_id(ref), ref, std::string(name), window,
            make_finding("cloudtrail-kms-key-disabled", e), util::break_glass_caller(ctx(), e),
            std::string(e.identity()), std::string(e.principal_arn())});
      return std::nullopt;
    }
    return kms_verdict(ref, name, it->second, window);
  }
  static verdict kms_verdict(const std::string& ref, std::string_view name,
                             const std::string& trail, int64_t pending_window_days) {
    verdict v;
    v.rule = "cloudtrail-kms-key-disabled";
    v.sev = severity::high;
    v.summary = "KMS key " + ref + " that encrypts trail " + trail + " logs " +
                (name == "DisableKey" ? "disabled" : "scheduled for deletion");
    v.ev.add("keyId", ref);
    v.ev.add("trail", trail);
    if (pending_window_days >= 0) v.ev.add("pendingWindowInDays", pending_window_days);
    v.dedup = dedetail::kms_key_id(ref);
    return v;
  }

  // A DisableKey / ScheduleKeyDeletion read before the trail settings that name its key.
  struct pending_key {
    int64_t time_ms = 0;
    std::string key_id, ref, name;
    int64_t pending_window_days = -1;
    finding f;
    bool break_glass = false;
    std::string identity, caller;
  };
  void resolve_pending_keys(const std::string& key_id, const std::string& trail) {
    for (auto it = pending_keys_.begin(); it != pending_keys_.end();) {
      if (it->key_id != key_id) {
        ++it;
        continue;
      }
      verdict v = kms_verdict(it->ref, it->name, trail, it->pending_window_days);
      finish_verdict(std::move(it->f), v, it->break_glass, it->name, it->identity, it->caller);
      it = pending_keys_.erase(it);
    }
  }

  std::optional<verdict> delete_alarms(const event& e) {
    std::vector<std::string> names = dedetail::strings_of(e.request()["alarmNames"]);
    std::vector<std::string> hits;
    for (auto& n : names)
      if (util::glob_any(alarm_patterns_, n, util::match_case::insensitive)) hits.push_back(n);
    if (hits.empty()) return std::nullopt;
    verdict v;
    v.rule = "security-alarms-deleted";
    v.sev = severity::medium;
    v.summary = "Security alarms deleted: " + util::join(hits);
    v.ev.add("alarmNames", hits);
    if (hits.size() != names.size()) v.ev.add("allDeletedAlarms", names);
    v.dedup = util::join(hits, ",");
    return v;
  }

  // ---------------------------------------------------------------------------------------
  // Emission
  // ---------------------------------------------------------------------------------------
  void emit_verdict(const event& e, verdict& v) {
    finish_verdict(make_finding(v.rule, e), v, util::break_glass_caller(ctx(), e), e.name(),
                   e.identity(), e.principal_arn());
  }
  void finish_verdict(finding f, verdict& v, bool bg, std::string_view event_name,
                      std::string_view identity, std::string_view caller) {
    f.sev = bg ? lower(v.sev) : v.sev;
    f.summary = v.summary + " (by " + std::string(identity) + ").";
    f.ev = v.ev;
    f.ev.add("eventName", event_name);
    f.ev.add("callerArn", caller);
    if (bg) f.ev.add_bool("breakGlass", true);
    f.dedup_key = v.dedup;
    emit(f);
  }

  void emit_denied(const event& e, verdict& v) {
    std::string key = std::string(e.identity()) + "|" + std::string(e.name());
    auto it = denied_seen_.find(key);
    if (it != denied_seen_.end() && std::abs(e.time_ms() - it->second) <= window_ms_) return;
    if (denied_seen_.size() >= kMaxDenied) on_tick(e.time_ms());
    if (denied_seen_.size() >= kMaxDenied) denied_seen_.clear();
    denied_seen_[key] = e.time_ms();
    finding f = make_finding("defense-evasion-attempt-denied", e);
    bool bg = util::break_glass_caller(ctx(), e);
    if (bg) f.sev = lower(f.sev);
    f.summary = "Denied (" + std::string(e.error_code()) + "): " + v.summary + " (attempted by " +
                std::string(e.identity()) + ").";
    f.ev.add("attemptedRule", v.rule);
    f.ev.add("eventName", e.name());
    f.ev.add("errorCode", e.error_code());
    if (!e.error_message().empty()) f.ev.add("errorMessage", e.error_message());
    f.ev.add_json("attempt", v.ev.str());
    f.ev.add("callerArn", e.principal_arn());
    if (!e.access_key_id().empty()) f.ev.add("accessKeyId", e.access_key_id());
    if (bg) f.ev.add_bool("breakGlass", true);
    f.dedup_key = std::string(e.name()) + "#" + v.dedup;
    emit(f);
  }

  static constexpr size_t kMaxTrails = 10000;
  static constexpr size_t kMaxDenied = 50000;

  int64_t lifecycle_max_days_;
  std::vector<std::string> bucket_patterns_, log_group_patterns_, alarm_patterns_;
  int64_t window_ms_;
  std::unordered_map<std::string, trail_state> trails_;
  std::unordered_map<std::string, std::string> log_buckets_;       // lower(bucket) -> trail
  std::unordered_map<std::string, std::string> trail_keys_;        // kms key id -> trail
  std::unordered_map<std::string, std::string> trail_log_groups_;  // log group -> trail
  std::unordered_map<std::string, int64_t> denied_seen_;           // principal|event -> time
  static constexpr int64_t kReorderMs = 15 * 60 * 1000;            // wait for a late trail setting
  std::vector<pending_key> pending_keys_;                          // key not (yet) a trail's
};

}  // namespace

TRAILHOUND_MODULE("defense-evasion", "1.0.0", defense_evasion)
