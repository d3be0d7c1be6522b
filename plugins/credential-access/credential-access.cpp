// SPDX-License-Identifier: Apache-2.0
// Credential harvesting from cloud secret stores: one principal reading many distinct Secrets
// Manager secrets or decrypted SSM parameters in a short window, and EC2 Windows password data.
#include <algorithm>
#include <cctype>
#include <string>
#include <string_view>
#include <trailhound/sdk.hpp>
#include <trailhound/util.hpp>
#include <vector>

namespace {
using namespace trailhound::sdk;
namespace util = trailhound::sdk::util;

constexpr size_t MAX_EVIDENCE_EVENTS = 50;
constexpr size_t MAX_EVIDENCE_ITEMS = 100;

// ------------------------------------------------------------------------------------------
// Identifier normalisation
// ------------------------------------------------------------------------------------------
bool alnum(char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0; }

// "arn:aws:secretsmanager:us-east-1:111122223333:secret:prod/db-AbCdEf" -> "prod/db"; a name is
// kept as is, so the same secret read by name and by ARN counts once. A part of `id`.
std::string_view normalize_secret(std::string_view id) {
  constexpr std::string_view marker = ":secret:";
  if (!id.starts_with("arn:")) return id;
  size_t p = id.find(marker);
  if (p != std::string_view::npos) {
    id.remove_prefix(p + marker.size());
    // The ARN carries a random six-character suffix "-XXXXXX".
    if (id.size() > 7 && id[id.size() - 7] == '-' && std::all_of(id.end() - 6, id.end(), alnum))
      id.remove_suffix(7);
  }
  return id;
}

// "arn:aws:ssm:us-east-1:111122223333:parameter/app/db" -> "/app/db"; "name:3" -> "name".
// Written to `out` (its buffer reused).
void normalize_parameter(std::string_view name, std::string& out) {
  constexpr std::string_view marker = ":parameter";
  if (name.starts_with("arn:")) {
    size_t p = name.find(marker);
    if (p != std::string_view::npos) name.remove_prefix(p + marker.size());
  }
  size_t colon = name.rfind(':');
  if (colon != std::string_view::npos && colon + 1 < name.size() &&
      std::all_of(name.begin() + colon + 1, name.end(), alnum))
    name = name.substr(0, colon);  // version or label selector
  out.clear();
  if (!name.empty() && name[0] != '/' && name.find('/') != std::string_view::npos)
    out.push_back('/');
  out.append(name);
}

// The identifiers one call reads, in strings reused from call to call (no allocation per event
// once their buffers have grown).
class item_list {
 public:
  void clear() { count_ = 0; }
  // A new, empty item.
  std::string& next() {
    if (count_ == items_.size()) items_.emplace_back();
    std::string& s = items_[count_++];
    s.clear();
    return s;
  }
  void add(std::string_view item) { next().assign(item); }
  bool empty() const { return count_ == 0; }
  const std::string* begin() const { return items_.data(); }
  const std::string* end() const { return items_.data() + count_; }

