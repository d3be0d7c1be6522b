/* SPDX-License-Identifier: Apache-2.0 */
/* faulty-slow: sleeps `sleep_ms` in each of its first `slow_events` on_event calls (then is fast).
 * With the host's default budget (250 ms per call, 20 slow calls) the defaults (260 ms x 25) get it
 * quarantined after its 20th event, about 5.2 s into the run. Tests of the C++ API use small
 * budgets and small sleeps. Sleeping is the fault: a real detector never looks at the clock. */
#include <stdlib.h>
#include <time.h>

#include "faulty_common.h"

typedef struct slow_instance {
  faulty_base base;
  int64_t sleep_ms;
  int64_t slow_events;
} slow_instance;

static th_status slow_create(const th_host_api* host, th_host_ctx* ctx, const th_config* cfg,
                             void** out) {
  slow_instance* s = (slow_instance*)calloc(1, sizeof *s);
  if (!s) return TH_FATAL;
  s->base.host = host;
  s->base.ctx = ctx;
  s->sleep_ms = faulty_param_int(cfg, "sleep_ms", 260);
  s->slow_events = faulty_param_int(cfg, "slow_events", 25);
  *out = s;
  return TH_OK;
}

static void slow_destroy(void* p) { free(p); }

static th_status slow_on_event(void* p, const th_event* e) {
  slow_instance* s = (slow_instance*)p;
  (void)e;
  if ((int64_t)s->base.events++ < s->slow_events) {
    struct timespec left;
    left.tv_sec = (time_t)(s->sleep_ms / 1000);
    left.tv_nsec = (long)(s->sleep_ms % 1000) * 1000000L;
    while (nanosleep(&left, &left) != 0) {
    }
  }
  return TH_OK;
}

FAULTY_SUBSCRIBE_ALL(slow_subs);

static const th_param_spec slow_sleep = {sizeof(th_param_spec),
                                         "sleep_ms",
                                         TH_PARAM_INT,
                                         "260",
                                         "milliseconds slept per slow call",
                                         1,
                                         1,
                                         60000};
static const th_param_spec slow_count = {sizeof(th_param_spec),
                                         "slow_events",
                                         TH_PARAM_INT,
                                         "25",
                                         "how many of the first calls are slow",
                                         1,
                                         0,
                                         1000000};
static const th_param_spec* const slow_params[] = {&slow_sleep, &slow_count};

static const th_detector_desc slow_detector = {
    .struct_size = sizeof(th_detector_desc),
    .id = "faulty-slow",
    .version = "1.0.0",
    .title = "Faulty: slow",
    .description = "Exceeds the per-call time budget on its first events.",
    .subscriptions = slow_subs,
    .subscription_count = 1,
    .params = slow_params,
    .param_count = 2,
    .create = slow_create,
    .destroy = slow_destroy,
    .on_event = slow_on_event,
};

FAULTY_MODULE("faulty-slow", slow_detector)
