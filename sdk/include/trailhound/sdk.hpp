// SPDX-License-Identifier: Apache-2.0
// Header-only C++ wrapper over plugin_abi.h, compiled into each plugin: detector base class,
// event/value views, typed params, finding builder and the module export macro.
#pragma once

#include <trailhound/plugin_abi.h>

#include <cstdint>
#include <cstring>
#include <exception>
#include <memory>
#include <new>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace trailhound::sdk {

inline std::string_view sv(th_str s) noexcept {
  return s.len ? std::string_view(s.ptr, static_cast<size_t>(s.len)) : std::string_view();
}
inline th_str ts(std::string_view s) noexcept { return th_str{s.data(), s.size()}; }

enum class severity : int32_t {
  info = TH_SEVERITY_INFO,
  low = TH_SEVERITY_LOW,
  medium = TH_SEVERITY_MEDIUM,
  high = TH_SEVERITY_HIGH,
  critical = TH_SEVERITY_CRITICAL,
};

// Lowers a severity by `steps` (not below info): used for break-glass or org-internal cases.
inline severity lower(severity s, int steps = 1) noexcept {
  int v = static_cast<int>(s) - steps;
  return static_cast<severity>(v < 0 ? 0 : v);
}
inline severity raise(severity s, int steps = 1) noexcept {
  int v = static_cast<int>(s) + steps;
  return static_cast<severity>(v > 4 ? 4 : v);
}

// ------------------------------------------------------------------------------------------
// JSON text building (evidence)
// ------------------------------------------------------------------------------------------
namespace detail {
inline void append_json_string(std::string& out, std::string_view s) {
  out.push_back('"');
  for (unsigned char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c < 0x20) {
          static const char* hex = "0123456789abcdef";
          out += "\\u00";
          out.push_back(hex[c >> 4]);
          out.push_back(hex[c & 15]);
        } else {
          out.push_back(static_cast<char>(c));
        }
    }
  }
  out.push_back('"');
}
}  // namespace detail

// Builds the evidence JSON object of a finding. Keys are added in call order.
class evidence {
 public:
  evidence& add(std::string_view key, std::string_view value) {
    key_(key);
    detail::append_json_string(body_, value);
    return *this;
  }
  evidence& add(std::string_view key, const char* value) {
    return add(key, std::string_view(value ? value : ""));
  }
  evidence& add(std::string_view key, const std::string& value) {
    return add(key, std::string_view(value));
  }
  evidence& add(std::string_view key, int64_t value) {
    key_(key);
    body_ += std::to_string(value);
    return *this;
  }
  evidence& add(std::string_view key, int value) { return add(key, static_cast<int64_t>(value)); }
  evidence& add(std::string_view key, uint64_t value) {
    key_(key);
    body_ += std::to_string(value);
    return *this;
  }
  evidence& add(std::string_view key, double value) {
    key_(key);
    std::string num = std::to_string(value);
    body_ += num;
    return *this;
  }
  evidence& add(std::string_view key, bool value) { return add_bool(key, value); }
  evidence& add_bool(std::string_view key, bool value) {
    key_(key);
    body_ += value ? "true" : "false";
    return *this;
  }
  evidence& add(std::string_view key, const std::vector<std::string>& values) {
    key_(key);
    body_.push_back('[');
    for (size_t i = 0; i < values.size(); ++i) {
      if (i) body_.push_back(',');
      detail::append_json_string(body_, values[i]);
    }
    body_.push_back(']');
    return *this;
  }
  // Adds pre-serialised JSON (e.g. from value::json()). The host validates the whole object.
  evidence& add_json(std::string_view key, std::string_view json) {
    key_(key);
    body_ += json.empty() ? std::string_view("null") : json;
    return *this;
  }
  std::string str() const { return "{" + body_ + "}"; }
  bool empty() const { return body_.empty(); }

 private:
  void key_(std::string_view key) {
    if (!body_.empty()) body_.push_back(',');
    detail::append_json_string(body_, key);
    body_.push_back(':');
  }
  std::string body_;
};

