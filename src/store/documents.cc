#include "store/documents.h"

#include <cmath>
#include <cstring>

#include "base/files.h"
#include "store/ids.h"
#include "store/lexical_index.h"

namespace winnow::store {

using base::Result;
using base::Status;
using nlohmann::ordered_json;

const std::string* ParsedDocument::text_field(std::string_view name) const {
  for (const auto& field : text_fields) {
    if (field.name == name) return &field.text;
  }
  return nullptr;
}

const std::vector<float>* ParsedDocument::vector(std::string_view index_name) const {
  for (const auto& [name, values] : vectors) {
    if (name == index_name) return &values;
  }
  return nullptr;
}

namespace {

std::string describe(const ordered_json& value) {
  switch (value.type()) {
    case ordered_json::value_t::null: return "null";
    case ordered_json::value_t::boolean: return "a boolean";
    case ordered_json::value_t::number_integer:
    case ordered_json::value_t::number_unsigned:
    case ordered_json::value_t::number_float: return "a number";
    case ordered_json::value_t::string: return "a string";
    case ordered_json::value_t::array: return "an array";
    case ordered_json::value_t::object: return "an object";
    default: return value.type_name();
  }
}

}  // namespace

Result<ParsedDocument> parse_document(std::string_view json_text) {
  WINNOW_ASSIGN_OR_RETURN(ordered_json value, base::parse_ordered_json(json_text, "document"));
  return parse_document_value(value);
}

Result<ParsedDocument> parse_document_value(const ordered_json& value) {
  if (!value.is_object()) return base::invalid_argument("expected a JSON object, got " + describe(value));
  ParsedDocument document;
  for (const auto& [key, member] : value.items()) {
    if (key == "id") {
      if (!member.is_string()) return base::invalid_argument("field 'id' must be a string, got " + describe(member));
      std::string id = member.get<std::string>();
      WINNOW_RETURN_IF_ERROR(validate_document_id(id));
      document.id = std::move(id);
    } else if (key == "metadata") {
      if (!member.is_object()) {
        return base::invalid_argument("field 'metadata' must be an object, got " + describe(member));
      }
      document.metadata = member;
    } else if (key == "vectors") {
      if (!member.is_object()) {
        return base::invalid_argument("field 'vectors' must be an object {index_name: [numbers]}, got " +
                                      describe(member));
      }
      for (const auto& [index_name, values] : member.items()) {
        std::string where = "field 'vectors." + index_name + "'";
        if (!values.is_array() || values.empty()) {
          return base::invalid_argument(where + " must be a non-empty array of numbers, got " + describe(values));
        }
        std::vector<float> vector;
        vector.reserve(values.size());
        for (std::size_t i = 0; i < values.size(); ++i) {
          if (!values[i].is_number()) {
            return base::invalid_argument(where + "[" + std::to_string(i) + "] must be a number, got " +
                                          describe(values[i]));
          }
          float v = values[i].get<float>();
          if (!std::isfinite(v)) {
            return base::invalid_argument(where + "[" + std::to_string(i) + "] is out of float range");
          }
          vector.push_back(v);
        }
        document.vectors.emplace_back(index_name, std::move(vector));
      }
    } else if (member.is_string()) {
      document.text_fields.push_back({key, member.get<std::string>()});
    } else {
      return base::invalid_argument("field '" + key + "' is " + describe(member) +
                                    "; text fields must be strings (put other values under 'metadata')");
    }
  }
  return document;
}

std::string flat_text(const ParsedDocument& document, const std::vector<std::string>& text_fields) {
  std::string out;
  auto append = [&out](const std::string& text) {
    if (text.empty()) return;
    if (!out.empty()) out += ' ';
    out += text;
  };
  if (text_fields.empty()) {
    for (const auto& field : document.text_fields) append(field.text);
  } else {
    for (const auto& name : text_fields) {
      if (const std::string* text = document.text_field(name)) append(*text);
    }
  }
  return out;
}

Result<CollectionRow> find_collection(Database& db, std::string_view collection_id) {
  WINNOW_ASSIGN_OR_RETURN(
      auto stmt, db.cached("SELECT collection_key, collection_id, created_at_ms, settings, log_floor "
                           "FROM collections WHERE collection_id = ?1"));
  stmt->bind(1, collection_id);
  WINNOW_ASSIGN_OR_RETURN(bool row, stmt->step());
  if (!row) return base::not_found("collection '" + std::string(collection_id) + "' not found");
  CollectionRow out;
  out.key = stmt->column_int64(0);
  out.id = stmt->column_text(1);
  out.created_at_ms = stmt->column_int64(2);
  out.log_floor = stmt->column_int64(4);
  std::string settings_text = stmt->column_text(3);
  nlohmann::json settings = nlohmann::json::parse(settings_text, nullptr, false);
  if (settings.is_discarded()) {
    return base::data_loss("collection '" + out.id + "': stored settings are not valid JSON");
  }
  auto parsed = parse_collection_settings(settings);
  if (!parsed.ok()) {
    return base::data_loss("collection '" + out.id + "': stored settings: " + parsed.status().message());
  }
  out.settings = std::move(parsed).value();
  return out;
}

std::vector<std::uint8_t> vector_to_blob(std::span<const float> vector) {
  std::vector<std::uint8_t> blob(vector.size() * sizeof(float));
  if (!blob.empty()) std::memcpy(blob.data(), vector.data(), blob.size());
  return blob;
}

std::vector<float> blob_to_vector(std::span<const std::uint8_t> blob) {
  std::vector<float> vector(blob.size() / sizeof(float));
  if (!vector.empty()) std::memcpy(vector.data(), blob.data(), vector.size() * sizeof(float));
  return vector;
}

namespace {

Status log_change(Database& db, const CollectionRow& collection, std::int64_t doc_key) {
  if (collection.settings.vector_indexes.empty()) return {};
  WINNOW_ASSIGN_OR_RETURN(auto stmt, db.cached("INSERT INTO changes(collection_key, doc_key) VALUES(?1, ?2)"));
  return stmt->bind(1, collection.key).bind(2, doc_key).run();
}

}  // namespace

Result<std::int64_t> write_document(Database& db, const CollectionRow& collection, const std::string& id,
                                    const ParsedDocument& document, const std::vector<VectorWrite>& vectors,
                                    std::int64_t now_ms) {
  ordered_json fields = ordered_json::object();
  for (const auto& field : document.text_fields) fields[field.name] = field.text;
  WINNOW_ASSIGN_OR_RETURN(
      auto upsert,
      db.cached("INSERT INTO documents(collection_key, document_id, text_fields, metadata, created_at_ms, "
                "updated_at_ms) VALUES(?1, ?2, ?3, ?4, ?5, ?5) "
                "ON CONFLICT(collection_key, document_id) DO UPDATE SET text_fields = excluded.text_fields, "
                "metadata = excluded.metadata, updated_at_ms = excluded.updated_at_ms RETURNING doc_key"));
  upsert->bind(1, collection.key).bind(2, id).bind(3, fields.dump()).bind(4, document.metadata.dump()).bind(5, now_ms);
  WINNOW_ASSIGN_OR_RETURN(bool row, upsert->step());
  if (!row) return base::internal_error("upserting document '" + id + "' returned no doc_key");
  std::int64_t doc_key = upsert->column_int64(0);
  WINNOW_ASSIGN_OR_RETURN(bool more, upsert->step());  // finish the statement
  (void)more;

  WINNOW_RETURN_IF_ERROR(index_text(db, collection.key, doc_key, flat_text(document, collection.settings.text_fields)));
  if (!collection.settings.vector_indexes.empty()) {
    WINNOW_ASSIGN_OR_RETURN(auto clear, db.cached("DELETE FROM vectors WHERE doc_key = ?1"));
    WINNOW_RETURN_IF_ERROR(clear->bind(1, doc_key).run());
    WINNOW_ASSIGN_OR_RETURN(auto insert,
                            db.cached("INSERT INTO vectors(doc_key, index_name, vector) VALUES(?1, ?2, ?3)"));
    for (const auto& write : vectors) {
      insert->reset();
      WINNOW_RETURN_IF_ERROR(insert->bind(1, doc_key).bind(2, write.index_name).bind_blob(3, vector_to_blob(write.vector)).run());
    }
  }
  WINNOW_RETURN_IF_ERROR(log_change(db, collection, doc_key));
  return doc_key;
}

Result<std::int64_t> erase_document(Database& db, const CollectionRow& collection, std::string_view id) {
  WINNOW_ASSIGN_OR_RETURN(
      auto erase, db.cached("DELETE FROM documents WHERE collection_key = ?1 AND document_id = ?2 RETURNING doc_key"));
  erase->bind(1, collection.key).bind(2, id);
  WINNOW_ASSIGN_OR_RETURN(bool row, erase->step());
  if (!row) {
    return base::not_found("document '" + std::string(id) + "' not found in collection '" + collection.id + "'");
  }
  std::int64_t doc_key = erase->column_int64(0);
  WINNOW_ASSIGN_OR_RETURN(bool more, erase->step());
  (void)more;
  // vectors go with the document (ON DELETE CASCADE)
  WINNOW_RETURN_IF_ERROR(remove_text(db, collection.key, doc_key));
  WINNOW_RETURN_IF_ERROR(log_change(db, collection, doc_key));
  return doc_key;
}

namespace {

constexpr const char* kDocumentColumns = "document_id, text_fields, metadata, created_at_ms, updated_at_ms";

Result<StoredDocument> document_from_row(const Statement& stmt, const CollectionRow& collection) {
  StoredDocument out;
  out.document_id = stmt.column_text(0);
  ordered_json fields = ordered_json::parse(stmt.column_text(1), nullptr, false);
  nlohmann::json metadata = nlohmann::json::parse(stmt.column_text(2), nullptr, false);
  if (fields.is_discarded() || !fields.is_object() || metadata.is_discarded() || !metadata.is_object()) {
    return base::data_loss("document '" + out.document_id + "' in collection '" + collection.id +
                           "': stored fields are not valid JSON");
  }
  for (const auto& [name, text] : fields.items()) {
    out.text_fields.push_back({name, text.is_string() ? text.get<std::string>() : text.dump()});
  }
  out.metadata = std::move(metadata);
  out.created_at_ms = stmt.column_int64(3);
  out.updated_at_ms = stmt.column_int64(4);
  return out;
}

}  // namespace

Result<std::optional<StoredDocument>> read_document(Database& db, const CollectionRow& collection,
                                                    std::string_view id) {
  WINNOW_ASSIGN_OR_RETURN(auto stmt, db.cached(std::string("SELECT ") + kDocumentColumns +
                                               " FROM documents WHERE collection_key = ?1 AND document_id = ?2"));
  stmt->bind(1, collection.key).bind(2, id);
  WINNOW_ASSIGN_OR_RETURN(bool row, stmt->step());
  if (!row) return std::optional<StoredDocument>();
  WINNOW_ASSIGN_OR_RETURN(StoredDocument document, document_from_row(*stmt, collection));
  return std::optional<StoredDocument>(std::move(document));
}

Result<DocumentPage> read_document_page(Database& db, const CollectionRow& collection, std::string_view after,
                                        std::size_t limit) {
  DocumentPage page;
  if (limit == 0) return page;
  WINNOW_ASSIGN_OR_RETURN(auto stmt, db.cached(std::string("SELECT ") + kDocumentColumns +
                                               " FROM documents WHERE collection_key = ?1 AND document_id > ?2 "
                                               "ORDER BY document_id LIMIT ?3"));
  stmt->bind(1, collection.key).bind(2, after).bind(3, static_cast<std::int64_t>(limit));
  while (true) {
    WINNOW_ASSIGN_OR_RETURN(bool row, stmt->step());
    if (!row) break;
    WINNOW_ASSIGN_OR_RETURN(StoredDocument document, document_from_row(*stmt, collection));
    page.documents.push_back(std::move(document));
  }
  if (page.documents.size() == limit) page.next_after = page.documents.back().document_id;
  return page;
}

}  // namespace winnow::store