 private:
  std::vector<std::string> items_;
  size_t count_ = 0;
};

// ------------------------------------------------------------------------------------------
// Distinct items per principal in a sliding window of event time (util::distinct_window), with
// the callers' addresses and the call count of the current window.
// ------------------------------------------------------------------------------------------
struct window_state : util::distinct_state {
  int64_t last_list_ms = -1;  // last ListSecrets/DescribeParameters by this principal
  std::vector<std::string> source_ips;
  int64_t total_calls = 0;
  void on_reset() {  // called by reset_after_alert()
    source_ips.clear();
    total_calls = 0;
  }
};
using distinct_window = util::distinct_window<window_state>;

// Adds `item` of event `e` to `s`; false when `e` is too old to matter.
bool add_item(distinct_window& w, window_state& s, std::string_view item, const event& e) {
  if (!w.add(s, item, e.time_ms(), e.id(), e.name())) return false;
  util::add_unique(s.source_ips, e.source_ip(), 10);
  ++s.total_calls;
  return true;
}

// ------------------------------------------------------------------------------------------
// The detector
// ------------------------------------------------------------------------------------------
class credential_access final : public detector {
 public:
  static const detector_info& info() {
    static const detector_info i{
        "credential-access",
        "1.0.0",
        "Credential access in cloud secret stores",
        "Bulk reads of Secrets Manager secrets and decrypted SSM SecureString parameters by one "
        "principal (counted as DISTINCT secrets, so an application re-reading its own secret "
        "never fires), and retrieval of EC2 Windows administrator passwords.",
        {{"secretsmanager.amazonaws.com", "GetSecretValue"},
         {"secretsmanager.amazonaws.com", "BatchGetSecretValue"},
         {"secretsmanager.amazonaws.com", "ListSecrets"},
         {"ssm.amazonaws.com", "GetParameter"},
         {"ssm.amazonaws.com", "GetParameters"},
         {"ssm.amazonaws.com", "GetParametersByPath"},
         {"ssm.amazonaws.com", "DescribeParameters"},
         {"ec2.amazonaws.com", "GetPasswordData"}},
        {{"secrets_threshold", TH_PARAM_INT, "10",
          "Distinct Secrets Manager secrets read by one principal within `window` to alert", true,
          2, 100000},
         {"ssm_threshold", TH_PARAM_INT, "20",
          "Distinct SSM parameters (or paths) read with decryption by one principal within "
          "`window` to alert",
          true, 2, 100000},
         {"password_data_threshold", TH_PARAM_INT, "3",
          "Distinct EC2 instances whose Windows password one principal retrieves within "
          "`window` for the bulk rule",
          true, 2, 100000},
         {"window", TH_PARAM_DURATION, "\"10m\"", "Sliding window of event time", true, 60, 86400},
         {"max_principals", TH_PARAM_INT, "50000", "Principals tracked at once (memory bound)",
          true, 100, 10000000}},
        {{"secrets-bulk-retrieval", severity::high,
          "Many distinct secrets read from Secrets Manager by one principal", "T1555.006",
          "GetSecretValue/BatchGetSecretValue of at least secrets_threshold distinct secrets "
          "by one principal within the window."},
         {"ssm-secure-parameter-bulk-retrieval", severity::medium,
          "Many SSM parameters read with decryption by one principal", "T1555.006,T1552",
          "GetParameter/GetParameters/GetParametersByPath with withDecryption=true for at "
          "least ssm_threshold distinct parameter names or paths within the window."},
         {"ec2-password-data-retrieved", severity::low,
          "EC2 Windows administrator password retrieved", "T1552",
          "GetPasswordData by a human or key (not an AWS service); once per principal and "
          "instance per window."},
         {"ec2-password-data-bulk", severity::high,
          "Windows passwords of many EC2 instances retrieved", "T1552",
          "GetPasswordData for at least password_data_threshold distinct instances by one "
          "principal within the window."}}};
    return i;
  }

  credential_access(const context& ctx, const config& cfg)
      : detector(ctx),
        secrets_threshold_(static_cast<size_t>(cfg.get_int("secrets_threshold"))),
        ssm_threshold_(static_cast<size_t>(cfg.get_int("ssm_threshold"))),
        pwd_threshold_(static_cast<size_t>(cfg.get_int("password_data_threshold"))),
        secrets_(cfg.get_duration_ms("window"), static_cast<size_t>(cfg.get_int("max_principals"))),
        ssm_(cfg.get_duration_ms("window"), static_cast<size_t>(cfg.get_int("max_principals"))),
        pwd_(cfg.get_duration_ms("window"), static_cast<size_t>(cfg.get_int("max_principals"))),
        pwd_single_(cfg.get_duration_ms("window"),
                    static_cast<size_t>(cfg.get_int("max_principals"))) {}

  void on_event(const event& e) override {
    if (e.failed() || util::service_actor(e)) return;
    std::string_view name = e.name();
    std::string_view src = e.source();
    if (src == "secretsmanager.amazonaws.com") {
      if (name == "ListSecrets") return note_listing(secrets_, e);
      return on_secret_read(e);
    }
    if (src == "ssm.amazonaws.com") {
      if (name == "DescribeParameters") return note_listing(ssm_, e);
      return on_parameter_read(e);
    }
    if (src == "ec2.amazonaws.com" && name == "GetPasswordData") return on_password_data(e);
  }

  void on_tick(int64_t t) override {
    secrets_.evict(t);
    ssm_.evict(t);
    pwd_.evict(t);
    pwd_single_.evict(t);
  }

 private:
  void note_listing(distinct_window& w, const event& e) {
    std::string_view key = util::principal_key(e);
    if (key.empty()) return;
    if (window_state* s = w.get(key, e.time_ms())) s->last_list_ms = e.time_ms();
  }

  void on_secret_read(const event& e) {
    value req = e.request();
    item_list& ids = items_;
    ids.clear();
    if (e.name() == "GetSecretValue") {
      std::string_view id = req["secretId"].str();
      if (!id.empty()) ids.add(normalize_secret(id));
    } else if (e.name() == "BatchGetSecretValue") {
      for (const auto& v : req["secretIdList"].elements())
        if (v.is_string()) ids.add(normalize_secret(v.str()));
      // A filter-based batch names no secret up front: count the filter itself once.
      if (ids.empty() && req["filters"].exists()) ids.add("filters:" + req["filters"].json());
    }
    if (ids.empty()) return;
    track(secrets_, e, ids, secrets_threshold_, "secrets-bulk-retrieval", "secretIds",
          "distinct Secrets Manager secrets");
  }