// ------------------------------------------------------------------------------------------
// Values and events
// ------------------------------------------------------------------------------------------
class context;

// A node of the parsed record. Cheap to copy; valid during on_event only.
class value {
 public:
  value() = default;
  value(const th_host_api* api, th_host_ctx* ctx, const th_value* v)
      : api_(api), ctx_(ctx), v_(v) {}

  int32_t kind() const { return api_ ? api_->value_kind(v_) : TH_VALUE_MISSING; }
  bool missing() const { return kind() == TH_VALUE_MISSING; }
  bool exists() const { return !missing(); }
  bool is_null() const { return kind() == TH_VALUE_NULL; }
  bool is_string() const { return kind() == TH_VALUE_STRING; }
  bool is_number() const { return kind() == TH_VALUE_NUMBER; }
  bool is_bool() const {
    int k = kind();
    return k == TH_VALUE_TRUE || k == TH_VALUE_FALSE;
  }
  bool is_array() const { return kind() == TH_VALUE_ARRAY; }
  bool is_object() const { return kind() == TH_VALUE_OBJECT; }
  bool is_true() const { return kind() == TH_VALUE_TRUE; }

  // String content; "" for non-strings.
  std::string_view str() const { return api_ ? sv(api_->value_string(v_)) : std::string_view(); }
  double number() const { return api_ ? api_->value_number(v_) : 0.0; }
  int64_t integer() const { return api_ ? api_->value_int(v_) : 0; }
  // An integer given either as a JSON number or as a numeric string ("22"); `fallback` otherwise.
  int64_t as_int(int64_t fallback = 0) const {
    if (is_number()) return integer() ? integer() : static_cast<int64_t>(number());
    std::string_view s = str();
    if (s.empty()) return fallback;
    bool neg = s[0] == '-';
    size_t i = neg ? 1 : 0;
    if (i >= s.size()) return fallback;
    int64_t r = 0;
    for (; i < s.size(); ++i) {
      if (s[i] < '0' || s[i] > '9') return fallback;
      r = r * 10 + (s[i] - '0');
    }
    return neg ? -r : r;
  }
  // A boolean given as JSON true/false or as the string "true"/"false" (CloudTrail uses both).
  bool as_bool(bool fallback = false) const {
    int k = kind();
    if (k == TH_VALUE_TRUE) return true;
    if (k == TH_VALUE_FALSE) return false;
    std::string_view s = str();
    if (s == "true" || s == "True" || s == "TRUE") return true;
    if (s == "false" || s == "False" || s == "FALSE") return false;
    return fallback;
  }
  uint32_t size() const { return api_ ? api_->value_size(v_) : 0; }

  value operator[](std::string_view member) const {
    return api_ ? value(api_, ctx_, api_->value_member(v_, ts(member))) : value();
  }
  value operator[](uint32_t index) const {
    return api_ ? value(api_, ctx_, api_->value_index(v_, index)) : value();
  }
  value operator[](int index) const { return (*this)[static_cast<uint32_t>(index)]; }
  // Member by position, for iterating objects.
  std::string_view member_name(uint32_t i) const {
    return api_ ? sv(api_->value_member_name(v_, i)) : std::string_view();
  }
  value member_at(uint32_t i) const {
    return api_ ? value(api_, ctx_, api_->value_member_at(v_, i)) : value();
  }
  // Dotted path: v.path("ipPermissions.items") == v["ipPermissions"]["items"].
  value path(std::string_view dotted) const {
    value cur = *this;
    while (!dotted.empty()) {
      size_t dot = dotted.find('.');
      cur = cur[dotted.substr(0, dot)];
      if (dot == std::string_view::npos) break;
      dotted.remove_prefix(dot + 1);
    }
    return cur;
  }
  // Compact JSON text of this node (copied out of the host's buffer).
  std::string json() const {
    if (!api_ || missing()) return "null";
    return std::string(sv(api_->value_json(ctx_, v_)));
  }
  // Elements of an array, or a one-element list for any other present value (CloudTrail often
  // has "items": {...} where one item is expected and [...] where many are).
  std::vector<value> elements() const {
    std::vector<value> out;
    if (is_array()) {
      uint32_t n = size();
      out.reserve(n);
      for (uint32_t i = 0; i < n; ++i) out.push_back((*this)[i]);
    } else if (exists() && !is_null()) {
      out.push_back(*this);
    }
    return out;
  }

