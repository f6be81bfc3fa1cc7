#include <gtest/gtest.h>

#include "store/store.h"
#include "test_util.h"

namespace winnow::store {
namespace {

using testing::TempDir;
using base::StatusCode;

TEST(Collections, CreateGetListDelete) {
  TempDir dir;
  WINNOW_ASSERT_OK_AND_ASSIGN(auto store, Store::open(dir.path()));
  nlohmann::json settings = {
      {"text_fields", {"title", "text"}},
      {"vector_indexes", {{{"name", "emb"}, {"model", "BAAI/bge-m3"}, {"field", "text"}}}},
      {"bm25", {{"k1", 1.2}, {"b", 0.75}}},
  };
  WINNOW_ASSERT_OK_AND_ASSIGN(Collection created, store->create_collection("papers", settings));
  EXPECT_EQ(created.collection_id, "papers");
  EXPECT_GT(created.created_at_ms, 0);
  ASSERT_EQ(created.settings.vector_indexes.size(), 1u);
  EXPECT_EQ(created.settings.vector_indexes[0].model, "BAAI/bge-m3");
  EXPECT_EQ(created.settings.vector_indexes[0].metric, Metric::kCosine);
  EXPECT_FALSE(created.settings.vector_indexes[0].dimensions.has_value());
  EXPECT_DOUBLE_EQ(created.settings.bm25.k1, 1.2);

  WINNOW_ASSERT_OK(store->create_collection("notes", nlohmann::json::object()));
  WINNOW_ASSERT_OK_AND_ASSIGN(Collection got, store->get_collection("papers"));
  EXPECT_EQ(got.settings.text_fields, (std::vector<std::string>{"title", "text"}));
  EXPECT_EQ(got.document_count, 0);
  EXPECT_EQ(got.created_at_ms, created.created_at_ms);

  WINNOW_ASSERT_OK_AND_ASSIGN(auto all, store->list_collections());
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].collection_id, "notes");
  EXPECT_EQ(all[1].collection_id, "papers");

  WINNOW_ASSERT_OK_AND_ASSIGN(VectorIndexSpec spec, store->index_spec("papers", "emb"));
  EXPECT_EQ(spec.field, "text");
  auto missing_index = store->index_spec("papers", "nope");
  EXPECT_EQ(missing_index.status().code(), StatusCode::kNotFound);
  EXPECT_NE(missing_index.status().message().find("'nope'"), std::string::npos);

