#include "bench_support.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <fstream>
#include <random>

#include "base/files.h"
#include "base/huge_pages.h"
#include "base/stopwatch.h"
#include "inference/rerank_prompt.h"
#include "inference/scorer.h"
#include "kernels/gemm.h"
#include "kernels/quantize.h"
#include "text/tokenizer.h"

namespace winnow::bench {

base::Result<Workload> read_workload(const std::filesystem::path& file, const std::string& name) {
  WINNOW_ASSIGN_OR_RETURN(nlohmann::json json, base::read_json_file(file));
  const std::string where = file.string();
  try {
    Workload w;
    w.name = name;
    if (!json.contains("workloads") || !json["workloads"].contains(name)) {
      return base::not_found(where + ": no workload \"" + name + "\"");
    }
    w.query = json.at("query").get<std::vector<std::int32_t>>();
    for (const auto& doc : json["workloads"][name].at("docs")) w.docs.push_back(doc.get<std::vector<std::int32_t>>());
    if (json.contains("token_id_range")) {
      w.min_id = json["token_id_range"].at(0).get<std::int32_t>();
      w.max_id = json["token_id_range"].at(1).get<std::int32_t>();
    }
    w.max_pair_tokens = json.value("max_pair_tokens", std::size_t{512});
    w.templates = json.at("pair_templates");
    return w;
  } catch (const nlohmann::json::exception& e) {
    return base::invalid_argument(where + ": " + e.what());
  }
}

std::vector<TokenPair> build_pairs(const Workload& workload, const std::vector<std::int32_t>& query,
                                   const std::string& layout) {
  // ModernBERT pairs have BERT's shape ([CLS] q [SEP] d [SEP]); its own [CLS]
  // / [SEP] ids differ, which changes nothing timed (the workload's ids are
  // random in-vocabulary ones anyway) and it reads no token types.
  const bool bert = layout == "bert" || layout == "modernbert";
  const nlohmann::json& tpl = workload.templates[bert ? "bert" : "xlm-roberta"];
  const std::int32_t cls = tpl["cls"].get<std::int32_t>(), sep = tpl["sep"].get<std::int32_t>();
  std::vector<TokenPair> pairs;
  for (std::vector<std::int32_t> doc : workload.docs) {
    TokenPair p;
    p.ids.push_back(cls);
    p.ids.insert(p.ids.end(), query.begin(), query.end());
    p.ids.push_back(sep);
    if (!bert) p.ids.push_back(sep);
    const std::size_t head = p.ids.size();
    if (head + doc.size() + 1 > workload.max_pair_tokens) doc.resize(workload.max_pair_tokens - head - 1);
    p.ids.insert(p.ids.end(), doc.begin(), doc.end());
    p.ids.push_back(sep);
    p.types.assign(p.ids.size(), 0);
    if (bert) std::fill(p.types.begin() + static_cast<std::ptrdiff_t>(head), p.types.end(), 1);
    pairs.push_back(std::move(p));
  }
  return pairs;
}

namespace {

// Qwen3-Reranker's card template, as inference/rerank_prompt.cc holds it;
// decoder_template() checks the two agree through RerankPrompt::encode.
constexpr std::string_view kPromptPrefix =
    "<|im_start|>system\nJudge whether the Document meets the requirements based on the Query and the Instruct "
    "provided. Note that the answer can only be \"yes\" or \"no\".<|im_end|>\n<|im_start|>user\n";
constexpr std::string_view kPromptSuffix = "<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n";

}  // namespace

base::Result<DecoderTemplate> decoder_template(const std::filesystem::path& model_dir, const Workload& workload) {
  DecoderTemplate tpl;
  if (!std::filesystem::exists(model_dir / "tokenizer.json")) {
    // No tokenizer: fixed ids, deterministic, of the card template's lengths.
    std::mt19937 rng(20241125);
    std::uniform_int_distribution<std::int32_t> id(workload.min_id, workload.max_id - 1);
    auto draw = [&](std::size_t n) {
      std::vector<std::int32_t> ids(n);
      for (auto& t : ids) t = id(rng);
      return ids;
    };
    tpl.prefix = draw(63);
    tpl.before_query = draw(22);
    tpl.before_document = draw(5);
    tpl.suffix = draw(13);
    tpl.source = "fixed";
    return tpl;
  }
  WINNOW_ASSIGN_OR_RETURN(text::Tokenizer tokenizer, text::Tokenizer::load_dir(model_dir));
  const std::string instruction(inference::kDefaultRerankInstruction);
  WINNOW_ASSIGN_OR_RETURN(tpl.prefix, tokenizer.tokenize(kPromptPrefix));
  WINNOW_ASSIGN_OR_RETURN(tpl.before_query, tokenizer.tokenize("<Instruct>: " + instruction + "\n<Query>: "));
  WINNOW_ASSIGN_OR_RETURN(tpl.before_document, tokenizer.tokenize("\n<Document>: "));
  WINNOW_ASSIGN_OR_RETURN(tpl.suffix, tokenizer.tokenize(kPromptSuffix));
  tpl.source = "tokenizer";
  // The Scorer's prompt of an empty query and document must be these pieces.
  WINNOW_ASSIGN_OR_RETURN(inference::RerankPrompt prompt,
                          inference::RerankPrompt::create(tokenizer, instruction, inference::kDecoderRerankMaxLength));
  WINNOW_ASSIGN_OR_RETURN(std::vector<std::int32_t> head, prompt.head(instruction, ""));
  WINNOW_ASSIGN_OR_RETURN(text::Encoding empty,
                          prompt.encode(instruction, "", "", head, {inference::kDecoderRerankMaxLength}));
  WINNOW_ASSIGN_OR_RETURN(std::vector<std::int32_t> body,
                          tokenizer.tokenize("<Instruct>: " + instruction + "\n<Query>: \n<Document>: "));
  std::vector<std::int32_t> expected = tpl.prefix;
  expected.insert(expected.end(), body.begin(), body.end());
  expected.insert(expected.end(), tpl.suffix.begin(), tpl.suffix.end());
  if (expected != empty.ids) {
    return base::internal_error((model_dir / "tokenizer.json").string() +
                                ": the bench's prompt template differs from inference::RerankPrompt's");
  }
  return tpl;
}

std::vector<TokenPair> build_decoder_prompts(const Workload& workload, const std::vector<std::int32_t>& query,
                                             const DecoderTemplate& tpl) {
  std::vector<TokenPair> prompts;
  for (std::vector<std::int32_t> doc : workload.docs) {
    TokenPair p;
    p.ids = tpl.prefix;
    p.ids.insert(p.ids.end(), tpl.before_query.begin(), tpl.before_query.end());
    p.ids.insert(p.ids.end(), query.begin(), query.end());
    p.ids.insert(p.ids.end(), tpl.before_document.begin(), tpl.before_document.end());
    const std::size_t fixed = p.ids.size() + tpl.suffix.size();
    if (fixed + doc.size() > workload.max_pair_tokens) doc.resize(workload.max_pair_tokens > fixed ? workload.max_pair_tokens - fixed : 0);
    p.ids.insert(p.ids.end(), doc.begin(), doc.end());
    p.ids.insert(p.ids.end(), tpl.suffix.begin(), tpl.suffix.end());
    p.types.assign(p.ids.size(), 0);
    prompts.push_back(std::move(p));
  }
  return prompts;
}

std::vector<std::vector<std::int32_t>> agreement_queries(const Workload& workload, std::size_t count) {
  std::vector<std::vector<std::int32_t>> queries;
  if (count == 0) return queries;
  queries.push_back(workload.query);
  std::mt19937 rng(20241125);
  std::uniform_int_distribution<std::int32_t> id(workload.min_id, workload.max_id - 1);
  while (queries.size() < count) {
    std::vector<std::int32_t> q(workload.query.size());
    for (auto& t : q) t = id(rng);
    queries.push_back(std::move(q));
  }
  return queries;
}

double count_gflop(const std::vector<TokenPair>& pairs, std::size_t layer_parameters, std::size_t hidden,
             std::size_t layers) {
  double total = 0;
  for (const TokenPair& p : pairs) {
    const double l = static_cast<double>(p.ids.size());
    total += 2.0 * static_cast<double>(layer_parameters) * l + 4.0 * l * l * static_cast<double>(hidden * layers);
  }
  return total / 1e9;
}

base::Result<FlopModel> flop_model(const model::ModelConfig& config) {
  const double h = static_cast<double>(config.hidden_size), i = static_cast<double>(config.intermediate_size);
  FlopModel f;
  f.layers = static_cast<double>(config.num_hidden_layers);
  if (config.is_modernbert()) {
    f.layer_weights = 4 * h * h + 3 * h * i;
    f.attention_width = h;
    f.head = 2 * h * h + 2 * h * static_cast<double>(config.num_labels);
    return f;
  }
  if (config.is_qwen3()) {
    const double heads = static_cast<double>(config.num_attention_heads);
    const double kv = static_cast<double>(config.num_key_value_heads ? config.num_key_value_heads
                                                                     : config.num_attention_heads);
    const double d = static_cast<double>(config.head_dim ? config.head_dim
                                                         : config.hidden_size / config.num_attention_heads);
    f.layer_weights = 2 * h * heads * d + 2 * h * kv * d + 3 * h * i;
    f.attention_width = heads * d;
    f.head = 2 * h * 2;
    return f;
  }
  return base::invalid_argument("flop model: " + config.architecture() + " is not ModernBERT or Qwen3");
}

double count_gflop(const std::vector<TokenPair>& pairs, const FlopModel& model) {
  double total = 0;
  for (const TokenPair& p : pairs) {
    const double l = static_cast<double>(p.ids.size());
    total += model.layers * (2 * model.layer_weights * l + 4 * l * l * model.attention_width) + model.head;
  }
  return total / 1e9;
}

double median(std::vector<double> values) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  const std::size_t n = values.size();
  return n % 2 == 1 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2.0;
}

