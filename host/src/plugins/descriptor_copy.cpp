// SPDX-License-Identifier: Apache-2.0
// Size-tagged, validating copy of plugin descriptors.
#include <cstddef>
#include <cstring>

#include "plugins/binding.hpp"

namespace trailhound::plugins {
namespace {

// Copies a size-tagged struct into a zeroed host struct; refuses one larger than we know.
template <class T>
T sized_copy(const T* src, const char* what) {
  if (!src) throw load_error(std::string(what) + " is NULL");
  uint32_t size = src->struct_size;
  if (size < sizeof(uint32_t))
    throw load_error(std::string(what) + " has struct_size " + std::to_string(size) +
                     ", too small");
  if (size > sizeof(T))
    throw load_error(std::string(what) + " struct_size " + std::to_string(size) +
                     " is larger than this host knows (" + std::to_string(sizeof(T)) +
                     "): built for a newer ABI minor");
  T out;
  std::memset(&out, 0, sizeof out);
  std::memcpy(&out, src, size);
  return out;
}

// True when the member at `offset` of `size` bytes lies within the struct the plugin gave us.
bool present(uint32_t struct_size, size_t offset, size_t size) {
  return offset + size <= struct_size;
}
#define TH_PRESENT(obj, member) \
  present((obj).struct_size, offsetof(decltype(obj), member), sizeof((obj).member))

std::string copy_str(const char* s) { return s ? std::string(s) : std::string(); }

bool valid_id(const std::string& id) {
  if (id.empty() || id.size() > 64) return false;
  for (char c : id)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_')) return false;
  return true;
}

detector_binding copy_detector(const th_detector_desc* src, size_t index) {
  std::string where = "detector #" + std::to_string(index);
  th_detector_desc d = sized_copy(src, where.c_str());
  detector_binding b;
  b.spec.id = copy_str(d.id);
  if (!valid_id(b.spec.id))
    throw load_error(where + ": id '" + b.spec.id + "' is not [a-z0-9_-]{1,64}");
  if (b.spec.id == "trailhound")  // reserved for the host's own health findings
    throw load_error(where + ": id 'trailhound' is reserved for the host");
  where = "detector '" + b.spec.id + "'";
  b.spec.version = copy_str(d.version);
  b.spec.title = copy_str(d.title);
  b.spec.description = copy_str(d.description);
  if (b.spec.version.empty()) throw load_error(where + ": missing version");

  if (!TH_PRESENT(d, create) || !d.create)
    throw load_error(where + ": missing required callback create");
  if (!TH_PRESENT(d, destroy) || !d.destroy)
    throw load_error(where + ": missing required callback destroy");
  if (!TH_PRESENT(d, on_event) || !d.on_event)
    throw load_error(where + ": missing required callback on_event");
  b.create = d.create;
  b.destroy = d.destroy;
  b.on_event = d.on_event;
  if (TH_PRESENT(d, on_tick)) b.on_tick = d.on_tick;
  if (TH_PRESENT(d, on_flush)) b.on_flush = d.on_flush;
  if (TH_PRESENT(d, restore_state) && d.snapshot_state && d.restore_state) {
    b.snapshot_state = d.snapshot_state;
    b.restore_state = d.restore_state;
    b.spec.state_schema_version = d.state_schema_version;
  }
  if (TH_PRESENT(d, tick_interval_ms) && d.tick_interval_ms > 0)
    b.spec.tick_interval_ms = d.tick_interval_ms;

  if (d.subscription_count && !d.subscriptions) throw load_error(where + ": subscriptions is NULL");
  if (d.subscription_count == 0) throw load_error(where + ": subscribes to no event");
  for (uint32_t i = 0; i < d.subscription_count; ++i) {
    th_subscription s = sized_copy(d.subscriptions[i], (where + " subscription").c_str());
    b.spec.subscriptions.push_back(
        subscription_spec{s.event_source && *s.event_source ? s.event_source : "*",
                          s.event_name && *s.event_name ? s.event_name : "*"});
  }
  if (d.param_count && !d.params) throw load_error(where + ": params is NULL");
  for (uint32_t i = 0; i < d.param_count; ++i) {
    th_param_spec p = sized_copy(d.params[i], (where + " param").c_str());
    param_spec ps;
    ps.name = copy_str(p.name);
    if (ps.name.empty()) throw load_error(where + ": a param has no name");
    if (p.type < TH_PARAM_BOOL || p.type > TH_PARAM_DURATION)
      throw load_error(where + ": param '" + ps.name + "' has unknown type " +
                       std::to_string(p.type));
    ps.type = static_cast<param_type>(p.type);
    ps.default_value = copy_str(p.default_value);
    ps.description = copy_str(p.description);
    ps.has_range = p.has_range != 0;
    ps.min_value = p.min_value;
    ps.max_value = p.max_value;
    b.spec.params.push_back(std::move(ps));
  }
  if (d.rule_count && !d.rules) throw load_error(where + ": rules is NULL");
  for (uint32_t i = 0; i < d.rule_count; ++i) {
    th_rule_desc r = sized_copy(d.rules[i], (where + " rule").c_str());
    b.spec.rules.push_back(rule_spec{copy_str(r.id), r.severity, copy_str(r.title),
                                     copy_str(r.mitre), copy_str(r.description)});
  }
  return b;
}

}  // namespace

const th_host_info& host_info() noexcept {
  static const th_host_info info{sizeof(th_host_info), TH_ABI_MAJOR, TH_ABI_MINOR,
                                 TRAILHOUND_VERSION};
  return info;
}

module_info copy_module(const th_module_desc* src, const std::string& file) {
  th_module_desc m = sized_copy(src, "module descriptor");
  if (!TH_PRESENT(m, abi_major)) throw load_error("module descriptor too small");
  if (m.abi_major != TH_ABI_MAJOR)
    throw load_error("ABI major " + std::to_string(m.abi_major) + " does not match host ABI " +
                     std::to_string(TH_ABI_MAJOR) + "." + std::to_string(TH_ABI_MINOR));
  if (m.min_host_minor > TH_ABI_MINOR)
    throw load_error("needs host ABI minor >= " + std::to_string(m.min_host_minor) +
                     ", this host has " + std::to_string(TH_ABI_MAJOR) + "." +
                     std::to_string(TH_ABI_MINOR));
  module_info out;
  out.file = file;
  out.name = copy_str(m.name);
  out.version = copy_str(m.version);
  out.abi_major = m.abi_major;
  out.min_host_minor = m.min_host_minor;
  if (!TH_PRESENT(m, detector_count) || m.detector_count == 0)
    throw load_error("module declares no detector");
  if (!m.detectors) throw load_error("module detectors array is NULL");
  for (uint32_t i = 0; i < m.detector_count; ++i) {
    detector_binding b = copy_detector(m.detectors[i], i);
    b.spec.module_name = out.name;
    b.spec.module_version = out.version;
    b.spec.file = file;
    b.spec.module_abi_major = out.abi_major;
    b.spec.module_min_host_minor = out.min_host_minor;
    for (const auto& other : out.detectors)
      if (other.spec.id == b.spec.id)
        throw load_error("detector id '" + b.spec.id + "' declared twice in the module");
    out.detectors.push_back(std::move(b));
  }
  return out;
}

module_info load_entry(th_module_entry_v1_fn entry, const std::string& file) {
  if (!entry) throw load_error("entry point is NULL");
  const th_module_desc* desc = nullptr;
  try {
    desc = entry(&host_info());
  } catch (...) {
    throw load_error("th_module_entry_v1 threw an exception");
  }
  if (!desc) throw load_error("th_module_entry_v1 returned NULL (module refuses this host)");
  return copy_module(desc, file);
}

}  // namespace trailhound::plugins
