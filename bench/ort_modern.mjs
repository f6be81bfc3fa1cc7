// ONNX Runtime (npm onnxruntime-node) on the modern rerankers exported by bench/export_modern.py
// (ModernBERT cross-encoders, Qwen3 yes/no rerankers), on exactly the token ids winnow-bench
// times: `winnow-bench ... --dump-pairs PAIRS.json` writes them (ModernBERT pairs in BERT's
// shape; Qwen3 prompts: the model card's template around the workload's ids).
//
//   node bench/ort_modern.mjs --onnx OUT/model.onnx --pairs PAIRS.json [--batch 16,32]
//        [--order sorted,padded] [--runs 5] [--warmup 1] [--threads 2] [--precision fp32|int8] [--name NAME]
//   node bench/ort_modern.mjs --check OUT/model.onnx     (ORT against the torch module's logits, OUT/check.json)
//
// Prints one JSON line per (order, batch) with shared/bench/ort_bench.mjs's fields: engine,
// precision, model, workload, batch, sorted, median_ms, min_ms, max_ms, runs, pairs_per_s, tokens,
// padded_tokens, gflop, gflops_eff, peak_rss_mb, threads, score0, other_load. gflop is counted as
// winnow-bench counts it (bench_support.h, FlopModel) from OUT/bench_meta.json, and must equal the
// gflop in PAIRS.json. score0 is the first pair's logit (Qwen3: yes - no, Winnow's score).
// Rows are padded on the right (Qwen3 reads each row's last real token). Run from a folder
// where `npm install onnxruntime-node` was done, or set NODE_PATH.
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';

const require = createRequire(path.join(process.cwd(), 'x.js'));
let ort;
try { ort = require('onnxruntime-node'); } catch (e) {
  ort = createRequire(import.meta.url)('onnxruntime-node');
}

function fail(message) {
  console.error(`ort_modern: ${message}`);
  process.exit(2);
}

function parseArgs(argv) {
  const a = { batch: '16,32', order: 'sorted', runs: 5, warmup: 1, threads: 2, precision: null, name: null };
  const known = new Set(['onnx', 'pairs', 'batch', 'order', 'runs', 'warmup', 'threads', 'precision', 'name', 'check']);
  for (let i = 2; i < argv.length; i++) {
    const k = argv[i].replace(/^--/, '').replace(/-([a-z])/g, (_, c) => c.toUpperCase());
    if (!known.has(k)) fail(`unknown argument ${argv[i]}`);
    if (i + 1 >= argv.length) fail(`${argv[i]} needs a value`);
    a[k] = argv[++i];
  }
  for (const k of ['runs', 'warmup', 'threads']) {
    a[k] = Number(a[k]);
    if (!Number.isInteger(a[k]) || a[k] < (k === 'warmup' ? 0 : 1)) fail(`--${k} must be a whole number`);
  }
  return a;
}

function peakRssMb() {
  const m = fs.readFileSync('/proc/self/status', 'utf8').match(/VmHWM:\s+(\d+)/);
  return m ? +m[1] / 1024 : 0;
}

// (machine busy ticks, own ticks, seconds), as ort_bench.mjs: other_load = CPUs used by OTHER processes
function cpuSnapshot() {
  const v = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1, 9).map(Number);
  const st = fs.readFileSync('/proc/self/stat', 'utf8').split(')').pop().trim().split(/\s+/);
  return [v[0] + v[1] + v[2] + v[5] + v[6] + v[7], +st[11] + +st[12], Number(process.hrtime.bigint()) / 1e9];
}
const otherLoad = (a, b) => Math.max(0, ((b[0] - a[0]) - (b[1] - a[1])) / 100 / Math.max(b[2] - a[2], 1e-9));

// winnow-bench's FlopModel (bench/bench_support.h): per sequence of L tokens
// layers * (2*W*L + 4*L*L*A) + head.
function flopModel(meta) {
  const c = meta.config;
  const h = c.hidden_size, i = c.intermediate_size;
  if (meta.family === 'modernbert') {
    const labels = Object.keys(c.id2label || { 0: '' }).length || 1;
    return { w: 4 * h * h + 3 * h * i, a: h, layers: c.num_hidden_layers, head: 2 * h * h + 2 * h * labels };
  }
  if (meta.family === 'qwen3') {
    const heads = c.num_attention_heads, kv = c.num_key_value_heads || heads, d = c.head_dim || h / heads;
    return { w: 2 * h * heads * d + 2 * h * kv * d + 3 * h * i, a: heads * d, layers: c.num_hidden_layers, head: 4 * h };
  }
  return fail(`bench_meta.json: family "${meta.family}" is not modernbert or qwen3`);
}
const countGflop = (f, lengths) => lengths.reduce((s, L) => s + f.layers * (2 * f.w * L + 4 * L * L * f.a) + f.head, 0) / 1e9;

function padId(meta) {
  const c = meta.config;
  return c.pad_token_id ?? 0;
}

function feedOf(rows, padding) {
  const m = Math.max(...rows.map((r) => r.length));
  const ids = new BigInt64Array(rows.length * m).fill(BigInt(padding));
  const am = new BigInt64Array(rows.length * m);
  rows.forEach((row, r) => {
    for (let j = 0; j < row.length; j++) { ids[r * m + j] = BigInt(row[j]); am[r * m + j] = 1n; }
  });
  const dims = [rows.length, m];
  return { feed: { input_ids: new ort.Tensor('int64', ids, dims), attention_mask: new ort.Tensor('int64', am, dims) },
    padded: rows.length * m };
}

