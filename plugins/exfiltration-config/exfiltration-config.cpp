// SPDX-License-Identifier: Apache-2.0
// Configuration changes that open a data path out of the account: cross-account S3 replication,
// public or cross-account bucket policies and ACLs, relaxed Block Public Access, snapshot/AMI
// sharing, DataSync to storage outside AWS, and exports to buckets of other accounts.
#include <rapidjson/document.h>

#include <algorithm>
#include <cctype>
#include <stdexcept>
#include <string>
#include <string_view>
#include <trailhound/baseline.hpp>
#include <trailhound/habit.hpp>
#include <trailhound/policy.hpp>
#include <trailhound/sdk.hpp>
#include <trailhound/util.hpp>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace {
using namespace trailhound::sdk;
namespace util = trailhound::sdk::util;
namespace habit = trailhound::habit;
namespace policy = trailhound::sdk::policy;

using policy::member_ci;
using policy::strings_of;
using util::add_unique;
using util::iequals;
using util::is_account_id;

// ------------------------------------------------------------------------------------------
// Small text helpers
// ------------------------------------------------------------------------------------------
bool istarts_with(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && iequals(s.substr(0, prefix.size()), prefix);
}
bool icontains(std::string_view hay, std::string_view needle) {
  return util::to_lower(hay).find(util::to_lower(needle)) != std::string::npos;
}
// "arn:aws:s3:::bucket/prefix" -> "bucket"; a bare name is returned as is.
std::string_view bucket_of(std::string_view arn) {
  constexpr std::string_view pfx = ":s3:::";
  size_t p = arn.find(pfx);
  if (istarts_with(arn, "arn:") && p != std::string_view::npos) arn.remove_prefix(p + pfx.size());
  size_t slash = arn.find('/');
  return slash == std::string_view::npos ? arn : arn.substr(0, slash);
}

// ------------------------------------------------------------------------------------------
// Bucket policy analysis
// ------------------------------------------------------------------------------------------
struct policy_result {
  bool public_grant = false;  // Allow to "*" without a restricting condition
  bool public_write = false;  // ...including actions beyond Get*/List*
  std::vector<std::string> public_actions;
  std::vector<std::string> accounts;  // account ids granted through AWS principals/conditions
  std::vector<std::string> principals;
  bool org_restricted = false;  // scratch: the statement requires aws:PrincipalOrgID/OrgPaths
};

// Condition keys that tie a "*" principal to specific accounts, organisations or networks.
bool restrictive_condition_key(std::string_view key) {
  static const char* const keys[] = {"aws:sourceaccount",
                                     "aws:sourcearn",
                                     "aws:sourceowner",
                                     "aws:principalorgid",
                                     "aws:principalorgpaths",
                                     "aws:principalaccount",
                                     "aws:principalarn",
                                     "aws:sourcevpce",
                                     "aws:sourcevpc",
                                     "aws:sourceip",
                                     "aws:userid",
                                     "aws:username",
                                     "aws:sourceorgid",
                                     "aws:sourceorgpaths",
                                     "aws:resourceorgid",
                                     "aws:principalservicename",
                                     "s3:dataaccesspointaccount",
                                     "s3:dataaccesspointarn",
                                     "aws:principaltype",
                                     "aws:vpcsourceip",
                                     "aws:principalisawsservice"};
  for (const char* k : keys)
    if (iequals(key, k)) return true;
  return istarts_with(key, "aws:principaltag/");
}
bool negative_operator(std::string_view op) {
  // StringNotEquals, ArnNotLike, NotIpAddress, Null... do not restrict who may act.
  return icontains(op, "not") || iequals(op, "null");
}
bool world_cidr(std::string_view v) { return v == "0.0.0.0/0" || v == "::/0"; }

template <class V>
bool condition_restricts(const V& cond, policy_result& r) {
  if (!cond.is_object()) return false;
  bool restricts = false;
  uint32_t nops = cond.size();
  for (uint32_t i = 0; i < nops; ++i) {
    std::string_view op = cond.member_name(i);
    V body = cond.member_at(i);
    if (negative_operator(op) || !body.is_object()) continue;
    uint32_t nkeys = body.size();
    for (uint32_t k = 0; k < nkeys; ++k) {
      std::string_view key = body.member_name(k);
      if (!restrictive_condition_key(key)) continue;
      auto values = strings_of(body.member_at(k));
      if (iequals(key, "aws:sourceip") &&
          std::any_of(values.begin(), values.end(),
                      [](const std::string& s) { return world_cidr(s); }))
        continue;
      restricts = true;
      if (iequals(key, "aws:principalorgid") || iequals(key, "aws:principalorgpaths"))
        r.org_restricted = true;
      if (iequals(key, "aws:sourceaccount") || iequals(key, "aws:principalaccount") ||
          iequals(key, "aws:sourceowner") || iequals(key, "s3:dataaccesspointaccount")) {
        for (auto& v : values)
          if (is_account_id(v)) add_unique(r.accounts, v);
      }
    }
  }
  return restricts;
}

bool read_only_action(std::string_view a) {
  return istarts_with(a, "s3:Get") || istarts_with(a, "s3:List");
}

template <class V>
policy_result analyze_policy(const V& doc) {
  policy_result r;
  for (const auto& st : member_ci(doc, "Statement").elements()) {
    if (!st.is_object()) continue;
    if (!iequals(member_ci(st, "Effect").str(), "Allow")) continue;
    V principal = member_ci(st, "Principal");
    V not_principal = member_ci(st, "NotPrincipal");
    bool star = false;
    std::vector<std::string> aws_principals;
    if (principal.is_string()) {
      star = principal.str() == "*";
    } else if (principal.is_object()) {
      for (auto& p : strings_of(member_ci(principal, "AWS"))) {
        if (p == "*")
          star = true;
        else
          aws_principals.push_back(p);
      }
      // Service, CanonicalUser (CloudFront OAI) and Federated principals are not accounts.
    }
    if (not_principal.exists()) star = true;  // Allow + NotPrincipal: everyone but a few
    auto actions = strings_of(member_ci(st, "Action"));
    if (member_ci(st, "NotAction").exists()) actions.push_back("NotAction:*");
    policy_result scratch;
    bool restricted = condition_restricts(member_ci(st, "Condition"), scratch);
    for (auto& a : scratch.accounts) add_unique(r.accounts, a);
    if (star && !restricted) {
      r.public_grant = true;
      for (auto& a : actions) {
        add_unique(r.public_actions, a);
        if (!read_only_action(a)) r.public_write = true;
      }
      if (actions.empty()) r.public_write = true;
    }
    for (auto& p : aws_principals) {
      std::string_view acct = util::principal_account(p);
      add_unique(r.principals, p);
      // Only members of our organization can use a grant conditioned on aws:PrincipalOrgID.
      if (is_account_id(acct) && !scratch.org_restricted) add_unique(r.accounts, acct);
    }
  }
  return r;
}

