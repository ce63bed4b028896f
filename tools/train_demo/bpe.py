"""A byte-level BPE tokenizer: trainer, encoder/decoder, and tokenizer.json writer.

Pre-tokenization is DeepSeek-V3's: the three regex splits of its tokenizer.json (digits in runs of
up to three, CJK/kana runs, then a GPT-style word pattern), then GPT-2's byte-to-unicode mapping.
The pre_tokenizer and decoder JSON sections are copied verbatim from DeepSeek-V3's tokenizer.json
so that any DeepSeek-V3-compatible tokenizer implementation reads ours the same way.
"""
import collections
import heapq
import json
import os

import regex

# DeepSeek-V3's pre-tokenizer, as three "Isolated" regex splits applied in sequence, read from the
# normalizer/pre_tokenizer/post_processor/decoder sections copied from DeepSeek-V3's tokenizer.json.
PIPELINE_JSON = os.path.join(os.path.dirname(os.path.abspath(__file__)), "deepseek_v3_pipeline.json")
with open(PIPELINE_JSON, encoding="utf-8") as _f:
    PIPELINE = json.load(_f)
SPLIT_PATTERNS = [p["pattern"]["Regex"] for p in PIPELINE["pre_tokenizer"]["pretokenizers"] if p["type"] == "Split"]
assert all(p["behavior"] == "Isolated" and not p["invert"]
           for p in PIPELINE["pre_tokenizer"]["pretokenizers"] if p["type"] == "Split")
_COMPILED = [regex.compile(p) for p in SPLIT_PATTERNS]

BOS, EOS, PAD = "<｜begin▁of▁sentence｜>", "<｜end▁of▁sentence｜>", "<｜▁pad▁｜>"
USER, ASSISTANT, THINK, END_THINK = "<｜User｜>", "<｜Assistant｜>", "<think>", "</think>"
HEAD_SPECIALS = [BOS, EOS, PAD]  # ids 0, 1, 2 as in DeepSeek-V3
TAIL_SPECIALS = [USER, ASSISTANT, THINK, END_THINK]  # the last ids of the vocabulary