function makeBatches(pairs, batch, order, padding) {
  const idx = pairs.map((_, k) => k);
  if (order === 'sorted') idx.sort((x, y) => pairs[x].length - pairs[y].length);
  const out = [];
  for (let s = 0; s < idx.length; s += batch) {
    const chunk = idx.slice(s, s + batch);
    out.push({ chunk, ...feedOf(chunk.map((k) => pairs[k]), padding) });
  }
  return out;
}

const median = (xs) => { const s = [...xs].sort((a, b) => a - b); const n = s.length;
  return n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2; };

function readJson(file, what) {
  try { return JSON.parse(fs.readFileSync(file, 'utf8')); } catch (e) { return fail(`${file} (${what}): ${e.message}`); }
}

async function session(onnx, threads) {
  return ort.InferenceSession.create(onnx, {
    graphOptimizationLevel: 'all', intraOpNumThreads: threads, interOpNumThreads: 1,
    executionMode: 'sequential', executionProviders: ['cpu'],
  });
}

// ORT against the torch module's logits on OUT/check.json; exit 1 past the tolerance.
async function check(onnx, threads) {
  const dir = path.dirname(onnx);
  const want = readJson(path.join(dir, 'check.json'), 'written by export_modern.py');
  const meta = readJson(path.join(dir, 'bench_meta.json'), 'written by export_modern.py');
  const rows = want.input_ids.map((row, r) => row.filter((_, j) => want.attention_mask[r][j] === 1));
  const sess = await session(onnx, threads);
  const out = (await sess.run(feedOf(rows, padId(meta)).feed)).logits;
  const n = out.dims[1];
  let worst = 0;
  want.logits.forEach((row, r) => row.forEach((v, j) => { worst = Math.max(worst, Math.abs(out.data[r * n + j] - v)); }));
  const ok = worst <= want.tolerance;
  console.log(JSON.stringify({ check: onnx, family: meta.family, rows: rows.length, max_abs_diff: worst,
    tolerance: want.tolerance, ok }));
  process.exit(ok ? 0 : 1);
}

async function main() {
  const a = parseArgs(process.argv);
  if (a.check) return check(a.check, a.threads);
  if (!a.onnx || !a.pairs) fail('--onnx and --pairs are required (or --check MODEL.onnx)');
  const meta = readJson(path.join(path.dirname(a.onnx), 'bench_meta.json'), 'written by export_modern.py');
  const dump = readJson(a.pairs, 'written by winnow-bench --dump-pairs');
  const pairs = dump.pairs;
  if (!Array.isArray(pairs) || pairs.length === 0) fail(`${a.pairs}: no pairs`);
  if (dump.decoder_prompt !== (meta.family === 'qwen3')) {
    fail(`${a.pairs} holds ${dump.decoder_prompt ? 'decoder prompts' : 'encoder pairs'} but ${a.onnx} is ${meta.family}`);
  }
  const lengths = pairs.map((p) => p.length);
  const gflop = countGflop(flopModel(meta), lengths);
  if (typeof dump.gflop === 'number' && Math.abs(gflop - dump.gflop) > 1e-9 * Math.max(1, gflop)) {
    fail(`gflop ${gflop} differs from winnow-bench's ${dump.gflop} (${a.pairs}): the two counts must agree`);
  }
  const precision = a.precision || (/int8/.test(path.basename(a.onnx)) ? 'int8' : 'fp32');
  const sess = await session(a.onnx, a.threads);
  const qwen = meta.family === 'qwen3';
  const runAll = async (batches) => {
    const scores = new Array(pairs.length);
    for (const b of batches) {
      const r = (await sess.run(b.feed)).logits;
      const n = r.dims[1];
      // Qwen3: (no, yes) -> yes - no, the score Winnow returns.
      b.chunk.forEach((k, i) => { scores[k] = qwen ? r.data[i * n + 1] - r.data[i * n] : r.data[i * n]; });
    }
    return scores;
  };
  for (const order of a.order.split(',')) {
    if (!['sorted', 'padded'].includes(order)) fail(`--order ${order}: sorted or padded`);
    for (const bs of a.batch.split(',').map(Number)) {
      if (!Number.isInteger(bs) || bs < 1) fail(`--batch ${a.batch}: whole numbers`);
      const batches = makeBatches(pairs, bs, order, padId(meta));
      let scores;
      for (let w = 0; w < a.warmup; w++) scores = await runAll(batches);
      const times = [];
      const snap0 = cpuSnapshot();
      for (let r = 0; r < a.runs; r++) {
        const t0 = process.hrtime.bigint();
        scores = await runAll(batches);
        times.push(Number(process.hrtime.bigint() - t0) / 1e6);
      }
      const oload = otherLoad(snap0, cpuSnapshot());
      const med = median(times);
      console.log(JSON.stringify({
        engine: `onnxruntime-node-${ort.env.versions?.node ?? ''}`, precision, model: a.name || meta.name,
        workload: dump.workload, batch: bs, sorted: order === 'sorted',
        median_ms: +med.toFixed(2), min_ms: +Math.min(...times).toFixed(2), max_ms: +Math.max(...times).toFixed(2),
        runs: times.length, pairs_per_s: +(pairs.length / (med / 1000)).toFixed(2),
        tokens: lengths.reduce((s, x) => s + x, 0), padded_tokens: batches.reduce((s, b) => s + b.padded, 0),
        gflop: +gflop.toFixed(2), gflops_eff: +(gflop / (med / 1000)).toFixed(1),
        peak_rss_mb: +peakRssMb().toFixed(1), threads: a.threads, score0: +scores[0].toFixed(5),
        other_load: +oload.toFixed(2),
      }));
    }
  }
  return undefined;
}

main().catch((e) => { console.error(e); process.exit(1); });
