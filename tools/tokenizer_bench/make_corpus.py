#!/usr/bin/env python3
"""Writes a deterministic ~1 MB mixed Chinese/English JSON Lines corpus ({"text": ...} per line)
for the tokenizer speed comparison. Words are drawn from DeepSeek-V3's own vocabulary with a
skew so the text has natural repetition but many distinct words.
Usage: make_corpus.py <tokenizer.json> <out.jsonl> [target_bytes]"""
import json
import random
import re
import sys


def byte_decoder():
    bs = list(range(33, 127)) + list(range(161, 173)) + list(range(174, 256))
    cs, n = bs[:], 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return {chr(c): b for b, c in zip(bs, cs)}


def main():
    tok_path, out_path = sys.argv[1], sys.argv[2]
    target = int(sys.argv[3]) if len(sys.argv) > 3 else 1_000_000
    dec = byte_decoder()
    vocab = json.load(open(tok_path, encoding="utf-8"))["model"]["vocab"]
    english, chinese = [], []
    for token in vocab:
        try:
            text = bytes(dec[c] for c in token).decode("utf-8")
        except (KeyError, UnicodeDecodeError):
            continue
        if re.fullmatch(r" [a-z]{2,12}", text):
            english.append(text[1:])
        elif re.fullmatch(r"[\u4e00-\u9fa5]{1,4}", text):
            chinese.append(text)
    english.sort()
    chinese.sort()
    rng = random.Random(20240601)
    rng.shuffle(english)
    rng.shuffle(chinese)

    def zipf(words):  # skewed towards the front of the shuffled list, yet covering all of it
        return words[int(len(words) * rng.random() ** 4)]

    def english_sentence():
        words = [zipf(english) for _ in range(rng.randint(6, 24))]
        if rng.random() < 0.3:
            words.insert(rng.randrange(len(words)), str(rng.randint(0, 100000)))
        s = " ".join(words)
        return s[0].upper() + s[1:] + rng.choice([".", ".", ",", "?", "!"])

    def chinese_sentence():
        parts = [zipf(chinese) for _ in range(rng.randint(5, 20))]
        if rng.random() < 0.3:
            parts.insert(rng.randrange(len(parts)), rng.choice(english).capitalize())
        if rng.random() < 0.2:
            parts.insert(rng.randrange(len(parts)), f"{rng.randint(1, 2025)}年")
        return "".join(parts) + rng.choice(["。", "，", "？", "！", "；"])

    size = 0
    with open(out_path, "w", encoding="utf-8") as out:
        while size < target:
            sentences = [english_sentence() if rng.random() < 0.5 else chinese_sentence()
                         for _ in range(rng.randint(3, 30))]
            text = " ".join(sentences)
            if rng.random() < 0.2:
                text += "\n\n" + "def f(x):\n    return x * %d  # 注释\n" % rng.randint(2, 99)
            size += len(text.encode("utf-8"))
            out.write(json.dumps({"text": text}, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
