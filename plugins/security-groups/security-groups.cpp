// SPDX-License-Identifier: Apache-2.0
// Security groups and network ACLs opened to the Internet or to networks outside trusted_cidrs.
#include <algorithm>
#include <cstdint>
#include <optional>
#include <set>
#include <stdexcept>
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

// ------------------------------------------------------------------------------------------
// Small helpers: port lists and severities from the config
// ------------------------------------------------------------------------------------------
namespace sgdetail {

std::set<int64_t> parse_ports(const std::vector<std::string>& list, const char* param) {
  std::set<int64_t> out;
  for (auto& s : list) {
    std::string_view t = util::trim(s);
    int64_t v = 0;
    bool ok = !t.empty() && t.size() <= 5;
    for (char c : t) {
      if (c < '0' || c > '9')
        ok = false;
      else
        v = v * 10 + (c - '0');
    }
    if (!ok || v > 65535)
      throw std::invalid_argument(std::string(param) + ": not a port number: \"" + s + "\"");
    out.insert(v);
  }
  return out;
}

std::optional<severity> parse_severity(std::string_view s, const char* param) {
  std::string l = util::to_lower(util::trim(s));
  if (l == "none" || l == "off" || l == "") return std::nullopt;
  if (l == "info") return severity::info;
  if (l == "low") return severity::low;
  if (l == "medium") return severity::medium;
  if (l == "high") return severity::high;
  if (l == "critical") return severity::critical;
  throw std::invalid_argument(std::string(param) +
                              ": expected info, low, medium, high, critical or none");
}

}  // namespace sgdetail

using util::cidr;

// One permission (protocol + port range) towards one CIDR, read from a request.
struct permission {
  std::string protocol;  // as written in the request ("tcp", "6", "-1"...)
  bool has_from = false, has_to = false;
  int64_t from = 0, to = 0;
  std::string cidr_text;
  std::string rule_id;  // ModifySecurityGroupRules: the rule being changed
  std::string description;
};

enum class proto_kind { all, tcp_udp, icmp, other };

proto_kind classify_protocol(std::string_view p) {
  std::string l = util::to_lower(util::trim(p));
  if (l.empty() || l == "-1" || l == "all") return proto_kind::all;
  if (l == "tcp" || l == "6" || l == "udp" || l == "17") return proto_kind::tcp_udp;
  if (l == "icmp" || l == "1" || l == "icmpv6" || l == "58") return proto_kind::icmp;
  return proto_kind::other;
}

// What a permission exposes.
enum class exposure_kind { all_ports, admin, database, wide_range, other, web, icmp };

const char* exposure_name(exposure_kind k) {
  switch (k) {
    case exposure_kind::all_ports:
      return "all-ports";
    case exposure_kind::admin:
      return "admin-port";
    case exposure_kind::database:
      return "database-port";
    case exposure_kind::wide_range:
      return "wide-port-range";
    case exposure_kind::other:
      return "other-port";
    case exposure_kind::web:
      return "web-port";
    case exposure_kind::icmp:
      return "icmp";
  }
  return "other-port";
}

// Where the CIDR points.
enum class scope_kind { world, wide, untrusted, none };

const char* scope_name(scope_kind s) {
  switch (s) {
    case scope_kind::world:
      return "world";
    case scope_kind::wide:
      return "very-wide-public-range";
    case scope_kind::untrusted:
      return "outside-trusted-cidrs";
    case scope_kind::none:
      return "none";
  }
  return "none";
}

struct exposure {
  permission perm;
  exposure_kind kind = exposure_kind::other;
  scope_kind scope = scope_kind::none;
  std::vector<int64_t> sensitive_ports;  // admin/database ports inside the range
  std::optional<severity> sev;
};

