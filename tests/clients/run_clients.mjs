// Runs real rerank client libraries against a running `winnow serve`, each
// configured exactly as for the hosted API it was written for except for its
// base URL, and checks that every one returns the engine's own ranking: the
// same indices in the same order and the same scores as a plain HTTP call
// to /v2/rerank. Prints one line per client; exits 1 when any differs or
// throws, 2 on bad usage.
//
//   node run_clients.mjs BASE_URL MODEL
//
// Started by the ctest test tests/e2e/real_clients_test.cc; the libraries
// come from tests/clients/node_modules (scripts/setup: npm ci).
import fs from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";

import { createCohere } from "@ai-sdk/cohere";
import { createTogetherAI } from "@ai-sdk/togetherai";
import { CohereRerank as LangChainCohereRerank } from "@langchain/cohere";
import { Document } from "@langchain/core/documents";
import { CohereRerank as LlamaIndexCohereRerank } from "@llamaindex/cohere";
import { TextNode } from "@llamaindex/core/schema";
import { rerank } from "ai";
import { CohereClient, CohereClientV2 } from "cohere-ai";

const [baseUrl, model] = process.argv.slice(2);
if (!baseUrl || !model) {
  console.error("usage: node run_clients.mjs BASE_URL MODEL");
  process.exit(2);
}
const apiKey = "unused-by-winnow";

// Under ctest (WINNOW_ANSWER_LOG_DIR set) every answer the libraries receive
// is recorded as the C++ tests record theirs, for the OpenAPI check
// (validate_answers.mjs). The libraries look fetch up when they call it.
if (process.env.WINNOW_ANSWER_LOG_DIR) {
  const dir = process.env.WINNOW_ANSWER_LOG_DIR;
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `answers-clients-${process.pid}.jsonl`);
  const originalFetch = globalThis.fetch;
  globalThis.fetch = async (input, init) => {
    const response = await originalFetch(input, init);
    const url = new URL(typeof input === "string" || input instanceof URL ? String(input) : input.url);
    const method = (init && init.method) || (typeof input === "object" && input.method) || "GET";
    const body = await response.clone().text();
    fs.appendFileSync(file, JSON.stringify({
      test: "RealClientsTest (run_clients.mjs)", method: method.toUpperCase(), target: url.pathname + url.search,
      status: response.status, content_type: response.headers.get("content-type") || "", body,
    }) + "\n");
    return response;
  };
}

// cohere-ai 7.x, as @langchain/cohere depends on it (the top level has 8.x).
const require = createRequire(import.meta.url);
const cohere7 = require(require.resolve("cohere-ai", { paths: [require.resolve("@langchain/cohere")] }));
const cohere7Version = require(
  require.resolve("cohere-ai/package.json", { paths: [require.resolve("@langchain/cohere")] })).version;

const query = "how do cross-encoders rank documents";
const documents = [
  "Bread is made from flour, water and yeast.",
  "A cross-encoder reads the query and the document together and outputs a relevance score.",
  "BM25 ranks documents by term frequency and inverse document frequency.",
  "Rerankers reorder the candidates a first-stage retriever found.",
  "The cat sat on the mat.",
];

// The engine's own answer: [{index, score}] best first.
async function engine() {
  const response = await fetch(`${baseUrl}/v2/rerank`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ model, query, documents }),
  });
  if (!response.ok) throw new Error(`/v2/rerank answered ${response.status}: ${await response.text()}`);
  const body = await response.json();
  return body.results.map((r) => ({ index: r.index, score: r.relevance_score }));
}

const clients = {
  [`cohere-ai ${cohere7Version} v1 rerank`]: async () => {
    const client = new cohere7.CohereClient({ token: apiKey, environment: baseUrl });
    const { results } = await client.rerank({ model, query, documents, topN: documents.length });
    return results.map((r) => ({ index: r.index, score: r.relevanceScore }));
  },
  "cohere-ai 8 v1 rerank": async () => {
    const client = new CohereClient({ token: apiKey, environment: baseUrl });
    const { results } = await client.rerank({ model, query, documents, topN: documents.length });
    return results.map((r) => ({ index: r.index, score: r.relevanceScore }));
  },
  "cohere-ai 8 v2 rerank": async () => {
    const client = new CohereClientV2({ token: apiKey, environment: baseUrl });
    const { results } = await client.rerank({ model, query, documents, topN: documents.length });
    return results.map((r) => ({ index: r.index, score: r.relevanceScore }));
  },
  "@langchain/cohere CohereRerank.rerank": async () => {
    const client = new cohere7.CohereClient({ token: apiKey, environment: baseUrl });
    const reranker = new LangChainCohereRerank({ client, model, topN: documents.length });
    const results = await reranker.rerank(documents, query);
    return results.map((r) => ({ index: r.index, score: r.relevanceScore }));
  },
  "@langchain/cohere CohereRerank.compressDocuments": async () => {
    const client = new cohere7.CohereClient({ token: apiKey, environment: baseUrl });
    const reranker = new LangChainCohereRerank({ client, model, topN: documents.length });
    const input = documents.map((text, index) => new Document({ pageContent: text, metadata: { index } }));
    const results = await reranker.compressDocuments(input, query);
    return results.map((d) => ({ index: d.metadata.index, score: d.metadata.relevanceScore }));
  },
  "@llamaindex/cohere CohereRerank.postprocessNodes": async () => {
    const reranker = new LlamaIndexCohereRerank({ apiKey, baseUrl, model, topN: documents.length });
    const nodes = documents.map((text, index) => ({ node: new TextNode({ text, id_: String(index) }), score: 0 }));
    const results = await reranker.postprocessNodes(nodes, query);
    return results.map((n) => ({ index: Number(n.node.id_), score: n.score }));
  },
  "ai + @ai-sdk/cohere rerank()": async () => {
    const cohere = createCohere({ apiKey, baseURL: `${baseUrl}/v2` });
    const { ranking } = await rerank({ model: cohere.reranking(model), query, documents, topN: documents.length });
    return ranking.map((r) => ({ index: r.originalIndex, score: r.score }));
  },
  "ai + @ai-sdk/togetherai rerank()": async () => {
    const together = createTogetherAI({ apiKey, baseURL: `${baseUrl}/v1` });
    const { ranking } = await rerank({ model: together.reranking(model), query, documents, topN: documents.length });
    return ranking.map((r) => ({ index: r.originalIndex, score: r.score }));
  },
};

const expected = await engine();
let failed = 0;
for (const [name, run] of Object.entries(clients)) {
  try {
    const got = await run();
    const same = got.length === expected.length &&
                 got.every((r, k) => r.index === expected[k].index && r.score === expected[k].score);
    if (same) {
      console.log(`ok   ${name}: indices ${got.map((r) => r.index).join(",")}`);
    } else {
      failed += 1;
      console.log(`FAIL ${name}: got ${JSON.stringify(got)}, the engine ranks ${JSON.stringify(expected)}`);
    }
  } catch (error) {
    failed += 1;
    console.log(`FAIL ${name}: ${error && error.stack ? error.stack : error}`);
  }
}
console.log(`${Object.keys(clients).length - failed} of ${Object.keys(clients).length} clients rank as the engine`);
process.exit(failed === 0 ? 0 : 1);
