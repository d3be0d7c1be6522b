// SPDX-License-Identifier: Apache-2.0
// privilege-escalation: IAM, STS, Roles Anywhere and Lambda changes that grant broad or outside
// access (admin policies, */* documents, passwords for others, admin groups, open role trust,
// backdoored Lambda functions).
#include <rapidjson/document.h>

#include <algorithm>
#include <optional>
#include <string>
#include <string_view>
#include <trailhound/policy.hpp>
#include <trailhound/sdk.hpp>
#include <trailhound/util.hpp>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace {
using namespace trailhound::sdk;
namespace util = trailhound::sdk::util;
namespace policy = trailhound::sdk::policy;

constexpr size_t MAX_KEYS = 50000;
constexpr size_t MAX_POLICY_EVIDENCE = 4000;

using util::account_of;
using util::to_lower;

// The name an ARN ends with ("arn:aws:iam::aws:policy/AdministratorAccess" -> the part after
// "policy/", path included: "job-function/ViewOnlyAccess").
std::string managed_policy_name(std::string_view arn) {
  size_t p = arn.find(":policy/");
  if (p == std::string_view::npos) return std::string(arn);
  return std::string(arn.substr(p + 8));
}
bool is_aws_managed_policy(std::string_view arn) {
  return arn.find(":iam::aws:policy/") != std::string_view::npos;
}

// ------------------------------------------------------------------------------------------
// Policy documents: JSON text in a string, sometimes URL-encoded; parsed with RapidJSON using
// typed getters only (DESIGN.md section 5) and read through policy::json_view.
// ------------------------------------------------------------------------------------------
using policy::json_view;
using policy::member_ci;
using policy::strings_of;

struct policy_doc {
  rapidjson::Document doc;
  std::string text;  // the decoded JSON text
  bool ok = false;
  json_view root() const { return json_view(&doc); }
};

void parse_policy_text(policy_doc& out, std::string_view raw) {
  constexpr unsigned flags = rapidjson::kParseCommentsFlag | rapidjson::kParseTrailingCommasFlag |
                             rapidjson::kParseValidateEncodingFlag;
  auto attempt = [&](std::string text) {
    size_t b = text.find_first_not_of(" \t\r\n");
    if (b == std::string::npos || text[b] != '{' || !policy::nesting_ok(text)) return false;
    out.doc.Parse<flags>(text.data(), text.size());
    if (out.doc.HasParseError() || !out.doc.IsObject()) return false;
    out.text = std::move(text);
    out.ok = true;
    return true;
  };
  if (attempt(std::string(raw))) return;
  if (raw.find('%') != std::string_view::npos) attempt(util::percent_decode(raw));
}

// A policy document from a requestParameters member: a JSON string (plain or URL-encoded) or,
// in some pipelines, an already-parsed object.
void load_policy(policy_doc& out, const value& v) {
  if (v.is_string())
    parse_policy_text(out, v.str());
  else if (v.is_object())
    parse_policy_text(out, v.json());
}

// Calls f(statement) for each statement object ("Statement": {...} or [...]); keys of any case.
template <class F>
void for_each_statement(const json_view& doc, F&& f) {
  for (const json_view& st : member_ci(doc, "Statement").elements())
    if (st.is_object()) f(st);
}

bool is_allow(const json_view& stmt) {
  return util::iequals(member_ci(stmt, "Effect").str(), "Allow");
}

// Lower-cased condition keys of a statement ("aws:principalorgid", "sts:externalid", ...).
std::vector<std::string> condition_keys(const json_view& stmt) {
  std::vector<std::string> keys;
  json_view cond = member_ci(stmt, "Condition");
  if (!cond.is_object()) return keys;
  for (uint32_t i = 0; i < cond.size(); ++i) {
    json_view op = cond.member_at(i);
    if (!op.is_object()) continue;
    for (uint32_t k = 0; k < op.size(); ++k) keys.push_back(to_lower(op.member_name(k)));
  }
  return keys;
}

struct broad_result {
  bool broad = false;
  std::string reason;  // e.g. "Action \"*\" on Resource \"*\""
  bool conditioned = false;
};

// A permissions policy that grants everything, or everything in IAM, on every resource.
broad_result analyze_permissions(const json_view& doc) {
  broad_result r;
  for_each_statement(doc, [&](const json_view& st) {
    if (r.broad && !r.conditioned) return;
    if (!is_allow(st)) return;
    std::string action_why;
    if (member_ci(st, "NotAction").exists()) {
      action_why = "Allow with NotAction";
    } else {
      for (const std::string& act : strings_of(member_ci(st, "Action"))) {
        std::string l = to_lower(act);
        if (l == "*" || l == "*:*" || l == "iam:*") {
          action_why = "Action \"" + act + "\"";
          break;
        }
      }
    }
    if (action_why.empty()) return;
    std::string res_why;
    if (member_ci(st, "NotResource").exists()) {
      res_why = "NotResource";
    } else {
      for (const std::string& x : strings_of(member_ci(st, "Resource")))
        if (x == "*") res_why = "Resource \"*\"";
    }
    if (res_why.empty()) return;
    bool conditioned = member_ci(st, "Condition").exists();
    if (!r.broad || (r.conditioned && !conditioned)) {
      r.broad = true;
      r.conditioned = conditioned;
      r.reason = action_why + " on " + res_why + (conditioned ? " (with a Condition)" : "");
    }
  });
  return r;
}

bool has_key(const std::vector<std::string>& keys, std::string_view k) {
  return std::find(keys.begin(), keys.end(), k) != keys.end();
}
bool has_key_prefix(const std::vector<std::string>& keys, std::string_view prefix) {
  for (auto& k : keys)
    if (k.starts_with(prefix)) return true;
  return false;
}
// Conditions that limit a "*" principal to the caller's organisation or accounts.
bool org_restricted(const std::vector<std::string>& keys) {
  for (std::string_view k :
       {"aws:principalorgid", "aws:principalorgpaths", "aws:principalaccount", "aws:sourceaccount",
        "aws:sourceorgid", "aws:sourceorgpaths", "aws:principalarn", "aws:sourcearn"})
    if (has_key(keys, k)) return true;
  return false;
}

struct trust_grant {
  enum kind_t { world, aws_account, federated } kind;
  std::string value;    // principal text
  std::string account;  // for account grants
  std::vector<std::string> cond_keys;
};

