/* SPDX-License-Identifier: Apache-2.0 */
/* Compiles the ABI header as strict C11 (-std=c11 -Wall -Wextra -Werror -pedantic). */
#include <trailhound/plugin_abi.h>

const th_module_desc* th_c11_check(const th_host_info* host);
const th_module_desc* th_c11_check(const th_host_info* host) {
  (void)host;
  return 0;
}