class security_groups final : public detector {
 public:
  static const detector_info& info() {
    static const detector_info i{
        "security-groups",
        "1.0.0",
        "Security groups and network ACLs opened to the Internet",
        "Security group ingress rules (AuthorizeSecurityGroupIngress, ModifySecurityGroupRules) "
        "and network ACL entries that open ports to 0.0.0.0/0, ::/0, very wide public ranges or "
        "networks outside trusted_cidrs, graded by what is exposed; new security groups opened "
        "right after creation; egress restrictions revoked.",
        {{"ec2.amazonaws.com", "AuthorizeSecurityGroupIngress"},
         {"ec2.amazonaws.com", "ModifySecurityGroupRules"},
         {"ec2.amazonaws.com", "AuthorizeSecurityGroupEgress"},
         {"ec2.amazonaws.com", "RevokeSecurityGroupEgress"},
         {"ec2.amazonaws.com", "CreateSecurityGroup"},
         {"ec2.amazonaws.com", "CreateNetworkAclEntry"},
         {"ec2.amazonaws.com", "ReplaceNetworkAclEntry"}},
        {{"admin_ports", TH_PARAM_STRING_LIST,
          "[\"22\", \"3389\", \"23\", \"445\", \"2375\", \"2376\", \"5900\", \"5985\", \"5986\"]",
          "Remote administration ports (SSH, RDP, telnet, SMB, Docker API, VNC, WinRM): exposing "
          "them is graded high"},
         {"database_ports", TH_PARAM_STRING_LIST,
          "[\"3306\", \"5432\", \"1433\", \"1521\", \"27017\", \"6379\", \"9200\", \"11211\"]",
          "Database and cache ports (MySQL, PostgreSQL, SQL Server, Oracle, MongoDB, Redis, "
          "Elasticsearch, memcached): exposing them is graded high"},
         {"web_ports", TH_PARAM_STRING_LIST, "[\"80\", \"443\"]",
          "Ports of a public web server: world-open is normal and reported at "
          "world_open_web_severity"},
         {"world_open_web_severity", TH_PARAM_STRING, "\"info\"",
          "Severity of a world-open rule that exposes only web_ports: info, low, medium, high, "
          "critical, or none (not reported)"},
         {"window", TH_PARAM_DURATION, "\"1h\"",
          "How long after CreateSecurityGroup an opening ingress rule counts as "
          "security-group-created-and-opened, and after an egress revoke an allow-all egress "
          "counts as egress-restrictions-replaced"},
         {"wide_ipv4_prefix", TH_PARAM_INT, "8",
          "A public IPv4 CIDR with a prefix length at most this is treated as near-world "
          "(reported without trusted_cidrs)",
          true, 1, 24},
         {"wide_ipv6_prefix", TH_PARAM_INT, "16",
          "A public IPv6 CIDR with a prefix length at most this is treated as near-world", true, 1,
          64}},
        {{"security-group-ingress-world-open", severity::high,
          "Security group ingress opened to the Internet", "T1562.007,T1133",
          "AuthorizeSecurityGroupIngress or ModifySecurityGroupRules allowing 0.0.0.0/0, ::/0 or "
          "a very wide public range. Critical for all traffic, high for admin/database ports or "
          "wide port ranges, medium for other ports, world_open_web_severity for web ports only; "
          "one step lower for a very wide (not /0) range."},
         {"security-group-ingress-untrusted-cidr", severity::medium,
          "Security group ingress opened to a network outside trusted_cidrs", "T1562.007,T1133",
          "Only with trusted_cidrs: a public CIDR that is neither world-wide nor inside "
          "trusted_cidrs gets admin/database/all ports (medium) or other ports (low)."},
         {"security-group-created-and-opened", severity::critical,
          "New security group opened to the Internet within the window of its creation",
          "T1562.007,T1133",
          "CreateSecurityGroup followed within `window` by a world-open or untrusted ingress rule "
          "(not web-only) on the new group: replaces the plain ingress finding, one severity "
          "step higher."},
         {"security-group-egress-revoked", severity::low,
          "Restrictive security group egress rules revoked", "T1562.007",
          "RevokeSecurityGroupEgress of rules other than the default allow-all (revoking the "
          "default allow-all is hardening and is not reported)."},
         {"security-group-egress-restrictions-replaced", severity::medium,
          "Security group egress restrictions replaced with allow-all", "T1562.007",
          "AuthorizeSecurityGroupEgress of all traffic to 0.0.0.0/0 or ::/0 within `window` after "
          "restrictive egress rules of the same group were revoked."},
         {"network-acl-world-open-ingress", severity::medium,
          "Network ACL ingress entry allows traffic from the Internet", "T1562.007,T1133",
          "CreateNetworkAclEntry/ReplaceNetworkAclEntry: inbound allow from 0.0.0.0/0 or ::/0. "
          "Medium for admin/database ports (and all traffic on a replaced entry), low for all "
          "traffic and other ports; ephemeral return-traffic ranges (from >= 1024) and web ports "
          "are not reported."}},
        0,
        60000};
    return i;
  }

  security_groups(const context& ctx, const config& cfg)
      : detector(ctx),
        admin_ports_(sgdetail::parse_ports(cfg.get_list("admin_ports"), "admin_ports")),
        db_ports_(sgdetail::parse_ports(cfg.get_list("database_ports"), "database_ports")),
        web_ports_(sgdetail::parse_ports(cfg.get_list("web_ports"), "web_ports")),
        web_sev_(sgdetail::parse_severity(cfg.get_string("world_open_web_severity"),
                                          "world_open_web_severity")),
        window_ms_(cfg.get_duration_ms("window")),
        wide_v4_(static_cast<int>(cfg.get_int("wide_ipv4_prefix"))),
        wide_v6_(static_cast<int>(cfg.get_int("wide_ipv6_prefix"))) {
    if (window_ms_ <= 0) window_ms_ = 3600 * 1000;
  }

  void on_event(const event& e) override {
    std::string_view name = e.name();
    // Learn rule directions from every successful response, AWS services (CloudFormation...)
    // included: a rule they created may later be modified by hand.
    if (e.succeeded() &&
        (name == "AuthorizeSecurityGroupIngress" || name == "AuthorizeSecurityGroupEgress"))
      learn_rule_ids(e);
    if (e.aws_service()) return;
    if (e.failed()) return;  // nothing changed (includes DryRunOperation)
    if (name == "CreateSecurityGroup")
      on_create_group(e);
    else if (name == "AuthorizeSecurityGroupIngress")
      on_ingress(e, read_ip_permissions(e));
    else if (name == "ModifySecurityGroupRules")
      on_modify_rules(e);
    else if (name == "RevokeSecurityGroupEgress")
      on_revoke_egress(e);
    else if (name == "AuthorizeSecurityGroupEgress")
      on_authorize_egress(e);
    else if (name == "CreateNetworkAclEntry" || name == "ReplaceNetworkAclEntry")
      on_nacl_entry(e);
  }

