// A small RAII layer over SQLite's C API: a connection, prepared statements
// and transactions, with every SQLite error turned into a Status at this edge.
//
// Thread-safety: a Database and its Statements are used by one thread at a
// time (connections are opened SQLITE_OPEN_NOMUTEX); concurrency comes from
// several connections on the same file in WAL mode (see store.h).
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include <sqlite3.h>

#include "base/status.h"

namespace winnow::store {

class Statement;

class Database {
 public:
  // Opens (creating if asked) the database file and applies the pragmas every
  // Winnow connection uses: WAL, synchronous=FULL, foreign keys, busy timeout.
  static base::Result<std::unique_ptr<Database>> open(const std::filesystem::path& path, bool create,
                                                      int busy_timeout_ms);

  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;
  ~Database();

  // Runs one or more statements that return no rows (schema, pragmas, BEGIN).
  base::Status exec(std::string_view sql);

  // A statement prepared once per connection and kept. The returned handle
  // resets it when it goes out of scope, so no cached statement keeps a read
  // snapshot open between uses.
  base::Result<class CachedStatement> cached(std::string_view sql);

  // Prepares a one-off statement.
  base::Result<std::unique_ptr<Statement>> prepare(std::string_view sql);

  sqlite3* handle() const { return db_; }
  const std::filesystem::path& path() const { return path_; }

  // A Status for the connection's last error: "<context>: <sqlite message>".
  base::Status error(int rc, std::string_view context) const;

 private:
  Database(sqlite3* db, std::filesystem::path path) : db_(db), path_(std::move(path)) {}

  sqlite3* db_;
  std::filesystem::path path_;
  std::map<std::string, std::unique_ptr<Statement>, std::less<>> cache_;
};

class Statement {
 public:
  Statement(Database* db, sqlite3_stmt* stmt) : db_(db), stmt_(stmt) {}
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  ~Statement();

  // Resets the statement and clears its bindings so it can run again.
  Statement& reset();

  // Parameters are 1-based, as in SQLite. Text and blobs are copied.
  Statement& bind(int index, std::int64_t value);
  Statement& bind(int index, int value) { return bind(index, static_cast<std::int64_t>(value)); }
  Statement& bind(int index, double value);
  Statement& bind(int index, std::string_view value);
  Statement& bind(int index, const char* value) { return bind(index, std::string_view(value)); }
  Statement& bind_blob(int index, std::span<const std::uint8_t> value);
  Statement& bind_null(int index);

  // true: a row is available; false: done. A failed bind surfaces here.
  base::Result<bool> step();
  // Runs a statement that returns no rows.
  base::Status run();

  std::int64_t column_int64(int column) const { return sqlite3_column_int64(stmt_, column); }
  double column_double(int column) const { return sqlite3_column_double(stmt_, column); }
  std::string column_text(int column) const;
  std::span<const std::uint8_t> column_blob(int column) const;
  bool column_is_null(int column) const { return sqlite3_column_type(stmt_, column) == SQLITE_NULL; }

  sqlite3_stmt* handle() const { return stmt_; }
  // A CachedStatement handle holds it: the cache must keep it.
  bool held() const { return holders_ > 0; }

 private:
  friend class CachedStatement;
  void note_bind(int rc);

  Database* db_;
  sqlite3_stmt* stmt_;
  int bind_rc_ = SQLITE_OK;
  int holders_ = 0;  // live CachedStatement handles
};

// A cached statement in use; resets it (ending its read) when destroyed.
class CachedStatement {
 public:
  explicit CachedStatement(Statement* stmt) : stmt_(stmt) { ++stmt_->holders_; }
  CachedStatement(CachedStatement&& other) noexcept : stmt_(other.stmt_) { other.stmt_ = nullptr; }
  CachedStatement(const CachedStatement&) = delete;
  CachedStatement& operator=(const CachedStatement&) = delete;
  CachedStatement& operator=(CachedStatement&&) = delete;
  ~CachedStatement() {
    if (stmt_ == nullptr) return;
    stmt_->reset();
    --stmt_->holders_;
  }
  Statement* operator->() const { return stmt_; }
  Statement& operator*() const { return *stmt_; }

 private:
  Statement* stmt_;
};

// BEGIN IMMEDIATE ... COMMIT; rolls back in the destructor unless committed.
class Transaction {
 public:
  static base::Result<Transaction> begin(Database& db);
  Transaction(Transaction&& other) noexcept : db_(other.db_) { other.db_ = nullptr; }
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  Transaction& operator=(Transaction&&) = delete;
  ~Transaction();

  base::Status commit();

 private:
  explicit Transaction(Database* db) : db_(db) {}
  Database* db_;
};

// A read snapshot: BEGIN (deferred) ... COMMIT, so several reads see one state.
class ReadSnapshot {
 public:
  static base::Result<ReadSnapshot> begin(Database& db);
  ReadSnapshot(ReadSnapshot&& other) noexcept : db_(other.db_) { other.db_ = nullptr; }
  ReadSnapshot(const ReadSnapshot&) = delete;
  ReadSnapshot& operator=(const ReadSnapshot&) = delete;
  ReadSnapshot& operator=(ReadSnapshot&&) = delete;
  ~ReadSnapshot();

 private:
  explicit ReadSnapshot(Database* db) : db_(db) {}
  Database* db_;
};

}  // namespace winnow::store