 private:
  const th_host_api* api_ = nullptr;
  th_host_ctx* ctx_ = nullptr;
  const th_value* v_ = nullptr;
};

// A field registered at create time for fast lookup by JSON pointer.
struct field_id {
  int32_t id = -1;
};

// One CloudTrail record with its pre-extracted common fields.
class event {
 public:
  event(const th_host_api* api, th_host_ctx* ctx, const th_event* e)
      : api_(api), ctx_(ctx), e_(e) {}

  const th_event& raw() const { return *e_; }
  std::string_view id() const { return sv(e_->event_id); }
  int64_t time_ms() const { return e_->event_time_ms; }
  std::string_view source() const { return sv(e_->event_source); }
  std::string_view name() const { return sv(e_->event_name); }
  std::string_view type() const { return sv(e_->event_type); }
  std::string_view region() const { return sv(e_->aws_region); }
  std::string_view source_ip() const { return sv(e_->source_ip); }
  std::string_view user_agent() const { return sv(e_->user_agent); }
  std::string_view error_code() const { return sv(e_->error_code); }
  std::string_view error_message() const { return sv(e_->error_message); }
  std::string_view recipient_account() const { return sv(e_->recipient_account_id); }
  std::string_view identity_type() const { return sv(e_->identity_type); }
  std::string_view principal_arn() const { return sv(e_->principal_arn); }
  std::string_view principal_account() const { return sv(e_->principal_account_id); }
  std::string_view user_name() const { return sv(e_->principal_user_name); }
  std::string_view access_key_id() const { return sv(e_->access_key_id); }
  std::string_view session_issuer_arn() const { return sv(e_->session_issuer_arn); }
  std::string_view invoked_by() const { return sv(e_->invoked_by); }
  std::string_view principal_id() const { return sv(e_->principal_id); }
  std::string_view category() const { return sv(e_->event_category); }
  std::string_view raw_json() const { return sv(e_->raw_json); }
  int32_t mfa_authenticated() const { return e_->mfa_authenticated; }
  int32_t read_only() const { return e_->read_only; }

  bool failed() const { return e_->error_code.len != 0; }
  bool succeeded() const { return !failed(); }
  bool is_root() const { return identity_type() == "Root"; }
  // True when an AWS service acted, not a human or a key (never a sign of stolen credentials).
  bool aws_service() const { return e_->aws_service_origin == TH_FLAG_TRUE; }
  // The identity an analyst thinks of: the role ARN for assumed-role sessions, else the ARN.
  std::string_view identity() const {
    std::string_view issuer = session_issuer_arn();
    if (identity_type() == "AssumedRole" && !issuer.empty()) return issuer;
    std::string_view arn = principal_arn();
    return arn.empty() ? principal_id() : arn;
  }

  value root() const { return value(api_, ctx_, e_->root); }
  value operator[](std::string_view member) const { return root()[member]; }
  value path(std::string_view dotted) const { return root().path(dotted); }
  value field(field_id f) const { return value(api_, ctx_, api_->get_field(ctx_, e_, f.id)); }
  value request() const { return root()["requestParameters"]; }
  value response() const { return root()["responseElements"]; }
  value additional() const { return root()["additionalEventData"]; }

 private:
  const th_host_api* api_;
  th_host_ctx* ctx_;
  const th_event* e_;
};

// ------------------------------------------------------------------------------------------
// Findings
// ------------------------------------------------------------------------------------------
struct finding {
  std::string rule;
  severity sev = severity::medium;
  std::string title;
  std::string summary;
  std::string account_id, region, principal, source_ip, user_agent;
  std::vector<std::string> event_ids, event_names, mitre;
  int64_t first_seen_ms = 0, last_seen_ms = 0;
  evidence ev;
  std::string dedup_key;

