#include "store/lexical_index.h"

#include <cmath>
#include <new>

namespace winnow::store {

using base::Result;
using base::Status;

namespace {

constexpr const char* kBaseTokenizer = "unicode61 remove_diacritics 2";

// Lucene's EnglishAnalyzer.ENGLISH_STOP_WORDS_SET.
constexpr std::string_view kEnglishStopwords[] = {
    "a",    "an",   "and",  "are",   "as",    "at",   "be",    "but",  "by",   "for",  "if",
    "in",   "into", "is",   "it",    "no",    "not",  "of",    "on",   "or",   "such", "that",
    "the",  "their", "then", "there", "these", "they", "this",  "to",   "was",  "will", "with",
};

Result<fts5_api*> fts5_api_of(Database& db) {
  WINNOW_ASSIGN_OR_RETURN(auto stmt, db.cached("SELECT fts5(?1)"));
  fts5_api* api = nullptr;
  if (sqlite3_bind_pointer(stmt->handle(), 1, &api, "fts5_api_ptr", nullptr) != SQLITE_OK) {
    return base::internal_error("cannot bind the fts5_api pointer");
  }
  WINNOW_ASSIGN_OR_RETURN(bool row, stmt->step());
  (void)row;
  if (api == nullptr || api->iVersion < 2) return base::failed_precondition("SQLite was built without FTS5");
  return api;
}

// ---- winnow_stop: wraps another tokenizer and drops stop words ----------

struct StopTokenizer {
  fts5_tokenizer parent;
  Fts5Tokenizer* parent_instance = nullptr;
};

struct StopContext {
  void* outer_context;
  int (*outer_token)(void*, int, const char*, int, int, int);
  const char* text;
  int text_size;
};

bool is_possessive_s(const StopContext& ctx, const char* token, int size, int start, int end) {
  if (size != 1 || (token[0] != 's' && token[0] != 'S')) return false;
  // "'s" or "’s" (U+2019) directly before the token, and the word ends there.
  bool apostrophe = (start >= 1 && ctx.text[start - 1] == '\'') ||
                    (start >= 3 && static_cast<unsigned char>(ctx.text[start - 3]) == 0xE2 &&
                     static_cast<unsigned char>(ctx.text[start - 2]) == 0x80 &&
                     static_cast<unsigned char>(ctx.text[start - 1]) == 0x99);
  if (!apostrophe) return false;
  if (end < ctx.text_size) {
    unsigned char next = static_cast<unsigned char>(ctx.text[end]);
    if (std::isalnum(next) || next >= 0x80) return false;
  }
  // and a word precedes the apostrophe ("cell's", not "'s" alone)
  int before = ctx.text[start - 1] == '\'' ? start - 2 : start - 4;
  return before >= 0 && (std::isalnum(static_cast<unsigned char>(ctx.text[before])) ||
                         static_cast<unsigned char>(ctx.text[before]) >= 0x80);
}

int stop_filter_token(void* context, int flags, const char* token, int size, int start, int end) {
  auto* ctx = static_cast<StopContext*>(context);
  if (is_english_stopword(std::string_view(token, static_cast<std::size_t>(size)))) return SQLITE_OK;
  if (is_possessive_s(*ctx, token, size, start, end)) return SQLITE_OK;
  return ctx->outer_token(ctx->outer_context, flags, token, size, start, end);
}

int stop_create(void* api_context, const char** argv, int argc, Fts5Tokenizer** out) {
  auto* api = static_cast<fts5_api*>(api_context);
  const char* parent_name = argc > 0 ? argv[0] : "unicode61";
  void* parent_context = nullptr;
  fts5_tokenizer parent;
  int rc = api->xFindTokenizer(api, parent_name, &parent_context, &parent);
  if (rc != SQLITE_OK) return rc;
  auto* tokenizer = new (std::nothrow) StopTokenizer{parent, nullptr};
  if (tokenizer == nullptr) return SQLITE_NOMEM;
  rc = parent.xCreate(parent_context, argc > 0 ? argv + 1 : nullptr, argc > 0 ? argc - 1 : 0,
                      &tokenizer->parent_instance);
  if (rc != SQLITE_OK) {
    delete tokenizer;
    return rc;
  }
  *out = reinterpret_cast<Fts5Tokenizer*>(tokenizer);
  return SQLITE_OK;
}

void stop_delete(Fts5Tokenizer* instance) {
  auto* tokenizer = reinterpret_cast<StopTokenizer*>(instance);
  if (tokenizer == nullptr) return;
  if (tokenizer->parent_instance != nullptr) tokenizer->parent.xDelete(tokenizer->parent_instance);
  delete tokenizer;
}

int stop_tokenize(Fts5Tokenizer* instance, void* context, int flags, const char* text, int size,
                  int (*token)(void*, int, const char*, int, int, int)) {
  auto* tokenizer = reinterpret_cast<StopTokenizer*>(instance);
  StopContext ctx{context, token, text, size};
  return tokenizer->parent.xTokenize(tokenizer->parent_instance, &ctx, flags, text, size, stop_filter_token);
}

// ---- winnow_bm25: Lucene's BM25 as an FTS5 auxiliary function ------------

// Per-query statistics, computed on the first row and kept as FTS5 auxdata
// for the rest of the query.
struct QueryStats {
  double avgdl = 0;
  std::vector<double> idf;  // per phrase (= query term)
  std::vector<int> tf;      // scratch, per phrase
};

int count_rows(const Fts5ExtensionApi*, Fts5Context*, void* counter) {
  ++*static_cast<std::int64_t*>(counter);
  return SQLITE_OK;
}

int compute_stats(const Fts5ExtensionApi* api, Fts5Context* fts, QueryStats* stats) {
  sqlite3_int64 rows = 0, tokens = 0;
  int rc = api->xRowCount(fts, &rows);
  if (rc == SQLITE_OK) rc = api->xColumnTotalSize(fts, -1, &tokens);
  if (rc != SQLITE_OK) return rc;
  stats->avgdl = rows > 0 ? static_cast<double>(tokens) / static_cast<double>(rows) : 0.0;
  int phrases = api->xPhraseCount(fts);
  stats->idf.assign(static_cast<std::size_t>(phrases), 0.0);
  stats->tf.assign(static_cast<std::size_t>(phrases), 0);
  for (int i = 0; i < phrases; ++i) {
    std::int64_t df = 0;
    rc = api->xQueryPhrase(fts, i, &df, count_rows);
    if (rc != SQLITE_OK) return rc;
    double n = static_cast<double>(rows), d = static_cast<double>(df);
    stats->idf[static_cast<std::size_t>(i)] = std::log(1.0 + (n - d + 0.5) / (d + 0.5));
  }
  return SQLITE_OK;
}

void delete_stats(void* stats) { delete static_cast<QueryStats*>(stats); }

void bm25_function(const Fts5ExtensionApi* api, Fts5Context* fts, sqlite3_context* out, int argc,
                   sqlite3_value** argv) {
  double k1 = argc > 0 ? sqlite3_value_double(argv[0]) : 0.9;
  double b = argc > 1 ? sqlite3_value_double(argv[1]) : 0.4;
  auto* stats = static_cast<QueryStats*>(api->xGetAuxdata(fts, 0));
  if (stats == nullptr) {
    stats = new (std::nothrow) QueryStats;
    if (stats == nullptr) {
      sqlite3_result_error_nomem(out);
      return;
    }
    int rc = compute_stats(api, fts, stats);
    if (rc == SQLITE_OK) rc = api->xSetAuxdata(fts, stats, delete_stats);  // frees stats on failure
    else delete stats;
    if (rc != SQLITE_OK) {
      sqlite3_result_error_code(out, rc);
      return;
    }
  }
  std::fill(stats->tf.begin(), stats->tf.end(), 0);
  int instances = 0;
  int rc = api->xInstCount(fts, &instances);
  for (int i = 0; rc == SQLITE_OK && i < instances; ++i) {
    int phrase = 0, column = 0, offset = 0;
    rc = api->xInst(fts, i, &phrase, &column, &offset);
    if (rc == SQLITE_OK && phrase >= 0 && static_cast<std::size_t>(phrase) < stats->tf.size()) {
      ++stats->tf[static_cast<std::size_t>(phrase)];
    }
  }
  int length = 0;
  if (rc == SQLITE_OK) rc = api->xColumnSize(fts, -1, &length);
  if (rc != SQLITE_OK) {
    sqlite3_result_error_code(out, rc);
    return;
  }
  double norm = stats->avgdl > 0 ? k1 * (1.0 - b + b * static_cast<double>(length) / stats->avgdl) : k1;
  double score = 0;
  for (std::size_t i = 0; i < stats->tf.size(); ++i) {
    if (stats->tf[i] == 0) continue;
    double tf = stats->tf[i];
    score += stats->idf[i] * tf / (tf + norm);
  }
  sqlite3_result_double(out, score);
}

std::string tokenizer_spec(Stopwords stopwords, bool for_query) {
  bool drop = stopwords == Stopwords::kEnglish || (for_query && stopwords == Stopwords::kEnglishQueryOnly);
  return drop ? std::string("porter winnow_stop ") + kBaseTokenizer : std::string("porter ") + kBaseTokenizer;
}

struct QueryTokens {
  std::string_view text;
  std::vector<std::string_view> tokens;  // as they appear in the query text
};

int collect_token(void* context, int flags, const char*, int, int start, int end) {
  if (flags & FTS5_TOKEN_COLOCATED) return SQLITE_OK;
  auto* out = static_cast<QueryTokens*>(context);
  if (start < 0 || end <= start || static_cast<std::size_t>(end) > out->text.size()) return SQLITE_OK;
  out->tokens.push_back(out->text.substr(static_cast<std::size_t>(start), static_cast<std::size_t>(end - start)));
  return SQLITE_OK;
}

// Splits "porter winnow_stop unicode61 remove_diacritics 2" into words.
std::vector<std::string> split_words(const std::string& spec) {
  std::vector<std::string> words;
  std::size_t pos = 0;
  while (pos < spec.size()) {
    std::size_t next = spec.find(' ', pos);
    if (next == std::string::npos) next = spec.size();
    if (next > pos) words.push_back(spec.substr(pos, next - pos));
    pos = next + 1;
  }
  return words;
}

}  // namespace

bool is_english_stopword(std::string_view word) {
  for (auto stop : kEnglishStopwords) {
    if (word == stop) return true;
  }
  return false;
}

Status register_lexical_extensions(Database& db) {
  WINNOW_ASSIGN_OR_RETURN(fts5_api* api, fts5_api_of(db));
  fts5_tokenizer stop{stop_create, stop_delete, stop_tokenize};
  int rc = api->xCreateTokenizer(api, "winnow_stop", api, &stop, nullptr);
  if (rc != SQLITE_OK) return db.error(rc, "registering the winnow_stop tokenizer");
  rc = api->xCreateFunction(api, "winnow_bm25", nullptr, bm25_function, nullptr);
  if (rc != SQLITE_OK) return db.error(rc, "registering the winnow_bm25 function");
  return {};
}

std::string fts_table_name(std::int64_t collection_key) { return "fts_" + std::to_string(collection_key); }

Status create_fts_table(Database& db, std::int64_t collection_key, const Bm25Settings& bm25) {
  return db.exec("CREATE VIRTUAL TABLE " + fts_table_name(collection_key) + " USING fts5(body, tokenize = '" +
                 tokenizer_spec(bm25.stopwords, false) + "')");
}

Status drop_fts_table(Database& db, std::int64_t collection_key) {
  // Cached statements naming the table stay behind, unused: collection keys
  // are never reused (AUTOINCREMENT), and the cache is bounded.
  return db.exec("DROP TABLE IF EXISTS " + fts_table_name(collection_key));
}

Status remove_text(Database& db, std::int64_t collection_key, std::int64_t doc_key) {
  WINNOW_ASSIGN_OR_RETURN(auto stmt,
                          db.cached("DELETE FROM " + fts_table_name(collection_key) + " WHERE rowid = ?1"));
  return stmt->bind(1, doc_key).run();
}

Status index_text(Database& db, std::int64_t collection_key, std::int64_t doc_key, std::string_view text) {
  WINNOW_RETURN_IF_ERROR(remove_text(db, collection_key, doc_key));
  if (text.empty()) return {};
  WINNOW_ASSIGN_OR_RETURN(auto stmt, db.cached("INSERT INTO " + fts_table_name(collection_key) +
                                               "(rowid, body) VALUES(?1, ?2)"));
  return stmt->bind(1, doc_key).bind(2, text).run();
}

Result<std::string> build_match_expression(Database& db, std::string_view query, Stopwords stopwords) {
  WINNOW_ASSIGN_OR_RETURN(fts5_api* api, fts5_api_of(db));
  std::vector<std::string> words = split_words(tokenizer_spec(stopwords, true));
  std::vector<const char*> args;
  for (std::size_t i = 1; i < words.size(); ++i) args.push_back(words[i].c_str());
  void* context = nullptr;
  fts5_tokenizer tokenizer;
  int rc = api->xFindTokenizer(api, words[0].c_str(), &context, &tokenizer);
  if (rc != SQLITE_OK) return db.error(rc, "finding the " + words[0] + " tokenizer");
  Fts5Tokenizer* instance = nullptr;
  rc = tokenizer.xCreate(context, args.data(), static_cast<int>(args.size()), &instance);
  if (rc != SQLITE_OK) return db.error(rc, "creating the query tokenizer");
  QueryTokens out{query, {}};
  rc = tokenizer.xTokenize(instance, &out, FTS5_TOKENIZE_QUERY, query.data(), static_cast<int>(query.size()),
                           collect_token);
  tokenizer.xDelete(instance);
  if (rc != SQLITE_OK) return db.error(rc, "tokenizing the query");
  std::string expression;
  for (auto token : out.tokens) {
    if (!expression.empty()) expression += " OR ";
    expression += '"';
    for (char c : token) {
      if (c == '"') expression += '"';  // FTS5 escapes a quote inside a string by doubling it
      expression += c;
    }
    expression += '"';
  }
  return expression;
}

Result<std::vector<LexicalHit>> lexical_search(Database& db, std::int64_t collection_key, const Bm25Settings& bm25,
                                               std::string_view query, std::size_t top_k) {
  std::vector<LexicalHit> hits;
  if (top_k == 0) return hits;
  WINNOW_ASSIGN_OR_RETURN(std::string match, build_match_expression(db, query, bm25.stopwords));
  if (match.empty()) return hits;
  std::string fts = fts_table_name(collection_key);
  // CROSS JOIN keeps the FTS match as the outer loop: only matching rows are
  // scored and joined to their document ids.
  WINNOW_ASSIGN_OR_RETURN(
      auto stmt, db.cached("SELECT d.document_id, winnow_bm25(" + fts + ", ?2, ?3) AS score FROM " + fts +
                           " CROSS JOIN documents AS d ON d.doc_key = " + fts + ".rowid WHERE " + fts +
                           " MATCH ?1 ORDER BY score DESC, d.document_id ASC LIMIT ?4"));
  stmt->bind(1, match).bind(2, bm25.k1).bind(3, bm25.b).bind(4, static_cast<std::int64_t>(top_k));
  while (true) {
    WINNOW_ASSIGN_OR_RETURN(bool row, stmt->step());
    if (!row) break;
    hits.push_back({stmt->column_text(0), stmt->column_double(1)});
  }
  return hits;
}

}  // namespace winnow::store
