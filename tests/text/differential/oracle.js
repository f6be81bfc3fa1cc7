// usage: node oracle.js tokenizer.json inputs.jsonl > out.jsonl
const { Tokenizer } = require('@anush008/tokenizers');
const fs = require('fs');
(async () => {
  const tok = Tokenizer.fromString(fs.readFileSync(process.argv[2], 'utf8'));
  const lines = fs.readFileSync(process.argv[3], 'utf8').split('\n').filter(l => l.length);
  const out = [];
  for (const line of lines) {
    const q = JSON.parse(line);
    try {
      if (q.max) tok.setTruncation(q.max, { strategy: q.strategy === 'only_second' ? 'OnlySecond' : 'LongestFirst' });
      else tok.disableTruncation();
      const enc = q.b === undefined ? await tok.encode(q.a) : await tok.encode(q.a, q.b);
      out.push(JSON.stringify({ ids: enc.getIds(), type_ids: enc.getTypeIds() }));
    } catch (e) {
      out.push(JSON.stringify({ error: String(e) }));
    }
  }
  fs.writeFileSync(1, out.join('\n') + '\n');
})();