  // Adds an event to the evidence trail and widens the time range.
  finding& with_event(const event& e) {
    event_ids.emplace_back(e.id());
    event_names.emplace_back(e.name());
    if (first_seen_ms == 0 || e.time_ms() < first_seen_ms) first_seen_ms = e.time_ms();
    if (e.time_ms() > last_seen_ms) last_seen_ms = e.time_ms();
    return *this;
  }
  finding& with_event(std::string_view id, std::string_view name, int64_t time_ms) {
    event_ids.emplace_back(id);
    event_names.emplace_back(name);
    if (first_seen_ms == 0 || time_ms < first_seen_ms) first_seen_ms = time_ms;
    if (time_ms > last_seen_ms) last_seen_ms = time_ms;
    return *this;
  }
};

// ------------------------------------------------------------------------------------------
// Detector description
// ------------------------------------------------------------------------------------------
struct subscription {
  const char* event_source;
  const char* event_name;
};

struct param {
  const char* name;
  int32_t type;
  const char* default_value;  // TOML literal
  const char* description;
  bool has_range = false;
  double min_value = 0;
  double max_value = 0;
};

struct rule {
  const char* id;
  severity sev;
  const char* title;
  const char* mitre;  // comma-separated
  const char* description;
};

struct detector_info {
  const char* id;
  const char* version;
  const char* title;
  const char* description;
  std::vector<subscription> subscriptions;
  std::vector<param> params;
  std::vector<rule> rules;
  uint32_t state_schema_version = 0;  // > 0: the detector implements save_state/load_state
  int64_t tick_interval_ms = 0;
};

// Typed access to the validated config of this instance.
class config {
 public:
  explicit config(const th_config* c) : c_(c) {}
  std::string_view environment() const { return c_->environment ? c_->environment : ""; }
  std::string_view instance_id() const { return c_->instance_id ? c_->instance_id : ""; }
  int64_t get_int(std::string_view name) const {
    auto* p = find_(name);
    return p ? p->int_value : 0;
  }
  // Durations are configured in seconds ("15m" in TOML); detectors work in milliseconds.
  int64_t get_duration_ms(std::string_view name) const { return get_int(name) * 1000; }
  double get_double(std::string_view name) const {
    auto* p = find_(name);
    return p ? p->double_value : 0.0;
  }
  bool get_bool(std::string_view name) const {
    auto* p = find_(name);
    return p && p->bool_value;
  }
  std::string get_string(std::string_view name) const {
    auto* p = find_(name);
    return p ? std::string(sv(p->string_value)) : std::string();
  }
  std::vector<std::string> get_list(std::string_view name) const {
    std::vector<std::string> out;
    auto* p = find_(name);
    if (!p) return out;
    for (uint32_t i = 0; i < p->list_count; ++i) out.emplace_back(sv(p->list[i]));
    return out;
  }

 private:
  const th_param_value* find_(std::string_view name) const {
    for (uint32_t i = 0; i < c_->param_count; ++i) {
      const th_param_value* p = c_->params[i];
      if (p && p->name && name == p->name) return p;
    }
    return nullptr;
  }
  const th_config* c_;
};

// The instance's line back to the host.
class context {
 public:
  context(const th_host_api* api, th_host_ctx* ctx, const detector_info* info)
      : api_(api), ctx_(ctx), info_(info) {}

  const th_host_api* api() const { return api_; }
  th_host_ctx* ctx() const { return ctx_; }

  void log(int32_t level, std::string_view msg) const { api_->log(ctx_, level, ts(msg)); }
  void count(const char* name, int64_t delta = 1) const { api_->counter_add(ctx_, name, delta); }
  field_id register_field(const char* json_pointer) const {
    return field_id{api_->register_field(ctx_, json_pointer)};
  }

  bool is_org_account(std::string_view acct) const { return api_->is_org_account(ctx_, ts(acct)); }
  bool org_accounts_known() const { return api_->org_accounts_known(ctx_); }
  bool is_trusted_ip(std::string_view ip) const { return api_->is_trusted_ip(ctx_, ts(ip)); }
  bool trusted_cidrs_known() const { return api_->trusted_cidrs_known(ctx_); }
  bool is_admin(std::string_view arn) const { return api_->is_admin_principal(ctx_, ts(arn)); }
  bool is_break_glass(std::string_view arn) const {
    return api_->is_break_glass_principal(ctx_, ts(arn));
  }
  bool is_known_account(std::string_view acct) const {
    return api_->is_known_account(ctx_, ts(acct));
  }