  void on_tick(int64_t now_ms) override {
    release_opens(now_ms, false);
    evict(now_ms);
  }
  void on_flush() override { release_opens(0, true); }

 private:
  // ---------------------------------------------------------------------------------------
  // Reading requests
  // ---------------------------------------------------------------------------------------
  static std::string str_of(const value& v) {
    if (v.is_string()) return std::string(v.str());
    if (v.is_number()) return std::to_string(v.as_int());
    return {};
  }

  static void set_ports(permission& p, const value& from, const value& to) {
    if (from.is_number() || (from.is_string() && !from.str().empty())) {
      p.has_from = true;
      p.from = from.as_int(-1);
    }
    if (to.is_number() || (to.is_string() && !to.str().empty())) {
      p.has_to = true;
      p.to = to.as_int(-1);
    }
  }

  // "items" may be an array, a single object, or absent (then the node itself may be a list).
  static std::vector<value> items_of(const value& v) {
    value items = v["items"];
    if (items.exists() && !items.is_null()) return items.elements();
    if (v.is_array()) return v.elements();
    return {};
  }

  // Request permissions of AuthorizeSecurityGroupIngress/Egress and RevokeSecurityGroupEgress:
  // both the ipPermissions.items[] shape and the old top-level cidrIp/fromPort/toPort shape.
  static std::vector<permission> read_ip_permissions(const event& e) {
    std::vector<permission> out;
    value req = e.request();
    for (const value& ip : items_of(req["ipPermissions"])) {
      permission base;
      base.protocol = str_of(ip["ipProtocol"]);
      set_ports(base, ip["fromPort"], ip["toPort"]);
      for (const value& r : items_of(ip["ipRanges"])) {
        std::string c = str_of(r["cidrIp"]);
        if (c.empty()) continue;
        permission p = base;
        p.cidr_text = c;
        p.description = str_of(r["description"]);
        out.push_back(std::move(p));
      }
      for (const value& r : items_of(ip["ipv6Ranges"])) {
        std::string c = str_of(r["cidrIpv6"]);
        if (c.empty()) continue;
        permission p = base;
        p.cidr_text = c;
        p.description = str_of(r["description"]);
        out.push_back(std::move(p));
      }
      // userIdGroupPairs (groups) and prefixListIds carry no CIDR: not an Internet exposure.
    }
    std::string top = str_of(req["cidrIp"]);
    if (!top.empty()) {
      permission p;
      p.protocol = str_of(req["ipProtocol"]);
      set_ports(p, req["fromPort"], req["toPort"]);
      p.cidr_text = top;
      out.push_back(std::move(p));
    }
    if (out.empty() && e.name() == "AuthorizeSecurityGroupIngress") {
      // Fall back to the rules the response says were created.
      for (const value& r : items_of(e.response()["securityGroupRuleSet"])) {
        if (r["isEgress"].as_bool(false)) continue;
        std::string c = str_of(r["cidrIpv4"]);
        if (c.empty()) c = str_of(r["cidrIpv6"]);
        if (c.empty()) continue;
        permission p;
        p.protocol = str_of(r["ipProtocol"]);
        set_ports(p, r["fromPort"], r["toPort"]);
        p.cidr_text = c;
        p.rule_id = str_of(r["securityGroupRuleId"]);
        out.push_back(std::move(p));
      }
    }
    return out;
  }

  static std::string group_id_of(const event& e) {
    value req = e.request();
    std::string g = str_of(req["groupId"]);
    if (g.empty()) g = str_of(req["GroupId"]);
    if (g.empty()) {
      for (const value& r : items_of(e.response()["securityGroupRuleSet"])) {
        g = str_of(r["groupId"]);
        if (!g.empty()) break;
      }
    }
    return g;
  }

  void learn_rule_ids(const event& e) {
    for (const value& r : items_of(e.response()["securityGroupRuleSet"])) {
      std::string id = str_of(r["securityGroupRuleId"]);
      if (id.empty()) continue;
      if (rule_egress_.size() >= kMaxRules) rule_egress_.clear();
      rule_egress_[id] = r["isEgress"].as_bool(e.name() == "AuthorizeSecurityGroupEgress");
    }
  }

  // ---------------------------------------------------------------------------------------
  // Classification
  // ---------------------------------------------------------------------------------------
  scope_kind scope_of(const cidr& c) const {
    if (!c.valid || util::is_private_range(c)) return scope_kind::none;
    // A /0 or /1 (half of the address space, the usual split used to dodge "0.0.0.0/0" checks)
    // is the world.
    if (c.prefix <= 1) return scope_kind::world;
    if (c.prefix <= (c.v6 ? wide_v6_ : wide_v4_)) return scope_kind::wide;
    if (!ctx().trusted_cidrs_known()) return scope_kind::none;
    return scope_kind::untrusted;  // trusted ones are filtered by the caller
  }