  WINNOW_ASSERT_OK(store->delete_collection("papers"));
  auto gone = store->get_collection("papers");
  EXPECT_EQ(gone.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(gone.status().message(), "collection 'papers' not found");
  // The id can be used again, and the new collection starts empty.
  WINNOW_ASSERT_OK(store->create_collection("papers", nlohmann::json::object()));
  WINNOW_ASSERT_OK_AND_ASSIGN(auto hits, store->text_search("papers", "anything", 10));
  EXPECT_TRUE(hits.empty());
}

TEST(Collections, ErrorsNameTheProblem) {
  TempDir dir;
  WINNOW_ASSERT_OK_AND_ASSIGN(auto store, Store::open(dir.path()));
  WINNOW_ASSERT_OK(store->create_collection("a", nullptr));

  auto duplicate = store->create_collection("a", nullptr);
  EXPECT_EQ(duplicate.status().code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(duplicate.status().message(), "collection 'a' already exists");

  auto bad_chars = store->create_collection("has space", nullptr);
  EXPECT_EQ(bad_chars.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(bad_chars.status().message().find("'has space'"), std::string::npos);
  EXPECT_EQ(store->create_collection("", nullptr).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(store->create_collection(std::string(129, 'x'), nullptr).status().code(), StatusCode::kInvalidArgument);
  WINNOW_ASSERT_OK(store->create_collection(std::string(128, 'x'), nullptr));
  WINNOW_ASSERT_OK(store->create_collection("A-b_c.9", nullptr));
  // issue 10: ids that are path components with a meaning of their own.
  for (const char* id : {".", "..", "a/b", "a\nb", "a%2Fb"}) {
    auto refused = store->create_collection(id, nullptr);
    EXPECT_EQ(refused.status().code(), StatusCode::kInvalidArgument) << id;
  }
  WINNOW_ASSERT_OK(store->create_collection("...", nullptr));

  auto unknown_key = store->create_collection("b", {{"text_feilds", {"x"}}});
  EXPECT_EQ(unknown_key.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(unknown_key.status().message().find("'text_feilds'"), std::string::npos);

  auto bad_metric = store->create_collection(
      "b", {{"vector_indexes", {{{"name", "v"}, {"metric", "hamming"}}}}});
  EXPECT_NE(bad_metric.status().message().find("hamming"), std::string::npos);

  auto model_without_field = store->create_collection("b", {{"vector_indexes", {{{"name", "v"}, {"model", "m"}}}}});
  EXPECT_NE(model_without_field.status().message().find("'field'"), std::string::npos);

  auto twice = store->create_collection("b", {{"vector_indexes", {{{"name", "v"}}, {{"name", "v"}}}}});
  EXPECT_NE(twice.status().message().find("defined twice"), std::string::npos);

  EXPECT_EQ(store->delete_collection("zzz").code(), StatusCode::kNotFound);
  EXPECT_EQ(store->get_document("zzz", "d").status().message(), "collection 'zzz' not found");
  EXPECT_EQ(store->text_search("zzz", "q", 1).status().code(), StatusCode::kNotFound);
}

TEST(Retrievers, CrudAndErrors) {
  TempDir dir;
  WINNOW_ASSERT_OK_AND_ASSIGN(auto store, Store::open(dir.path()));
  WINNOW_ASSERT_OK(store->create_collection("papers", nullptr));
  Retriever qa;
  qa.retriever_id = "qa";
  qa.collection_ids = {"papers"};
  qa.input_schema = {{"query", {{"type", "string"}}}};
  qa.stages = nlohmann::json::parse(R"([{"stage_type": "filter", "stage_id": "text_search",
                                        "parameters": {"query": "{{INPUT.query}}", "top_k": 100}}])");
  WINNOW_ASSERT_OK_AND_ASSIGN(Retriever created, store->create_retriever(qa));
  EXPECT_GT(created.created_at_ms, 0);

  auto duplicate = store->create_retriever(qa);
  EXPECT_EQ(duplicate.status().code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(duplicate.status().message(), "retriever 'qa' already exists");

  Retriever orphan = qa;
  orphan.retriever_id = "orphan";
  orphan.collection_ids = {"papers", "missing"};
  auto no_collection = store->create_retriever(orphan);
  EXPECT_EQ(no_collection.status().code(), StatusCode::kNotFound);
  EXPECT_NE(no_collection.status().message().find("collection 'missing' not found"), std::string::npos);

  Retriever bad = qa;
  bad.retriever_id = "bad/id";
  EXPECT_EQ(store->create_retriever(bad).status().code(), StatusCode::kInvalidArgument);
  bad.retriever_id = "bad";
  bad.stages = {{"not", "an array"}};
  EXPECT_NE(store->create_retriever(bad).status().message().find("stages must be a JSON array"), std::string::npos);

  WINNOW_ASSERT_OK_AND_ASSIGN(Retriever got, store->get_retriever("qa"));
  EXPECT_EQ(got.collection_ids, qa.collection_ids);
  EXPECT_EQ(got.stages, qa.stages);
  EXPECT_EQ(got.input_schema, qa.input_schema);
  EXPECT_EQ(got.created_at_ms, created.created_at_ms);

  Retriever second = qa;
  second.retriever_id = "a-first";
  WINNOW_ASSERT_OK(store->create_retriever(second));
  WINNOW_ASSERT_OK_AND_ASSIGN(auto all, store->list_retrievers());
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].retriever_id, "a-first");

  WINNOW_ASSERT_OK(store->delete_retriever("qa"));
  EXPECT_EQ(store->get_retriever("qa").status().message(), "retriever 'qa' not found");
  EXPECT_EQ(store->delete_retriever("qa").code(), StatusCode::kNotFound);
}

TEST(Store, SecondOpenOfTheSameDirectoryIsRefused) {
  TempDir dir;
  WINNOW_ASSERT_OK_AND_ASSIGN(auto store, Store::open(dir.path()));
  auto second = Store::open(dir.path());
  EXPECT_EQ(second.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(second.status().message().find("in use"), std::string::npos);
  store.reset();
  WINNOW_ASSERT_OK(Store::open(dir.path()));
}

}  // namespace
}  // namespace winnow::store
