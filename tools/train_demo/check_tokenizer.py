"""Checks that the C++ tokenizer (`deepseek tokenize`) gives the same ids as bpe.py, and decodes back.

  /usr/bin/python3 tools/train_demo/check_tokenizer.py build/bin/deepseek models/deepseek-demo/tokenizer.json
Texts: every 7th line of the training corpus, plus hand-written edge cases (digits, CJK, emoji,
whitespace runs, special tokens). Exits 1 on any difference.
"""
import json
import subprocess
import sys

import bpe
import data

EDGE = ["", " ", "  leading spaces", "trailing  \n\n", "tabs\tand\r\nCRLF", "1234567 89 0.5 3,000",
        "床前明月光，疑是地上霜。", "日本語のかなカナ", "emoji 😀👍🏽 and ümlauts café", "don't I'll we've",
        "<｜User｜>hi<｜Assistant｜>hello<｜end▁of▁sentence｜>", "<think>\nhmm\n</think>\n\nok",
        "a<｜User｜>b", "(Genesis 1:1) -- \"quoted\" [brackets] {braces} ...!!!", "\u00a0non-breaking\u3000ideographic"]


def run(binary, tokenizer, lines, decode=False):
    args = [binary, "tokenize", "--tokenizer", tokenizer] + (["--decode"] if decode else [])
    inp = "".join(json.dumps(x, ensure_ascii=False) + "\n" for x in lines)
    out = subprocess.run(args, input=inp, capture_output=True, text=True, check=True).stdout
    return [json.loads(l) for l in out.splitlines() if l.strip()]


def main():
    binary, tokenizer = sys.argv[1], sys.argv[2]
    tok = bpe.Tokenizer.load(tokenizer)
    docs, _ = data.corpus()
    texts = EDGE + [l for d in docs for l in d.split("\n")][::7]
    texts = [t for t in texts if t]  # the CLI skips blank lines
    cpp = run(binary, tokenizer, [{"text": t} for t in texts])
    bad = 0
    for t, c in zip(texts, cpp):
        py = tok.encode(t)
        if py != c["ids"]:
            bad += 1
            if bad <= 5:
                print("MISMATCH", repr(t[:80]), py[:20], c["ids"][:20])
    dec = run(binary, tokenizer, [{"ids": tok.encode(t)} for t in texts], decode=True)
    bad_dec = sum(1 for t, d in zip(texts, dec) if d["text"] != t)
    print(f"{len(texts)} texts, {sum(len(c['ids']) for c in cpp)} tokens: {bad} encode mismatches, "
          f"{bad_dec} decode round-trip differences")
    sys.exit(1 if bad or bad_dec else 0)


if __name__ == "__main__":
    main()
