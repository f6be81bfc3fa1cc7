#include <gtest/gtest.h>

#include "store/store.h"
#include "test_util.h"

namespace winnow::store {
namespace {

using base::StatusCode;
using testing::ids_of;
using testing::TempDir;

class DocumentsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto opened = Store::open(dir_.path());
    ASSERT_TRUE(opened.ok()) << opened.status().to_string();
    store_ = std::move(opened).value();
    WINNOW_ASSERT_OK(store_->create_collection(
        "c", {{"vector_indexes", {{{"name", "v"}, {"dimensions", 3}}, {{"name", "w"}, {"metric", "l2"}}}}}));
  }

  TempDir dir_;
  std::unique_ptr<Store> store_;
};

TEST_F(DocumentsTest, PutGetKeepsFieldsInOrderAndMetadata) {
  WINNOW_ASSERT_OK_AND_ASSIGN(std::string id, store_->put_document("c", R"({"id": "d1", "title": "Zebra stripes",
      "text": "Why zebras have stripes", "metadata": {"year": 2020, "tags": ["bio"]}})"));
  EXPECT_EQ(id, "d1");
  WINNOW_ASSERT_OK_AND_ASSIGN(StoredDocument doc, store_->get_document("c", "d1"));
  ASSERT_EQ(doc.text_fields.size(), 2u);
  EXPECT_EQ(doc.text_fields[0].name, "title");
  EXPECT_EQ(doc.text_fields[1].name, "text");
  EXPECT_EQ(doc.text_fields[1].text, "Why zebras have stripes");
  EXPECT_EQ(doc.metadata["year"], 2020);
  EXPECT_EQ(doc.metadata["tags"][0], "bio");
  EXPECT_GT(doc.created_at_ms, 0);
  EXPECT_EQ(doc.created_at_ms, doc.updated_at_ms);

  auto missing = store_->get_document("c", "nope");
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(missing.status().message(), "document 'nope' not found in collection 'c'");
}

TEST_F(DocumentsTest, GeneratedIdsAreRandomHex) {
  WINNOW_ASSERT_OK_AND_ASSIGN(std::string a, store_->put_document("c", R"({"text": "one"})"));
  WINNOW_ASSERT_OK_AND_ASSIGN(std::string b, store_->put_document("c", R"({"text": "two"})"));
  EXPECT_EQ(a.size(), 32u);
  EXPECT_EQ(a.find_first_not_of("0123456789abcdef"), std::string::npos);
  EXPECT_NE(a, b);
  WINNOW_ASSERT_OK(store_->get_document("c", a));
}