// ------------------------------------------------------------------------------------------
// Accounts
// ------------------------------------------------------------------------------------------
enum class acct_kind { none, own, org, seen, external };

// AWS-owned accounts that bucket policies name for log delivery: the regional Elastic Load
// Balancing accounts of the access-log documentation. Granting them is not a data leak.
bool aws_service_account(std::string_view acct) {
  static const char* const accounts[] = {
      "127311923021", "033677994240", "027434742980", "797873946194", "098369216593",
      "754344448648", "589379963580", "718504428378", "383597477331", "600734575887",
      "114774131450", "783225319266", "582318560864", "985666609251", "054676820928",
      "156460612806", "652711504416", "635631232127", "009996457667", "897822967062",
      "076674570225", "507241528517", "048591011584", "190560391635"};
  for (const char* a : accounts)
    if (acct == a) return true;
  return false;
}

const char* kind_name(acct_kind k, bool org_known) {
  switch (k) {
    case acct_kind::own:
      return "own";
    case acct_kind::org:
      return "organization";
    case acct_kind::seen:
      return "seen-in-logs";
    case acct_kind::external:
      return org_known ? "external" : "never-seen";
    default:
      return "unknown";
  }
}
int kind_rank(acct_kind k) {
  switch (k) {
    case acct_kind::external:
      return 4;
    case acct_kind::seen:
      return 3;
    case acct_kind::org:
      return 2;
    case acct_kind::own:
      return 1;
    default:
      return 0;
  }
}

// ------------------------------------------------------------------------------------------
// The detector
// ------------------------------------------------------------------------------------------
constexpr size_t MAX_TRACKED = 100000;

// Saved state (schema 1): the sharing habits (principal, rule, target account -> days), at most
// kMaxHabits entries (the most recently seen kept).
constexpr std::string_view kMagic = "THEX";
constexpr uint32_t kStateSchema = 1;
constexpr size_t kMaxHabits = 50000;