std::vector<trust_grant> trust_grants(const json_view& doc) {
  std::vector<trust_grant> out;
  for_each_statement(doc, [&](const json_view& st) {
    if (!is_allow(st)) return;
    bool assume = false;
    for (const std::string& act : strings_of(member_ci(st, "Action"))) {
      std::string l = to_lower(act);
      if (l.starts_with("sts:assumerole") || l == "sts:*" || l == "*") assume = true;
    }
    if (!assume) return;
    std::vector<std::string> keys = condition_keys(st);
    json_view pr = member_ci(st, "Principal");
    if (pr.is_string()) {
      if (pr.str() == "*") out.push_back({trust_grant::world, "*", "", keys});
      return;
    }
    if (!pr.is_object()) return;
    for (const std::string& p : strings_of(member_ci(pr, "AWS"))) {
      if (p == "*") {
        out.push_back({trust_grant::world, "*", "", keys});
        continue;
      }
      std::string acct(util::principal_account(p));
      if (!acct.empty()) out.push_back({trust_grant::aws_account, p, acct, keys});
    }
    for (const std::string& p : strings_of(member_ci(pr, "Federated")))
      out.push_back({trust_grant::federated, p, std::string(util::principal_account(p)), keys});
  });
  return out;
}

// Identity providers anyone can get a token from: a trust without a subject/audience condition
// on them admits the whole internet (any GitHub repository, any Google account...).
struct open_idp {
  const char* host;
  const char* required_key;  // condition key (lower case) that narrows it
};
constexpr open_idp OPEN_IDPS[] = {
    {"token.actions.githubusercontent.com", "token.actions.githubusercontent.com:sub"},
    {"gitlab.com", "gitlab.com:sub"},
    {"app.terraform.io", "app.terraform.io:sub"},
    {"accounts.google.com", "accounts.google.com:"},
    {"graph.facebook.com", "graph.facebook.com:"},
    {"www.amazon.com", "www.amazon.com:"},
    {"cognito-identity.amazonaws.com", "cognito-identity.amazonaws.com:aud"},
};

// ------------------------------------------------------------------------------------------
// The detector
// ------------------------------------------------------------------------------------------
class privilege_escalation final : public detector {
 public:
  static const detector_info& info() {
    static const detector_info i{
        "privilege-escalation",
        "1.0.0",
        "Privilege escalation and backdoor access",
        "Admin or */* policies granted, passwords set for other users, users added to admin "
        "groups, role trust opened to outside accounts or open identity providers, a new user "
        "made admin, broad federation tokens, Roles Anywhere trust anchors, and Lambda functions "
        "made public, re-coded or given layers from outside accounts.",
        {{"iam.amazonaws.com", "AttachUserPolicy"},
         {"iam.amazonaws.com", "AttachRolePolicy"},
         {"iam.amazonaws.com", "AttachGroupPolicy"},
         {"iam.amazonaws.com", "PutUserPolicy"},
         {"iam.amazonaws.com", "PutRolePolicy"},
         {"iam.amazonaws.com", "PutGroupPolicy"},
         {"iam.amazonaws.com", "CreatePolicy"},
         {"iam.amazonaws.com", "CreatePolicyVersion"},
         {"iam.amazonaws.com", "SetDefaultPolicyVersion"},
         {"iam.amazonaws.com", "CreateLoginProfile"},
         {"iam.amazonaws.com", "UpdateLoginProfile"},
         {"iam.amazonaws.com", "AddUserToGroup"},
         {"iam.amazonaws.com", "CreateUser"},
         {"iam.amazonaws.com", "CreateRole"},
         {"iam.amazonaws.com", "UpdateAssumeRolePolicy"},
         {"sts.amazonaws.com", "GetFederationToken"},
         {"rolesanywhere.amazonaws.com", "CreateTrustAnchor"},
         {"rolesanywhere.amazonaws.com", "UpdateTrustAnchor"},
         {"lambda.amazonaws.com", "*"}},
        {{"admin_policies", TH_PARAM_STRING_LIST,
          "[\"arn:aws:iam::aws:policy/AdministratorAccess\", "
          "\"arn:aws:iam::aws:policy/IAMFullAccess\", "
          "\"arn:aws:iam::aws:policy/AWSOrganizationsFullAccess\", "
          "\"arn:aws:iam::aws:policy/AdministratorAccess-Amplify\"]",
          "Managed policies (ARNs, or names of AWS managed policies) that amount to admin or IAM "
          "control: attaching one is high",
          false, 0, 0},
         {"broad_policies", TH_PARAM_STRING_LIST, "[\"arn:aws:iam::aws:policy/PowerUserAccess\"]",
          "Broad managed policies that are not IAM control: attaching one is medium", false, 0, 0},
         {"admin_group_patterns", TH_PARAM_STRING_LIST, "[\"*admin*\", \"*Admin*\"]",
          "Globs (case-insensitive) on group names treated as admin groups, besides groups seen "
          "receiving an admin or */* policy in the run",
          false, 0, 0},
         {"automation_principal_patterns", TH_PARAM_STRING_LIST,
          "[\"*terraform*\", \"*cloudformation*\", \"*cicd*\", \"*pipeline*\", \"*deploy*\", "
          "\"*github*\", \"*gitlab*\", \"*jenkins*\", \"*codebuild*\", \"*atlantis*\", "
          "\"*spacelift*\"]",
          "Globs (case-insensitive) on the caller ARN / role ARN of infrastructure-as-code and "
          "CI principals: IAM grants by them are one severity lower, Lambda code updates by them "
          "are not reported",
          false, 0, 0},
         {"new_user_window", TH_PARAM_DURATION, "\"1h\"",
          "A user created and given admin rights by the same caller within this window is one "
          "new-user-granted-admin chain finding",
          true, 60, 7 * 86400},
         {"trusted_layer_accounts", TH_PARAM_STRING_LIST,
          "[\"580247275435\", \"901920570463\", \"017000801446\", \"094274105915\", "
          "\"177933569100\", \"027255383542\", \"464622532012\", \"451483290750\"]",
          "Accounts that publish well-known Lambda layers (AWS Lambda Insights, ADOT, Powertools, "
          "Parameters and Secrets extension, AppConfig extension, Datadog, New Relic)",
          false, 0, 0}},
        {{"admin-policy-attached", severity::high, "Admin or broad managed policy attached",
          "T1098.003",
          "Attach{User,Role,Group}Policy of an admin_policies / broad_policies managed policy, or "
          "of a customer policy seen with a */* document earlier. Critical when a non-admin "
          "grants it to itself; one lower for admin, break-glass and automation callers."},
         {"broad-inline-policy", severity::high, "Inline policy grants */* or iam:*", "T1098.003",
          "Put{User,Role,Group}Policy with an Allow statement of Action */iam:* (or NotAction) "
          "on Resource * (or NotResource)."},
         {"broad-policy-version-default", severity::high,
          "Managed policy default version now grants */* or iam:*", "T1098.003",
          "CreatePolicyVersion with setAsDefault, or SetDefaultPolicyVersion of a version seen "
          "created with a */* or iam:* document: every principal with the policy gains it."},
         {"broad-policy-created", severity::low, "Customer managed policy created with */*",
          "T1098.003",
          "CreatePolicy with a */* or iam:* document. Low: it grants nothing until attached "
          "(the attach is admin-policy-attached)."},
         {"login-profile-for-other-user", severity::high,
          "Console password set for another IAM user", "T1098.001,T1078.004",
          "Create/UpdateLoginProfile where the caller is not the user. One lower for admin, "
          "break-glass and automation callers and when passwordResetRequired is true; low when "
          "the caller created the user shortly before (onboarding)."},
         {"added-to-admin-group", severity::high, "User added to an admin group", "T1098.003",
          "AddUserToGroup into a group seen receiving an admin / */* policy (high) or whose name "
          "matches admin_group_patterns (medium). Raised when users add themselves."},
         {"role-trust-external-account", severity::high,
          "Role trust admits an outside account or everyone", "T1484.002,T1098.003",
          "CreateRole / UpdateAssumeRolePolicy trusting Principal \"*\" (no org condition) or an "
          "AWS account outside org_account_ids (without org_account_ids: an account seen nowhere "
          "in the logs, medium). One lower with sts:ExternalId (vendor integrations)."},
         {"role-trust-open-federation", severity::high,
          "Role trust admits an open identity provider without a subject condition",
          "T1484.002,T1098.003",
          "A trust on GitHub Actions / GitLab / Terraform Cloud OIDC without a :sub condition, or "
          "on Google / Facebook / Amazon / Cognito without an audience condition: anyone with an "
          "account there can assume the role."},
         {"role-trust-new-federated-provider", severity::low,
          "Role trust names a federated provider not seen before", "T1484.002",
          "First trust policy in the run naming a given SAML / OIDC provider."},
         {"new-user-granted-admin", severity::high, "New IAM user created and made admin",
          "T1136.003,T1098.003",
          "CreateUser followed, by the same caller within new_user_window, by an admin policy, a "
          "*/* inline policy or an admin group for that user."},
         {"federation-token-broad-policy", severity::medium,
          "Federation token requested with a */* session policy", "T1078.004,T1550.001",
          "GetFederationToken with a */* or iam:* inline session policy or an admin managed "
          "session policy: the token carries all of the user's rights and outlives key "
          "deactivation. Without any policy the session has no permissions: not reported."},
         {"roles-anywhere-trust-anchor", severity::medium, "IAM Roles Anywhere trust anchor set",
          "T1098.001,T1484.002",
          "CreateTrustAnchor / UpdateTrustAnchor: certificates of that CA can obtain role "
          "credentials. High for an uploaded CERTIFICATE_BUNDLE or a Private CA of an outside "
          "account."},
         {"lambda-permission-public", severity::high, "Lambda function made invocable by anyone",
          "T1648,T1098",
          "AddPermission with principal \"*\" and no sourceArn / sourceAccount / principalOrgID."},
         {"lambda-code-updated", severity::low, "Lambda function code replaced", "T1648,T1525",
          "UpdateFunctionCode by a non-automation principal, once per caller and function. Medium "
          "for IAM users and root, or for an image from an outside account."},
         {"lambda-external-layer", severity::high,
          "Lambda function uses a layer of an outside account", "T1648,T1525",
          "CreateFunction / UpdateFunctionConfiguration with a layer of an account that is not "
          "the function's, not in org_account_ids and not in trusted_layer_accounts (without "
          "org_account_ids: an account seen nowhere in the logs, medium)."}}};
    return i;
  }