  // A finding for `rule_id` pre-filled from the event and the rule's declared defaults.
  finding make_finding(std::string_view rule_id, const event& e) const {
    finding f;
    f.rule = std::string(rule_id);
    if (const rule* r = find_rule(rule_id)) {
      f.sev = r->sev;
      f.title = r->title ? r->title : "";
      split_mitre(r->mitre, f.mitre);
    }
    f.account_id =
        std::string(e.recipient_account().empty() ? e.principal_account() : e.recipient_account());
    f.region = std::string(e.region());
    f.principal = std::string(e.principal_arn());
    f.source_ip = std::string(e.source_ip());
    f.user_agent = std::string(e.user_agent());
    f.with_event(e);
    return f;
  }
  // A finding not tied to one current event (window closed at a tick).
  finding make_finding(std::string_view rule_id) const {
    finding f;
    f.rule = std::string(rule_id);
    if (const rule* r = find_rule(rule_id)) {
      f.sev = r->sev;
      f.title = r->title ? r->title : "";
      split_mitre(r->mitre, f.mitre);
    }
    return f;
  }

  // Submits a finding; returns false when the host rejected it as malformed.
  bool emit(const finding& f) const {
    std::vector<th_str> ids, names, mitre;
    ids.reserve(f.event_ids.size());
    for (auto& s : f.event_ids) ids.push_back(ts(s));
    for (auto& s : f.event_names) names.push_back(ts(s));
    for (auto& s : f.mitre) mitre.push_back(ts(s));
    std::string evidence_json = f.ev.str();
    th_finding out;
    std::memset(&out, 0, sizeof out);
    out.struct_size = sizeof out;
    out.rule = ts(f.rule);
    out.severity = static_cast<int32_t>(f.sev);
    out.title = ts(f.title);
    out.summary = ts(f.summary);
    out.account_id = ts(f.account_id);
    out.region = ts(f.region);
    out.principal = ts(f.principal);
    out.source_ip = ts(f.source_ip);
    out.user_agent = ts(f.user_agent);
    out.event_ids = ids.data();
    out.event_id_count = static_cast<uint32_t>(ids.size());
    out.event_names = names.data();
    out.event_name_count = static_cast<uint32_t>(names.size());
    out.first_seen_ms = f.first_seen_ms;
    out.last_seen_ms = f.last_seen_ms;
    out.mitre = mitre.data();
    out.mitre_count = static_cast<uint32_t>(mitre.size());
    out.evidence_json = ts(evidence_json);
    out.dedup_key = ts(f.dedup_key);
    return api_->emit(ctx_, &out) == TH_OK;
  }

  const rule* find_rule(std::string_view id) const {
    if (!info_) return nullptr;
    for (auto& r : info_->rules)
      if (id == r.id) return &r;
    return nullptr;
  }

 private:
  static void split_mitre(const char* s, std::vector<std::string>& out) {
    if (!s) return;
    std::string_view rest(s);
    while (!rest.empty()) {
      size_t comma = rest.find(',');
      std::string_view item = rest.substr(0, comma);
      while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
      while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
      if (!item.empty()) out.emplace_back(item);
      if (comma == std::string_view::npos) break;
      rest.remove_prefix(comma + 1);
    }
  }
  const th_host_api* api_;
  th_host_ctx* ctx_;
  const detector_info* info_;
};

// Base class of a detector. A concrete detector T provides:
//   static const detector_info& info();
//   T(const context& ctx, const config& cfg);   // may throw: reported, detector not run
//   void on_event(const event& e) override;
class detector {
 public:
  explicit detector(const context& ctx) : ctx_(ctx) {}
  virtual ~detector() = default;
  detector(const detector&) = delete;
  detector& operator=(const detector&) = delete;

