#include "store/sqlite.h"

#include <string>

#include "base/files.h"

namespace winnow::store {

using base::Result;
using base::Status;

namespace {

// A full disk: SQLITE_FULL (SQLite's name for ENOSPC on its files), or an
// I/O error whose errno says the disk or the quota is full (growing the
// shared-memory index, for one, reports SQLITE_IOERR_SHMSIZE).
bool disk_full(int rc, int system_errno) {
  return (rc & 0xff) == SQLITE_FULL || ((rc & 0xff) == SQLITE_IOERR && base::is_out_of_space(system_errno));
}

// SQLITE_BUSY and SQLITE_LOCKED mean another connection holds the database;
// SQLITE_CORRUPT/NOTADB mean the file is damaged; a full disk is OutOfSpace
// naming the database; the rest are internal.
Status status_for(int rc, std::string message, const std::filesystem::path& path, int system_errno) {
  if (disk_full(rc, system_errno)) {
    return base::out_of_space(path.string() + ": no space left on device (" + message + ")");
  }
  switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return base::unavailable(std::move(message));
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return base::data_loss(std::move(message));
    case SQLITE_CANTOPEN:
    case SQLITE_READONLY:
    case SQLITE_PERM:
      return base::failed_precondition(std::move(message));
    case SQLITE_CONSTRAINT:
      return base::failed_precondition(std::move(message));
    default:
      return base::internal_error(std::move(message));
  }
}

}  // namespace

Result<std::unique_ptr<Database>> Database::open(const std::filesystem::path& path, bool create,
                                                 int busy_timeout_ms) {
  sqlite3* raw = nullptr;
  int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | (create ? SQLITE_OPEN_CREATE : 0);
  int rc = sqlite3_open_v2(path.c_str(), &raw, flags, nullptr);
  if (rc != SQLITE_OK) {
    std::string message = path.string() + ": cannot open database: " +
                          (raw ? sqlite3_errmsg(raw) : sqlite3_errstr(rc));
    const int system_errno = raw ? sqlite3_system_errno(raw) : 0;
    sqlite3_close_v2(raw);
    return status_for(rc, std::move(message), path, system_errno);
  }
  sqlite3_extended_result_codes(raw, 1);
  std::unique_ptr<Database> db(new Database(raw, path));
  sqlite3_busy_timeout(raw, busy_timeout_ms);
  WINNOW_RETURN_IF_ERROR(db->exec(
      "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;"));
  // journal_mode answers with a row; check that WAL was really taken.
  WINNOW_ASSIGN_OR_RETURN(auto mode, db->prepare("PRAGMA journal_mode"));
  WINNOW_ASSIGN_OR_RETURN(bool row, mode->step());
  if (!row || mode->column_text(0) != "wal") {
    return base::failed_precondition(path.string() + ": cannot switch the database to WAL mode");
  }
  return db;
}

Database::~Database() {
  cache_.clear();  // statements must be finalized before the connection closes
  sqlite3_close_v2(db_);
}

Status Database::error(int rc, std::string_view context) const {
  std::string message(context);
  message += ": ";
  message += sqlite3_errmsg(db_);
  return status_for(rc, std::move(message), path_, sqlite3_system_errno(db_));
}

Status Database::exec(std::string_view sql) {
  std::string text(sql);
  char* message = nullptr;
  int rc = sqlite3_exec(db_, text.c_str(), nullptr, nullptr, &message);
  if (rc != SQLITE_OK) {
    std::string what = path_.filename().string() + ": " + (message ? message : sqlite3_errstr(rc));
    sqlite3_free(message);
    return status_for(rc, std::move(what), path_, sqlite3_system_errno(db_));
  }
  return {};
}

Result<std::unique_ptr<Statement>> Database::prepare(std::string_view sql) {
  sqlite3_stmt* stmt = nullptr;
  int rc = sqlite3_prepare_v2(db_, sql.data(), static_cast<int>(sql.size()), &stmt, nullptr);
  if (rc != SQLITE_OK) {
    sqlite3_finalize(stmt);
    return error(rc, "preparing \"" + std::string(sql.substr(0, 80)) + "\"");
  }
  return std::make_unique<Statement>(this, stmt);
}

