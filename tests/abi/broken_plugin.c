/* SPDX-License-Identifier: Apache-2.0 */
/* One source, many broken plugins: BROKEN selects the defect the host must refuse.
 *   1 wrong ABI major            2 minor too new          3 struct_size larger than known
 *   4 missing on_event callback  5 no entry symbol        6 undefined symbol (rtld_now)
 *   7 entry returns NULL         0 a good plugin (id from DETECTOR_ID) */
#include <string.h>
#include <trailhound/plugin_abi.h>

#ifndef DETECTOR_ID
#define DETECTOR_ID "good-fixture"
#endif

#if BROKEN != 5
static th_status create(const th_host_api* h, th_host_ctx* c, const th_config* cfg, void** out) {
  (void)h;
  (void)c;
  (void)cfg;
  *out = (void*)1;
  return TH_OK;
}
static void destroy(void* p) { (void)p; }
static th_status on_event(void* p, const th_event* e) {
  (void)p;
  (void)e;
  return TH_OK;
}

#if BROKEN == 6
void trailhound_function_that_does_not_exist(void);
#endif

static const th_subscription sub = {sizeof(th_subscription), "*", "*"};
static const th_subscription* const subs[] = {&sub};
static th_detector_desc detector;
static const th_detector_desc* detectors[1];
static th_module_desc module;

__attribute__((visibility("default"))) const th_module_desc* th_module_entry_v1(
    const th_host_info* host) {
  (void)host;
#if BROKEN == 6
  trailhound_function_that_does_not_exist();
#endif
#if BROKEN == 7
  return NULL;
#endif
  memset(&detector, 0, sizeof detector);
  detector.struct_size = sizeof detector;
#if BROKEN == 3
  detector.struct_size = sizeof detector + 64;
#endif
  detector.id = DETECTOR_ID;
  detector.version = "1.0.0";
  detector.title = "fixture";
  detector.subscriptions = subs;
  detector.subscription_count = 1;
  detector.create = create;
  detector.destroy = destroy;
#if BROKEN != 4
  detector.on_event = on_event;
#endif
  detectors[0] = &detector;
  memset(&module, 0, sizeof module);
  module.struct_size = sizeof module;
  module.abi_major = TH_ABI_MAJOR;
#if BROKEN == 1
  module.abi_major = TH_ABI_MAJOR + 1;
#endif
#if BROKEN == 2
  module.min_host_minor = TH_ABI_MINOR + 5;
#endif
  module.name = DETECTOR_ID;
  module.version = "1.0.0";
  module.detectors = detectors;
  module.detector_count = 1;
  return &module;
}
#else
__attribute__((visibility("default"))) int not_the_entry_point(void) { return 0; }
#endif
