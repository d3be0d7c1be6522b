// SPDX-License-Identifier: Apache-2.0
// faulty-ctor-throws: an SDK detector whose constructor throws. The SDK's create trampoline
// catches it and returns TH_FATAL with the message; the host must not start the instance, report
// it in the summary and as a health finding, and run every other detector as usual.
#include <stdexcept>
#include <trailhound/sdk.hpp>

namespace {
using namespace trailhound::sdk;

class ctor_throws final : public detector {
 public:
  static const detector_info& info() {
    static const detector_info i{"faulty-ctor-throws",
                                 "1.0.0",
                                 "Faulty: constructor throws",
                                 "An SDK detector whose constructor throws.",
                                 {{"*", "*"}},
                                 {},
                                 {{"never", severity::info, "Never emitted", "", ""}}};
    return i;
  }
  ctor_throws(const context& ctx, const config&) : detector(ctx) {
    throw std::runtime_error("constructor refuses to run");
  }
  void on_event(const event&) override {}
};

}  // namespace

TRAILHOUND_MODULE("faulty-ctor-throws", "1.0.0", ctor_throws)