class exfiltration_config final : public detector {
 public:
  static const detector_info& info() {
    static const detector_info i{
        "exfiltration-config",
        "1.0.0",
        "Data exfiltration through configuration",
        "Configuration changes that let data leave the account: S3 replication to other "
        "accounts, public or cross-account bucket policies and ACLs, relaxed S3 Block Public "
        "Access, EBS/AMI/RDS snapshot sharing, DataSync to storage outside AWS, RDS and "
        "DynamoDB exports.",
        {{"s3.amazonaws.com", "PutBucketReplication"},
         {"s3.amazonaws.com", "PutBucketPolicy"},
         {"s3.amazonaws.com", "PutBucketAcl"},
         {"s3.amazonaws.com", "CreateBucket"},
         {"s3.amazonaws.com", "PutBucketVersioning"},
         {"s3.amazonaws.com", "PutBucketWebsite"},
         {"s3.amazonaws.com", "PutBucketAccelerateConfiguration"},
         {"s3.amazonaws.com", "PutBucketPublicAccessBlock"},
         {"s3.amazonaws.com", "DeleteBucketPublicAccessBlock"},
         {"s3.amazonaws.com", "PutPublicAccessBlock"},
         {"s3.amazonaws.com", "DeletePublicAccessBlock"},
         {"s3.amazonaws.com", "PutAccountPublicAccessBlock"},
         {"s3.amazonaws.com", "DeleteAccountPublicAccessBlock"},
         {"s3-control.amazonaws.com", "PutPublicAccessBlock"},
         {"s3-control.amazonaws.com", "DeletePublicAccessBlock"},
         {"s3-control.amazonaws.com", "PutAccountPublicAccessBlock"},
         {"s3-control.amazonaws.com", "DeleteAccountPublicAccessBlock"},
         {"ec2.amazonaws.com", "ModifySnapshotAttribute"},
         {"ec2.amazonaws.com", "ModifyImageAttribute"},
         {"rds.amazonaws.com", "ModifyDBSnapshotAttribute"},
         {"rds.amazonaws.com", "ModifyDBClusterSnapshotAttribute"},
         {"rds.amazonaws.com", "StartExportTask"},
         {"dynamodb.amazonaws.com", "ExportTableToPointInTime"},
         {"datasync.amazonaws.com", "*"}},
        {{"alert_rds_export", TH_PARAM_BOOL, "true",
          "Report every RDS snapshot export to S3 (low severity)"},
         {"alert_transfer_acceleration", TH_PARAM_BOOL, "true",
          "Report S3 Transfer Acceleration being enabled (low severity)"},
         {"report_org_sharing", TH_PARAM_BOOL, "false",
          "With org_account_ids configured, also report sharing, replication and exports to "
          "accounts of the organization (low severity); by default they are expected and "
          "silent"},
         {"habit_min_days", TH_PARAM_INT, "3",
          "A snapshot/AMI share by a principal to an account it shared with (same rule) on at "
          "least this many earlier days within habit_lookback is its routine: info (a nightly "
          "backup). Public shares never are. 0 turns this off",
          true, 0, 63},
         {"habit_lookback", TH_PARAM_DURATION, "\"30d\"",
          "How far back the earlier days of habit_min_days count (kept in the saved state)", true,
          86400, 5443200}},
        {{"s3-replication-to-external-account", severity::critical,
          "S3 bucket replicates to another account", "T1537",
          "PutBucketReplication with a destination bucket owned by an account outside the "
          "organization (org_account_ids) or, without that setting, an account seen nowhere "
          "else in the logs (high). Accounts seen in the logs and unknown owners are low; org "
          "accounts are silent unless report_org_sharing (then low)."},
         {"s3-bucket-policy-public", severity::critical, "S3 bucket policy made public",
          "T1530,T1537",
          "PutBucketPolicy with an Allow statement for Principal \"*\" and no condition "
          "restricting it to accounts, organisations or networks."},
         {"s3-bucket-policy-external-account", severity::high,
          "S3 bucket policy grants access to an external account", "T1537,T1530",
          "PutBucketPolicy naming an AWS account outside the organization (or never seen in the "
          "logs) as principal or through aws:SourceAccount/aws:PrincipalAccount."},
         {"s3-bucket-acl-public", severity::critical, "S3 bucket ACL grants public access", "T1530",
          "PutBucketAcl/CreateBucket granting AllUsers or AuthenticatedUsers, or the canned "
          "ACLs public-read, public-read-write, authenticated-read."},
         {"s3-bucket-acl-external-grantee", severity::low,
          "S3 bucket ACL grants access to another canonical user", "T1537",
          "PutBucketAcl granting a canonical user other than the bucket owner, or an e-mail "
          "grantee."},
         {"s3-public-access-block-relaxed", severity::high,
          "S3 Block Public Access removed or relaxed", "T1530,T1562",
          "Put/DeletePublicAccessBlock turning off BlockPublicAcls, IgnorePublicAcls, "
          "BlockPublicPolicy or RestrictPublicBuckets: high for the account level, medium for "
          "one bucket."},
         {"s3-transfer-acceleration-enabled", severity::low, "S3 Transfer Acceleration enabled",
          "T1537",
          "PutBucketAccelerateConfiguration with Status Enabled: speeds up bulk transfer out."},
         {"ebs-snapshot-shared", severity::high, "EBS snapshot shared with another account",
          "T1537",
          "ModifySnapshotAttribute adding createVolumePermission for an external account "
          "(high) or group all (critical); accounts seen in the logs are low, org accounts "
          "silent unless report_org_sharing (low). Info when the same principal shared with "
          "every one of the accounts on habit_min_days earlier days (its routine)."},
         {"ami-shared", severity::high, "AMI shared with another account", "T1537",
          "ModifyImageAttribute adding launchPermission for an external account (high) or "
          "group all (critical); accounts seen in the logs are low, org accounts and our own "
          "organization/OU ARNs silent unless report_org_sharing (low). Info when habitual, as "
          "for EBS snapshots."},
         {"rds-snapshot-shared", severity::high, "RDS snapshot shared with another account",
          "T1537",
          "Modify(DB|DBCluster)SnapshotAttribute restore valuesToAdd with an external account "
          "(high) or all (critical); accounts seen in the logs are low, org accounts silent "
          "unless report_org_sharing (low). Info when habitual, as for EBS snapshots."},
         {"rds-export-to-s3", severity::low, "RDS snapshot exported to S3", "T1537",
          "StartExportTask: a snapshot or cluster exported to an S3 bucket as Parquet."},
         {"dynamodb-export-external-account", severity::high,
          "DynamoDB table exported to another account's bucket", "T1537",
          "ExportTableToPointInTime with s3BucketOwner outside the organization (or never "
          "seen): high; accounts seen in the logs are low, org accounts silent unless "
          "report_org_sharing (low)."},
         {"datasync-external-location", severity::medium, "DataSync location outside AWS created",
          "T1537,T1567",
          "CreateLocationObjectStorage/CreateLocationAzureBlob/HDFS/SMB/NFS: DataSync pointed "
          "at storage that is not an AWS service of this account."},
         {"datasync-task-to-external-location", severity::high,
          "DataSync task copies data to a location outside AWS", "T1537,T1567",
          "CreateTask or StartTaskExecution whose destination is an external location created "
          "in the same logs."}},
        kStateSchema};
    return i;
  }

  exfiltration_config(const context& ctx, const config& cfg)
      : detector(ctx),
        alert_rds_export_(cfg.get_bool("alert_rds_export")),
        alert_acceleration_(cfg.get_bool("alert_transfer_acceleration")),
        report_org_sharing_(cfg.get_bool("report_org_sharing")),
        habits_(cfg.get_int("habit_min_days"), cfg.get_duration_ms("habit_lookback"), kMaxHabits) {}

  void on_event(const event& e) override {
    if (e.failed() || util::service_actor(e)) return;
    std::string_view src = e.source();
    std::string_view name = e.name();
    if (src == "s3.amazonaws.com" || src == "s3-control.amazonaws.com") {
      learn_bucket(e);
      if (name == "PutBucketReplication") return on_replication(e);
      if (name == "PutBucketPolicy") return on_bucket_policy(e);
      if (name == "PutBucketAcl" || name == "CreateBucket") return on_bucket_acl(e);
      if (name == "PutBucketWebsite") return on_website(e);
      if (name == "PutBucketAccelerateConfiguration") return on_acceleration(e);
      if (name.find("PublicAccessBlock") != std::string_view::npos)
        return on_public_access_block(e);
      return;
    }
    if (src == "ec2.amazonaws.com") {
      if (name == "ModifySnapshotAttribute")
        return on_ec2_share(e, "ebs-snapshot-shared", "createVolumePermission", "snapshotId");
      if (name == "ModifyImageAttribute")
        return on_ec2_share(e, "ami-shared", "launchPermission", "imageId");
      return;
    }
    if (src == "rds.amazonaws.com") {
      if (name == "ModifyDBSnapshotAttribute" || name == "ModifyDBClusterSnapshotAttribute")
        return on_rds_share(e);
      if (name == "StartExportTask") return on_rds_export(e);
      return;
    }
    if (src == "dynamodb.amazonaws.com") return on_dynamodb_export(e);
    if (src == "datasync.amazonaws.com") return on_datasync(e);
  }