  exposure_kind kind_of(const permission& p, std::vector<int64_t>& sensitive) const {
    proto_kind pk = classify_protocol(p.protocol);
    if (pk == proto_kind::all) return exposure_kind::all_ports;
    if (pk == proto_kind::icmp) return exposure_kind::icmp;
    if (pk == proto_kind::other) return exposure_kind::other;
    int64_t from = p.has_from ? p.from : 0;
    int64_t to = p.has_to ? p.to : 65535;
    if (from < 0) from = 0;
    if (to < 0 || to > 65535) to = 65535;
    if (to < from) std::swap(from, to);
    if (from <= 1 && to >= 65535) return exposure_kind::all_ports;
    bool admin = false, db = false;
    for (auto it = admin_ports_.lower_bound(from); it != admin_ports_.end() && *it <= to; ++it) {
      sensitive.push_back(*it);
      admin = true;
    }
    for (auto it = db_ports_.lower_bound(from); it != db_ports_.end() && *it <= to; ++it) {
      sensitive.push_back(*it);
      db = true;
    }
    std::sort(sensitive.begin(), sensitive.end());
    sensitive.erase(std::unique(sensitive.begin(), sensitive.end()), sensitive.end());
    if (admin) return exposure_kind::admin;
    if (db) return exposure_kind::database;
    if (to - from + 1 >= 1000) return exposure_kind::wide_range;
    bool all_web = to - from < 16;
    for (int64_t port = from; all_web && port <= to; ++port)
      if (!web_ports_.count(port)) all_web = false;
    if (all_web) return exposure_kind::web;
    return exposure_kind::other;
  }

  std::optional<severity> severity_of(exposure_kind k, scope_kind s) const {
    if (k == exposure_kind::icmp || s == scope_kind::none) return std::nullopt;
    if (s == scope_kind::untrusted) {
      switch (k) {
        case exposure_kind::all_ports:
        case exposure_kind::admin:
        case exposure_kind::database:
        case exposure_kind::wide_range:
          return severity::medium;
        case exposure_kind::other:
          return severity::low;
        default:
          return std::nullopt;
      }
    }
    std::optional<severity> base;
    switch (k) {
      case exposure_kind::all_ports:
        base = severity::critical;
        break;
      case exposure_kind::admin:
      case exposure_kind::database:
      case exposure_kind::wide_range:
        base = severity::high;
        break;
      case exposure_kind::other:
        base = severity::medium;
        break;
      case exposure_kind::web:
        if (s != scope_kind::world) return std::nullopt;
        return web_sev_;
      default:
        return std::nullopt;
    }
    if (s == scope_kind::wide) base = lower(*base);
    return base;
  }

  std::vector<exposure> evaluate(const std::vector<permission>& perms) const {
    std::vector<exposure> out;
    for (const permission& p : perms) {
      cidr c = util::parse_cidr(p.cidr_text);
      scope_kind s = scope_of(c);
      if (s == scope_kind::none) continue;
      if (s != scope_kind::world && ctx().trusted_cidrs_known() &&
          ctx().is_trusted_ip(util::trim(p.cidr_text)))
        continue;
      exposure x;
      x.perm = p;
      x.scope = s;
      x.kind = kind_of(p, x.sensitive_ports);
      x.sev = severity_of(x.kind, s);
      if (!x.sev) continue;
      out.push_back(std::move(x));
    }
    return out;
  }

  static std::string exposures_json(const std::vector<exposure>& xs) {
    std::string out = "[";
    for (size_t i = 0; i < xs.size(); ++i) {
      const exposure& x = xs[i];
      if (i) out.push_back(',');
      out += "{\"cidr\":";
      out += util::json_quote(x.perm.cidr_text);
      out += ",\"ipProtocol\":";
      out += util::json_quote(x.perm.protocol.empty() ? "-1" : x.perm.protocol);
      if (x.perm.has_from) out += ",\"fromPort\":" + std::to_string(x.perm.from);
      if (x.perm.has_to) out += ",\"toPort\":" + std::to_string(x.perm.to);
      out += ",\"exposure\":";
      out += util::json_quote(exposure_name(x.kind));
      out += ",\"scope\":";
      out += util::json_quote(scope_name(x.scope));
      if (!x.sensitive_ports.empty()) {
        out += ",\"sensitivePorts\":[";
        for (size_t j = 0; j < x.sensitive_ports.size(); ++j) {
          if (j) out.push_back(',');
          out += std::to_string(x.sensitive_ports[j]);
        }
        out.push_back(']');
      }
      if (!x.perm.rule_id.empty()) {
        out += ",\"securityGroupRuleId\":";
        out += util::json_quote(x.perm.rule_id);
      }
      if (!x.perm.description.empty()) {
        out += ",\"description\":";
        out += util::json_quote(x.perm.description);
      }
      out.push_back('}');
    }
    out.push_back(']');
    return out;
  }

  static std::string describe(const exposure& x) {
    std::string proto = x.perm.protocol.empty() ? "-1" : x.perm.protocol;
    std::string what;
    if (classify_protocol(proto) == proto_kind::all) {
      what = "all traffic";
    } else if (x.perm.has_from && x.perm.has_to && x.perm.from == x.perm.to) {
      what = proto + " " + std::to_string(x.perm.from);
    } else {
      what = proto + " " + (x.perm.has_from ? std::to_string(x.perm.from) : std::string("0")) +
             "-" + (x.perm.has_to ? std::to_string(x.perm.to) : std::string("65535"));
    }
    return what + " from " + x.perm.cidr_text + " (" + exposure_name(x.kind) + ")";
  }

