"""Writes tokenizer.json variants of the two byte-level BPE test tokenizers into
OUT_DIR, each exercising an option the golden files leave at its default.

usage: python3 make_bpe_variants.py OUT_DIR
"""
import copy, json, os, sys

base = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'data', 'tokenizers') + '/'
qwen = json.load(open(base + 'bpe-qwen/tokenizer.json'))
modernbert = json.load(open(base + 'bpe-modernbert/tokenizer.json'))
out_dir = sys.argv[1]
os.makedirs(out_dir, exist_ok=True)


def merges_of(model):
    return [m.split(' ') if isinstance(m, str) else m for m in model['merges']]


def write(name, tok):
    with open(os.path.join(out_dir, name + '.json'), 'w') as f:
        json.dump(tok, f, ensure_ascii=False)


def decorated(tok, prefix=None, suffix=None):
    """Every token also with the prefix (continuing_subword_prefix) or the
    suffix (end_of_word_suffix); each merge then exists in both forms."""
    t = copy.deepcopy(tok)
    m = t['model']
    vocab = dict(m['vocab'])
    n = max(vocab.values()) + 1
    merges = []
    for a, b in merges_of(m):
        if prefix:
            merges.append([a, prefix + b])
            merges.append([prefix + a, prefix + b])
        else:
            merges.append([a, b])
            merges.append([a, b + suffix])
    for token in list(m['vocab']):
        extra = prefix + token if prefix else token + suffix
        vocab[extra] = n
        n += 1
    m['vocab'] = vocab
    m['merges'] = merges
    m['continuing_subword_prefix'] = prefix
    m['end_of_word_suffix'] = suffix
    # Added tokens take the ids after the model's vocabulary.
    for i, added in enumerate(t['added_tokens']):
        added['id'] = n + i
    return t


write('qwen-prefix', decorated(qwen, prefix='##'))
write('modernbert-suffix', decorated(modernbert, suffix='</w>'))

# No ByteLevel: raw UTF-8 characters, most of which only byte_fallback (and
# then <unk>) can spell. Three bytes have no <0xXX> token, so some characters
# fall through to the unk token.
for fuse in (False, True):
    t = copy.deepcopy(qwen)
    t['pre_tokenizer'] = t['pre_tokenizer']['pretokenizers'][0]
    m = t['model']
    n = max(m['vocab'].values()) + 1
    m['vocab']['<unk>'] = n
    n += 1
    for b in range(256):
        if b in (0xE4, 0xD0, 0x9F):
            continue
        m['vocab']['<0x%02X>' % b] = n
        n += 1
    m['unk_token'] = '<unk>'
    m['byte_fallback'] = True
    m['fuse_unk'] = fuse
    for i, added in enumerate(t['added_tokens']):
        added['id'] = n + i
    write('qwen-byte-fallback' + ('-fuse-unk' if fuse else ''), t)

# Unknown characters without byte_fallback: unk (fused or not), or dropped.
for variant in ('unk', 'fuse-unk', 'no-unk'):
    t = copy.deepcopy(modernbert)
    t['pre_tokenizer']['use_regex'] = True
    m = t['model']
    # Drop the byte-level spellings of 0xC3 and 0xE6 (Latin-1 letters, CJK):
    # characters using those bytes have no symbol.
    for missing in ('Ã', 'æ'):
        del m['vocab'][missing]
    m['merges'] = [ab for ab in merges_of(m) if not any('Ã' in s or 'æ' in s for s in ab)]
    m['vocab'] = {k: v for k, v in m['vocab'].items() if 'Ã' not in k and 'æ' not in k}
    if variant != 'no-unk':
        m['vocab']['[UNK]'] = max(m['vocab'].values()) + 1
        m['unk_token'] = '[UNK]'
        m['fuse_unk'] = variant == 'fuse-unk'
    write('modernbert-' + variant, t)

t = copy.deepcopy(qwen)
t['model']['ignore_merges'] = True
write('qwen-ignore-merges', t)

t = copy.deepcopy(qwen)
t['model']['dropout'] = 0.0
write('qwen-dropout-zero', t)

for use_regex in (True, False):
    t = copy.deepcopy(modernbert)
    t['pre_tokenizer']['add_prefix_space'] = True
    t['pre_tokenizer']['use_regex'] = use_regex
    write('modernbert-prefix-space' + ('' if use_regex else '-no-regex'), t)

for behavior in ('Removed', 'MergedWithPrevious', 'MergedWithNext', 'Contiguous'):
    for invert in (False, True):
        t = copy.deepcopy(qwen)
        split = t['pre_tokenizer']['pretokenizers'][0]
        split['behavior'] = behavior
        split['invert'] = invert
        write('qwen-split-%s%s' % (behavior, '-invert' if invert else ''), t)

# Added tokens of every kind, matched in raw or normalized text.
t = copy.deepcopy(modernbert)
n = max(t['model']['vocab'].values()) + 1 + len(t['added_tokens'])
for content, lstrip, rstrip, single_word, normalized, special in [
        ('ing', False, False, False, True, False), ('<think>', True, True, False, False, False),
        ('the', False, False, True, True, False), ('é', False, False, False, True, False),
        ('<|im_end|>', False, True, False, False, True), ('  ', False, False, False, True, False),
        ('[SEP]', False, False, False, False, True)]:
    t['added_tokens'].append({'id': n, 'content': content, 'single_word': single_word, 'lstrip': lstrip,
                              'rstrip': rstrip, 'normalized': normalized, 'special': special})
    n += 1
write('modernbert-added-tokens', t)

# The RoBERTa processor (<s> A </s></s> B </s>) over a byte-level BPE.
t = copy.deepcopy(modernbert)
t['post_processor'] = {'type': 'RobertaProcessing', 'sep': ['[SEP]', 2902], 'cls': ['[CLS]', 2901],
                       'trim_offsets': True, 'add_prefix_space': False}
write('modernbert-roberta-processing', t)