  privilege_escalation(const context& ctx, const config& cfg)
      : detector(ctx),
        admin_policies_(cfg.get_list("admin_policies")),
        broad_policies_(cfg.get_list("broad_policies")),
        admin_group_patterns_(cfg.get_list("admin_group_patterns")),
        automation_patterns_(cfg.get_list("automation_principal_patterns")),
        new_user_window_ms_(cfg.get_duration_ms("new_user_window")),
        trusted_layer_accounts_(cfg.get_list("trusted_layer_accounts")) {}

  void on_event(const event& e) override {
    if (e.failed()) return;       // nothing changed
    if (e.aws_service()) return;  // CloudFormation, SSO provisioning, service-linked roles...
    now_ms_ = std::max(now_ms_, e.time_ms());
    std::string_view src = e.source();
    std::string_view n = e.name();
    if (src == "iam.amazonaws.com") {
      if (n == "AttachUserPolicy" || n == "AttachRolePolicy" || n == "AttachGroupPolicy")
        on_attach(e);
      else if (n == "PutUserPolicy" || n == "PutRolePolicy" || n == "PutGroupPolicy")
        on_put_inline(e);
      else if (n == "CreatePolicy")
        on_create_policy(e);
      else if (n == "CreatePolicyVersion")
        on_create_policy_version(e);
      else if (n == "SetDefaultPolicyVersion")
        on_set_default_version(e);
      else if (n == "CreateLoginProfile" || n == "UpdateLoginProfile")
        on_login_profile(e);
      else if (n == "AddUserToGroup")
        on_add_to_group(e);
      else if (n == "CreateUser")
        on_create_user(e);
      else if (n == "CreateRole" || n == "UpdateAssumeRolePolicy")
        on_trust(e);
    } else if (src == "sts.amazonaws.com") {
      if (n == "GetFederationToken") on_federation_token(e);
    } else if (src == "rolesanywhere.amazonaws.com") {
      on_trust_anchor(e);
    } else if (src == "lambda.amazonaws.com") {
      if (n.starts_with("AddPermission"))
        on_lambda_permission(e);
      else if (n.starts_with("UpdateFunctionCode"))
        on_lambda_code(e);
      else if (n.starts_with("UpdateFunctionConfiguration") || n.starts_with("CreateFunction"))
        on_lambda_layers(e);
    }
  }

  void on_tick(int64_t now_ms) override {
    now_ms_ = std::max(now_ms_, now_ms);
    for (auto it = created_users_.begin(); it != created_users_.end();)
      it = (now_ms_ - it->second.time_ms > new_user_window_ms_) ? created_users_.erase(it)
                                                                : std::next(it);
    release_profiles(now_ms_, false);
    auto old = [&](const prepared& p) { return p.time_ms < now_ms_ - kReorderMs; };
    for (auto* v : {&pending_attaches_, &pending_defaults_, &pending_grants_, &pending_adds_})
      v->erase(std::remove_if(v->begin(), v->end(), old), v->end());
  }

  void on_flush() override { release_profiles(0, true); }