  virtual void on_event(const event& e) = 0;
  virtual void on_tick(int64_t /*event_time_ms*/) {}
  virtual void on_flush() {}
  // Learned state (only when info().state_schema_version > 0).
  virtual std::string save_state() const { return {}; }
  virtual void load_state(uint32_t /*schema_version*/, std::string_view /*data*/) {}

 protected:
  const context& ctx() const { return ctx_; }
  bool emit(const finding& f) const { return ctx_.emit(f); }
  finding make_finding(std::string_view rule_id, const event& e) const {
    return ctx_.make_finding(rule_id, e);
  }

 private:
  context ctx_;
};

// ------------------------------------------------------------------------------------------
// Trampolines: the C entry points. Every one catches everything.
// ------------------------------------------------------------------------------------------
namespace detail {

struct instance_box {
  context ctx;
  std::unique_ptr<detector> det;
};

inline th_status report(const context& ctx, const char* where, const std::exception* e) {
  std::string msg = std::string(where) + ": " + (e ? e->what() : "unknown exception");
  ctx.api()->set_error(ctx.ctx(), ts(msg));
  return TH_ERROR;
}

template <class T>
th_status create(const th_host_api* host, th_host_ctx* hctx, const th_config* cfg, void** out) {
  if (!host || !out) return TH_FATAL;
  *out = nullptr;
  context ctx(host, hctx, &T::info());
  try {
    auto box = std::make_unique<instance_box>(instance_box{ctx, nullptr});
    config c(cfg);
    box->det = std::make_unique<T>(box->ctx, c);
    *out = box.release();
    return TH_OK;
  } catch (const std::exception& e) {
    report(ctx, "create", &e);
    return TH_FATAL;
  } catch (...) {
    report(ctx, "create", nullptr);
    return TH_FATAL;
  }
}

inline void destroy(void* inst) noexcept {
  try {
    delete static_cast<instance_box*>(inst);
  } catch (...) {
  }
}

inline th_status on_event(void* inst, const th_event* e) noexcept {
  auto* box = static_cast<instance_box*>(inst);
  try {
    box->det->on_event(event(box->ctx.api(), box->ctx.ctx(), e));
    return TH_OK;
  } catch (const std::bad_alloc& ex) {
    report(box->ctx, "on_event", &ex);
    return TH_FATAL;
  } catch (const std::exception& ex) {
    return report(box->ctx, "on_event", &ex);
  } catch (...) {
    return report(box->ctx, "on_event", nullptr);
  }
}

inline th_status on_tick(void* inst, int64_t t) noexcept {
  auto* box = static_cast<instance_box*>(inst);
  try {
    box->det->on_tick(t);
    return TH_OK;
  } catch (const std::exception& ex) {
    return report(box->ctx, "on_tick", &ex);
  } catch (...) {
    return report(box->ctx, "on_tick", nullptr);
  }
}

inline th_status on_flush(void* inst) noexcept {
  auto* box = static_cast<instance_box*>(inst);
  try {
    box->det->on_flush();
    return TH_OK;
  } catch (const std::exception& ex) {
    return report(box->ctx, "on_flush", &ex);
  } catch (...) {
    return report(box->ctx, "on_flush", nullptr);
  }
}

inline th_status snapshot_state(void* inst, const th_byte_sink* sink) noexcept {
  auto* box = static_cast<instance_box*>(inst);
  try {
    std::string bytes = box->det->save_state();
    return sink->write(sink->opaque, bytes.data(), bytes.size());
  } catch (const std::exception& ex) {
    return report(box->ctx, "snapshot_state", &ex);
  } catch (...) {
    return report(box->ctx, "snapshot_state", nullptr);
  }
}

inline th_status restore_state(void* inst, uint32_t version, const void* data,
                               uint64_t len) noexcept {
  auto* box = static_cast<instance_box*>(inst);
  try {
    box->det->load_state(version, std::string_view(static_cast<const char*>(data), len));
    return TH_OK;
  } catch (const std::exception& ex) {
    return report(box->ctx, "restore_state", &ex);
  } catch (...) {
    return report(box->ctx, "restore_state", nullptr);
  }
}

// Static C descriptors built once from a detector_info.
template <class T>
struct descriptor_storage {
  std::vector<th_subscription> subs;
  std::vector<const th_subscription*> sub_ptrs;
  std::vector<th_param_spec> params;
  std::vector<const th_param_spec*> param_ptrs;
  std::vector<th_rule_desc> rules;
  std::vector<const th_rule_desc*> rule_ptrs;
  th_detector_desc desc;

