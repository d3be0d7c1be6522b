// SPDX-License-Identifier: Apache-2.0
// Engine: instances, host services, dispatch, ticks, quarantine.
#include "engine/engine.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctime>

#include "cloudtrail/record_parser.hpp"
#include "common/severity.hpp"

namespace trailhound::engine {

namespace {

std::string_view sv(th_str s) noexcept {
  return s.len && s.ptr ? std::string_view(s.ptr, static_cast<size_t>(s.len)) : std::string_view();
}

// --- th_host_api trampolines: every one is noexcept and tolerates NULL arguments -------------

void api_log(th_host_ctx* ctx, int32_t level, th_str msg) {
  if (!ctx || !ctx->owner) return;
  try {
    ctx->owner->log(*ctx, level, sv(msg));
  } catch (...) {
  }
}

void api_set_error(th_host_ctx* ctx, th_str msg) {
  if (!ctx) return;
  try {
    ctx->last_error.assign(sv(msg).substr(0, 4096));
  } catch (...) {
  }
}

th_status api_emit(th_host_ctx* ctx, const th_finding* f) {
  if (!ctx || !ctx->owner) return TH_ERROR;
  return ctx->owner->emit(*ctx, f);
}

int32_t api_register_field(th_host_ctx* ctx, const char* pointer) {
  if (!ctx || !pointer || !ctx->in_create) return -1;
  try {
    auto p = cloudtrail::json_pointer::parse(pointer);
    if (!p) return -1;
    ctx->fields.push_back(std::move(*p));
    return static_cast<int32_t>(ctx->fields.size() - 1);
  } catch (...) {
    return -1;
  }
}

const th_value* api_get_field(th_host_ctx* ctx, const th_event* ev, int32_t id) {
  if (!ctx || !ev) return nullptr;
  if (id < 0 || static_cast<size_t>(id) >= ctx->fields.size()) {
    api_set_error(ctx, th_str{"get_field: field id was never registered", 40});
    ++ctx->stats.errors;  // counts towards max_errors (checked when the call returns)
    try {
      ++ctx->stats.counters["unregistered_field_lookups"];
    } catch (...) {
    }
    return nullptr;
  }
  return ctx->fields[static_cast<size_t>(id)].resolve(ev->root);
}

th_str api_value_json(th_host_ctx* ctx, const th_value* v) {
  if (!ctx) return th_str{nullptr, 0};
  try {
    ctx->json_buffer.clear();
    cloudtrail::append_value_json(v, ctx->json_buffer);
    return th_str{ctx->json_buffer.data(), ctx->json_buffer.size()};
  } catch (...) {
    return th_str{nullptr, 0};
  }
}

void api_counter_add(th_host_ctx* ctx, const char* name, int64_t delta) {
  if (!ctx || !name) return;
  try {
    // Names are cut at 128 bytes. Most calls add to an existing counter: found without building
    // a string.
    const std::string_view key(name, strnlen(name, 128));
    auto& counters = ctx->stats.counters;
    auto it = counters.find(key);
    if (it == counters.end()) it = counters.emplace(std::string(key), 0).first;
    it->second += delta;
  } catch (...) {
  }
}

const config::global_config* global_of(th_host_ctx* ctx) {
  return ctx && ctx->owner ? &ctx->owner->config().global : nullptr;
}

int32_t api_is_org_account(th_host_ctx* ctx, th_str acct) {
  auto* g = global_of(ctx);
  return g && g->is_org_account(sv(acct)) ? 1 : 0;
}
int32_t api_org_accounts_known(th_host_ctx* ctx) {
  auto* g = global_of(ctx);
  return g && !g->org_account_ids.empty() ? 1 : 0;
}
int32_t api_is_trusted_ip(th_host_ctx* ctx, th_str ip) {
  auto* g = global_of(ctx);
  return g && g->is_trusted_ip(sv(ip)) ? 1 : 0;
}
int32_t api_trusted_cidrs_known(th_host_ctx* ctx) {
  auto* g = global_of(ctx);
  return g && !g->trusted_networks.empty() ? 1 : 0;
}
int32_t api_is_admin(th_host_ctx* ctx, th_str arn) {
  auto* g = global_of(ctx);
  return g && g->is_admin(sv(arn)) ? 1 : 0;
}
int32_t api_is_break_glass(th_host_ctx* ctx, th_str arn) {
  auto* g = global_of(ctx);
  return g && g->is_break_glass(sv(arn)) ? 1 : 0;
}
int32_t api_is_known_account(th_host_ctx* ctx, th_str acct) {
  return ctx && ctx->owner && ctx->owner->is_known_account(sv(acct)) ? 1 : 0;
}

// Owns the th_param_value structs handed to create().
struct config_block {
  std::vector<param_value> values;
  std::vector<std::vector<th_str>> lists;
  std::vector<th_param_value> params;
  std::vector<const th_param_value*> ptrs;
  th_config cfg{};
};

void build_config(config_block& b, const std::string& env, const std::string& instance_id) {
  b.lists.resize(b.values.size());
  b.params.resize(b.values.size());
  for (size_t i = 0; i < b.values.size(); ++i) {
    const param_value& v = b.values[i];
    th_param_value& p = b.params[i];
    std::memset(&p, 0, sizeof p);
    p.struct_size = sizeof p;
    p.name = v.name.c_str();
    p.type = static_cast<int32_t>(v.type);
    p.bool_value = v.bool_value ? 1 : 0;
    p.int_value = v.int_value;
    p.double_value = v.type == param_type::integer || v.type == param_type::duration
                         ? static_cast<double>(v.int_value)
                         : v.double_value;
    p.string_value = th_str{v.string_value.data(), v.string_value.size()};
    for (const auto& s : v.list) b.lists[i].push_back(th_str{s.data(), s.size()});
    p.list = b.lists[i].data();
    p.list_count = static_cast<uint32_t>(b.lists[i].size());
  }
  for (auto& p : b.params) b.ptrs.push_back(&p);
  std::memset(&b.cfg, 0, sizeof b.cfg);
  b.cfg.struct_size = sizeof b.cfg;
  b.cfg.params = b.ptrs.data();
  b.cfg.param_count = static_cast<uint32_t>(b.ptrs.size());
  b.cfg.environment = env.c_str();
  b.cfg.instance_id = instance_id.c_str();
}

bool text_ok(std::string_view s, size_t max) {
  return s.size() <= max && cloudtrail::valid_utf8(s);
}

}  // namespace

engine::engine(const config::effective_config& cfg, findings::collector& out, engine_options opts)
    : cfg_(cfg), out_(out), opts_(std::move(opts)) {
  std::memset(&api_, 0, sizeof api_);
  api_.struct_size = sizeof api_;
  api_.log = &api_log;
  api_.set_error = &api_set_error;
  api_.emit = &api_emit;
  api_.register_field = &api_register_field;
  api_.get_field = &api_get_field;
  cloudtrail::install_value_accessors(api_);
  api_.value_json = &api_value_json;
  api_.counter_add = &api_counter_add;
  api_.is_org_account = &api_is_org_account;
  api_.org_accounts_known = &api_org_accounts_known;
  api_.is_trusted_ip = &api_is_trusted_ip;
  api_.trusted_cidrs_known = &api_trusted_cidrs_known;
  api_.is_admin_principal = &api_is_admin;
  api_.is_break_glass_principal = &api_is_break_glass;
  api_.is_known_account = &api_is_known_account;
  for (const auto& acct : cfg_.global.org_account_ids) known_accounts_.insert(acct);
}

engine::~engine() {
  for (auto& inst : instances_) {
    if (inst->created && inst->binding->destroy) {
      try {
        inst->binding->destroy(inst->handle);
      } catch (...) {
      }
    }
  }
}

void engine::add(const plugins::detector_binding& binding) { bindings_.push_back(&binding); }

std::vector<std::string> engine::start() {
  std::vector<std::string> problems;
  for (const plugins::detector_binding* b : bindings_) {
    if (!cfg_.detector_enabled(b->spec.id)) continue;
    auto inst = std::make_unique<th_host_ctx>();
    inst->owner = this;
    inst->binding = b;
    inst->config = cfg_.find(b->spec.id);
    inst->stats.instance_id = b->spec.id;
    inst->stats.detector = b->spec.id;
    inst->tick_interval_ms =
        b->spec.tick_interval_ms > 0 ? b->spec.tick_interval_ms : opts_.default_tick_ms;

    config_block block;
    block.values = config::resolve_params(b->spec, inst->config);  // throws config_error
    build_config(block, opts_.environment, inst->stats.instance_id);

    inst->in_create = true;
    th_status st = TH_FATAL;
    try {
      st = b->create(&api_, inst.get(), &block.cfg, &inst->handle);
    } catch (...) {
      inst->last_error = "create threw an exception across the ABI";
    }
    inst->in_create = false;
    if (st != TH_OK || !inst->handle) {
      std::string why = inst->last_error.empty() ? "create failed" : inst->last_error;
      problems.push_back(b->spec.id + ": not started: " + why);
      message(b->spec.id + ": not started: " + why);
      inst->stats.quarantined = true;
      inst->stats.quarantine_reason = "create failed: " + why;
      inst->created = false;
      // Keep it listed (for the summary), but route nothing to it.
      instances_.push_back(std::move(inst));
      continue;
    }
    inst->created = true;
    uint32_t index = static_cast<uint32_t>(instances_.size());
    for (const auto& s : b->spec.subscriptions)
      router_.subscribe(index, s.event_source, s.event_name);
    instances_.push_back(std::move(inst));
  }
  return problems;
}

void engine::message(std::string line) {
  if (log_to_stderr_) std::fprintf(stderr, "trailhound: %s\n", line.c_str());
  if (messages_.size() < 10'000) messages_.push_back(std::move(line));
}

void engine::log(th_host_ctx& inst, int32_t level, std::string_view msg) {
  if (level < min_log_level_) return;
  static const char* names[] = {"debug", "info", "warn", "error"};
  const char* lvl = level >= 0 && level <= 3 ? names[level] : "info";
  std::string text(msg.substr(0, 4096));
  if (!cloudtrail::valid_utf8(text)) text = "<invalid UTF-8 log message>";
  message(inst.stats.instance_id + " [" + lvl + "]: " + text);
}

void engine::quarantine(th_host_ctx& inst, const std::string& reason) noexcept {
  if (inst.stats.quarantined) return;
  try {
    inst.stats.quarantined = true;
    inst.stats.quarantine_reason = reason;
    message(inst.stats.instance_id + ": quarantined: " + reason);
    report_quarantine(inst);
  } catch (...) {
  }
}

void engine::report_quarantine(th_host_ctx& inst) noexcept {
  try {
    const std::string& reason = inst.stats.quarantine_reason;
    findings::finding f;
    f.detector = "trailhound";
    f.rule = "detector-quarantined";
    f.severity = TH_SEVERITY_MEDIUM;
    f.title = "Detector " + inst.stats.instance_id + " was quarantined";
    f.summary = "The host stopped feeding events to detector " + inst.stats.instance_id +
                " because it misbehaved: " + reason +
                ". Its findings after this point are missing from this run.";
    f.detector_version = TRAILHOUND_VERSION;
    f.first_seen_ms = f.last_seen_ms = inst.current_time_ms
                                           ? inst.current_time_ms
                                           : (watermark_ms_ == INT64_MIN ? 0 : watermark_ms_);
    std::string ev = "{\"detector\":";
    cloudtrail::append_json_string(ev, inst.stats.instance_id);
    ev += ",\"file\":";
    cloudtrail::append_json_string(ev, inst.binding->spec.file);
    ev += ",\"reason\":";
    cloudtrail::append_json_string(ev, reason);
    ev += ",\"errors\":" + std::to_string(inst.stats.errors);
    ev += ",\"events_before_quarantine\":" + std::to_string(inst.stats.events) + "}";
    f.evidence_json = ev;
    f.dedup_key = inst.stats.instance_id;
    out_.submit(std::move(f));
  } catch (...) {
  }
}

th_status engine::call_result(th_host_ctx& inst, th_status st, const char* where,
                              int64_t ns) noexcept {
  inst.stats.busy_ns += static_cast<uint64_t>(ns);
  if (ns > opts_.slow_call_ns) {
    if (++inst.stats.slow_calls >= opts_.max_slow_calls)
      quarantine(inst, std::to_string(inst.stats.slow_calls) + " calls over the " +
                           std::to_string(opts_.slow_call_ns / 1'000'000) + " ms per-call budget");
  }
  if (st == TH_OK) {
    // Errors the host counted during the call (get_field with an unregistered id) count too.
    if (inst.stats.errors && inst.stats.errors >= opts_.max_errors) {
      try {
        quarantine(inst, std::to_string(inst.stats.errors) + " errors, last: " +
                             (inst.last_error.empty() ? "no reason given" : inst.last_error));
      } catch (...) {
      }
    }
    if (!inst.last_error.empty()) inst.last_error.clear();
    return st;
  }
  ++inst.stats.errors;
  std::string why = inst.last_error.empty() ? "no reason given" : inst.last_error;
  inst.last_error.clear();
  if (st != TH_ERROR) {
    quarantine(inst, std::string(where) + " returned a fatal status: " + why);
  } else {
    if (inst.stats.errors <= 3) try {
        message(inst.stats.instance_id + ": " + where + " failed: " + why);
      } catch (...) {
      }
    if (inst.stats.errors >= opts_.max_errors)
      quarantine(inst, std::to_string(inst.stats.errors) + " errors, last: " + why);
  }
  return st;
}

// Equality of two short strings (account ids are 12 digits) without a call to memcmp: this runs
// for every event (twice: inlined).
[[gnu::always_inline]] static inline bool same_short(std::string_view a,
                                                     std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  const size_t n = a.size();
  if (n < 8 || n > 16) return a == b;
  uint64_t x[2], y[2];  // the first and the last 8 bytes (overlapping): all of them
  std::memcpy(&x[0], a.data(), 8);
  std::memcpy(&x[1], a.data() + n - 8, 8);
  std::memcpy(&y[0], b.data(), 8);
  std::memcpy(&y[1], b.data() + n - 8, 8);
  return ((x[0] ^ y[0]) | (x[1] ^ y[1])) == 0;
}

void engine::note_account(std::string_view acct) noexcept {
  try {
    if (known_accounts_.find(acct) == known_accounts_.end() && known_accounts_.size() < 100'000)
      known_accounts_.emplace(acct);
    last_account_.assign(acct);
  } catch (...) {
  }
}

// Inlined into dispatch(): as a call, saving and restoring registers cost more than the test.
[[gnu::always_inline]] inline void engine::note_accounts(const th_event& ev) noexcept {
  // Nearly every event names the account of the event before it: then two comparisons and no
  // lookup (note_account, out of line, is the rare case).
  const std::string_view recipient = sv(ev.recipient_account_id);
  const std::string_view principal = sv(ev.principal_account_id);
  if (!recipient.empty() && !same_short(recipient, last_account_)) note_account(recipient);
  if (!principal.empty() && !same_short(principal, recipient) &&
      !same_short(principal, last_account_))
    note_account(principal);
}

bool engine::is_known_account(std::string_view account) const noexcept {
  return !account.empty() && known_accounts_.find(account) != known_accounts_.end();
}

std::string engine::known_accounts_state() const {
  std::string out;
  for (const auto& a : known_accounts_) {
    out += a;
    out.push_back('\n');
  }
  return out;
}

void engine::restore_known_accounts(std::string_view state) {
  while (!state.empty()) {
    size_t nl = state.find('\n');
    std::string_view acct = state.substr(0, nl);
    if (!acct.empty() && known_accounts_.size() < 100'000) known_accounts_.emplace(acct);
    if (nl == std::string_view::npos) break;
    state.remove_prefix(nl + 1);
  }
}

void engine::tick_due(int64_t now_ms) noexcept {
  int64_t next = INT64_MAX;
  for (auto& p : instances_) {
    th_host_ctx& inst = *p;
    if (!inst.created || inst.stats.quarantined) continue;
    if (inst.next_tick_ms == INT64_MIN)
      inst.next_tick_ms = (now_ms / inst.tick_interval_ms + 1) * inst.tick_interval_ms;
    if (now_ms >= inst.next_tick_ms) {
      if (inst.binding->on_tick) {
        inst.current_event = nullptr;
        inst.current_time_ms = now_ms;
        int64_t t0 = now_ns();
        th_status st = TH_FATAL;
        enter_call(inst, "on_tick", t0);
        try {
          st = inst.binding->on_tick(inst.handle, now_ms);
        } catch (...) {
          inst.last_error = "on_tick threw an exception across the ABI";
        }
        leave_call();
        call_result(inst, st, "on_tick", now_ns() - t0);
      }
      inst.next_tick_ms = (now_ms / inst.tick_interval_ms + 1) * inst.tick_interval_ms;
    }
    next = std::min(next, inst.next_tick_ms);
  }
  next_tick_ms_ = next;
}

void engine::dispatch(const th_event& ev) noexcept {
  dispatch(ev, routing::route_key_hash(sv(ev.event_source), sv(ev.event_name)));
}

void engine::dispatch(const th_event& ev, uint64_t route_hash) noexcept {
  if (finished_) return;
  note_accounts(ev);
  if (ev.event_time_ms > watermark_ms_) {
    watermark_ms_ = ev.event_time_ms;
    if (watermark_ms_ >= next_tick_ms_) tick_due(watermark_ms_);
  }
  const std::vector<uint32_t>* targets = nullptr;
  try {
    targets = &router_.route(sv(ev.event_source), sv(ev.event_name), route_hash);
  } catch (...) {
    return;
  }
  // One clock reading per call, not two: each call's time runs from the previous reading.
  int64_t t0 = targets->empty() ? 0 : now_ns();
  for (uint32_t index : *targets) {
    th_host_ctx& inst = *instances_[index];
    if (inst.stats.quarantined) continue;
    inst.current_event = &ev;
    inst.current_time_ms = ev.event_time_ms;
    ++inst.stats.events;
    th_status st = TH_FATAL;
    enter_call(inst, "on_event", t0, &ev);
    try {
      st = inst.binding->on_event(inst.handle, &ev);
    } catch (...) {
      inst.last_error = "on_event threw an exception across the ABI";
    }
    leave_call();
    const int64_t t1 = now_ns();
    // The usual call (OK, in time, no error pending) only adds up its time.
    if (st == TH_OK && t1 - t0 <= opts_.slow_call_ns && inst.stats.errors == 0 &&
        inst.last_error.empty())
      inst.stats.busy_ns += static_cast<uint64_t>(t1 - t0);
    else
      call_result(inst, st, "on_event", t1 - t0);
    inst.current_event = nullptr;
    t0 = st == TH_OK ? t1 : now_ns();  // a failed call's reporting is not the next one's time
  }
}

void engine::finish() noexcept {
  if (finished_) return;
  int64_t end_ms = watermark_ms_ == INT64_MIN ? 0 : watermark_ms_;
  for (auto& p : instances_) {
    th_host_ctx& inst = *p;
    // A detector whose create failed was never run: report it now that the run's time is known.
    if (!inst.created && inst.stats.quarantined) report_quarantine(inst);
    if (!inst.created || inst.stats.quarantined) continue;
    inst.current_event = nullptr;
    inst.current_time_ms = end_ms;
    if (inst.binding->on_tick) {
      int64_t t0 = now_ns();
      th_status st = TH_FATAL;
      enter_call(inst, "on_tick", t0);
      try {
        st = inst.binding->on_tick(inst.handle, end_ms);
      } catch (...) {
        inst.last_error = "on_tick threw an exception across the ABI";
      }
      leave_call();
      call_result(inst, st, "on_tick", now_ns() - t0);
    }
    if (inst.binding->on_flush && !inst.stats.quarantined) {
      int64_t t0 = now_ns();
      th_status st = TH_FATAL;
      enter_call(inst, "on_flush", t0);
      try {
        st = inst.binding->on_flush(inst.handle);
      } catch (...) {
        inst.last_error = "on_flush threw an exception across the ABI";
      }
      leave_call();
      call_result(inst, st, "on_flush", now_ns() - t0);
    }
  }
  finished_ = true;
}

th_status engine::emit(th_host_ctx& inst, const th_finding* src) noexcept {
  try {
    auto reject = [&](const std::string& why) {
      ++inst.stats.rejected_findings;
      if (inst.stats.rejected_findings <= 3)
        message(inst.stats.instance_id + ": finding rejected: " + why);
      inst.last_error = "finding rejected: " + why;
      return TH_ERROR;
    };
    if (inst.stats.quarantined) return TH_ERROR;
    if (!src) return reject("NULL finding");
    if (src->struct_size < offsetof(th_finding, evidence_json) ||
        src->struct_size > sizeof(th_finding))
      return reject("bad struct_size " + std::to_string(src->struct_size));
    th_finding f;
    std::memset(&f, 0, sizeof f);
    std::memcpy(&f, src, src->struct_size);

    auto text = [&](th_str s, const char* name, bool required, std::string& dst) -> bool {
      if (s.len && !s.ptr) {
        reject(std::string(name) + " has a length but a NULL pointer");
        return false;
      }
      std::string_view v = sv(s);
      if (required && v.empty()) {
        reject(std::string("missing ") + name);
        return false;
      }
      if (!text_ok(v, name == std::string_view("evidence") ? opts_.max_evidence_bytes
                                                           : opts_.max_text_bytes)) {
        reject(std::string(name) + " is too long or not valid UTF-8");
        return false;
      }
      dst.assign(v);
      return true;
    };
    auto list = [&](const th_str* items, uint32_t n, const char* name,
                    std::vector<std::string>& dst) -> bool {
      if (n && !items) {
        reject(std::string(name) + " is NULL with a count");
        return false;
      }
      if (n > opts_.max_event_ids) {
        reject(std::string(name) + " has too many items");
        return false;
      }
      dst.reserve(n);
      for (uint32_t i = 0; i < n; ++i) {
        std::string item;
        if (!text(items[i], name, false, item)) return false;
        dst.push_back(std::move(item));
      }
      return true;
    };

    findings::finding out;
    out.detector = inst.stats.instance_id;
    out.detector_version = inst.binding->spec.version;
    if (!text(f.rule, "rule", true, out.rule) || !text(f.title, "title", true, out.title) ||
        !text(f.summary, "summary", false, out.summary) ||
        !text(f.account_id, "account_id", false, out.account_id) ||
        !text(f.region, "region", false, out.region) ||
        !text(f.principal, "principal", false, out.principal) ||
        !text(f.source_ip, "source_ip", false, out.source_ip) ||
        !text(f.user_agent, "user_agent", false, out.user_agent) ||
        !text(f.dedup_key, "dedup_key", false, out.dedup_key) ||
        !list(f.event_ids, f.event_id_count, "event_ids", out.event_ids) ||
        !list(f.event_names, f.event_name_count, "event_names", out.event_names) ||
        !list(f.mitre, f.mitre_count, "mitre", out.mitre))
      return TH_ERROR;
    if (f.severity < TH_SEVERITY_INFO || f.severity > TH_SEVERITY_CRITICAL)
      return reject("severity " + std::to_string(f.severity) + " out of range");
    out.severity = f.severity;
    std::string evidence;
    if (!text(f.evidence_json, "evidence", false, evidence)) return TH_ERROR;
    if (evidence.empty()) {
      out.evidence_json = "{}";
    } else {
      std::string reason;
      if (!cloudtrail::normalize_json_object(evidence, 32, out.evidence_json, reason))
        return reject("evidence: " + reason);
    }
    // Defaults from the triggering event.
    if (const th_event* ev = inst.current_event) {
      if (out.account_id.empty())
        out.account_id.assign(
            sv(ev->recipient_account_id.len ? ev->recipient_account_id : ev->principal_account_id));
      if (out.region.empty()) out.region.assign(sv(ev->aws_region));
      if (out.principal.empty()) out.principal.assign(sv(ev->principal_arn));
      if (out.source_ip.empty()) out.source_ip.assign(sv(ev->source_ip));
      if (out.user_agent.empty()) out.user_agent.assign(sv(ev->user_agent));
      if (out.event_ids.empty() && ev->event_id.len) {
        out.event_ids.emplace_back(sv(ev->event_id));
        out.event_names.emplace_back(sv(ev->event_name));
      }
    }
    out.first_seen_ms = f.first_seen_ms ? f.first_seen_ms : inst.current_time_ms;
    out.last_seen_ms = f.last_seen_ms ? f.last_seen_ms : out.first_seen_ms;
    if (out.last_seen_ms < out.first_seen_ms) std::swap(out.first_seen_ms, out.last_seen_ms);
    ++inst.stats.findings;
    out_.submit(std::move(out));
    return TH_OK;
  } catch (...) {
    return TH_ERROR;
  }
}

std::vector<instance_stats> engine::stats() const {
  std::vector<instance_stats> out;
  for (const auto& p : instances_) out.push_back(p->stats);
  return out;
}

th_host_ctx* engine::find(std::string_view instance_id) noexcept {
  for (auto& p : instances_)
    if (p->stats.instance_id == instance_id) return p.get();
  return nullptr;
}

std::vector<th_host_ctx*> engine::instances() noexcept {
  std::vector<th_host_ctx*> out;
  for (auto& p : instances_) out.push_back(p.get());
  return out;
}

bool engine::snapshot(th_host_ctx& inst, std::string& bytes) {
  if (!inst.created || !inst.binding->snapshot_state) return false;
  bytes.clear();
  struct sink_state {
    std::string* out;
    uint64_t limit;
  } state{&bytes, 512ull << 20};
  th_byte_sink sink{sizeof(th_byte_sink), &state,
                    [](void* opaque, const void* data, uint64_t len) -> th_status {
                      auto* s = static_cast<sink_state*>(opaque);
                      if (!data && len) return TH_ERROR;
                      if (s->out->size() + len > s->limit) return TH_ERROR;
                      try {
                        s->out->append(static_cast<const char*>(data), len);
                      } catch (...) {
                        return TH_ERROR;
                      }
                      return TH_OK;
                    }};
  th_status st = TH_FATAL;
  enter_call(inst, "snapshot_state", now_ns());
  try {
    st = inst.binding->snapshot_state(inst.handle, &sink);
  } catch (...) {
    inst.last_error = "snapshot_state threw an exception across the ABI";
  }
  leave_call();
  if (st != TH_OK) {
    message(inst.stats.instance_id + ": snapshot_state failed: " + inst.last_error);
    return false;
  }
  return true;
}

bool engine::restore(th_host_ctx& inst, uint32_t schema_version, std::string_view bytes) {
  if (!inst.created || !inst.binding->restore_state) return false;
  if (schema_version != inst.binding->spec.state_schema_version) return false;
  th_status st = TH_FATAL;
  enter_call(inst, "restore_state", now_ns());
  try {
    st = inst.binding->restore_state(inst.handle, schema_version, bytes.data(), bytes.size());
  } catch (...) {
    inst.last_error = "restore_state threw an exception across the ABI";
  }
  leave_call();
  if (st != TH_OK) {
    message(inst.stats.instance_id + ": restore_state failed: " + inst.last_error);
    inst.last_error.clear();
    return false;
  }
  return true;
}

}  // namespace trailhound::engine