 private:
  // ----------------------------------------------------------------------------------------
  // Shared notions
  // ----------------------------------------------------------------------------------------
  struct actor {
    bool admin = false, break_glass = false, automation = false;
    bool trusted() const { return admin || break_glass || automation; }
    const char* why() const {
      return admin ? "admin principal"
                   : (break_glass ? "break-glass principal"
                                  : (automation ? "automation principal" : ""));
    }
  };
  actor actor_of(const event& e) const {
    actor a;
    std::string_view arn = e.principal_arn(), id = e.identity();
    a.admin = util::admin_caller(ctx(), e);
    a.break_glass = util::break_glass_caller(ctx(), e);
    a.automation = util::glob_any(automation_patterns_, arn, util::match_case::insensitive) ||
                   util::glob_any(automation_patterns_, id, util::match_case::insensitive);
    return a;
  }
  // The IAM name the caller itself has (IAM user name, or the role name of a role session).
  static std::string caller_user(const event& e) {
    if (e.identity_type() == "IAMUser") return std::string(e.user_name());
    return {};
  }
  static std::string caller_role(const event& e) {
    std::string_view issuer = e.session_issuer_arn();
    if (e.identity_type() != "AssumedRole" || issuer.empty()) return {};
    size_t slash = issuer.rfind('/');
    return std::string(slash == std::string_view::npos ? issuer : issuer.substr(slash + 1));
  }
  // An account that is outside the organisation. `medium_confidence` is set when that verdict
  // rests on "never seen in the logs" because org_account_ids is not configured.
  bool outside_account(std::string_view acct, std::string_view own, bool& medium_confidence) const {
    medium_confidence = false;
    if (acct.empty() || acct == own) return false;
    if (ctx().org_accounts_known()) return !ctx().is_org_account(acct);
    if (ctx().is_known_account(acct)) return false;
    medium_confidence = true;
    return true;
  }
  enum class policy_class { none, admin, broad };
  policy_class classify_managed(std::string_view arn) const {
    auto matches = [&](const std::vector<std::string>& list) {
      for (auto& p : list) {
        if (p.starts_with("arn:")) {
          if (p == arn) return true;
          // Same AWS managed policy in another partition (aws-cn, aws-us-gov).
          if (is_aws_managed_policy(p) && is_aws_managed_policy(arn) &&
              managed_policy_name(p) == managed_policy_name(arn))
            return true;
        } else if (is_aws_managed_policy(arn) && managed_policy_name(arn) == p) {
          return true;
        }
      }
      return false;
    };
    if (matches(admin_policies_)) return policy_class::admin;
    if (matches(broad_policies_)) return policy_class::broad;
    return policy_class::none;
  }
  template <class Set, class Key>
  static void remember(Set& s, Key&& k) {
    if (s.size() >= MAX_KEYS) s.clear();
    s.insert(std::forward<Key>(k));
  }
  static std::string clip(std::string_view s) {
    return std::string(s.substr(0, std::min(s.size(), MAX_POLICY_EVIDENCE)));
  }

  // ----------------------------------------------------------------------------------------
  // Managed policy attachment
  // ----------------------------------------------------------------------------------------
  // A call prepared as a finding before what decides it is known (it may be read later).
  struct prepared {
    finding f;  // make_finding(rule, e)
    int64_t time_ms = 0;
    actor a;
    bool self = false;
    std::string identity, principal, acct, kind, target, policy;
  };

  void on_attach(const event& e) {
    std::string_view policy = e.request()["policyArn"].str();
    if (policy.empty()) return;
    std::string why;
    policy_class cls = classify_managed(policy);
    if (cls == policy_class::none && broad_customer_policies_.count(std::string(policy))) {
      cls = policy_class::admin;
      why = "customer managed policy seen with a */* or iam:* document";
    }
    std::string_view n = e.name();
    prepared p;
    p.kind = n == "AttachUserPolicy" ? "user" : n == "AttachRolePolicy" ? "role" : "group";
    p.target = std::string(e.request()[p.kind + "Name"].str());
    p.f = make_finding("admin-policy-attached", e);
    p.time_ms = e.time_ms();
    p.a = actor_of(e);
    p.self = (p.kind == "user" && !p.target.empty() && caller_user(e) == p.target) ||
             (p.kind == "role" && !p.target.empty() && caller_role(e) == p.target);
    p.identity = std::string(e.identity());
    p.principal = std::string(e.principal_arn());
    p.acct = account_of(e);
    p.policy = std::string(policy);
    if (cls == policy_class::none) {
      // A customer managed policy whose broad CreatePolicy may still be read (kReorderMs).
      if (!is_aws_managed_policy(policy) && pending_attaches_.size() < MAX_KEYS)
        pending_attaches_.push_back(std::move(p));
      return;
    }
    report_attach(p, cls, why);
    if (p.kind == "user" && cls == policy_class::admin) check_new_user_chain(e, p.target, p.f);
  }

  void report_attach(prepared& p, policy_class cls, const std::string& why) {
    if (p.kind == "group" && cls == policy_class::admin) group_became_admin(p.acct, p.target);
    finding& f = p.f;
    f.sev = cls == policy_class::admin ? severity::high : severity::medium;
    if (p.self && !p.a.trusted()) f.sev = raise(f.sev);
    if (p.a.trusted()) f.sev = lower(f.sev);
    f.summary = p.identity + " attached " + p.policy + " to " + p.kind + " " + p.target +
                (p.self ? " (itself)" : "") +
                (p.a.trusted() ? std::string(" (") + p.a.why() + ")" : std::string()) + ".";
    f.dedup_key = p.target + "|" + p.policy;
    f.ev.add("policyArn", p.policy)
        .add(p.kind + "Name", p.target)
        .add("policyClass", cls == policy_class::admin ? "admin" : "broad")
        .add_bool("selfGrant", p.self)
        .add("callerArn", p.principal);
    if (!why.empty()) f.ev.add("reason", why);
    if (p.a.trusted()) f.ev.add("trustedCaller", p.a.why());
    emit(f);
  }

  // ----------------------------------------------------------------------------------------
  // Inline and customer managed policy documents
  // ----------------------------------------------------------------------------------------
  void on_put_inline(const event& e) {
    policy_doc pd;
    load_policy(pd, e.request()["policyDocument"]);
    if (!pd.ok) return;
    broad_result br = analyze_permissions(pd.root());
    if (!br.broad) return;
    std::string_view n = e.name();
    std::string target_kind = n == "PutUserPolicy"   ? "user"
                              : n == "PutRolePolicy" ? "role"
                                                     : "group";
    std::string_view target = e.request()[target_kind + "Name"].str();
    std::string acct = account_of(e);
    if (target_kind == "group") group_became_admin(acct, std::string(target));
    actor a = actor_of(e);
    bool self = (target_kind == "user" && !target.empty() && caller_user(e) == target) ||
                (target_kind == "role" && !target.empty() && caller_role(e) == target);
    finding f = make_finding("broad-inline-policy", e);
    if (self && !a.trusted()) f.sev = raise(f.sev);
    if (a.trusted() || br.conditioned) f.sev = lower(f.sev);
    f.summary = std::string(e.identity()) + " put inline policy " +
                std::string(e.request()["policyName"].str()) + " on " + target_kind + " " +
                std::string(target) + ": " + br.reason + (self ? " (itself)" : "") +
                (a.trusted() ? std::string(" (") + a.why() + ")" : std::string()) + ".";
    f.dedup_key = std::string(target) + "|" + std::string(e.request()["policyName"].str());
    f.ev.add(target_kind + "Name", target)
        .add("policyName", e.request()["policyName"].str())
        .add("reason", br.reason)
        .add_bool("selfGrant", self)
        .add("callerArn", e.principal_arn())
        .add("policyDocument", clip(pd.text));
    if (a.trusted()) f.ev.add("trustedCaller", a.why());
    emit(f);
    if (target_kind == "user") check_new_user_chain(e, target, f);
  }

