const t = require('@anush008/tokenizers');
const cps = [];
for (let c = 0x80; c <= 0x10FFFF; c++) { if (c >= 0xD800 && c <= 0xDFFF) continue; cps.push(c); }
const chunk = 4096;
const punct = [], mn = [], other = [];
const pt = t.punctuationPreTokenizer('isolated');
const nMn = t.bertNormalizer({ cleanText: false, handleChineseChars: false, stripAccents: true, lowercase: false });
const nOther = t.bertNormalizer({ cleanText: true, handleChineseChars: false, stripAccents: false, lowercase: false });
for (let i = 0; i < cps.length; i += chunk) {
  const part = cps.slice(i, i + chunk);
  const s = part.map(c => 'a' + String.fromCodePoint(c)).join('') + 'a';
  for (const [piece] of pt.preTokenizeString(s)) {
    const arr = Array.from(piece);
    if (arr.length === 1 && arr[0] !== 'a') punct.push(arr[0].codePointAt(0));
  }
  const sep = part.map(c => String.fromCodePoint(c)).join('|');
  const outMn = nMn.normalizeString('|' + sep + '|').split('|').slice(1, -1);
  const outOther = nOther.normalizeString('|' + sep + '|').split('|').slice(1, -1);
  if (outMn.length !== part.length || outOther.length !== part.length) { console.error('len mismatch at', i, outMn.length, outOther.length, part.length); }
  part.forEach((c, k) => {
    if (outMn[k] === '') mn.push(c);
    if (outOther[k] === '') other.push(c);
  });
}
require('fs').writeFileSync(process.argv[2], JSON.stringify({ punct, mn, other }));
console.log(punct.length, mn.length, other.length);
