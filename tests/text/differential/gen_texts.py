# usage: python3 gen_texts.py SEED [--assigned-only]
# --assigned-only replaces code points this Python's Unicode data leaves
# unassigned: Split regexes with \p{L} disagree on characters newer than
# Debian's Oniguruma tables (see README.md), which hides other differences.
import json, random, sys, unicodedata
random.seed(int(sys.argv[1]) if len(sys.argv) > 1 else 1)
assigned_only = '--assigned-only' in sys.argv
import os
base = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'data', 'tokenizers') + '/'
texts = [json.loads(l)['text'] for l in open(base + 'bert-uncased/tokens.jsonl')]
interesting = ['\u0000','\u0007','\t','\n','\r','\r\n',' ','  ','   ','\u0085','\u00a0','\u00ad','\u0300','\u0301','\u0302','\u0308',
  '\u0323','\u200b','\u200c','\u200d','\u2028','\u3000','\ufeff','\ufffd','\U0001F1E6\U0001F1EA','\U0001F44D\U0001F3FD','\ue000',
  '\ufe0f','\u20e3','#\ufe0f\u20e3','\u0e33','\u094d','\u1100\u1161\u11a8','\uff76\uff9e','\ufb01','\u2167','\u2460','x\u00b2','\u338f',
  '\U0001d400','<mask>','<s>','</s>','<unk>','<pad>','[MASK]','[CLS]','[SEP]','[UNK]','[PAD]',' <mask>','<mask> ','\u0130','\u03a3',
  'ΟΔΟΣ','\u00df','\u1e9e','e\u0302\u0301','a\u0308\u0304','\u0627\u064e','\u05d0\u05b7','\u0915\u094d\u0937','\u0e01\u0e33',
  '😀','👨\u200d👩\u200d👧','🏳\ufe0f\u200d🌈','\U00020000','\U0002a700','中文','日本語','한국어','...','…','—','–','«','»','„','"',"'",
  '$','€','100,000.50','3.14','1e-5','http://example.com/a?b=c&d=e','foo_bar','C++','a.b.c','ǅ','ﬀ','㍿','①②','Ⅻ','½','²',
  '<|endoftext|>','<|im_start|>','<|im_end|>','<think>','</think>',"'s","'S","'ll","'LL","'Re","'d",'\u017fs',"'\u017f",
  "don't","I'M",'12345','１２３','\r\n\n','\n\n\n','  \n ','\t\t','a  b','x\u3000y',' 123',' !!',
  '\u2581','▁▁','\u00e9','e\u0301','\u1ea1','\u0110','ı','İstanbul','ŉ','ǰ','ΐ','\u0345','Straße','ﬆ','\U000e0041','\u061c','\u2066','\u202e']
def rand_cp():
    r = random.random()
    if r < 0.3: cp = random.randint(0x20, 0x7e)
    elif r < 0.5: cp = random.randint(0xa0, 0x24f)
    elif r < 0.6: cp = random.randint(0x300, 0x36f)
    elif r < 0.7: cp = random.randint(0x370, 0x52f)
    elif r < 0.8: cp = random.randint(0x2000, 0x2bff)
    elif r < 0.9: cp = random.randint(0x3000, 0x9fff)
    else: cp = random.randint(0x10000, 0x1faff)
    if 0xd800 <= cp <= 0xdfff: cp = 0x41
    return chr(cp)
def slice_text():
    t = random.choice(texts)
    if not t: return ''
    a = random.randint(0, len(t)); b = min(len(t), a + random.randint(0, 80))
    return t[a:b]
def make():
    parts = []
    for _ in range(random.randint(0, 8)):
        r = random.random()
        if r < 0.4: parts.append(slice_text())
        elif r < 0.75: parts.append(random.choice(interesting))
        else: parts.append(''.join(rand_cp() for _ in range(random.randint(1, 6))))
        if random.random() < 0.3: parts.append(' ')
    s = ''.join(parts)
    r = random.random()
    if r < 0.1: s = unicodedata.normalize('NFD', s)
    elif r < 0.15: s = s.upper()
    if assigned_only: s = ''.join('\u00e9' if unicodedata.category(c) == 'Cn' else c for c in s)
    return s
out = []
for _ in range(3000):
    q = {'a': make()}
    if random.random() < 0.2: q['max'] = random.choice([3, 4, 5, 8, 16])
    out.append(q)
for _ in range(2000):
    out.append({'a': make(), 'b': make() + make(), 'max': random.choice([4, 5, 6, 8, 12, 16, 32, 64]),
                'strategy': random.choice(['longest_first', 'only_second'])})
with open('inputs.jsonl', 'w') as f:
    for q in out: f.write(json.dumps(q, ensure_ascii=False) + '\n')