  void on_create_policy(const event& e) {
    policy_doc pd;
    load_policy(pd, e.request()["policyDocument"]);
    if (!pd.ok) return;
    broad_result br = analyze_permissions(pd.root());
    if (!br.broad) return;
    std::string_view arn = e.response().path("policy.arn").str();
    if (!arn.empty()) {
      remember(broad_customer_policies_, std::string(arn));
      // Attachments of this policy read before its creation.
      for (auto it = pending_attaches_.begin(); it != pending_attaches_.end();) {
        if (it->policy != arn) {
          ++it;
          continue;
        }
        report_attach(*it, policy_class::admin,
                      "customer managed policy created with a */* or iam:* document");
        it = pending_attaches_.erase(it);
      }
    }
    finding f = make_finding("broad-policy-created", e);
    f.summary = std::string(e.identity()) + " created managed policy " +
                std::string(e.request()["policyName"].str()) + " granting " + br.reason +
                "; attaching it grants admin rights.";
    f.dedup_key = std::string(arn.empty() ? e.request()["policyName"].str() : arn);
    f.ev.add("policyName", e.request()["policyName"].str())
        .add("policyArn", arn)
        .add("reason", br.reason)
        .add("policyDocument", clip(pd.text));
    emit(f);
  }

  void on_create_policy_version(const event& e) {
    policy_doc pd;
    load_policy(pd, e.request()["policyDocument"]);
    if (!pd.ok) return;
    broad_result br = analyze_permissions(pd.root());
    if (!br.broad) return;
    std::string arn(e.request()["policyArn"].str());
    bool as_default = e.request()["setAsDefault"].as_bool(false);
    std::string_view version = e.response().path("policyVersion.versionId").str();
    if (!as_default) {
      // Not active yet: remember it for a later SetDefaultPolicyVersion, or report one read before
      // it.
      if (!version.empty()) remember(broad_versions_, arn + "|" + std::string(version));
      for (auto it = pending_defaults_.begin(); it != pending_defaults_.end(); ++it) {
        if (it->policy != arn || it->target != version || version.empty()) continue;
        report_default_version(*it, "version created with a */* or iam:* document: " + br.reason,
                               pd.text);
        pending_defaults_.erase(it);
        break;
      }
      return;
    }
    report_default_version(e, arn, version, br.reason, pd.text);
  }

  void on_set_default_version(const event& e) {
    std::string arn(e.request()["policyArn"].str());
    std::string_view version = e.request()["versionId"].str();
    prepared p;
    p.f = make_finding("broad-policy-version-default", e);
    p.time_ms = e.time_ms();
    p.a = actor_of(e);
    p.identity = std::string(e.identity());
    p.policy = arn;
    p.target = std::string(version);
    auto it = broad_versions_.find(arn + "|" + std::string(version));
    if (it == broad_versions_.end()) {
      // The CreatePolicyVersion of a broad version may still be read (kReorderMs).
      if (pending_defaults_.size() < MAX_KEYS) pending_defaults_.push_back(std::move(p));
      return;
    }
    report_default_version(p, "version created earlier with a */* or iam:* document", "");
  }

  void report_default_version(const event& e, const std::string& arn, std::string_view version,
                              const std::string& reason, const std::string& text) {
    prepared p;
    p.f = make_finding("broad-policy-version-default", e);
    p.a = actor_of(e);
    p.identity = std::string(e.identity());
    p.policy = arn;
    p.target = std::string(version);
    report_default_version(p, reason, text);
  }

  void report_default_version(prepared& p, const std::string& reason, const std::string& text) {
    const std::string& arn = p.policy;
    const std::string& version = p.target;
    const actor& a = p.a;
    finding& f = p.f;
    remember(broad_customer_policies_, arn);
    if (a.trusted()) f.sev = lower(f.sev);
    f.summary = p.identity + " made version " + version + " of " + arn + " the default: " + reason +
                ". Every principal with this policy gains it.";
    f.dedup_key = arn + "|" + std::string(version);
    f.ev.add("policyArn", arn).add("versionId", version).add("reason", reason);
    if (!text.empty()) f.ev.add("policyDocument", clip(text));
    if (a.trusted()) f.ev.add("trustedCaller", a.why());
    emit(f);
  }

  // ----------------------------------------------------------------------------------------
  // Users: passwords, groups, new users
  // ----------------------------------------------------------------------------------------
  struct created_user {
    std::string creator;  // e.identity() of the creator
    int64_t time_ms = 0;
    std::string event_id;
    bool reported = false;
  };

  void on_create_user(const event& e) {
    std::string_view user = e.request()["userName"].str();
    if (user.empty()) return;
    if (created_users_.size() >= MAX_KEYS) created_users_.clear();
    std::string key = account_of(e) + "|" + std::string(user);
    created_user& c = created_users_[key];
    c = created_user{std::string(e.identity()), e.time_ms(), std::string(e.id()), false};
    // Steps on this user read before its CreateUser (unordered records, late files).
    auto follows = [&](const prepared& p) {
      int64_t dt = p.time_ms - c.time_ms;
      return p.acct + "|" + p.target == key && p.identity == c.creator && dt >= -5 * 60 * 1000 &&
             dt <= new_user_window_ms_;
    };
    for (auto it = pending_grants_.begin(); it != pending_grants_.end(); ++it) {
      if (!follows(*it) || c.reported) continue;
      c.reported = true;
      report_new_user_admin(*it, c);
      pending_grants_.erase(it);
      break;
    }
    for (auto it = held_profiles_.begin(); it != held_profiles_.end();) {
      if (!follows(*it)) {
        ++it;
        continue;
      }
      // onboarding: the caller created this user moments before
      it->f.sev = severity::low;
      it->f.summary.pop_back();  // "."
      it->f.summary += " (user created by the same caller moments before).";
      it->f.ev.add_bool("userCreatedByCaller", true);
      emit(it->f);
      it = held_profiles_.erase(it);
    }
  }

  // A user created by the same caller shortly before, or nullptr.
  created_user* created_by_caller(const event& e, std::string_view user) {
    auto it = created_users_.find(account_of(e) + "|" + std::string(user));
    if (it == created_users_.end()) return nullptr;
    created_user& c = it->second;
    int64_t dt = e.time_ms() - c.time_ms;
    if (c.creator != e.identity() || dt < -5 * 60 * 1000 || dt > new_user_window_ms_)
      return nullptr;
    return &c;
  }

