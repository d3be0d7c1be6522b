// SPDX-License-Identifier: Apache-2.0
// Raw C++ callbacks written directly against plugin_abi.h, without the SDK's trampolines, so a C++
// exception escapes across the C ABI into the host. FAULT selects where:
//   1 create   (faulty-throw-create: std::logic_error out of create)
//   2 on_event (faulty-throw-event: std::runtime_error out of its 3rd on_event call)
//   3 on_tick  (faulty-throw-tick: a non-std exception, an int, out of its first on_tick call)
// The host must catch it at the ABI boundary, treat it as a fatal status and quarantine the
// instance (for create: not start it).
#include <trailhound/plugin_abi.h>

#include <cstring>
#include <stdexcept>

#ifndef FAULT
#error "FAULT must be 1 (create), 2 (on_event) or 3 (on_tick)"
#endif

namespace {

struct instance {
  const th_host_api* host = nullptr;
  th_host_ctx* ctx = nullptr;
  unsigned events = 0;
};

th_status create(const th_host_api* host, th_host_ctx* ctx, const th_config*, void** out) {
  if (FAULT == 1) throw std::logic_error("raw create throws across the C ABI");
  *out = new instance{host, ctx, 0};
  return TH_OK;
}

void destroy(void* p) { delete static_cast<instance*>(p); }

th_status on_event(void* p, const th_event*) {
  auto* s = static_cast<instance*>(p);
  if (FAULT == 2 && ++s->events == 3)
    throw std::runtime_error("raw on_event throws across the C ABI");
  return TH_OK;
}

th_status on_tick(void*, int64_t) {
  if (FAULT == 3) throw 42;
  return TH_OK;
}

#if FAULT == 1
#define DETECTOR_ID "faulty-throw-create"
#elif FAULT == 2
#define DETECTOR_ID "faulty-throw-event"
#else
#define DETECTOR_ID "faulty-throw-tick"
#endif

const th_subscription all_events = {sizeof(th_subscription), "*", "*"};
const th_subscription* const subscriptions[] = {&all_events};

// Built once, zeroed first (the descriptor has more fields than this detector sets).
const th_module_desc* module_desc() {
  static const th_detector_desc detector = [] {
    th_detector_desc d;
    std::memset(&d, 0, sizeof d);
    d.struct_size = sizeof d;
    d.id = DETECTOR_ID;
    d.version = "1.0.0";
    d.title = "Faulty: C++ exception across the C ABI";
    d.description = "Raw C++ callbacks without the SDK trampolines: an exception escapes.";
    d.subscriptions = subscriptions;
    d.subscription_count = 1;
    d.create = &create;
    d.destroy = &destroy;
    d.on_event = &on_event;
    d.on_tick = &on_tick;
    return d;
  }();
  static const th_detector_desc* const detectors[] = {&detector};
  static const th_module_desc module = {
      sizeof(th_module_desc), TH_ABI_MAJOR, 0, DETECTOR_ID, "1.0.0", detectors, 1};
  return &module;
}

}  // namespace

extern "C" __attribute__((visibility("default"))) const th_module_desc* th_module_entry_v1(
    const th_host_info*) {
  return module_desc();
}
