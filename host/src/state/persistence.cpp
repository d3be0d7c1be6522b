// SPDX-License-Identifier: Apache-2.0
// Restore and save of all instances' learned state.
#include "state/persistence.hpp"

#include <sys/stat.h>

#include <cstdio>

#include "pipeline/dedup.hpp"

namespace trailhound::state {

persistence_report restore_all(state_store& store, engine::engine& eng, const std::string& env) {
  persistence_report r;
  if (auto host = store.load(env, HOST_STATE_INSTANCE);
      host && host->schema_version == HOST_STATE_SCHEMA)
    eng.restore_known_accounts(host->bytes);
  for (th_host_ctx* inst : eng.instances()) {
    const auto& spec = inst->binding->spec;
    if (!inst->created || spec.state_schema_version == 0) continue;
    auto saved = store.load(env, inst->stats.instance_id);
    if (!saved) continue;
    if (saved->schema_version != spec.state_schema_version) {
      r.messages.push_back(inst->stats.instance_id + ": stored state has schema " +
                           std::to_string(saved->schema_version) + ", detector expects " +
                           std::to_string(spec.state_schema_version) + ": starting fresh");
      continue;
    }
    if (eng.restore(*inst, saved->schema_version, saved->bytes))
      r.restored.push_back(inst->stats.instance_id);
    else
      r.messages.push_back(inst->stats.instance_id +
                           ": stored state could not be restored (corrupt?): starting fresh");
  }
  return r;
}

persistence_report save_all(state_store& store, engine::engine& eng, const std::string& env) {
  persistence_report r;
  store.begin();
  try {
    store.save(env, HOST_STATE_INSTANCE,
               stored_state{HOST_STATE_SCHEMA, eng.known_accounts_state(), eng.watermark_ms()});
    for (th_host_ctx* inst : eng.instances()) {
      const auto& spec = inst->binding->spec;
      if (!inst->created || spec.state_schema_version == 0) continue;
      if (inst->stats.quarantined) {
        // A misbehaving instance's state is not trusted; the previous one is kept.
        r.messages.push_back(inst->stats.instance_id + ": quarantined, its state was not saved");
        continue;
      }
      std::string bytes;
      if (!eng.snapshot(*inst, bytes)) {
        r.messages.push_back(inst->stats.instance_id + ": snapshot failed, previous state kept");
        continue;
      }
      store.save(env, inst->stats.instance_id,
                 stored_state{spec.state_schema_version, std::move(bytes), eng.watermark_ms()});
    }
  } catch (...) {
    store.rollback();
    throw;
  }
  store.commit();
  return r;
}

}  // namespace trailhound::state

namespace trailhound::state {

bool fingerprint(const std::string& path, ledger_entry& out) {
  if (path == "-") return false;
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return false;
  out.path = path;
  out.size = static_cast<uint64_t>(st.st_size);
  out.mtime_ns = static_cast<int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec;
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) return false;
  std::string buf(64 * 1024, '\0');
  std::string sample = std::to_string(out.size) + ":";
  size_t n = std::fread(buf.data(), 1, buf.size(), f);
  sample.append(buf.data(), n);
  if (out.size > buf.size() * 2) {
    std::fseek(f, -static_cast<long>(buf.size()), SEEK_END);
    n = std::fread(buf.data(), 1, buf.size(), f);
    sample.append(buf.data(), n);
  }
  std::fclose(f);
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx",
                static_cast<unsigned long long>(pipeline::hash64(sample)));
  out.content_hash = hex;
  return true;
}

}  // namespace trailhound::state
