#include "text/post_processor.h"

#include <map>
#include <string>

#include "text/json_fields.h"

namespace winnow::text {

namespace {

using Piece = PostProcessor::Piece;

Piece sequence_piece(int sequence, std::int32_t type_id) {
  Piece p;
  p.is_sequence = true;
  p.sequence = sequence;
  p.type_id = type_id;
  return p;
}

Piece special_piece(std::int32_t id, std::int32_t type_id) {
  Piece p;
  p.ids = {id};
  p.type_id = type_id;
  return p;
}

std::size_t count_added(const std::vector<Piece>& pieces) {
  std::size_t n = 0;
  for (const auto& p : pieces) n += p.ids.size();
  return n;
}

// A template element written as a string: "$A", "$B:1", "$1", "[CLS]", "[SEP]:1".
base::Result<std::pair<std::string, std::int32_t>> parse_piece_string(const std::string& s,
                                                                       std::string_view where) {
  std::string id = s;
  std::int32_t type_id = 0;
  auto colon = s.find(':');
  if (colon != std::string::npos) {
    id = s.substr(0, colon);
    try {
      std::size_t used = 0;
      long v = std::stol(s.substr(colon + 1), &used);
      if (used != s.size() - colon - 1 || v < 0) throw std::invalid_argument("type id");
      type_id = static_cast<std::int32_t>(v);
    } catch (const std::exception&) {
      return base::invalid_argument(std::string(where) + ": cannot build a template piece from \"" + s + "\"");
    }
  }
  return std::make_pair(id, type_id);
}

base::Result<std::vector<Piece>> parse_template(const nlohmann::json& tmpl,
                                                const std::map<std::string, std::vector<std::int32_t>>& specials,
                                                std::string_view where) {
  std::vector<Piece> pieces;
  std::vector<nlohmann::json> items;
  if (tmpl.is_string()) {
    std::string s = tmpl.get<std::string>();
    std::size_t pos = 0;
    while (pos <= s.size()) {
      auto space = s.find(' ', pos);
      if (space == std::string::npos) space = s.size();
      items.emplace_back(s.substr(pos, space - pos));
      pos = space + 1;
    }
  } else if (tmpl.is_array()) {
    for (const auto& item : tmpl) items.push_back(item);
  } else {
    return base::invalid_argument(std::string(where) + ": must be an array of pieces");
  }
  for (const auto& item : items) {
    std::string id;
    std::int32_t type_id = 0;
    bool is_sequence = false;
    if (item.is_object() && item.contains("Sequence") && item["Sequence"].is_object()) {
      const auto& seq = item["Sequence"];
      WINNOW_ASSIGN_OR_RETURN(id, require_string(seq, "id", where));
      WINNOW_ASSIGN_OR_RETURN(std::int64_t t, get_int(seq, "type_id", 0, where));
      type_id = static_cast<std::int32_t>(t);
      is_sequence = true;
    } else if (item.is_object() && item.contains("SpecialToken") && item["SpecialToken"].is_object()) {
      const auto& tok = item["SpecialToken"];
      WINNOW_ASSIGN_OR_RETURN(id, require_string(tok, "id", where));
      WINNOW_ASSIGN_OR_RETURN(std::int64_t t, get_int(tok, "type_id", 0, where));
      type_id = static_cast<std::int32_t>(t);
    } else if (item.is_string()) {
      WINNOW_ASSIGN_OR_RETURN(auto parsed, parse_piece_string(item.get<std::string>(), where));
      id = parsed.first;
      type_id = parsed.second;
      if (!id.empty() && id[0] == '$') {
        is_sequence = true;
        std::string rest = id.substr(1);
        if (rest.empty() || rest == "A" || rest == "a") {
          id = "A";
        } else if (rest == "B" || rest == "b") {
          id = "B";
        } else if (rest.size() <= 9 && rest.find_first_not_of("0123456789") == std::string::npos) {
          if (item.get<std::string>().find(':') == std::string::npos) type_id = std::stoi(rest);
          id = "A";
        } else {
          return base::invalid_argument(std::string(where) + ": cannot build a template piece from \"" +
                                        item.get<std::string>() + "\"");
        }
      }
    } else {
      return base::invalid_argument(std::string(where) + ": unrecognized template piece " + item.dump());
    }
    if (is_sequence) {
      if (id != "A" && id != "B") {
        return base::invalid_argument(std::string(where) + ": sequence id must be A or B, got \"" + id + "\"");
      }
      pieces.push_back(sequence_piece(id == "A" ? 0 : 1, type_id));
    } else {
      auto it = specials.find(id);
      if (it == specials.end()) {
        return base::invalid_argument(std::string(where) + ": special token \"" + id +
                                      "\" is missing from special_tokens");
      }
      Piece p;
      p.ids = it->second;
      p.type_id = type_id;
      pieces.push_back(std::move(p));
    }
  }
  return pieces;
}

}  // namespace

PostProcessor::PostProcessor() {
  single_ = {sequence_piece(0, 0)};
  pair_ = {sequence_piece(0, 0), sequence_piece(1, 1)};
}

base::Result<PostProcessor> PostProcessor::from_json(const nlohmann::json& spec, std::string_view file) {
  PostProcessor result;
  if (spec.is_null()) return result;
  std::string where = std::string(file) + ": post_processor";
  WINNOW_ASSIGN_OR_RETURN(std::string type, get_type(spec, where));
  where += " \"" + type + "\"";
  auto token_pair = [&](std::string_view field) -> base::Result<std::int32_t> {
    auto it = spec.find(std::string(field));
    if (it == spec.end() || !it->is_array() || it->size() != 2 || !(*it)[0].is_string() ||
        !(*it)[1].is_number_integer()) {
      return field_error(where, field, "must be a [token, id] pair");
    }
    return static_cast<std::int32_t>((*it)[1].get<std::int64_t>());
  };
  if (type == "TemplateProcessing") {
    std::map<std::string, std::vector<std::int32_t>> specials;
    auto st = spec.find("special_tokens");
    if (st != spec.end() && st->is_object()) {
      for (const auto& [name, token] : st->items()) {
        if (!token.is_object() || !token.contains("ids") || !token["ids"].is_array()) {
          return field_error(where, "special_tokens", "entry \"" + name + "\" has no ids array");
        }
        std::vector<std::int32_t> ids;
        for (const auto& id : token["ids"]) {
          if (!id.is_number_integer()) return field_error(where, "special_tokens", "entry \"" + name + "\" has a non-integer id");
          ids.push_back(static_cast<std::int32_t>(id.get<std::int64_t>()));
        }
        specials[name] = std::move(ids);
      }
    }
    if (!spec.contains("single") || !spec.contains("pair")) {
      return base::invalid_argument(where + ": needs both \"single\" and \"pair\" templates");
    }
    WINNOW_ASSIGN_OR_RETURN(result.single_, parse_template(spec["single"], specials, where + " single"));
    WINNOW_ASSIGN_OR_RETURN(result.pair_, parse_template(spec["pair"], specials, where + " pair"));
    for (const auto& p : result.single_) {
      if (p.is_sequence && p.sequence == 1) {
        return base::invalid_argument(where + ": the single template cannot use sequence B");
      }
    }
  } else if (type == "BertProcessing") {
    WINNOW_ASSIGN_OR_RETURN(std::int32_t sep, token_pair("sep"));
    WINNOW_ASSIGN_OR_RETURN(std::int32_t cls, token_pair("cls"));
    result.single_ = {special_piece(cls, 0), sequence_piece(0, 0), special_piece(sep, 0)};
    result.pair_ = {special_piece(cls, 0), sequence_piece(0, 0), special_piece(sep, 0), sequence_piece(1, 1),
                    special_piece(sep, 1)};
  } else if (type == "RobertaProcessing") {
    WINNOW_ASSIGN_OR_RETURN(std::int32_t sep, token_pair("sep"));
    WINNOW_ASSIGN_OR_RETURN(std::int32_t cls, token_pair("cls"));
    // <s> A </s></s> B </s>, every type id 0.
    result.single_ = {special_piece(cls, 0), sequence_piece(0, 0), special_piece(sep, 0)};
    result.pair_ = {special_piece(cls, 0), sequence_piece(0, 0), special_piece(sep, 0),
                    special_piece(sep, 0), sequence_piece(1, 0), special_piece(sep, 0)};
  } else if (type == "ByteLevel") {
    // Offsets only.
  } else if (type == "Sequence") {
    auto it = spec.find("processors");
    if (it == spec.end() || !it->is_array()) return field_error(where, "processors", "must be an array");
    int with_specials = 0;
    for (const auto& child : *it) {
      WINNOW_ASSIGN_OR_RETURN(PostProcessor part, from_json(child, file));
      WINNOW_ASSIGN_OR_RETURN(std::string child_type, get_type(child, where));
      if (child_type == "ByteLevel") continue;
      if (++with_specials > 1) {
        return base::invalid_argument(where + ": only one processor that adds special tokens is supported");
      }
      result = std::move(part);
    }
  } else {
    return base::invalid_argument(std::string(file) + ": post_processor type \"" + type + "\" is not supported");
  }
  result.added_single_ = count_added(result.single_);
  result.added_pair_ = count_added(result.pair_);
  return result;
}

void PostProcessor::process(const std::vector<std::int32_t>& a, const std::vector<std::int32_t>* b,
                            std::vector<std::int32_t>& ids, std::vector<std::int32_t>& type_ids) const {
  ids.clear();
  type_ids.clear();
  const auto& pieces = b != nullptr ? pair_ : single_;
  for (const auto& p : pieces) {
    if (p.is_sequence) {
      const auto& seq = p.sequence == 0 ? a : *b;
      ids.insert(ids.end(), seq.begin(), seq.end());
      type_ids.insert(type_ids.end(), seq.size(), p.type_id);
    } else {
      ids.insert(ids.end(), p.ids.begin(), p.ids.end());
      type_ids.insert(type_ids.end(), p.ids.size(), p.type_id);
    }
  }
}

}  // namespace winnow::text