  // ---------------------------------------------------------------------------------------
  // Handlers
  // ---------------------------------------------------------------------------------------
  void on_create_group(const event& e) {
    std::string gid = str_of(e.response()["groupId"]);
    if (gid.empty()) return;
    if (created_.size() >= kMaxGroups) evict(e.time_ms());
    if (created_.size() >= kMaxGroups) created_.clear();
    created_group c;
    c.time_ms = e.time_ms();
    c.event_id = std::string(e.id());
    c.group_name = str_of(e.request()["groupName"]);
    c.vpc_id = str_of(e.request()["vpcId"]);
    c.principal = std::string(e.principal_arn());
    created_[gid] = c;
    // Out-of-order delivery: the opening rule may have been seen first.
    auto it = recent_opens_.find(gid);
    if (it != recent_opens_.end()) {
      const recent_open& o = it->second;
      if (o.time_ms >= c.time_ms - kSlackMs && o.time_ms - c.time_ms <= window_ms_ &&
          !o.created_reported) {
        emit_created_and_opened(gid, c, o.exposures, o.event_id, o.event_name, o.time_ms, o.account,
                                o.region, o.principal, o.source_ip, o.user_agent, o.break_glass,
                                nullptr);
        it->second.created_reported = true;
        for (auto& h : held_opens_)
          if (h.group_id == gid) h.superseded = true;
      }
    }
  }

  void on_ingress(const event& e, const std::vector<permission>& perms, bool direction_known = true,
                  const std::string& group_override = {}) {
    std::vector<exposure> xs = evaluate(perms);
    if (xs.empty()) return;
    std::string gid = group_override.empty() ? group_id_of(e) : group_override;
    std::string gname = str_of(e.request()["groupName"]);
    bool bg = util::break_glass_caller(ctx(), e);

    // ModifySecurityGroupRules does not say whether the rule is ingress or egress; an unknown
    // rule changed to exactly the default egress shape (all traffic to the world) is most likely
    // an egress rule: lower it.
    if (!direction_known) {
      for (auto& x : xs)
        if (x.kind == exposure_kind::all_ports && x.scope == scope_kind::world &&
            classify_protocol(x.perm.protocol) == proto_kind::all)
          x.sev = lower(*x.sev);
    }

    // Created-and-opened supersedes the plain findings for exposures other than web-only.
    auto cit = gid.empty() ? created_.end() : created_.find(gid);
    if (cit != created_.end()) {
      int64_t dt = e.time_ms() - cit->second.time_ms;
      if (dt >= -kSlackMs && dt <= window_ms_) {
        std::vector<exposure> serious, rest;
        for (auto& x : xs) (x.kind == exposure_kind::web ? rest : serious).push_back(x);
        if (!serious.empty()) {
          emit_created_and_opened(gid, cit->second, serious, std::string(e.id()),
                                  std::string(e.name()), e.time_ms(), account_of(e),
                                  std::string(e.region()), std::string(e.principal_arn()),
                                  std::string(e.source_ip()), std::string(e.user_agent()), bg, &e);
          xs = std::move(rest);
        }
      }
    }

    std::vector<exposure> world, untrusted;
    for (auto& x : xs) (x.scope == scope_kind::untrusted ? untrusted : world).push_back(x);
    std::vector<exposure> serious;
    if (!gid.empty() && cit == created_.end()) {
      for (auto& x : world)
        if (x.kind != exposure_kind::web) serious.push_back(x);
      for (auto& x : untrusted) serious.push_back(x);
    }
    // (An event at or before the epoch carries no usable time: nothing to wait for.)
    if (serious.empty() || held_opens_.size() >= kMaxGroups || e.time_ms() <= 0) {
      if (!world.empty())
        emit(build_ingress("security-group-ingress-world-open", e, gid, gname, world, bg,
                           direction_known));
      if (!untrusted.empty())
        emit(build_ingress("security-group-ingress-untrusted-cidr", e, gid, gname, untrusted, bg,
                           direction_known));
    } else {
      // A CreateSecurityGroup read late (unordered records, late files) supersedes the plain
      // findings as in the forward order: they are held kSlackMs of event time.
      held_open h;
      h.group_id = gid;
      h.time_ms = e.time_ms();
      if (!world.empty())
        h.all.push_back(build_ingress("security-group-ingress-world-open", e, gid, gname, world, bg,
                                      direction_known));
      if (!untrusted.empty())
        h.all.push_back(build_ingress("security-group-ingress-untrusted-cidr", e, gid, gname,
                                      untrusted, bg, direction_known));
      std::vector<exposure> web;
      for (auto& x : world)
        if (x.kind == exposure_kind::web) web.push_back(x);
      if (!web.empty())
        h.rest.push_back(build_ingress("security-group-ingress-world-open", e, gid, gname, web, bg,
                                       direction_known));
      held_opens_.push_back(std::move(h));
    }

    // Remember serious openings for out-of-order CreateSecurityGroup.
    if (!gid.empty() && cit == created_.end()) {
      if (!serious.empty()) {
        if (recent_opens_.size() >= kMaxGroups) evict(e.time_ms());
        if (recent_opens_.size() >= kMaxGroups) recent_opens_.clear();
        recent_open o;
        o.time_ms = e.time_ms();
        o.event_id = std::string(e.id());
        o.event_name = std::string(e.name());
        o.account = account_of(e);
        o.region = std::string(e.region());
        o.principal = std::string(e.principal_arn());
        o.source_ip = std::string(e.source_ip());
        o.user_agent = std::string(e.user_agent());
        o.break_glass = bg;
        o.exposures = std::move(serious);
        recent_opens_[gid] = std::move(o);
      }
    }
  }

