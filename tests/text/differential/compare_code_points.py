# usage: python3 compare_code_points.py crate.json ours.json  (outputs of a probe pair)
import json, sys
a = json.load(open(sys.argv[1])); b = json.load(open(sys.argv[2]))
bad = 0
for k in a:
    if k in ('ws', 'word', 'num', 'punct', 'mn', 'other'):
        A, B = set(a[k]), set(b[k])
        print(k, 'crate only:', [hex(c) for c in sorted(A - B)][:20], 'ours only:', [hex(c) for c in sorted(B - A)][:20])
        bad += len(A ^ B)
    else:
        A = {str(x[0]): x[1] for x in a[k]}; B = {str(x[0]): x[1] for x in b[k]}
        diff = sorted(c for c in set(A) | set(B) if A.get(c) != B.get(c))
        print(k, 'differ:', len(diff), [(c, A.get(c), B.get(c)) for c in diff[:10]])
        bad += len(diff)
sys.exit(1 if bad else 0)
