import json, sys
inp = [json.loads(l) for l in open(sys.argv[1])]
a = [json.loads(l) for l in open(sys.argv[2])]
b = [json.loads(l) for l in open(sys.argv[3])]
assert len(inp) == len(a) == len(b), (len(inp), len(a), len(b))
bad = 0
for q, x, y in zip(inp, a, b):
    if 'error' in x or 'error' in y:
        same = ('error' in x) == ('error' in y)
    else:
        same = x['ids'] == y['ids'] and x['type_ids'] == y['type_ids']
    if not same:
        bad += 1
        if bad <= 8: print('MISMATCH', json.dumps(q, ensure_ascii=True)[:300], '\n  hf ', json.dumps(x)[:300], '\n  us ', json.dumps(y)[:300])
print('mismatches', bad, 'of', len(inp))