  void check_new_user_chain(const event& e, std::string_view user, const finding& grant) {
    created_user* c = created_by_caller(e, user);
    if (c && c->reported) return;
    prepared p;
    p.f = make_finding("new-user-granted-admin", e);
    p.time_ms = e.time_ms();
    p.a = actor_of(e);
    p.identity = std::string(e.identity());
    p.principal = std::string(e.principal_arn());
    p.acct = account_of(e);
    p.target = std::string(user);
    p.kind = std::string(e.name());  // the grant event
    p.policy = grant.rule;           // the grant's rule
    if (!c) {
      // Its CreateUser may still be read (kReorderMs).
      if (pending_grants_.size() < MAX_KEYS) pending_grants_.push_back(std::move(p));
      return;
    }
    c->reported = true;
    report_new_user_admin(p, *c);
  }

  void report_new_user_admin(prepared& p, const created_user& c) {
    finding& f = p.f;
    f.event_ids.insert(f.event_ids.begin(), c.event_id);
    f.event_names.insert(f.event_names.begin(), "CreateUser");
    f.first_seen_ms = std::min(f.first_seen_ms, c.time_ms);
    if (p.a.trusted()) f.sev = lower(f.sev);
    int64_t dt = (p.time_ms - c.time_ms) / 1000;
    f.summary = p.identity + " created IAM user " + p.target + " and within " + std::to_string(dt) +
                " s granted it admin rights (" + p.kind + ").";
    f.dedup_key = p.acct + "|" + p.target;
    f.ev.add("userName", p.target)
        .add("grantEvent", p.kind)
        .add("grantRule", p.policy)
        .add("secondsAfterCreateUser", dt)
        .add("callerArn", p.principal);
    if (p.a.trusted()) f.ev.add("trustedCaller", p.a.why());
    emit(f);
  }

  void on_login_profile(const event& e) {
    std::string_view target = e.request()["userName"].str();
    if (target.empty()) return;  // the caller's own profile
    if (caller_user(e) == target) return;
    actor a = actor_of(e);
    bool reset_required = e.request()["passwordResetRequired"].as_bool(false);
    created_user* c = created_by_caller(e, target);
    finding f = make_finding("login-profile-for-other-user", e);
    if (c) {
      f.sev = severity::low;  // onboarding: the caller created this user moments ago
    } else {
      if (a.trusted()) f.sev = lower(f.sev);
      if (reset_required) f.sev = lower(f.sev);
    }
    bool create = e.name() == "CreateLoginProfile";
    f.summary = std::string(e.identity()) +
                (create ? " created a console password for " : " reset the console password of ") +
                "IAM user " + std::string(target) +
                (reset_required ? " (reset required at next sign-in)" : "") +
                (c ? " (user created by the same caller moments before)" : "") +
                (a.trusted() && !c ? std::string(" (") + a.why() + ")" : std::string()) + ".";
    f.dedup_key = std::string(target);
    f.ev.add("userName", target)
        .add_bool("passwordResetRequired", reset_required)
        .add("callerArn", e.principal_arn());
    if (a.trusted()) f.ev.add("trustedCaller", a.why());
    if (c || held_profiles_.size() >= MAX_KEYS || e.time_ms() <= 0) {
      f.ev.add_bool("userCreatedByCaller", c != nullptr);
      emit(f);
      return;
    }
    // The caller's CreateUser of this user may still be read (onboarding): held kHoldMs.
    prepared p;
    p.f = std::move(f);
    p.time_ms = e.time_ms();
    p.identity = std::string(e.identity());
    p.acct = account_of(e);
    p.target = std::string(target);
    held_profiles_.push_back(std::move(p));
  }

  void release_profiles(int64_t now_ms, bool all) {
    for (auto it = held_profiles_.begin(); it != held_profiles_.end();) {
      if (!all && now_ms < it->time_ms + kHoldMs) {
        ++it;
        continue;
      }
      it->f.ev.add_bool("userCreatedByCaller", false);
      emit(it->f);
      it = held_profiles_.erase(it);
    }
  }

  void on_add_to_group(const event& e) {
    std::string_view group = e.request()["groupName"].str();
    std::string_view user = e.request()["userName"].str();
    if (group.empty()) return;
    std::string acct = account_of(e);
    bool known_admin = admin_groups_.count(acct + "|" + std::string(group)) > 0;
    bool by_name = util::glob_any(admin_group_patterns_, group, util::match_case::insensitive);
    prepared p;
    p.f = make_finding("added-to-admin-group", e);
    p.time_ms = e.time_ms();
    p.a = actor_of(e);
    p.self = !user.empty() && caller_user(e) == user;
    p.identity = std::string(e.identity());
    p.principal = std::string(e.principal_arn());
    p.acct = acct;
    p.kind = std::string(group);
    p.target = std::string(user);
    if (!known_admin && !by_name) {
      // The policy that makes this group admin may still be read (kReorderMs).
      if (pending_adds_.size() < MAX_KEYS) pending_adds_.push_back(std::move(p));
      return;
    }
    report_add_to_group(p, known_admin);
    if (known_admin && !user.empty()) check_new_user_chain(e, user, p.f);
  }

  void report_add_to_group(prepared& p, bool known_admin) {
    finding& f = p.f;
    const std::string& group = p.kind;
    const std::string& user = p.target;
    f.sev = known_admin ? severity::high : severity::medium;
    if (p.self && !p.a.trusted()) f.sev = raise(f.sev);
    if (p.a.trusted()) f.sev = lower(f.sev);
    f.summary = p.identity + " added " + (p.self ? "itself" : "user " + user) + " to group " +
                group +
                (known_admin ? " (the group received an admin or */* policy in these logs)"
                             : " (admin by name)") +
                (p.a.trusted() ? std::string(" (") + p.a.why() + ")" : std::string()) + ".";
    f.dedup_key = group + "|" + user;
    f.ev.add("groupName", group)
        .add("userName", user)
        .add("matchedBy", known_admin ? "admin-policy-seen" : "group-name-pattern")
        .add_bool("selfGrant", p.self)
        .add("callerArn", p.principal);
    if (p.a.trusted()) f.ev.add("trustedCaller", p.a.why());
    emit(f);
  }

  // A group received an admin or */* policy: remembered, and members added to it just before (read
  // before the grant) reported.
  void group_became_admin(const std::string& acct, const std::string& group) {
    remember(admin_groups_, acct + "|" + group);
    for (auto it = pending_adds_.begin(); it != pending_adds_.end();) {
      if (it->acct != acct || it->kind != group) {
        ++it;
        continue;
      }
      report_add_to_group(*it, true);
      it = pending_adds_.erase(it);
    }
  }

