const t = require('@anush008/tokenizers');
const fs = require('fs');
const cps = [];
for (let c = 0x80; c <= 0x10FFFF; c++) { if (c >= 0xD800 && c <= 0xDFFF) continue; if (c >= 0xF0000) break; cps.push(c); }
const xlmr = t.Tokenizer.fromFile(process.argv[2]).getNormalizer();
const norms = { lower: t.lowercase(), nfd: t.nfdNormalizer(), nfc: t.nfcNormalizer(), nfkc: t.nfkcNormalizer(),
  nfkd: t.nfkdNormalizer(), bert: t.bertNormalizer({}), xlmr: xlmr, strip: t.stripAccentsNormalizer() };
const out = {};
for (const k of Object.keys(norms)) out[k] = [];
out.ws = []; out.word = []; out.num = [];
const wsp = t.whitespaceSplitPreTokenizer(), wp = t.whitespacePreTokenizer(), dg = t.digitsPreTokenizer(true);
const chunk = 4096;
for (let i = 0; i < cps.length; i += chunk) {
  const part = cps.slice(i, i + chunk);
  const sep = '|' + part.map(c => String.fromCodePoint(c)).join('|') + '|';
  for (const k of Object.keys(norms)) {
    const o = norms[k].normalizeString(sep).split('|');
    if (o.length !== part.length + 2) { out[k].push(['LEN', i]); continue; }
    part.forEach((c, j) => { if (o[j + 1] !== String.fromCodePoint(c)) out[k].push([c, o[j + 1]]); });
  }
  for (const c of part) {
    const s = 'a' + String.fromCodePoint(c) + 'a';
    if (wsp.preTokenizeString(s).length === 2) out.ws.push(c);
    // Whitespace: \w+|[^\w\s]+ -> a word char keeps "aXa" whole
    if (wp.preTokenizeString(s).length === 1) out.word.push(c);
    if (dg.preTokenizeString(s).length === 3) out.num.push(c);
  }
}
fs.writeFileSync(process.argv[3], JSON.stringify(out));
for (const k of Object.keys(out)) console.log(k, out[k].length);