def bytes_to_unicode():
    """GPT-2's reversible map from bytes to printable unicode characters (HF ByteLevel)."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return {b: chr(c) for b, c in zip(bs, cs)}


BYTE_TO_CHAR = bytes_to_unicode()
CHAR_TO_BYTE = {c: b for b, c in BYTE_TO_CHAR.items()}


def _split_isolated(pieces, pattern):
    out = []
    for s in pieces:
        pos = 0
        for m in pattern.finditer(s):
            if m.start() > pos:
                out.append(s[pos:m.start()])
            if m.end() > m.start():
                out.append(m.group(0))
            pos = m.end()
        if pos < len(s):
            out.append(s[pos:])
    return out


def pretokenize(text):
    """Text -> list of byte-level pre-token strings."""
    pieces = [text]
    for p in _COMPILED:
        pieces = _split_isolated(pieces, p)
    return ["".join(BYTE_TO_CHAR[b] for b in s.encode("utf-8")) for s in pieces]


def train(docs, vocab_size, log=print):
    """Learns merges so that specials + 256 bytes + merges == vocab_size. Returns (vocab, merges)."""
    counts = collections.Counter()
    for d in docs:
        counts.update(pretokenize(d))
    words = [list(w) for w in counts]
    freqs = list(counts.values())
    pair_count = collections.Counter()
    where = collections.defaultdict(set)
    for wi, w in enumerate(words):
        for a, b in zip(w, w[1:]):
            pair_count[(a, b)] += freqs[wi]
            where[(a, b)].add(wi)
    heap = [(-c, p) for p, c in pair_count.items()]
    heapq.heapify(heap)
    n_merges = vocab_size - len(HEAD_SPECIALS) - len(TAIL_SPECIALS) - 256
    merges = []
    while len(merges) < n_merges and heap:
        negc, pair = heapq.heappop(heap)
        if pair_count.get(pair, 0) != -negc or negc == 0:
            continue  # stale heap entry
        merges.append(pair)
        a, b = pair
        new = a + b
        changed = set()
        for wi in list(where[pair]):
            w, f = words[wi], freqs[wi]
            for x, y in zip(w, w[1:]):  # remove this word's old pairs
                pair_count[(x, y)] -= f
                changed.add((x, y))
            i, nw = 0, []
            while i < len(w):
                if i + 1 < len(w) and w[i] == a and w[i + 1] == b:
                    nw.append(new)
                    i += 2
                else:
                    nw.append(w[i])
                    i += 1
            words[wi] = nw
            for x, y in zip(nw, nw[1:]):
                pair_count[(x, y)] += f
                where[(x, y)].add(wi)
                changed.add((x, y))
        del pair_count[pair]
        where.pop(pair, None)
        for p in changed:
            c = pair_count.get(p, 0)
            if c > 0:
                heapq.heappush(heap, (-c, p))
        if len(merges) % 500 == 0:
            log(f"bpe: {len(merges)} merges, last {new!r}")
    vocab = {s: i for i, s in enumerate(HEAD_SPECIALS)}
    for b in range(256):
        vocab[BYTE_TO_CHAR[b]] = len(vocab)
    for a, b in merges:
        vocab[a + b] = len(vocab)
    for s in TAIL_SPECIALS:
        vocab[s] = len(vocab)
    return vocab, [f"{a} {b}" for a, b in merges]


class Tokenizer:
    def __init__(self, vocab, merges):
        self.vocab = vocab
        self.inv = {i: s for s, i in vocab.items()}
        self.ranks = {tuple(m.split(" ")): r for r, m in enumerate(merges)}
        self.specials = HEAD_SPECIALS + TAIL_SPECIALS
        self._special_re = regex.compile("|".join(regex.escape(s) for s in sorted(self.specials, key=len, reverse=True)))
        self._cache = {}

    @classmethod
    def load(cls, path):
        with open(path, encoding="utf-8") as f:
            j = json.load(f)
        return cls(j["model"]["vocab"], j["model"]["merges"])

    def _bpe(self, word):
        if word in self._cache:
            return self._cache[word]
        sym = list(word)
        while len(sym) > 1:
            best, bi = None, -1
            for i in range(len(sym) - 1):
                r = self.ranks.get((sym[i], sym[i + 1]))
                if r is not None and (best is None or r < best):
                    best, bi = r, i
            if best is None:
                break
            sym[bi:bi + 2] = [sym[bi] + sym[bi + 1]]
        ids = [self.vocab[s] for s in sym]
        self._cache[word] = ids
        return ids

    def encode(self, text, add_bos=False):
        ids = [self.vocab[BOS]] if add_bos else []
        pos = 0
        for m in self._special_re.finditer(text):  # special tokens are matched before pre-tokenizing
            ids += self._encode_plain(text[pos:m.start()])
            ids.append(self.vocab[m.group(0)])
            pos = m.end()
        return ids + self._encode_plain(text[pos:])

    def _encode_plain(self, text):
        ids = []
        for w in pretokenize(text):
            ids += self._bpe(w)
        return ids

    def decode(self, ids, skip_special=False):
        out, buf = [], bytearray()
        for i in ids:
            s = self.inv[int(i)]
            if s in self.specials:
                if not skip_special:
                    out.append(buf.decode("utf-8", errors="replace"))
                    buf = bytearray()
                    out.append(s)
                continue
            buf += bytes(CHAR_TO_BYTE[c] for c in s)
        out.append(buf.decode("utf-8", errors="replace"))
        return "".join(out)


def save_tokenizer_json(path, vocab, merges):
    """Writes tokenizer.json with DeepSeek-V3's normalizer/pre_tokenizer/post_processor/decoder sections."""
    added = [{"id": vocab[s], "content": s, "single_word": False, "lstrip": False, "rstrip": False,
              "normalized": False, "special": s not in (THINK, END_THINK)} for s in HEAD_SPECIALS + TAIL_SPECIALS]
    j = {"version": "1.0", "truncation": None, "padding": None, "added_tokens": added}
    j.update(PIPELINE)
    j["model"] = {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": None,
                  "end_of_word_suffix": None, "fuse_unk": False, "byte_fallback": False,
                  "vocab": vocab, "merges": merges}
    with open(path, "w", encoding="utf-8") as f:
        json.dump(j, f, ensure_ascii=False, indent=1)