  // ----------------------------------------------------------------------------------------
  // Role trust
  // ----------------------------------------------------------------------------------------
  void on_trust(const event& e) {
    bool create = e.name() == "CreateRole";
    policy_doc pd;
    load_policy(pd, e.request()[create ? "assumeRolePolicyDocument" : "policyDocument"]);
    if (!pd.ok) return;
    std::string_view role = e.request()["roleName"].str();
    std::string own = account_of(e);
    std::vector<trust_grant> grants = trust_grants(pd.root());

    std::vector<std::string> outside, world;
    bool any_medium = false, all_external_id = true;
    for (auto& g : grants) {
      if (g.kind == trust_grant::world) {
        if (org_restricted(g.cond_keys)) continue;
        world.push_back(g.value);
        if (!has_key(g.cond_keys, "sts:externalid")) all_external_id = false;
      } else if (g.kind == trust_grant::aws_account) {
        if (org_restricted(g.cond_keys) && !ctx().org_accounts_known()) continue;
        bool medium = false;
        if (!outside_account(g.account, own, medium)) continue;
        if (std::find(outside.begin(), outside.end(), g.value) != outside.end()) continue;
        std::string key = own + "|" + std::string(role) + "|" + g.account;
        if (trusted_pairs_.count(key)) continue;  // already reported in this run
        remember(trusted_pairs_, key);
        outside.push_back(g.value);
        any_medium = any_medium || medium;
        if (!has_key(g.cond_keys, "sts:externalid")) all_external_id = false;
      }
    }
    if (!world.empty() || !outside.empty()) {
      finding f = make_finding("role-trust-external-account", e);
      if (world.empty() && any_medium) f.sev = severity::medium;
      if (all_external_id) f.sev = lower(f.sev);
      std::vector<std::string> principals = world;
      principals.insert(principals.end(), outside.begin(), outside.end());
      std::string list = util::join(principals);
      f.summary = std::string(e.identity()) +
                  (create ? " created role " : " changed the trust of role ") + std::string(role) +
                  " to admit " + list + (world.empty() ? "" : " (any AWS principal)") +
                  (all_external_id ? " (sts:ExternalId required)" : "") + ".";
      f.dedup_key = std::string(role) + "|" + list;
      f.ev.add("roleName", role)
          .add("trustedPrincipals", principals)
          .add_bool("anyPrincipal", !world.empty())
          .add_bool("externalIdRequired", all_external_id)
          .add_bool("orgAccountsKnown", ctx().org_accounts_known())
          .add("callerArn", e.principal_arn())
          .add("policyDocument", clip(pd.text));
      emit(f);
    }

    for (auto& g : grants) {
      if (g.kind != trust_grant::federated) continue;
      std::string lower_provider = to_lower(g.value);
      bool reported_open = false;
      for (auto& idp : OPEN_IDPS) {
        if (lower_provider.find(idp.host) == std::string::npos) continue;
        if (has_key_prefix(g.cond_keys, idp.required_key)) break;
        finding f = make_finding("role-trust-open-federation", e);
        f.summary = std::string(e.identity()) +
                    (create ? " created role " : " changed the trust of role ") +
                    std::string(role) + " to admit " + g.value + " without a condition on " +
                    idp.required_key + ": anyone with a token from this provider can assume it.";
        f.dedup_key = std::string(role) + "|" + g.value;
        f.ev.add("roleName", role)
            .add("federatedProvider", g.value)
            .add("missingConditionKey", idp.required_key)
            .add("conditionKeys", g.cond_keys)
            .add("callerArn", e.principal_arn())
            .add("policyDocument", clip(pd.text));
        emit(f);
        reported_open = true;
        break;
      }
      std::string key = own + "|" + g.value;
      if (seen_providers_.count(key)) continue;
      remember(seen_providers_, key);
      if (reported_open) continue;
      finding f = make_finding("role-trust-new-federated-provider", e);
      f.summary = std::string(e.identity()) +
                  (create ? " created role " : " changed the trust of role ") + std::string(role) +
                  " to admit federated provider " + g.value +
                  ", not named in any earlier trust policy of these logs.";
      f.dedup_key = key;
      f.ev.add("roleName", role)
          .add("federatedProvider", g.value)
          .add("conditionKeys", g.cond_keys)
          .add("callerArn", e.principal_arn());
      emit(f);
    }
  }

  // ----------------------------------------------------------------------------------------
  // STS federation tokens
  // ----------------------------------------------------------------------------------------
  void on_federation_token(const event& e) {
    std::string reason;
    std::string text;
    policy_doc pd;
    load_policy(pd, e.request()["policy"]);
    if (pd.ok) {
      broad_result br = analyze_permissions(pd.root());
      if (br.broad) {
        reason = "session policy: " + br.reason;
        text = pd.text;
      }
    }
    std::vector<std::string> managed;
    for (auto& p : e.request()["policyArns"].elements()) {
      std::string_view arn = p["arn"].str();
      if (arn.empty()) arn = p.str();
      if (!arn.empty()) managed.emplace_back(arn);
      if (reason.empty() && !arn.empty() &&
          (classify_managed(arn) == policy_class::admin ||
           broad_customer_policies_.count(std::string(arn))))
        reason = "managed session policy " + std::string(arn);
    }
    if (reason.empty()) return;
    finding f = make_finding("federation-token-broad-policy", e);
    bool untrusted_ip = ctx().trusted_cidrs_known() && !ctx().is_trusted_ip(e.source_ip());
    if (untrusted_ip) f.sev = raise(f.sev);
    f.summary = std::string(e.identity()) + " obtained a federation token named " +
                std::string(e.request()["name"].str()) + " with " + reason +
                (untrusted_ip ? " from outside trusted_cidrs" : "") + ".";
    f.ev.add("name", e.request()["name"].str())
        .add("durationSeconds", e.request()["durationSeconds"].as_int(0))
        .add("reason", reason)
        .add("policyArns", managed)
        .add("federatedUserArn", e.response().path("federatedUser.arn").str())
        .add_bool("outsideTrustedCidrs", untrusted_ip);
    if (!text.empty()) f.ev.add("policy", clip(text));
    emit(f);
  }

  // ----------------------------------------------------------------------------------------
  // IAM Roles Anywhere
  // ----------------------------------------------------------------------------------------
  void on_trust_anchor(const event& e) {
    std::string_view n = e.name();
    if (n != "CreateTrustAnchor" && n != "UpdateTrustAnchor") return;
    value source = e.request()["source"];
    std::string_view type = source["sourceType"].str();
    if (n == "UpdateTrustAnchor" && !source.exists()) return;  // name change only
    std::string_view pca = source.path("sourceData.acmPcaArn").str();
    std::string own = account_of(e);
    std::string pca_account(util::principal_account(pca));
    bool medium = false;
    bool outside_pca = !pca_account.empty() && outside_account(pca_account, own, medium);
    finding f = make_finding("roles-anywhere-trust-anchor", e);
    if (type == "CERTIFICATE_BUNDLE" || outside_pca) f.sev = severity::high;
    std::string_view name = e.request()["name"].str();
    if (name.empty()) name = e.response().path("trustAnchor.name").str();
    f.summary = std::string(e.identity()) + (n == "CreateTrustAnchor" ? " created" : " updated") +
                " IAM Roles Anywhere trust anchor " + std::string(name) + " (" +
                std::string(type.empty() ? "unknown source" : type) + ")" +
                (outside_pca ? " on a Private CA of account " + pca_account : std::string()) +
                ": certificates from that CA can obtain role credentials.";
    f.ev.add("name", name)
        .add("sourceType", type)
        .add("acmPcaArn", pca)
        .add_bool("outsideAccountCa", outside_pca)
        .add("trustAnchorArn", e.response().path("trustAnchor.trustAnchorArn").str())
        .add("callerArn", e.principal_arn());
    emit(f);
  }

