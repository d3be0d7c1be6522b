// SPDX-License-Identifier: Apache-2.0
// SQLite-backed state store.
#include "state/state_store.hpp"

#include <sqlite3.h>

#include <filesystem>

namespace trailhound::state {
namespace {

const char* SCHEMA = R"sql(
PRAGMA journal_mode = WAL;
PRAGMA synchronous = NORMAL;
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
INSERT OR IGNORE INTO meta(key, value) VALUES ('store_version', '1');
CREATE TABLE IF NOT EXISTS detector_state (
  environment TEXT NOT NULL,
  instance TEXT NOT NULL,
  schema_version INTEGER NOT NULL,
  saved_at_event_ms INTEGER NOT NULL,
  bytes BLOB NOT NULL,
  PRIMARY KEY (environment, instance));
CREATE TABLE IF NOT EXISTS file_ledger (
  environment TEXT NOT NULL,
  path TEXT NOT NULL,
  size INTEGER NOT NULL,
  mtime_ns INTEGER NOT NULL,
  content_hash TEXT NOT NULL,
  PRIMARY KEY (environment, path, size, mtime_ns, content_hash));
)sql";

struct stmt {
  sqlite3_stmt* s = nullptr;
  stmt(sqlite3* db, const char* sql) {
    if (sqlite3_prepare_v2(db, sql, -1, &s, nullptr) != SQLITE_OK)
      throw state_error(std::string("state store: ") + sqlite3_errmsg(db));
  }
  ~stmt() { sqlite3_finalize(s); }
  stmt& text(int i, const std::string& v) {
    sqlite3_bind_text(s, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
    return *this;
  }
  stmt& blob(int i, const std::string& v) {
    sqlite3_bind_blob(s, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
    return *this;
  }
  stmt& i64(int i, int64_t v) {
    sqlite3_bind_int64(s, i, v);
    return *this;
  }
};

void check(sqlite3* db, int rc, const char* what) {
  if (rc != SQLITE_OK && rc != SQLITE_DONE && rc != SQLITE_ROW)
    throw state_error(std::string("state store: ") + what + ": " + sqlite3_errmsg(db));
}

}  // namespace

struct state_store::impl {
  sqlite3* db = nullptr;
  int depth = 0;
  ~impl() {
    if (db) sqlite3_close(db);
  }
};

state_store::state_store(std::unique_ptr<impl> p, std::string path)
    : impl_(std::move(p)), path_(std::move(path)) {}
state_store::~state_store() = default;

std::unique_ptr<state_store> state_store::open(const std::string& path, std::string& warning) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::path parent = fs::path(path).parent_path();
  if (!parent.empty()) fs::create_directories(parent, ec);
  for (int attempt = 0; attempt < 2; ++attempt) {
    auto p = std::make_unique<impl>();
    int rc =
        sqlite3_open_v2(path.c_str(), &p->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr);
    if (rc == SQLITE_OK) {
      sqlite3_busy_timeout(p->db, 5000);
      char* err = nullptr;
      rc = sqlite3_exec(p->db, SCHEMA, nullptr, nullptr, &err);
      if (err) sqlite3_free(err);
      if (rc == SQLITE_OK) {
        // A quick integrity probe: reading the tables must work.
        rc = sqlite3_exec(p->db, "SELECT count(*) FROM detector_state", nullptr, nullptr, nullptr);
        if (rc == SQLITE_OK)
          return std::unique_ptr<state_store>(new state_store(std::move(p), path));
      }
    }
    std::string why = p->db ? sqlite3_errmsg(p->db) : "cannot open";
    if (rc == SQLITE_CANTOPEN || attempt == 1)
      throw state_error("state store " + path + ": " + why);
    p.reset();
    // Not a usable store: keep it for inspection and start fresh rather than block the run.
    std::string aside;
    for (int n = 1;; ++n) {
      aside = path + ".corrupt-" + std::to_string(n);
      if (!fs::exists(aside, ec)) break;
    }
    fs::rename(path, aside, ec);
    fs::remove(path + "-wal", ec);
    fs::remove(path + "-shm", ec);
    warning = "state store " + path + " was unusable (" + why + "); moved to " + aside +
              " and started fresh";
  }
  throw state_error("state store " + path + ": cannot open");
}

std::optional<stored_state> state_store::load(const std::string& env, const std::string& inst) {
  stmt s(impl_->db,
         "SELECT schema_version, bytes, saved_at_event_ms FROM detector_state "
         "WHERE environment = ?1 AND instance = ?2");
  s.text(1, env).text(2, inst);
  int rc = sqlite3_step(s.s);
  check(impl_->db, rc, "load");
  if (rc != SQLITE_ROW) return std::nullopt;
  stored_state out;
  out.schema_version = static_cast<uint32_t>(sqlite3_column_int64(s.s, 0));
  const void* b = sqlite3_column_blob(s.s, 1);
  int n = sqlite3_column_bytes(s.s, 1);
  if (b && n > 0) out.bytes.assign(static_cast<const char*>(b), static_cast<size_t>(n));
  out.saved_at_event_ms = sqlite3_column_int64(s.s, 2);
  return out;
}

void state_store::save(const std::string& env, const std::string& inst, const stored_state& st) {
  stmt s(impl_->db,
         "INSERT INTO detector_state(environment, instance, schema_version, saved_at_event_ms, "
         "bytes) VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT(environment, instance) DO UPDATE SET "
         "schema_version = excluded.schema_version, saved_at_event_ms = "
         "excluded.saved_at_event_ms, bytes = excluded.bytes");
  s.text(1, env)
      .text(2, inst)
      .i64(3, st.schema_version)
      .i64(4, st.saved_at_event_ms)
      .blob(5, st.bytes);
  check(impl_->db, sqlite3_step(s.s), "save");
}

void state_store::erase(const std::string& env, const std::string& inst) {
  stmt s(impl_->db, "DELETE FROM detector_state WHERE environment = ?1 AND instance = ?2");
  s.text(1, env).text(2, inst);
  check(impl_->db, sqlite3_step(s.s), "erase");
}

bool state_store::in_ledger(const std::string& env, const ledger_entry& e) {
  stmt s(impl_->db,
         "SELECT 1 FROM file_ledger WHERE environment = ?1 AND path = ?2 AND size = ?3 AND "
         "mtime_ns = ?4 AND content_hash = ?5");
  s.text(1, env)
      .text(2, e.path)
      .i64(3, static_cast<int64_t>(e.size))
      .i64(4, e.mtime_ns)
      .text(5, e.content_hash);
  int rc = sqlite3_step(s.s);
  check(impl_->db, rc, "ledger lookup");
  return rc == SQLITE_ROW;
}

void state_store::add_to_ledger(const std::string& env, const ledger_entry& e) {
  stmt s(impl_->db,
         "INSERT OR IGNORE INTO file_ledger(environment, path, size, mtime_ns, content_hash) "
         "VALUES (?1, ?2, ?3, ?4, ?5)");
  s.text(1, env)
      .text(2, e.path)
      .i64(3, static_cast<int64_t>(e.size))
      .i64(4, e.mtime_ns)
      .text(5, e.content_hash);
  check(impl_->db, sqlite3_step(s.s), "ledger insert");
}

uint64_t state_store::ledger_size(const std::string& env) {
  stmt s(impl_->db, "SELECT count(*) FROM file_ledger WHERE environment = ?1");
  s.text(1, env);
  check(impl_->db, sqlite3_step(s.s), "ledger count");
  return static_cast<uint64_t>(sqlite3_column_int64(s.s, 0));
}

void state_store::begin() {
  if (impl_->depth++ == 0)
    check(impl_->db, sqlite3_exec(impl_->db, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr),
          "begin");
}

void state_store::commit() {
  if (impl_->depth > 0 && --impl_->depth == 0)
    check(impl_->db, sqlite3_exec(impl_->db, "COMMIT", nullptr, nullptr, nullptr), "commit");
}

void state_store::rollback() {
  if (impl_->depth > 0) {
    impl_->depth = 0;
    sqlite3_exec(impl_->db, "ROLLBACK", nullptr, nullptr, nullptr);
  }
}

}  // namespace trailhound::state