double peak_rss_mb() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmHWM:", 0) == 0) return std::stod(line.substr(6)) / 1024.0;
  }
  return 0.0;
}

void reset_peak_rss() {
  std::ofstream clear("/proc/self/clear_refs");
  clear << "5";
}

namespace {

// (machine busy seconds, this process's CPU seconds).
std::pair<double, double> cpu_seconds() {
  const double tick = static_cast<double>(sysconf(_SC_CLK_TCK));
  std::ifstream stat("/proc/stat");
  std::string cpu;
  double user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0;
  stat >> cpu >> user >> nice >> system >> idle >> iowait >> irq >> softirq >> steal;
  const double machine = (user + nice + system + irq + softirq + steal) / tick;
  std::ifstream self("/proc/self/stat");
  std::string content((std::istreambuf_iterator<char>(self)), std::istreambuf_iterator<char>());
  // Fields after the ")" that ends the command name: state is field 3; utime, stime are 14, 15.
  std::istringstream rest(content.substr(content.rfind(')') + 2));
  std::string field;
  double self_time = 0;
  for (int i = 3; i <= 15 && rest >> field; ++i) {
    if (i == 14 || i == 15) self_time += std::stod(field) / tick;
  }
  return {machine, self_time};
}

double now_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

}  // namespace