  static severity max_sev(const std::vector<exposure>& xs) {
    severity s = severity::info;
    for (auto& x : xs)
      if (x.sev && static_cast<int>(*x.sev) > static_cast<int>(s)) s = *x.sev;
    return s;
  }

  finding build_ingress(const char* rule, const event& e, const std::string& gid,
                        const std::string& gname, const std::vector<exposure>& xs, bool bg,
                        bool direction_known) {
    finding f = make_finding(rule, e);
    f.sev = max_sev(xs);
    if (bg) f.sev = lower(f.sev);
    std::string target =
        gid.empty() ? (gname.empty() ? std::string("a security group") : gname) : gid;
    f.summary = std::string(e.name()) + " opened " + target + " to " + describe(xs.front());
    if (xs.size() > 1) f.summary += " and " + std::to_string(xs.size() - 1) + " more";
    f.summary += " (by " + std::string(e.identity()) + ").";
    f.ev.add("groupId", gid);
    if (!gname.empty()) f.ev.add("groupName", gname);
    f.ev.add_json("exposures", exposures_json(xs));
    if (!direction_known) f.ev.add("ruleDirection", "unknown (not learned from this log)");
    f.ev.add("callerArn", e.principal_arn());
    if (bg) f.ev.add_bool("breakGlass", true);
    f.dedup_key = gid;
    return f;
  }

  // Plain ingress findings of a group whose CreateSecurityGroup may still be read: `all` unless
  // it is, then only `rest` (web ports, which created-and-opened does not cover).
  struct held_open {
    std::string group_id;
    int64_t time_ms = 0;
    bool superseded = false;
    std::vector<finding> all, rest;
  };

  void release_opens(int64_t now_ms, bool everything) {
    for (auto it = held_opens_.begin(); it != held_opens_.end();) {
      if (!everything && now_ms < it->time_ms + kSlackMs) {
        ++it;
        continue;
      }
      for (auto& f : it->superseded ? it->rest : it->all) emit(f);
      it = held_opens_.erase(it);
    }
  }

  struct created_group {
    int64_t time_ms = 0;
    std::string event_id, group_name, vpc_id, principal;
  };
  struct recent_open {
    int64_t time_ms = 0;
    std::string event_id, event_name, account, region, principal, source_ip, user_agent;
    bool break_glass = false;
    bool created_reported = false;
    std::vector<exposure> exposures;
  };

  // `open_event` is the opening rule when it is the current event; null when the
  // CreateSecurityGroup arrived late and the opening rule was remembered.
  void emit_created_and_opened(const std::string& gid, const created_group& c,
                               const std::vector<exposure>& xs, const std::string& open_event_id,
                               const std::string& open_event_name, int64_t open_time_ms,
                               const std::string& account, const std::string& region,
                               const std::string& principal, const std::string& source_ip,
                               const std::string& user_agent, bool bg, const event* open_event) {
    finding f = open_event ? make_finding("security-group-created-and-opened", *open_event)
                           : ctx().make_finding("security-group-created-and-opened");
    if (open_event) {
      f.event_ids.clear();
      f.event_names.clear();
      f.first_seen_ms = f.last_seen_ms = 0;
    }
    f.with_event(c.event_id, "CreateSecurityGroup", c.time_ms);
    f.with_event(open_event_id, open_event_name, open_time_ms);
    f.account_id = account;
    f.region = region;
    f.principal = principal;
    f.source_ip = source_ip;
    f.user_agent = user_agent;
    f.sev = raise(max_sev(xs));
    if (bg) f.sev = lower(f.sev);
    f.summary = "Security group " + gid + (c.group_name.empty() ? "" : " (" + c.group_name + ")") +
                " was created and within " + std::to_string((open_time_ms - c.time_ms) / 1000) +
                "s opened to " + describe(xs.front()) +
                (xs.size() > 1 ? " and " + std::to_string(xs.size() - 1) + " more" : "") + ".";
    f.ev.add("groupId", gid);
    if (!c.group_name.empty()) f.ev.add("groupName", c.group_name);
    if (!c.vpc_id.empty()) f.ev.add("vpcId", c.vpc_id);
    f.ev.add("createdBy", c.principal);
    f.ev.add("openedBy", principal);
    f.ev.add("openedWith", open_event_name);
    f.ev.add("secondsAfterCreation", (open_time_ms - c.time_ms) / 1000);
    f.ev.add_json("exposures", exposures_json(xs));
    if (bg) f.ev.add_bool("breakGlass", true);
    f.dedup_key = gid;
    emit(f);
  }

  void on_modify_rules(const event& e) {
    value req = e.request()["ModifySecurityGroupRulesRequest"];
    if (req.missing()) req = e.request();
    std::string gid = str_of(req["GroupId"]);
    if (gid.empty()) gid = str_of(req["groupId"]);
    value rules = req["SecurityGroupRule"];
    if (rules.missing()) rules = req["SecurityGroupRules"];
    std::vector<permission> known_ingress, unknown_dir;
    for (const value& r : rules.elements()) {
      value spec = r["SecurityGroupRule"];
      if (spec.missing()) continue;
      std::string c = str_of(spec["CidrIpv4"]);
      if (c.empty()) c = str_of(spec["CidrIpv6"]);
      if (c.empty()) continue;  // referenced group or prefix list
      permission p;
      p.protocol = str_of(spec["IpProtocol"]);
      set_ports(p, spec["FromPort"], spec["ToPort"]);
      p.cidr_text = c;
      p.rule_id = str_of(r["SecurityGroupRuleId"]);
      p.description = str_of(spec["Description"]);
      auto it = rule_egress_.find(p.rule_id);
      if (it == rule_egress_.end())
        unknown_dir.push_back(std::move(p));
      else if (!it->second)
        known_ingress.push_back(std::move(p));
      // known egress: not an ingress exposure
    }
    if (!known_ingress.empty()) on_ingress(e, known_ingress, true, gid);
    if (!unknown_dir.empty()) on_ingress(e, unknown_dir, false, gid);
  }

