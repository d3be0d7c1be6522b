/* SPDX-License-Identifier: Apache-2.0 */
/* Shared bits of the faulty test plugins written in C directly against plugin_abi.h (no SDK, so
 * they can misbehave in ways the SDK prevents). Every plugin is one detector in one module,
 * subscribed to every event, with its descriptors in static const storage (no mutable globals). */
#ifndef TRAILHOUND_TESTS_FAULTY_COMMON_H
#define TRAILHOUND_TESTS_FAULTY_COMMON_H

#include <stdint.h>
#include <string.h>
#include <trailhound/plugin_abi.h>

static inline th_str faulty_str(const char* s) {
  th_str r;
  r.ptr = s;
  r.len = s ? (uint64_t)strlen(s) : 0u;
  return r;
}

/* The common part of every instance: its line back to the host and how many events it saw. */
typedef struct faulty_base {
  const th_host_api* host;
  th_host_ctx* ctx;
  uint64_t events;
} faulty_base;

/* Reads an integer parameter by name from the instance config, `fallback` when absent. */
static inline int64_t faulty_param_int(const th_config* cfg, const char* name, int64_t fallback) {
  uint32_t i;
  if (!cfg) return fallback;
  for (i = 0; i < cfg->param_count; ++i) {
    const th_param_value* p = cfg->params[i];
    if (p && p->name && strcmp(p->name, name) == 0) return p->int_value;
  }
  return fallback;
}

#define FAULTY_EXPORT __attribute__((visibility("default")))

/* Subscribes to every event. */
#define FAULTY_SUBSCRIBE_ALL(VAR)                                               \
  static const th_subscription VAR##_all = {sizeof(th_subscription), "*", "*"}; \
  static const th_subscription* const VAR[] = {&VAR##_all}

/* Exports th_module_entry_v1 returning a module holding the one detector DETECTOR. */
#define FAULTY_MODULE(NAME, DETECTOR)                                                \
  static const th_detector_desc* const faulty_detectors[] = {&DETECTOR};             \
  static const th_module_desc faulty_module = {                                      \
      sizeof(th_module_desc), TH_ABI_MAJOR, 0, NAME, "1.0.0", faulty_detectors, 1};  \
  FAULTY_EXPORT const th_module_desc* th_module_entry_v1(const th_host_info* host);  \
  FAULTY_EXPORT const th_module_desc* th_module_entry_v1(const th_host_info* host) { \
    (void)host;                                                                      \
    return &faulty_module;                                                           \
  }

#endif /* TRAILHOUND_TESTS_FAULTY_COMMON_H */