  void on_tick(int64_t now_ms) override { expire_waiting(now_ms); }

  // Persistence: daily runs learn the sharing habits across runs.
  std::string save_state() const override {
    trailhound::baseline::writer w;
    w.str().append(kMagic);
    w.u(kStateSchema);
    habits_.save(w);
    return std::move(w.str());
  }
  // A corrupt or other-version blob throws: the host reports it and the detector starts fresh.
  void load_state(uint32_t schema_version, std::string_view data) override {
    if (schema_version != kStateSchema)
      throw std::runtime_error("exfiltration-config state: unknown schema " +
                               std::to_string(schema_version));
    trailhound::baseline::reader r(data);
    r.expect(kMagic);
    if (r.u() != kStateSchema) throw std::runtime_error("exfiltration-config state: bad header");
    habit::book habits = habits_.empty();
    habits.load(r);
    if (!r.done()) throw std::runtime_error("exfiltration-config state: trailing bytes");
    habits_ = std::move(habits);
  }

 private:
  // ---------------------------------------------------------------------- accounts / buckets
  acct_kind classify(const event& e, std::string_view acct) const {
    if (!is_account_id(acct)) return acct_kind::none;
    if (acct == e.recipient_account() || acct == e.principal_account()) return acct_kind::own;
    if (aws_service_account(acct)) return acct_kind::own;  // AWS log delivery, not a party
    if (ctx().org_accounts_known())
      return ctx().is_org_account(acct) ? acct_kind::org : acct_kind::external;
    return ctx().is_known_account(acct) ? acct_kind::seen : acct_kind::external;
  }
  // Remembers which account owns a bucket, from the bucket-level calls we see.
  void learn_bucket(const event& e) {
    std::string_view b = e.request()["bucketName"].str();
    std::string acct = util::account_of(e);
    if (b.empty() || acct.empty() || bucket_owner_.size() >= MAX_TRACKED) return;
    bucket_owner_.emplace(std::string(b), std::move(acct));
  }
  std::string owner_of_bucket(std::string_view bucket) const {
    auto it = bucket_owner_.find(std::string(bucket));
    return it == bucket_owner_.end() ? std::string() : it->second;
  }
  bool org_known() const { return ctx().org_accounts_known(); }

  // Severity of sharing a resource with an account of this kind.
  static severity share_severity(acct_kind k) {
    switch (k) {
      case acct_kind::external:
        return severity::high;
      case acct_kind::seen:
      case acct_kind::org:
        return severity::low;
      default:
        return severity::info;
    }
  }

  // ---------------------------------------------------------------------- S3 replication
  void on_replication(const event& e) {
    value req = e.request();
    value cfg = req["ReplicationConfiguration"];
    if (!cfg.exists()) return;
    std::string_view source_bucket = req["bucketName"].str();
    acct_kind worst = acct_kind::none;
    bool unknown_owner = false;
    std::vector<std::string> dest_buckets, dest_accounts, rule_ids;
    std::string worst_account;
    bool owner_override = false;
    value rules = cfg["Rule"].exists() ? cfg["Rule"] : cfg["Rules"];
    for (const auto& rule : rules.elements()) {
      if (iequals(rule["Status"].str(), "Disabled")) continue;
      value dest = rule["Destination"];
      if (!dest.exists()) continue;
      std::string_view bucket_arn = dest["Bucket"].str();
      std::string_view bucket = bucket_of(bucket_arn);
      std::string acct(dest["Account"].str());
      if (iequals(dest.path("AccessControlTranslation.Owner").str(), "Destination"))
        owner_override = true;
      if (acct.empty()) acct = owner_of_bucket(bucket);
      if (!bucket_arn.empty()) add_unique(dest_buckets, bucket_arn);
      add_unique(rule_ids, rule["ID"].str());
      if (acct.empty()) {
        if (bucket != source_bucket) unknown_owner = true;
        continue;
      }
      add_unique(dest_accounts, acct);
      acct_kind k = classify(e, acct);
      if (kind_rank(k) > kind_rank(worst)) {
        worst = k;
        worst_account = acct;
      }
    }
    if (worst == acct_kind::org && !report_org_sharing_) {
      worst = acct_kind::none;  // replication inside the organization is expected (DR, backup)
      worst_account.clear();
    }
    severity sev;
    std::string why;
    if (worst == acct_kind::external) {
      sev = org_known() ? severity::critical : severity::high;
      why = org_known() ? "an account outside the organization"
                        : "an account seen nowhere else in the logs";
    } else if (worst == acct_kind::seen || worst == acct_kind::org) {
      sev = severity::low;
      why = worst == acct_kind::org ? "an organization account" : "another account of these logs";
    } else if (unknown_owner) {
      sev = severity::low;
      why = "a bucket whose owner is not stated and not seen in the logs";
    } else {
      return;  // same-account replication
    }
    finding f = make_finding("s3-replication-to-external-account", e);
    f.sev = sev;
    f.summary = "Bucket " + std::string(source_bucket) + " now replicates to " + why +
                (worst_account.empty() ? "" : " (" + worst_account + ")") + ".";
    f.ev.add("bucketName", source_bucket)
        .add("Destination.Bucket", dest_buckets)
        .add("Destination.Account", dest_accounts)
        .add("ruleIds", rule_ids)
        .add("Role", cfg["Role"].str())
        .add("accountClass", worst == acct_kind::none ? std::string("unknown-owner")
                                                      : std::string(kind_name(worst, org_known())))
        .add_bool("ownerOverride", owner_override);
    f.dedup_key = std::string(source_bucket);
    emit(f);
  }