  static bool is_default_egress(const permission& p) {
    if (classify_protocol(p.protocol) != proto_kind::all) return false;
    cidr c = util::parse_cidr(p.cidr_text);
    return c.valid && c.prefix == 0;
  }

  void on_revoke_egress(const event& e) {
    std::vector<permission> perms = read_ip_permissions(e);
    std::vector<permission> restrictive;
    for (auto& p : perms)
      if (!is_default_egress(p)) restrictive.push_back(p);
    // Revoking the default allow-all rule is hardening (Terraform does it for every group).
    if (restrictive.empty()) return;
    std::string gid = group_id_of(e);
    std::string rules_json = "[";
    for (size_t i = 0; i < restrictive.size(); ++i) {
      const permission& p = restrictive[i];
      if (i) rules_json.push_back(',');
      rules_json += "{\"cidr\":";
      rules_json += util::json_quote(p.cidr_text);
      rules_json += ",\"ipProtocol\":";
      rules_json += util::json_quote(p.protocol.empty() ? "-1" : p.protocol);
      if (p.has_from) rules_json += ",\"fromPort\":" + std::to_string(p.from);
      if (p.has_to) rules_json += ",\"toPort\":" + std::to_string(p.to);
      rules_json.push_back('}');
    }
    rules_json.push_back(']');

    bool bg = util::break_glass_caller(ctx(), e);
    finding f = make_finding("security-group-egress-revoked", e);
    if (bg) f.sev = lower(f.sev);
    f.summary = "Egress rules of " + (gid.empty() ? std::string("a security group") : gid) +
                " revoked (" + std::to_string(restrictive.size()) + " restrictive rule" +
                (restrictive.size() > 1 ? "s" : "") + ", by " + std::string(e.identity()) + ").";
    f.ev.add("groupId", gid);
    f.ev.add_json("revokedRules", rules_json);
    f.ev.add("callerArn", e.principal_arn());
    f.dedup_key = gid;
    emit(f);

    if (gid.empty()) return;
    if (revoked_.size() >= kMaxGroups) evict(e.time_ms());
    if (revoked_.size() >= kMaxGroups) revoked_.clear();
    revoked_egress r;
    r.time_ms = e.time_ms();
    r.event_id = std::string(e.id());
    r.rules_json = rules_json;
    r.principal = std::string(e.principal_arn());
    // The allow-all that replaced them may have been read first (unordered records).
    auto a = recent_allow_all_.find(gid);
    if (a != recent_allow_all_.end() && replaces(r, a->second)) {
      emit_replaced(gid, r, a->second);
      recent_allow_all_.erase(a);
      return;
    }
    revoked_[gid] = r;
  }

  struct revoked_egress {
    int64_t time_ms = 0;
    std::string event_id, rules_json, principal;
  };
  // An AuthorizeSecurityGroupEgress allowing all traffic, prepared as a finding.
  struct allowed_all {
    int64_t time_ms = 0;
    finding f;
    std::string cidr, identity, principal;
    bool break_glass = false;
  };

  bool replaces(const revoked_egress& r, const allowed_all& a) const {
    int64_t dt = a.time_ms - r.time_ms;
    return dt >= -kSlackMs && dt <= window_ms_;
  }

  void on_authorize_egress(const event& e) {
    std::string gid = group_id_of(e);
    if (gid.empty()) return;
    std::vector<permission> perms = read_ip_permissions(e);
    const permission* allow_all = nullptr;
    for (auto& p : perms)
      if (is_default_egress(p)) allow_all = &p;
    if (!allow_all) return;
    allowed_all a{e.time_ms(),
                  make_finding("security-group-egress-restrictions-replaced", e),
                  allow_all->cidr_text,
                  std::string(e.identity()),
                  std::string(e.principal_arn()),
                  util::break_glass_caller(ctx(), e)};
    auto it = revoked_.find(gid);
    if (it != revoked_.end() && replaces(it->second, a)) {
      emit_replaced(gid, it->second, a);
      revoked_.erase(it);
      return;
    }
    // Its RevokeSecurityGroupEgress may still be read (unordered records, late files).
    if (recent_allow_all_.size() >= kMaxGroups) evict(e.time_ms());
    if (recent_allow_all_.size() < kMaxGroups) recent_allow_all_[gid] = std::move(a);
  }