  // ----------------------------------------------------------------------------------------
  // Lambda
  // ----------------------------------------------------------------------------------------
  static std::string function_key(const event& e) {
    std::string_view fn = e.request()["functionName"].str();
    if (fn.starts_with("arn:")) return std::string(fn);
    return account_of(e) + "|" + std::string(e.region()) + "|" + std::string(fn);
  }

  void on_lambda_permission(const event& e) {
    value req = e.request();
    if (req["principal"].str() != "*") return;
    if (!req["sourceArn"].str().empty() || !req["sourceAccount"].str().empty() ||
        !req["principalOrgID"].str().empty())
      return;
    actor a = actor_of(e);
    std::string_view url_auth = req["functionUrlAuthType"].str();
    finding f = make_finding("lambda-permission-public", e);
    if (a.trusted()) f.sev = lower(f.sev);
    f.summary = std::string(e.identity()) + " allowed anyone (\"*\") to call " +
                std::string(req["action"].str()) + " on function " +
                std::string(req["functionName"].str()) +
                (url_auth == "NONE" ? " through an unauthenticated function URL" : "") +
                (a.trusted() ? std::string(" (") + a.why() + ")" : std::string()) + ".";
    f.dedup_key = function_key(e) + "|" + std::string(req["statementId"].str());
    f.ev.add("functionName", req["functionName"].str())
        .add("action", req["action"].str())
        .add("principal", "*")
        .add("statementId", req["statementId"].str())
        .add("functionUrlAuthType", url_auth)
        .add("callerArn", e.principal_arn());
    if (a.trusted()) f.ev.add("trustedCaller", a.why());
    emit(f);
  }

  void on_lambda_code(const event& e) {
    actor a = actor_of(e);
    if (a.automation) return;  // CI/CD deploys are the daily normal
    std::string key = std::string(e.identity()) + "|" + function_key(e);
    if (code_updates_.count(key)) return;
    remember(code_updates_, key);
    value req = e.request();
    std::string_view image = req["imageUri"].str();
    // <account>.dkr.ecr.<region>.amazonaws.com/<repo>...
    std::string image_account;
    if (image.size() > 12 && util::is_account_id(image.substr(0, 12)) && image[12] == '.')
      image_account = std::string(image.substr(0, 12));
    bool medium = false;
    bool outside_image =
        !image_account.empty() && outside_account(image_account, account_of(e), medium);
    bool human_key =
        (e.identity_type() == "IAMUser" && e.access_key_id().starts_with("AKIA")) || e.is_root();
    finding f = make_finding("lambda-code-updated", e);
    if (human_key || outside_image) f.sev = severity::medium;
    if (a.admin || a.break_glass) f.sev = lower(f.sev);
    f.summary =
        std::string(e.identity()) + " replaced the code of function " +
        std::string(req["functionName"].str()) +
        (outside_image ? " with an image of outside account " + image_account : std::string()) +
        (human_key ? " using long-term credentials" : "") + ".";
    f.dedup_key = key;
    f.ev.add("functionName", req["functionName"].str())
        .add("s3Bucket", req["s3Bucket"].str())
        .add("s3Key", req["s3Key"].str())
        .add("imageUri", image)
        .add("codeSha256", e.response()["codeSha256"].str())
        .add_bool("longTermCredentials", human_key)
        .add_bool("outsideAccountImage", outside_image)
        .add("callerArn", e.principal_arn());
    emit(f);
  }

  void on_lambda_layers(const event& e) {
    value req = e.request();
    std::string own = account_of(e);
    std::vector<std::string> outside;
    bool any_high = false;
    for (auto& l : req["layers"].elements()) {
      std::string_view arn = l.str();
      if (arn.empty()) arn = l["arn"].str();
      std::string acct(util::principal_account(arn));
      if (acct.empty()) continue;
      if (std::find(trusted_layer_accounts_.begin(), trusted_layer_accounts_.end(), acct) !=
          trusted_layer_accounts_.end())
        continue;
      bool medium = false;
      if (!outside_account(acct, own, medium)) continue;
      outside.emplace_back(arn);
      any_high = any_high || !medium;
    }
    if (outside.empty()) return;
    finding f = make_finding("lambda-external-layer", e);
    if (!any_high) f.sev = severity::medium;
    std::string list = util::join(outside);
    f.summary = std::string(e.identity()) + " gave function " +
                std::string(req["functionName"].str()) + " layer(s) of outside accounts: " + list +
                ". Layer code runs inside the function with its role.";
    f.dedup_key = function_key(e) + "|" + list;
    f.ev.add("functionName", req["functionName"].str())
        .add("outsideLayers", outside)
        .add_bool("orgAccountsKnown", ctx().org_accounts_known())
        .add("callerArn", e.principal_arn());
    emit(f);
  }

  // ----------------------------------------------------------------------------------------
  std::vector<std::string> admin_policies_, broad_policies_, admin_group_patterns_,
      automation_patterns_;
  int64_t new_user_window_ms_;
  std::vector<std::string> trusted_layer_accounts_;
  int64_t now_ms_ = 0;
  std::unordered_set<std::string> admin_groups_;                 // account|group
  std::unordered_set<std::string> broad_customer_policies_;      // policy ARN
  std::unordered_set<std::string> broad_versions_;               // policy ARN|versionId
  std::unordered_set<std::string> trusted_pairs_;                // account|role|trusted account
  std::unordered_set<std::string> seen_providers_;               // account|provider
  std::unordered_set<std::string> code_updates_;                 // caller|function
  std::unordered_map<std::string, created_user> created_users_;  // account|user
  // Order independence: the records of one CloudTrail file are unordered and files arrive minutes
  // apart, so a step can be read before the one that gives it its meaning. It waits kReorderMs of
  // event time for it (findings on hold: kHoldMs).
  static constexpr int64_t kReorderMs = 15 * 60 * 1000;
  static constexpr int64_t kHoldMs = 5 * 60 * 1000;
  std::vector<prepared> pending_attaches_;  // customer policy not (yet) known broad
  std::vector<prepared> pending_defaults_;  // SetDefaultPolicyVersion, version not yet seen
  std::vector<prepared> pending_grants_;    // admin grant to a user whose CreateUser is unseen
  std::vector<prepared> pending_adds_;      // AddUserToGroup, group not (yet) admin
  std::vector<prepared> held_profiles_;     // login profiles for other users
};

}  // namespace

TRAILHOUND_MODULE("privilege-escalation", "1.0.0", privilege_escalation)