  // ---------------------------------------------------------------------- bucket policy
  void on_bucket_policy(const event& e) {
    value req = e.request();
    value pol = req["bucketPolicy"];
    if (!pol.exists()) pol = req["policy"];
    policy_result r;
    std::string policy_json;
    if (pol.is_object()) {
      r = analyze_policy(pol);
      policy_json = pol.json();
    } else if (pol.is_string() || (pol.is_array() && pol[0].is_string())) {
      std::string_view raw = pol.is_string() ? pol.str() : pol[0].str();
      while (!raw.empty() && std::isspace(static_cast<unsigned char>(raw.front())))
        raw.remove_prefix(1);
      std::string text =
          raw.empty() || raw.front() == '{' ? std::string(raw) : util::percent_decode(raw);
      // A policy nested deeper than any real one would overflow RapidJSON's recursive walk.
      if (!policy::nesting_ok(text)) return;
      rapidjson::Document doc;
      doc.Parse<rapidjson::kParseValidateEncodingFlag>(text.c_str(), text.size());
      if (doc.HasParseError() || !doc.IsObject()) return;
      r = analyze_policy(policy::json_view(&doc));
      policy_json = text;
    } else {
      return;
    }
    std::string_view bucket = req["bucketName"].str();
    if (r.public_grant) {
      finding f = make_finding("s3-bucket-policy-public", e);
      f.sev = r.public_write ? severity::critical : severity::high;
      bool website = website_buckets_.count(std::string(bucket)) > 0;
      if (website && !r.public_write) f.sev = severity::medium;
      f.summary = "The policy of bucket " + std::string(bucket) + " allows anyone to " +
                  (r.public_write ? "read and change" : "read") + " it" +
                  (website ? " (the bucket is configured as a website)." : ".");
      f.ev.add("bucketName", bucket)
          .add("publicActions", r.public_actions)
          .add_bool("websiteBucket", website)
          .add_json("bucketPolicy", policy_json);
      f.dedup_key = std::string(bucket);
      emit(f);
    }
    acct_kind worst = acct_kind::none;
    std::vector<std::string> flagged;
    for (auto& a : r.accounts) {
      acct_kind k = classify(e, a);
      if (k == acct_kind::external || k == acct_kind::seen) flagged.push_back(a);
      if (kind_rank(k) > kind_rank(worst)) worst = k;
    }
    if (worst == acct_kind::external || worst == acct_kind::seen) {
      finding f = make_finding("s3-bucket-policy-external-account", e);
      f.sev = worst == acct_kind::external ? severity::high : severity::low;
      f.summary =
          "The policy of bucket " + std::string(bucket) + " grants access to " +
          (worst == acct_kind::external ? (org_known() ? "accounts outside the organization"
                                                       : "accounts seen nowhere else in the logs")
                                        : "other accounts of these logs") +
          ".";
      f.ev.add("bucketName", bucket)
          .add("accounts", flagged)
          .add("accountClass", kind_name(worst, org_known()))
          .add("principals", r.principals)
          .add_json("bucketPolicy", policy_json);
      f.dedup_key = std::string(bucket);
      emit(f);
    }
  }

  // ---------------------------------------------------------------------- bucket ACL
  static bool public_group(std::string_view uri, bool& all_users) {
    if (icontains(uri, "groups/global/AllUsers")) {
      all_users = true;
      return true;
    }
    return icontains(uri, "groups/global/AuthenticatedUsers");
  }
  static bool write_permission(std::string_view p) {
    return iequals(p, "WRITE") || iequals(p, "WRITE_ACP") || iequals(p, "FULL_CONTROL");
  }

  void on_bucket_acl(const event& e) {
    value req = e.request();
    std::string_view bucket = req["bucketName"].str();
    std::vector<std::string> public_grants, external_grants;
    bool write = false;
    std::string canned;
    for (auto& a : strings_of(req["x-amz-acl"])) {
      if (iequals(a, "public-read") || iequals(a, "public-read-write") ||
          iequals(a, "authenticated-read")) {
        canned = a;
        if (iequals(a, "public-read-write")) write = true;
      }
    }
    // Grants given as headers: x-amz-grant-read: uri="http://acs.amazonaws.com/groups/...".
    static const char* const grant_headers[] = {"x-amz-grant-read", "x-amz-grant-write",
                                                "x-amz-grant-read-acp", "x-amz-grant-write-acp",
                                                "x-amz-grant-full-control"};
    for (const char* h : grant_headers) {
      for (auto& g : strings_of(req[h])) {
        bool all = false;
        if (public_group(g, all)) {
          public_grants.push_back(std::string(h) + ": " + g);
          if (std::string_view(h) != "x-amz-grant-read" &&
              std::string_view(h) != "x-amz-grant-read-acp")
            write = true;
        } else if (icontains(g, "emailAddress=")) {
          external_grants.push_back(std::string(h) + ": " + g);
        }
      }
    }
    value acp = req["AccessControlPolicy"];
    std::string_view owner_id = acp.path("Owner.ID").str();
    value grants = acp.path("AccessControlList.Grant");
    if (!grants.exists()) grants = acp["Grants"];
    for (const auto& g : grants.elements()) {
      value grantee = g["Grantee"];
      std::string_view perm = g["Permission"].str();
      bool all = false;
      std::string_view uri = grantee["URI"].str();
      if (!uri.empty() && public_group(uri, all)) {
        public_grants.push_back(std::string(uri) + " " + std::string(perm));
        if (write_permission(perm)) write = true;
        continue;
      }
      std::string_view id = grantee["ID"].str();
      std::string_view email = grantee["EmailAddress"].str();
      if (!email.empty()) {
        external_grants.push_back("emailAddress=" + std::string(email) + " " + std::string(perm));
      } else if (!id.empty() && !owner_id.empty() && id != owner_id &&
                 !known_service_canonical(id)) {
        external_grants.push_back("id=" + std::string(id) + " " + std::string(perm));
      }
    }
    if (!canned.empty() || !public_grants.empty()) {
      finding f = make_finding("s3-bucket-acl-public", e);
      f.sev = write ? severity::critical : severity::high;
      f.summary = "The ACL of bucket " + std::string(bucket) + " now lets " +
                  (write ? "anyone change" : "anyone read") + " it.";
      f.ev.add("bucketName", bucket).add("x-amz-acl", canned).add("grants", public_grants);
      f.dedup_key = std::string(bucket);
      emit(f);
    }
    if (!external_grants.empty() && e.name() == "PutBucketAcl") {
      finding f = make_finding("s3-bucket-acl-external-grantee", e);
      f.summary = "The ACL of bucket " + std::string(bucket) +
                  " grants access to a canonical user other than its owner.";
      f.ev.add("bucketName", bucket).add("ownerId", owner_id).add("grants", external_grants);
      f.dedup_key = std::string(bucket);
      emit(f);
    }
  }
  // Canonical ids of AWS log delivery (CloudFront access logs: awslogsdelivery).
  static bool known_service_canonical(std::string_view id) {
    return id == "c4c1ede66af53448b93c283ce9448c4ba468c9432aa01d700d3878632f77d2d0";
  }