  void on_parameter_read(const event& e) {
    value req = e.request();
    if (!req["withDecryption"].as_bool(false)) return;
    item_list& names = items_;
    names.clear();
    std::string_view n = e.name();
    if (n == "GetParameter") {
      std::string_view nm = req["name"].str();
      if (!nm.empty()) normalize_parameter(nm, names.next());
    } else if (n == "GetParameters") {
      for (const auto& v : req["names"].elements())
        if (v.is_string()) normalize_parameter(v.str(), names.next());
    } else if (n == "GetParametersByPath") {
      std::string_view path = req["path"].str();
      if (!path.empty())
        names.next().append("path:").append(path).append(
            req["recursive"].as_bool(false) ? " (recursive)" : "");
    }
    if (names.empty()) return;
    track(ssm_, e, names, ssm_threshold_, "ssm-secure-parameter-bulk-retrieval", "parameterNames",
          "distinct SSM parameters read with decryption");
  }

  void track(distinct_window& w, const event& e, const item_list& items, size_t threshold,
             const char* rule, const char* items_key, const char* what) {
    std::string_view key = util::principal_key(e);
    if (key.empty()) return;
    window_state* s = w.get(key, e.time_ms());
    if (!s) {
      ctx().count("principals_dropped");
      return;
    }
    for (auto& it : items)
      if (!add_item(w, *s, it, e)) return;
    if (!w.crossed(*s, threshold)) return;
    finding f = make_finding(rule, e);
    distinct_window::fill_events(f, *s, MAX_EVIDENCE_EVENTS);
    if (f.event_ids.empty()) f.with_event(e);
    std::vector<std::string> list = distinct_window::sorted_items(*s, MAX_EVIDENCE_ITEMS);
    bool listed = s->last_list_ms >= 0 && s->last_list_ms >= f.first_seen_ms - w.window_ms() &&
                  s->last_list_ms <= f.last_seen_ms;
    f.sev = adjust(f.sev, e);
    f.summary = std::string(e.identity()) + " read " + std::to_string(s->items.size()) + " " +
                what + " within " + std::to_string(w.window_ms() / 60000) + " minutes" +
                (listed ? ", after listing them." : ".");
    f.ev.add("principal", e.principal_arn())
        .add("distinctCount", static_cast<uint64_t>(s->items.size()))
        .add("threshold", static_cast<uint64_t>(threshold))
        .add("calls", s->total_calls)
        .add(items_key, list)
        .add("sourceIPAddresses", s->source_ips)
        .add_bool("listedBefore", listed);
    f.dedup_key = std::string(key);
    emit(f);
    w.reset_after_alert(*s);
  }

  void on_password_data(const event& e) {
    std::string_view key = util::principal_key(e);
    if (key.empty()) return;
    std::string_view instance = e.request()["instanceId"].str();
    if (instance.empty()) return;
    // One low finding per principal and instance per window.
    std::string single_key = std::string(key) + "|" + std::string(instance);
    if (window_state* s = pwd_single_.get(single_key, e.time_ms())) {
      if (add_item(pwd_single_, *s, instance, e) && pwd_single_.crossed(*s, 1)) {
        finding f = make_finding("ec2-password-data-retrieved", e);
        f.sev = adjust(f.sev, e);
        f.summary = std::string(e.identity()) + " retrieved the Windows password data of " +
                    std::string(instance) + ".";
        f.ev.add("instanceId", instance).add("principal", e.principal_arn());
        f.dedup_key = single_key;
        emit(f);
        pwd_single_.reset_after_alert(*s);
      }
    }
    items_.clear();
    items_.add(instance);
    track(pwd_, e, items_, pwd_threshold_, "ec2-password-data-bulk", "instanceIds",
          "distinct EC2 instances' Windows passwords");
  }

  // Break-glass principals and calls from trusted networks rank one step lower, never silent.
  severity adjust(severity s, const event& e) const {
    if (ctx().is_break_glass(e.principal_arn())) s = lower(s);
    if (util::from_trusted_ip(ctx(), e)) s = lower(s);
    return s;
  }

  size_t secrets_threshold_, ssm_threshold_, pwd_threshold_;
  distinct_window secrets_, ssm_, pwd_, pwd_single_;
  item_list items_;  // what the current call reads (filled by on_*_read, used by track)
};

}  // namespace

TRAILHOUND_MODULE("credential-access", "1.0.0", credential_access)