Result<CachedStatement> Database::cached(std::string_view sql) {
  auto it = cache_.find(sql);
  if (it != cache_.end()) {
    it->second->reset();
    return CachedStatement(it->second.get());
  }
  // A connection touches a bounded set of statements, but table names carry
  // collection keys; keep the cache from growing without end. Statements in
  // use (CachedStatement handles) must survive, so only the idle ones go:
  // a held statement that is bound but not stepped, or stepped to its end,
  // is not "busy" to SQLite, yet its holder will use it again.
  if (cache_.size() > 512) {
    for (auto entry = cache_.begin(); entry != cache_.end();) {
      entry = entry->second->held() ? std::next(entry) : cache_.erase(entry);
    }
  }
  WINNOW_ASSIGN_OR_RETURN(auto stmt, prepare(sql));
  Statement* raw = stmt.get();
  cache_.emplace(std::string(sql), std::move(stmt));
  return CachedStatement(raw);
}


Statement::~Statement() { sqlite3_finalize(stmt_); }

Statement& Statement::reset() {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
  bind_rc_ = SQLITE_OK;
  return *this;
}

void Statement::note_bind(int rc) {
  if (rc != SQLITE_OK && bind_rc_ == SQLITE_OK) bind_rc_ = rc;
}

Statement& Statement::bind(int index, std::int64_t value) {
  note_bind(sqlite3_bind_int64(stmt_, index, value));
  return *this;
}

Statement& Statement::bind(int index, double value) {
  note_bind(sqlite3_bind_double(stmt_, index, value));
  return *this;
}

Statement& Statement::bind(int index, std::string_view value) {
  note_bind(sqlite3_bind_text64(stmt_, index, value.data(), value.size(), SQLITE_TRANSIENT, SQLITE_UTF8));
  return *this;
}

Statement& Statement::bind_blob(int index, std::span<const std::uint8_t> value) {
  note_bind(sqlite3_bind_blob64(stmt_, index, value.data(), value.size(), SQLITE_TRANSIENT));
  return *this;
}

Statement& Statement::bind_null(int index) {
  note_bind(sqlite3_bind_null(stmt_, index));
  return *this;
}

Result<bool> Statement::step() {
  if (bind_rc_ != SQLITE_OK) {
    return status_for(bind_rc_,
                      std::string("binding parameters of \"") + std::string(sqlite3_sql(stmt_)).substr(0, 80) +
                          "\": " + sqlite3_errstr(bind_rc_),
                      db_->path(), 0);
  }
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  Status status = db_->error(rc, std::string("running \"") + std::string(sqlite3_sql(stmt_)).substr(0, 80) + "\"");
  sqlite3_reset(stmt_);
  return status;
}

Status Statement::run() {
  WINNOW_ASSIGN_OR_RETURN(bool row, step());
  (void)row;
  sqlite3_reset(stmt_);
  return {};
}

std::string Statement::column_text(int column) const {
  const unsigned char* text = sqlite3_column_text(stmt_, column);
  int size = sqlite3_column_bytes(stmt_, column);
  if (text == nullptr) return {};
  return std::string(reinterpret_cast<const char*>(text), static_cast<std::size_t>(size));
}

std::span<const std::uint8_t> Statement::column_blob(int column) const {
  const void* data = sqlite3_column_blob(stmt_, column);
  int size = sqlite3_column_bytes(stmt_, column);
  if (data == nullptr) return {};
  return {static_cast<const std::uint8_t*>(data), static_cast<std::size_t>(size)};
}

Result<Transaction> Transaction::begin(Database& db) {
  WINNOW_RETURN_IF_ERROR(db.exec("BEGIN IMMEDIATE"));
  return Transaction(&db);
}

Transaction::~Transaction() {
  if (db_ != nullptr) db_->exec("ROLLBACK").ignore_error();
}

Status Transaction::commit() {
  Database* db = db_;
  Status status = db->exec("COMMIT");
  if (status.ok()) {
    db_ = nullptr;
  }
  return status;
}

Result<ReadSnapshot> ReadSnapshot::begin(Database& db) {
  WINNOW_RETURN_IF_ERROR(db.exec("BEGIN"));
  return ReadSnapshot(&db);
}

ReadSnapshot::~ReadSnapshot() {
  if (db_ != nullptr) db_->exec("COMMIT").ignore_error();
}

}  // namespace winnow::store