  void on_website(const event& e) {
    std::string_view b = e.request()["bucketName"].str();
    if (!b.empty() && website_buckets_.size() < MAX_TRACKED) website_buckets_.emplace(b);
  }

  // ---------------------------------------------------------------------- acceleration
  void on_acceleration(const event& e) {
    if (!alert_acceleration_) return;
    value req = e.request();
    if (!iequals(req.path("AccelerateConfiguration.Status").str(), "Enabled")) return;
    finding f = make_finding("s3-transfer-acceleration-enabled", e);
    f.summary =
        "Transfer Acceleration enabled on bucket " + std::string(req["bucketName"].str()) + ".";
    f.ev.add("bucketName", req["bucketName"].str())
        .add("AccelerateConfiguration.Status", "Enabled");
    f.dedup_key = std::string(req["bucketName"].str());
    emit(f);
  }

  // ---------------------------------------------------------------------- Block Public Access
  void on_public_access_block(const event& e) {
    std::string_view name = e.name();
    value req = e.request();
    std::string_view bucket = req["bucketName"].str();
    bool account_level = name.find("Account") != std::string_view::npos ||
                         e.source() == "s3-control.amazonaws.com" || bucket.empty();
    bool is_delete = istarts_with(name, "Delete");
    std::vector<std::string> relaxed;
    if (!is_delete) {
      value conf = req["PublicAccessBlockConfiguration"];
      if (!conf.exists()) conf = req["publicAccessBlockConfiguration"];
      if (!conf.is_object()) return;
      static const char* const flags[] = {"BlockPublicAcls", "IgnorePublicAcls",
                                          "BlockPublicPolicy", "RestrictPublicBuckets"};
      int present = 0;
      for (const char* fl : flags) {
        value v = conf[fl];
        if (!v.exists()) {
          // s3-control style lower camel case
          std::string lc(fl);
          lc[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(lc[0])));
          v = conf[lc];
        }
        if (v.exists()) ++present;
        // An omitted flag defaults to false in the API.
        if (!v.exists() || !v.as_bool(true)) relaxed.emplace_back(fl);
      }
      if (present == 0 || relaxed.empty()) return;
    } else {
      relaxed = {"BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy",
                 "RestrictPublicBuckets"};
    }
    finding f = make_finding("s3-public-access-block-relaxed", e);
    f.sev = account_level ? severity::high : severity::medium;
    std::string_view target_account = req["accountId"].str();
    std::string scope = account_level
                            ? "account " + (target_account.empty() ? util::account_of(e)
                                                                   : std::string(target_account))
                            : "bucket " + std::string(bucket);
    f.summary = std::string(is_delete ? "Block Public Access removed from "
                                      : "Block Public Access relaxed on ") +
                scope + ".";
    f.ev.add("level", account_level ? "account" : "bucket")
        .add("bucketName", bucket)
        .add("disabledSettings", relaxed);
    if (!is_delete)
      f.ev.add_json("PublicAccessBlockConfiguration", req["PublicAccessBlockConfiguration"].json());
    f.dedup_key = account_level ? util::account_of(e) : std::string(bucket);
    emit(f);
  }

  // ---------------------------------------------------------------------- EC2 sharing
  struct share_targets {
    bool public_all = false;
    acct_kind worst = acct_kind::none;
    std::vector<std::string> accounts;  // every added account (evidence)
    std::vector<std::string> flagged;   // non-own accounts
  };
  void add_target(const event& e, share_targets& t, std::string_view acct) {
    if (!is_account_id(acct)) return;
    add_unique(t.accounts, acct);
    acct_kind k = classify(e, acct);
    if (k != acct_kind::own) add_unique(t.flagged, acct);
    if (kind_rank(k) > kind_rank(t.worst)) t.worst = k;
  }
  // An organization or OU ARN (arn:aws:organizations::<management account>:organization/o-...):
  // with org_account_ids, ours when its management account is an org account, else external;
  // without, an organization we cannot place (low).
  void add_org_target(const event& e, share_targets& t, std::string_view arn) {
    acct_kind k = acct_kind::seen;
    if (org_known()) {
      k = classify(e, util::arn_account(arn));
      if (k == acct_kind::own) k = acct_kind::org;    // we are its management account
      if (k == acct_kind::none) k = acct_kind::seen;  // no account in it: cannot place
    }
    if (!arn.empty()) add_unique(t.flagged, arn);
    if (kind_rank(k) > kind_rank(t.worst)) t.worst = k;
  }
  void emit_share(const event& e, const char* rule, const share_targets& t,
                  std::string_view resource_key, std::string_view resource_id,
                  std::string_view what) {
    if (!t.public_all && kind_rank(t.worst) <= kind_rank(acct_kind::own)) return;
    if (!t.public_all && t.worst == acct_kind::org && !report_org_sharing_) return;  // expected
    // Habits: only here, on the rare sharing calls. A public share is never routine and teaches
    // nothing; otherwise every target must have been shared with by this principal (same rule)
    // on enough earlier days: one new account keeps the share reported as before.
    habit::verdict routine;
    const std::string_view who = e.identity();
    if (!t.public_all && !who.empty() && !t.flagged.empty()) {
      routine.habitual = true;
      for (auto& target : t.flagged) {
        const uint64_t key = habit::key_of(who, rule, target);
        habit::verdict v = habits_.check(key, e.time_ms());
        if (!v.habitual) routine.habitual = false;
        if (&target == &t.flagged.front() || v.earlier_days < routine.earlier_days)
          routine.earlier_days = v.earlier_days;  // the least established target
        routine.first_ms = std::max(routine.first_ms, v.first_ms);
        habits_.record(key, e.time_ms());
      }
    }
    finding f = make_finding(rule, e);
    if (t.public_all) {
      f.sev = severity::critical;
      f.summary = std::string(what) + " " + std::string(resource_id) + " made public.";
    } else {
      f.sev = share_severity(t.worst);
      f.summary = std::string(what) + " " + std::string(resource_id) + " shared with " +
                  (t.worst == acct_kind::external
                       ? (org_known() ? "an account outside the organization"
                                      : "an account seen nowhere else in the logs")
                       : (t.worst == acct_kind::org ? "an organization account"
                                                    : "another account of these logs")) +
                  ".";
    }
    f.ev.add(resource_key, resource_id)
        .add_bool("public", t.public_all)
        .add("addedAccounts", t.flagged)
        .add("accountClass", t.public_all ? "public" : kind_name(t.worst, org_known()));
    if (routine.habitual) {
      f.sev = severity::info;
      f.ev.add_json("habitual", habits_.evidence_json(routine));
      f.summary += " The same principal shared with " +
                   std::string(t.flagged.size() > 1 ? "these accounts" : "this account") + " on " +
                   std::to_string(routine.earlier_days) + " earlier days since " +
                   trailhound::baseline::iso_time(routine.first_ms) + " (its routine).";
    }
    f.dedup_key = std::string(resource_id);
    emit(f);
  }

  void on_ec2_share(const event& e, const char* rule, const char* attr, const char* id_key) {
    value req = e.request();
    value add = req[attr]["add"];
    share_targets t;
    std::vector<value> items;
    for (const auto& a : add.elements()) {
      if (a["items"].exists())
        for (const auto& it : a["items"].elements()) items.push_back(it);
      else
        items.push_back(a);
    }
    for (const auto& it : items) {
      std::string_view group = it["group"].str();
      if (group.empty()) group = it["groups"].str();
      if (iequals(group, "all")) t.public_all = true;
      add_target(e, t, it["userId"].str());
      for (const char* key : {"organizationArn", "organizationalUnitArn"})
        if (it[key].exists()) add_org_target(e, t, it[key].str());
    }
    // Legacy form: attribute=launchPermission, operationType=add, userId/userGroup.
    if (iequals(req["operationType"].str(), "add")) {
      for (auto& u : strings_of(req["userId"])) add_target(e, t, u);
      for (const auto& u : req["userIds"].elements()) add_target(e, t, u.str());
      for (auto& g : strings_of(req["userGroup"]))
        if (iequals(g, "all")) t.public_all = true;
    }
    std::string_view what = std::string_view(rule) == "ami-shared" ? "AMI" : "EBS snapshot";
    emit_share(e, rule, t, id_key, req[id_key].str(), what);
  }

  // ---------------------------------------------------------------------- RDS
  void on_rds_share(const event& e) {
    value req = e.request();
    if (!iequals(req["attributeName"].str(), "restore")) return;
    share_targets t;
    for (auto& v : strings_of(req["valuesToAdd"])) {
      if (iequals(v, "all"))
        t.public_all = true;
      else
        add_target(e, t, v);
    }
    bool cluster = e.name() == "ModifyDBClusterSnapshotAttribute";
    const char* key = cluster ? "dBClusterSnapshotIdentifier" : "dBSnapshotIdentifier";
    emit_share(e, "rds-snapshot-shared", t, key, req[key].str(),
               cluster ? "RDS cluster snapshot" : "RDS snapshot");
  }

  void on_rds_export(const event& e) {
    if (!alert_rds_export_) return;
    value req = e.request();
    finding f = make_finding("rds-export-to-s3", e);
    std::string_view bucket = req["s3BucketName"].str();
    std::string owner = owner_of_bucket(bucket);
    acct_kind k = owner.empty() ? acct_kind::none : classify(e, owner);
    if (k == acct_kind::external) f.sev = severity::high;
    f.summary = "RDS source " + std::string(req["sourceArn"].str()) + " exported to s3://" +
                std::string(bucket) + ".";
    f.ev.add("exportTaskIdentifier", req["exportTaskIdentifier"].str())
        .add("sourceArn", req["sourceArn"].str())
        .add("s3BucketName", bucket)
        .add("iamRoleArn", req["iamRoleArn"].str())
        .add("bucketAccountClass", k == acct_kind::none ? "unknown" : kind_name(k, org_known()));
    f.dedup_key = std::string(req["exportTaskIdentifier"].str());
    emit(f);
  }

  // ---------------------------------------------------------------------- DynamoDB
  void on_dynamodb_export(const event& e) {
    if (e.name() != "ExportTableToPointInTime") return;
    value req = e.request();
    std::string owner(req["s3BucketOwner"].str());
    std::string_view bucket = req["s3Bucket"].str();
    if (owner.empty()) owner = owner_of_bucket(bucket);
    acct_kind k = classify(e, owner);
    if (kind_rank(k) <= kind_rank(acct_kind::own)) return;
    if (k == acct_kind::org && !report_org_sharing_) return;  // expected inside the organization
    finding f = make_finding("dynamodb-export-external-account", e);
    f.sev = share_severity(k);
    f.summary = "Table " + std::string(req["tableArn"].str()) + " exported to bucket " +
                std::string(bucket) + " owned by " + owner + " (" + kind_name(k, org_known()) +
                ").";
    f.ev.add("tableArn", req["tableArn"].str())
        .add("s3Bucket", bucket)
        .add("s3BucketOwner", owner)
        .add("accountClass", kind_name(k, org_known()));
    f.dedup_key = std::string(req["tableArn"].str());
    emit(f);
  }

  // ---------------------------------------------------------------------- DataSync
  // The records of one CloudTrail file are unordered and files arrive minutes apart: a CreateTask
  // can be read before the CreateLocation* it copies to, a StartTaskExecution before its
  // CreateTask. Such calls wait (kReorderMs of event time) for the record that completes them.
  static constexpr int64_t kReorderMs = 15 * 60 * 1000;
  static constexpr size_t kMaxWaiting = 10000;
  struct waiting_call {
    int64_t time_ms = 0;
    finding f;  // prepared from the waiting event
    std::string task, source;
  };

  static bool external_location_call(std::string_view name) {
    return name == "CreateLocationObjectStorage" || name == "CreateLocationAzureBlob" ||
           name == "CreateLocationHdfs" || name == "CreateLocationSmb" ||
           name == "CreateLocationNfs";
  }
  void on_datasync(const event& e) {
    std::string_view name = e.name();
    value req = e.request();
    if (external_location_call(name)) {
      std::string_view loc = e.response()["locationArn"].str();
      if (!loc.empty() && external_locations_.size() < MAX_TRACKED)
        external_locations_.emplace(std::string(loc), std::string(name));
      std::string_view host = req["serverHostname"].str();
      if (host.empty()) host = req["containerUrl"].str();
      bool to_internet = name == "CreateLocationObjectStorage" || name == "CreateLocationAzureBlob";
      // NFS/SMB/HDFS are normally on-premises sources reached through an agent: medium only for
      // object storage and Azure, which are other clouds.
      if (to_internet) {
        finding f = make_finding("datasync-external-location", e);
        f.summary = "DataSync location created for storage outside AWS: " + std::string(host) + ".";
        f.ev.add("locationType", name.substr(std::string_view("CreateLocation").size()))
            .add("serverHostname", req["serverHostname"].str())
            .add("bucketName", req["bucketName"].str())
            .add("containerUrl", req["containerUrl"].str())
            .add("locationArn", loc);
        f.dedup_key = std::string(loc.empty() ? host : loc);
        emit(f);
      }
      // Tasks to this location read before it.
      auto w = waiting_tasks_.find(std::string(loc));
      if (loc.empty() || w == waiting_tasks_.end()) return;
      std::vector<waiting_call> tasks = std::move(w->second);
      waiting_tasks_.erase(w);
      for (auto& t : tasks) report_task(std::move(t.f), t.source, loc, name, t.task);
      return;
    }
    if (name == "CreateTask") {
      std::string_view dst = req["destinationLocationArn"].str();
      std::string_view task = e.response()["taskArn"].str();
      finding f = make_finding("datasync-task-to-external-location", e);
      auto it = external_locations_.find(std::string(dst));
      if (it != external_locations_.end()) {
        report_task(std::move(f), req["sourceLocationArn"].str(), dst, it->second, task);
      } else if (!dst.empty() && waiting_count_ < kMaxWaiting) {
        ++waiting_count_;
        waiting_tasks_[std::string(dst)].push_back(
            waiting_call{e.time_ms(), std::move(f), std::string(task),
                         std::string(req["sourceLocationArn"].str())});
      }
      return;
    }
    if (name == "StartTaskExecution") {
      std::string_view task = req["taskArn"].str();
      finding f = make_finding("datasync-task-to-external-location", e);
      auto it = external_tasks_.find(std::string(task));
      if (it != external_tasks_.end()) {
        report_start(std::move(f), task, it->second);
      } else if (!task.empty() && waiting_count_ < kMaxWaiting) {
        ++waiting_count_;
        waiting_starts_[std::string(task)].push_back(
            waiting_call{e.time_ms(), std::move(f), {}, {}});
      }
    }
  }
  // A task copying to an external location: reported, remembered, and its executions read before it
  // reported too.
  void report_task(finding f, std::string_view source, std::string_view dst,
                   std::string_view dst_type, std::string_view task) {
    if (!task.empty() && external_tasks_.size() < MAX_TRACKED)
      external_tasks_.emplace(std::string(task), std::string(dst));
    f.summary = "DataSync task created to copy " + std::string(source) +
                " to an external location (" + std::string(dst_type) + ").";
    f.ev.add("sourceLocationArn", source)
        .add("destinationLocationArn", dst)
        .add("destinationType", dst_type)
        .add("taskArn", task);
    f.dedup_key = std::string(task.empty() ? dst : task);
    emit(f);
    auto w = waiting_starts_.find(std::string(task));
    if (task.empty() || w == waiting_starts_.end()) return;
    std::vector<waiting_call> starts = std::move(w->second);
    waiting_starts_.erase(w);
    for (auto& s : starts) report_start(std::move(s.f), task, std::string(dst));
  }
  void report_start(finding f, std::string_view task, const std::string& dst) {
    f.summary = "DataSync task " + std::string(task) + " started, copying to an external location.";
    f.ev.add("taskArn", task).add("destinationLocationArn", dst);
    f.dedup_key = std::string(task) + "#start";
    emit(f);
  }
  // Forgets waiting calls older than kReorderMs: their counterpart is not coming.
  void expire_waiting(int64_t now_ms) {
    for (auto* m : {&waiting_tasks_, &waiting_starts_}) {
      for (auto it = m->begin(); it != m->end();) {
        auto& v = it->second;
        size_t before = v.size();
        v.erase(
            std::remove_if(v.begin(), v.end(),
                           [&](const waiting_call& w) { return w.time_ms < now_ms - kReorderMs; }),
            v.end());
        waiting_count_ -= before - v.size();
        it = v.empty() ? m->erase(it) : std::next(it);
      }
    }
  }

  bool alert_rds_export_;
  bool alert_acceleration_;
  bool report_org_sharing_;
  std::unordered_map<std::string, std::string> bucket_owner_;
  std::unordered_set<std::string> website_buckets_;
  std::unordered_map<std::string, std::string> external_locations_;  // arn -> CreateLocation*
  std::unordered_map<std::string, std::string> external_tasks_;      // task arn -> location arn
  // Calls read before the record that completes them (see on_datasync).
  std::unordered_map<std::string, std::vector<waiting_call>> waiting_tasks_;   // location arn
  std::unordered_map<std::string, std::vector<waiting_call>> waiting_starts_;  // task arn
  size_t waiting_count_ = 0;
  habit::book habits_;  // principal|rule|target account -> days it shared
};

}  // namespace

TRAILHOUND_MODULE("exfiltration-config", "1.0.0", exfiltration_config)
