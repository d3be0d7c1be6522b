/* SPDX-License-Identifier: Apache-2.0 */
/* faulty-hang: its `hang_at`-th on_event call (default 50) never returns. The host cannot
 * interrupt it; its watchdog (`scan --hang-timeout`) must report it and stop the scan. Never in
 * the all-at-once runs of the other faulty plugins. */
#include <stdlib.h>
#include <time.h>

#include "faulty_common.h"

typedef struct hang_instance {
  faulty_base base;
  int64_t hang_at;
} hang_instance;

static th_status hang_create(const th_host_api* host, th_host_ctx* ctx, const th_config* cfg,
                             void** out) {
  hang_instance* s = (hang_instance*)calloc(1, sizeof *s);
  if (!s) return TH_FATAL;
  s->base.host = host;
  s->base.ctx = ctx;
  s->hang_at = faulty_param_int(cfg, "hang_at", 50);
  *out = s;
  return TH_OK;
}

static void hang_destroy(void* p) { free(p); }

static th_status hang_on_event(void* p, const th_event* e) {
  hang_instance* s = (hang_instance*)p;
  (void)e;
  if ((int64_t)++s->base.events == s->hang_at) {
    for (;;) {
      struct timespec t = {1, 0};
      nanosleep(&t, NULL);
    }
  }
  return TH_OK;
}

FAULTY_SUBSCRIBE_ALL(hang_subs);

static const th_param_spec hang_param = {sizeof(th_param_spec),
                                         "hang_at",
                                         TH_PARAM_INT,
                                         "50",
                                         "the call (1-based) that never returns",
                                         1,
                                         1,
                                         1000000000};
static const th_param_spec* const hang_params[] = {&hang_param};

static const th_detector_desc hang_detector = {
    .struct_size = sizeof(th_detector_desc),
    .id = "faulty-hang",
    .version = "1.0.0",
    .title = "Faulty: hang",
    .description = "One on_event call never returns.",
    .subscriptions = hang_subs,
    .subscription_count = 1,
    .params = hang_params,
    .param_count = 1,
    .create = hang_create,
    .destroy = hang_destroy,
    .on_event = hang_on_event,
};

FAULTY_MODULE("faulty-hang", hang_detector)