  void emit_replaced(const std::string& gid, const revoked_egress& r, allowed_all& a) {
    finding& f = a.f;
    int64_t dt = a.time_ms - r.time_ms;
    f.event_ids.insert(f.event_ids.begin(), r.event_id);
    f.event_names.insert(f.event_names.begin(), "RevokeSecurityGroupEgress");
    f.first_seen_ms = std::min(f.first_seen_ms, r.time_ms);
    if (a.break_glass) f.sev = lower(f.sev);
    f.summary = "Restrictive egress rules of " + gid + " were revoked and all traffic to " +
                a.cidr + " allowed " + std::to_string(dt / 1000) + "s later (by " + a.identity +
                ").";
    f.ev.add("groupId", gid);
    f.ev.add_json("revokedRules", r.rules_json);
    f.ev.add("allowedCidr", a.cidr);
    f.ev.add("revokedBy", r.principal);
    f.ev.add("callerArn", a.principal);
    f.dedup_key = gid;
    emit(f);
  }

  void on_nacl_entry(const event& e) {
    value req = e.request();
    value egress = req["egress"];
    if (egress.missing() || egress.as_bool(true)) return;  // outbound or unknown
    if (util::to_lower(str_of(req["ruleAction"])) != "allow") return;
    std::string c = str_of(req["cidrBlock"]);
    if (c.empty()) c = str_of(req["ipv6CidrBlock"]);
    cidr parsed = util::parse_cidr(c);
    if (!parsed.valid || parsed.prefix > 1 || util::is_private_range(parsed)) return;
    permission p;
    p.protocol = str_of(req["aclProtocol"]);
    if (p.protocol.empty()) p.protocol = str_of(req["protocol"]);
    value range = req["portRange"];
    set_ports(p, range["from"], range["to"]);
    p.cidr_text = c;
    bool replace = e.name() == "ReplaceNetworkAclEntry";
    proto_kind pk = classify_protocol(p.protocol);
    std::optional<severity> sev;
    std::vector<int64_t> sensitive;
    exposure_kind kind = kind_of(p, sensitive);
    if (pk == proto_kind::tcp_udp && p.has_from && p.from >= 1024 && p.has_to &&
        p.to - p.from + 1 >= 1000) {
      return;  // ephemeral return-traffic range (1024-65535, 32768-65535...): standard for public
               // subnets even though it spans 3389, 5432...
    }
    switch (kind) {
      case exposure_kind::all_ports:
        sev = replace ? severity::medium : severity::low;
        break;
      case exposure_kind::admin:
      case exposure_kind::database:
        sev = severity::medium;
        break;
      case exposure_kind::wide_range:
      case exposure_kind::other:
        sev = severity::low;
        break;
      default:
        return;  // web ports, ICMP
    }
    bool bg = util::break_glass_caller(ctx(), e);
    finding f = make_finding("network-acl-world-open-ingress", e);
    f.sev = bg ? lower(*sev) : *sev;
    std::string acl = str_of(req["networkAclId"]);
    exposure x;
    x.perm = p;
    x.kind = kind;
    x.scope = scope_kind::world;
    f.summary = std::string(e.name()) + " on " + acl + " allows inbound " + describe(x) + " (by " +
                std::string(e.identity()) + ").";
    f.ev.add("networkAclId", acl);
    f.ev.add("ruleNumber", req["ruleNumber"].as_int(-1));
    f.ev.add("ruleAction", str_of(req["ruleAction"]));
    f.ev.add_bool("egress", false);
    f.ev.add("cidr", c);
    f.ev.add("aclProtocol", p.protocol);
    if (p.has_from) f.ev.add("fromPort", p.from);
    if (p.has_to) f.ev.add("toPort", p.to);
    f.ev.add("exposure", exposure_name(kind));
    if (!sensitive.empty()) {
      std::vector<std::string> ports;
      for (auto v : sensitive) ports.push_back(std::to_string(v));
      f.ev.add("sensitivePorts", ports);
    }
    f.ev.add("callerArn", e.principal_arn());
    f.dedup_key = acl + "#" + std::to_string(req["ruleNumber"].as_int(-1));
    emit(f);
  }

  void evict(int64_t now_ms) {
    int64_t horizon = now_ms - window_ms_ - kSlackMs;
    for (auto it = created_.begin(); it != created_.end();)
      it = it->second.time_ms < horizon ? created_.erase(it) : std::next(it);
    for (auto it = recent_opens_.begin(); it != recent_opens_.end();)
      it = it->second.time_ms < horizon ? recent_opens_.erase(it) : std::next(it);
    for (auto it = revoked_.begin(); it != revoked_.end();)
      it = it->second.time_ms < horizon ? revoked_.erase(it) : std::next(it);
    for (auto it = recent_allow_all_.begin(); it != recent_allow_all_.end();)
      it = it->second.time_ms < horizon ? recent_allow_all_.erase(it) : std::next(it);
  }

  static constexpr size_t kMaxGroups = 20000;
  static constexpr size_t kMaxRules = 100000;
  static constexpr int64_t kSlackMs = 5 * 60 * 1000;  // out-of-order delivery tolerance

  std::set<int64_t> admin_ports_, db_ports_, web_ports_;
  std::optional<severity> web_sev_;
  int64_t window_ms_;
  int wide_v4_, wide_v6_;
  std::unordered_map<std::string, created_group> created_;
  std::unordered_map<std::string, recent_open> recent_opens_;
  std::vector<held_open> held_opens_;  // plain findings waiting kSlackMs for a late creation
  std::unordered_map<std::string, revoked_egress> revoked_;
  std::unordered_map<std::string, allowed_all> recent_allow_all_;  // read before their revoke
  std::unordered_map<std::string, bool> rule_egress_;
};

}  // namespace

TRAILHOUND_MODULE("security-groups", "1.0.0", security_groups)