TEST_F(DocumentsTest, BadDocumentsNameTheField) {
  auto number = store_->put_document("c", R"({"id": "x", "year": 2020})");
  EXPECT_EQ(number.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(number.status().message().find("field 'year' is a number"), std::string::npos)
      << number.status().message();
  auto not_object = store_->put_document("c", "[1, 2]");
  EXPECT_NE(not_object.status().message().find("expected a JSON object, got an array"), std::string::npos);
  auto bad_metadata = store_->put_document("c", R"({"metadata": "x"})");
  EXPECT_NE(bad_metadata.status().message().find("'metadata' must be an object"), std::string::npos);
  auto bad_vector = store_->put_document("c", R"({"id": "x", "vectors": {"v": [1, "a", 3]}})");
  EXPECT_NE(bad_vector.status().message().find("'vectors.v'[1] must be a number"), std::string::npos)
      << bad_vector.status().message();
  auto wrong_length = store_->put_document("c", R"({"id": "x", "vectors": {"v": [1, 2]}})");
  EXPECT_EQ(wrong_length.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(wrong_length.status().message().find("document 'x': index 'v': vector has 2 dimensions, expected 3"),
            std::string::npos)
      << wrong_length.status().message();
  auto unknown_index = store_->put_document("c", R"({"id": "x", "vectors": {"u": [1, 2, 3]}})");
  EXPECT_NE(unknown_index.status().message().find("no vector index 'u' (it has v, w)"), std::string::npos)
      << unknown_index.status().message();
  auto zero = store_->put_document("c", R"({"id": "x", "vectors": {"v": [0, 0, 0]}})");
  EXPECT_NE(zero.status().message().find("zero length"), std::string::npos);
  auto bad_json = store_->put_document("c", R"({"id": )");
  EXPECT_NE(bad_json.status().message().find("invalid JSON"), std::string::npos);
  // issue 10: a number out of range aborted the process; it is the document's error.
  auto overflow = store_->put_document("c", R"({"id": "x", "text": "a", "metadata": {"n": 1e400}})");
  EXPECT_EQ(overflow.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(overflow.status().message().find("field metadata.n: number overflow"), std::string::npos)
      << overflow.status().message();
  auto control = store_->put_document("c", R"({"id": "a\u0000b", "text": "a"})");
  EXPECT_NE(control.status().message().find("control characters"), std::string::npos) << control.status().message();
  auto deep = store_->put_document("c", R"({"id": "x", "metadata": {"n": )" + std::string(600, '[') +
                                            std::string(600, ']') + "}}");
  EXPECT_NE(deep.status().message().find("nested deeper than 512"), std::string::npos) << deep.status().message();
  EXPECT_EQ(store_->get_document("c", "x").status().code(), StatusCode::kNotFound);
}

TEST_F(DocumentsTest, DimensionsAreFixedByTheFirstVector) {
  WINNOW_ASSERT_OK_AND_ASSIGN(VectorIndexSpec before, store_->index_spec("c", "w"));
  EXPECT_FALSE(before.dimensions.has_value());
  WINNOW_ASSERT_OK(store_->put_document("c", R"({"id": "a", "vectors": {"w": [1, 2, 3, 4]}})"));
  WINNOW_ASSERT_OK_AND_ASSIGN(VectorIndexSpec after, store_->index_spec("c", "w"));
  EXPECT_EQ(after.dimensions, 4);
  auto wrong = store_->put_document("c", R"({"id": "b", "vectors": {"w": [1, 2, 3]}})");
  EXPECT_NE(wrong.status().message().find("document 'b': index 'w': vector has 3 dimensions, expected 4"),
            std::string::npos);
  // l2: the score is minus the Euclidean distance.
  WINNOW_ASSERT_OK_AND_ASSIGN(auto hits, store_->vector_search("c", "w", std::vector<float>{1, 2, 3, 6}, 5));
  ASSERT_EQ(hits.size(), 1u);
  EXPECT_NEAR(hits[0].score, -2.0, 1e-5);
  auto bad_query = store_->vector_search("c", "w", std::vector<float>{1, 2}, 5);
  EXPECT_NE(bad_query.status().message().find("query vector has 2 dimensions, expected 4"), std::string::npos);
}

TEST_F(DocumentsTest, UpsertReplacesTextMetadataVectorsAndFts) {
  WINNOW_ASSERT_OK(store_->put_document(
      "c", R"({"id": "d", "text": "aardvark burrows", "metadata": {"v": 1}, "vectors": {"v": [1, 0, 0]}})"));
  WINNOW_ASSERT_OK(store_->put_document("c", R"({"id": "other", "text": "pangolin scales", "vectors": {"v": [0, 1, 0]}})"));
  WINNOW_ASSERT_OK_AND_ASSIGN(auto found, store_->text_search("c", "aardvark", 10));
  EXPECT_EQ(ids_of(found), std::vector<std::string>{"d"});

  WINNOW_ASSERT_OK(store_->put_document(
      "c", R"({"id": "d", "title": "okapi", "metadata": {"v": 2}, "vectors": {"v": [0, 0, 1]}})"));
  WINNOW_ASSERT_OK_AND_ASSIGN(StoredDocument doc, store_->get_document("c", "d"));
  ASSERT_EQ(doc.text_fields.size(), 1u);
  EXPECT_EQ(doc.text_fields[0].name, "title");
  EXPECT_EQ(doc.metadata, nlohmann::json({{"v", 2}}));
  EXPECT_GE(doc.updated_at_ms, doc.created_at_ms);

  WINNOW_ASSERT_OK_AND_ASSIGN(auto old_words, store_->text_search("c", "aardvark burrows", 10));
  EXPECT_TRUE(old_words.empty());
  WINNOW_ASSERT_OK_AND_ASSIGN(auto new_words, store_->text_search("c", "okapi", 10));
  EXPECT_EQ(ids_of(new_words), std::vector<std::string>{"d"});

  WINNOW_ASSERT_OK_AND_ASSIGN(auto near_old, store_->vector_search("c", "v", std::vector<float>{1, 0, 0}, 2));
  ASSERT_EQ(near_old.size(), 2u);
  EXPECT_NEAR(near_old[0].score, 0.0, 1e-6);  // its old vector [1, 0, 0] is gone
  WINNOW_ASSERT_OK_AND_ASSIGN(auto near_new, store_->vector_search("c", "v", std::vector<float>{0, 0, 1}, 1));
  ASSERT_EQ(near_new.size(), 1u);
  EXPECT_EQ(near_new[0].document_id, "d");
  EXPECT_NEAR(near_new[0].score, 1.0, 1e-6);

  // Replacing without vectors removes the document from the index.
  WINNOW_ASSERT_OK(store_->put_document("c", R"({"id": "d", "title": "okapi"})"));
  WINNOW_ASSERT_OK_AND_ASSIGN(auto all, store_->vector_search("c", "v", std::vector<float>{0, 0, 1}, 10));
  EXPECT_EQ(ids_of(all), std::vector<std::string>{"other"});
  WINNOW_ASSERT_OK_AND_ASSIGN(Collection collection, store_->get_collection("c"));
  EXPECT_EQ(collection.document_count, 2);
}

TEST_F(DocumentsTest, DeleteRemovesFromEveryIndex) {
  WINNOW_ASSERT_OK(store_->put_document("c", R"({"id": "d", "text": "wombat", "vectors": {"v": [1, 0, 0], "w": [5]}})"));
  WINNOW_ASSERT_OK(store_->put_document("c", R"({"id": "e", "text": "wombat wombat", "vectors": {"v": [0, 1, 0]}})"));
  WINNOW_ASSERT_OK(store_->delete_document("c", "d"));
  EXPECT_EQ(store_->get_document("c", "d").status().code(), StatusCode::kNotFound);
  WINNOW_ASSERT_OK_AND_ASSIGN(auto text, store_->text_search("c", "wombat", 10));
  EXPECT_EQ(ids_of(text), std::vector<std::string>{"e"});
  WINNOW_ASSERT_OK_AND_ASSIGN(auto v, store_->vector_search("c", "v", std::vector<float>{1, 0, 0}, 10));
  EXPECT_EQ(ids_of(v), std::vector<std::string>{"e"});
  WINNOW_ASSERT_OK_AND_ASSIGN(auto w, store_->vector_search("c", "w", std::vector<float>{5}, 10));
  EXPECT_TRUE(w.empty());
  auto again = store_->delete_document("c", "d");
  EXPECT_EQ(again.code(), StatusCode::kNotFound);
  EXPECT_EQ(again.message(), "document 'd' not found in collection 'c'");
}

TEST_F(DocumentsTest, ListPaginatesByIdAndFetchKeepsRequestOrder) {
  for (const char* id : {"b", "a", "d", "c", "e"}) {
    WINNOW_ASSERT_OK(store_->put_document("c", std::string(R"({"id": ")") + id + R"(", "text": "x"})"));
  }
  WINNOW_ASSERT_OK_AND_ASSIGN(DocumentPage first, store_->list_documents("c", "", 2));
  ASSERT_EQ(first.documents.size(), 2u);
  EXPECT_EQ(first.documents[0].document_id, "a");
  EXPECT_EQ(first.documents[1].document_id, "b");
  EXPECT_EQ(first.next_after, "b");
  WINNOW_ASSERT_OK_AND_ASSIGN(DocumentPage second, store_->list_documents("c", first.next_after, 2));
  EXPECT_EQ(second.documents[0].document_id, "c");
  WINNOW_ASSERT_OK_AND_ASSIGN(DocumentPage last, store_->list_documents("c", "d", 2));
  ASSERT_EQ(last.documents.size(), 1u);
  EXPECT_EQ(last.next_after, "");

  std::vector<std::string> ids = {"e", "missing", "a"};
  WINNOW_ASSERT_OK_AND_ASSIGN(auto fetched, store_->fetch_documents("c", ids));
  ASSERT_EQ(fetched.size(), 2u);
  EXPECT_EQ(fetched[0].document_id, "e");
  EXPECT_EQ(fetched[1].document_id, "a");
  EXPECT_EQ(fetched[1].text_fields[0].text, "x");
}

TEST_F(DocumentsTest, ReopenFindsEverything) {
  WINNOW_ASSERT_OK(store_->put_document("c", R"({"id": "d", "text": "narwhal tusk", "metadata": {"k": "v"},
                                                  "vectors": {"v": [0.6, 0.8, 0]}})"));
  Retriever r;
  r.retriever_id = "r";
  r.collection_ids = {"c"};
  r.stages = nlohmann::json::array();
  WINNOW_ASSERT_OK(store_->create_retriever(r));
  store_.reset();
  WINNOW_ASSERT_OK_AND_ASSIGN(store_, Store::open(dir_.path()));
  WINNOW_ASSERT_OK_AND_ASSIGN(StoredDocument doc, store_->get_document("c", "d"));
  EXPECT_EQ(doc.metadata["k"], "v");
  WINNOW_ASSERT_OK_AND_ASSIGN(auto text, store_->text_search("c", "narwhals", 10));
  EXPECT_EQ(ids_of(text), std::vector<std::string>{"d"});
  WINNOW_ASSERT_OK_AND_ASSIGN(auto near, store_->vector_search("c", "v", std::vector<float>{3, 4, 0}, 10));
  ASSERT_EQ(near.size(), 1u);
  EXPECT_NEAR(near[0].score, 1.0, 1e-6);
  WINNOW_ASSERT_OK(store_->get_retriever("r"));
  WINNOW_ASSERT_OK_AND_ASSIGN(VectorIndexInfo info, store_->vector_index_info("c", "v"));
  EXPECT_EQ(info.vectors, 1u);
  EXPECT_FALSE(info.hnsw);
}

}  // namespace
}  // namespace winnow::store