OtherLoad::OtherLoad() {
  auto [machine, self] = cpu_seconds();
  machine_ = machine;
  self_ = self;
  wall_ = now_seconds();
}

double OtherLoad::value() const {
  auto [machine, self] = cpu_seconds();
  const double wall = std::max(now_seconds() - wall_, 1e-9);
  return std::max(0.0, ((machine - machine_) - (self - self_)) / wall);
}

base::Result<GemmCeiling> measure_gemm(base::Precision precision, std::size_t hidden, std::size_t intermediate,
                                       std::size_t rows, int runs, std::size_t ffn_in_out) {
  GemmCeiling ceiling;
  if (ffn_in_out == 0) ffn_in_out = intermediate;
  const std::pair<std::size_t, std::size_t> shapes[] = {
      {hidden, 3 * hidden}, {hidden, hidden}, {hidden, ffn_in_out}, {intermediate, hidden}};
  std::mt19937 rng(7);
  std::normal_distribution<float> dist(0.0f, 0.05f);
  double total_flop = 0, total_seconds = 0;
  for (const auto& [in, out] : shapes) {
    // Activations on huge pages, as the encoder's workspace has them.
    std::vector<float> weight(in * out);
    base::HugeVector<float> x(rows * in);
    for (auto& v : weight) v = dist(rng);
    for (auto& v : x) v = dist(rng);
    WINNOW_ASSIGN_OR_RETURN(kernels::Linear linear,
                            kernels::Linear::create(weight, std::vector<float>(out, 0.0f), out, in,
                                                    kernels::Epilogue::kNone, precision));
    weight = {};
    base::HugeVector<kernels::Bf16> xb;
    base::HugeVector<std::uint8_t> xq;
    std::vector<float> scale(rows), zero(rows);
    base::HugeVector<float> y(rows * out);
    if (precision == base::Precision::kBf16) {
      xb.resize(x.size());
      kernels::convert_to_bf16(x.data(), x.size(), xb.data());
    } else if (precision == base::Precision::kInt8) {
      xq.resize(x.size());
      kernels::quantize_rows(x.data(), rows, in, xq.data(), scale.data(), zero.data());
    }
    auto run_once = [&]() -> base::Status {
      switch (precision) {
        case base::Precision::kBf16: return linear.forward(xb.data(), rows, y.data());
        case base::Precision::kInt8: return linear.forward_raw(xq.data(), rows, y.data());
        default: return linear.forward(x.data(), rows, y.data());
      }
    };
    WINNOW_RETURN_IF_ERROR(run_once());  // warm-up: primitive creation, caches
    // At least `runs` runs and a quarter of a second, so that small shapes
    // are not timed on a handful of milliseconds.
    std::vector<double> seconds;
    double spent = 0;
    while (static_cast<int>(seconds.size()) < runs || spent < 0.25) {
      base::Stopwatch clock;
      WINNOW_RETURN_IF_ERROR(run_once());
      seconds.push_back(clock.elapsed_ms() / 1000.0);
      spent += seconds.back();
    }
    const double flop = 2.0 * static_cast<double>(rows) * static_cast<double>(in) * static_cast<double>(out);
    const double t = median(seconds);
    GemmRate rate;
    rate.rows = rows;
    rate.in = in;
    rate.out = out;
    WINNOW_ASSIGN_OR_RETURN(rate.implementation, linear.implementation(rows));
    rate.gflops = flop / t / 1e9;
    ceiling.shapes.push_back(rate);
    total_flop += flop;
    total_seconds += t;
  }
  ceiling.total = total_flop / total_seconds / 1e9;
  return ceiling;
}

}  // namespace winnow::bench