  descriptor_storage() {
    const detector_info& info = T::info();
    subs.reserve(info.subscriptions.size());
    for (auto& s : info.subscriptions)
      subs.push_back(th_subscription{sizeof(th_subscription), s.event_source, s.event_name});
    for (auto& s : subs) sub_ptrs.push_back(&s);
    params.reserve(info.params.size());
    for (auto& p : info.params)
      params.push_back(th_param_spec{sizeof(th_param_spec), p.name, p.type, p.default_value,
                                     p.description, p.has_range ? 1 : 0, p.min_value, p.max_value});
    for (auto& p : params) param_ptrs.push_back(&p);
    rules.reserve(info.rules.size());
    for (auto& r : info.rules)
      rules.push_back(th_rule_desc{sizeof(th_rule_desc), r.id, static_cast<int32_t>(r.sev), r.title,
                                   r.mitre, r.description});
    for (auto& r : rules) rule_ptrs.push_back(&r);
    std::memset(&desc, 0, sizeof desc);
    desc.struct_size = sizeof desc;
    desc.id = info.id;
    desc.version = info.version;
    desc.title = info.title;
    desc.description = info.description;
    desc.subscriptions = sub_ptrs.data();
    desc.subscription_count = static_cast<uint32_t>(sub_ptrs.size());
    desc.params = param_ptrs.data();
    desc.param_count = static_cast<uint32_t>(param_ptrs.size());
    desc.rules = rule_ptrs.data();
    desc.rule_count = static_cast<uint32_t>(rule_ptrs.size());
    desc.create = &create<T>;
    desc.destroy = &destroy;
    desc.on_event = &detail::on_event;
    desc.on_tick = &detail::on_tick;
    desc.on_flush = &detail::on_flush;
    if (info.state_schema_version > 0) {
      desc.state_schema_version = info.state_schema_version;
      desc.snapshot_state = &detail::snapshot_state;
      desc.restore_state = &detail::restore_state;
    }
    desc.tick_interval_ms = info.tick_interval_ms;
  }
};

template <class T>
const th_detector_desc* descriptor() {
  static const descriptor_storage<T> storage;
  return &storage.desc;
}

template <class... Ts>
const th_module_desc* module_descriptor(const char* name, const char* version) {
  static const th_detector_desc* const dets[] = {descriptor<Ts>()...};
  static const th_module_desc mod = {sizeof(th_module_desc),
                                     TH_ABI_MAJOR,
                                     /* min_host_minor: features used by this SDK */ 0,
                                     name,
                                     version,
                                     dets,
                                     static_cast<uint32_t>(sizeof...(Ts))};
  return &mod;
}

}  // namespace detail
}  // namespace trailhound::sdk

#if defined(_WIN32)
#define TH_EXPORT __declspec(dllexport)
#else
#define TH_EXPORT __attribute__((visibility("default")))
#endif

// Exports th_module_entry_v1 for a module holding the given detector classes:
//   TRAILHOUND_MODULE("iam-keys", "1.0.0", create_key_for_other, key_reactivated)
#define TRAILHOUND_MODULE(NAME, VERSION, ...)                                               \
  extern "C" TH_EXPORT const th_module_desc* th_module_entry_v1(const th_host_info* host) { \
    if (!host || host->abi_major != TH_ABI_MAJOR) return nullptr;                           \
    try {                                                                                   \
      return ::trailhound::sdk::detail::module_descriptor<__VA_ARGS__>(NAME, VERSION);      \
    } catch (...) {                                                                         \
      return nullptr;                                                                       \
    }                                                                                       \
  }
