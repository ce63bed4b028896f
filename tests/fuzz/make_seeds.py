#!/usr/bin/env python3
"""Builds the fuzz seed corpora from the real files in tests/data (standard library only).

Usage: make_seeds.py <tests/data dir> <output dir>
Writes <output dir>/<target>/seed_*, one folder per fuzz target. Inputs that split into fields
use the separator of tests/fuzz/fuzz_util.h.
"""
import glob
import json
import os
import struct
import sys

SEP = b"\n#####\n"


def write(out, target, name, data):
    d = os.path.join(out, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode("utf-8"))


def safetensors_seeds(data, out):
    for path in sorted(glob.glob(os.path.join(data, "fixtures", "*", "*.safetensors"))):
        tag = os.path.basename(os.path.dirname(path)) + "_" + os.path.basename(path).split(".")[0]
        with open(path, "rb") as f:
            raw = f.read()
        n = struct.unpack("<Q", raw[:8])[0]
        write(out, "fuzz_safetensors", "hdr_" + tag, b"\x01" + raw[8:8 + n])  # header JSON, mode 1
        if len(raw) <= 200_000:
            write(out, "fuzz_safetensors", "file_" + tag, b"\x00" + raw)  # the whole file, mode 0
        write(out, "fuzz_safetensors", "cut_" + tag, b"\x00" + raw[:8 + n + 64])  # truncated data
    index = {"metadata": {"total_size": 24},
             "weight_map": {"a.weight": "model-00001-of-00002.safetensors",
                            "b.weight": "model-00002-of-00002.safetensors"}}
    write(out, "fuzz_safetensors", "index", b"\x02" + json.dumps(index, indent=2).encode())


def config_seeds(data, out):
    paths = glob.glob(os.path.join(data, "configs", "*.json")) + \
        glob.glob(os.path.join(data, "fixtures", "*", "config.json"))
    for path in sorted(paths):
        tag = os.path.basename(os.path.dirname(path)) + "_" + os.path.basename(path)
        with open(path, "rb") as f:
            write(out, "fuzz_config", tag, f.read())


def shrink_tokenizer(tok, max_id=600, max_merges=400):
    """The real tokenizer.json with its vocabulary cut to small ids, so each run stays fast."""
    model = tok.get("model", {})
    vocab = {k: v for k, v in model.get("vocab", {}).items() if v < max_id}
    merges = []
    for m in model.get("merges", []):
        a, b = m.split(" ", 1) if isinstance(m, str) else m
        if a in vocab and b in vocab and a + b in vocab:
            merges.append(m)
        if len(merges) >= max_merges:
            break
    model["vocab"] = vocab
    model["merges"] = merges
    tok["added_tokens"] = tok.get("added_tokens", [])[:8]
    return tok


def tokenizer_seeds(data, out):
    for path in sorted(glob.glob(os.path.join(data, "tokenizers", "*", "tokenizer.json"))):
        tag = os.path.basename(os.path.dirname(path))
        with open(path, encoding="utf-8") as f:
            tok = shrink_tokenizer(json.load(f))
        cfg_path = os.path.join(os.path.dirname(path), "tokenizer_config.json")
        cfg = b""
        if os.path.exists(cfg_path):
            with open(cfg_path, "rb") as f:
                cfg = f.read()
        write(out, "fuzz_tokenizer_json", tag, json.dumps(tok, ensure_ascii=False).encode() + SEP + cfg)


def encode_seeds(data, out):
    seen = 0
    for name in ("cases.jsonl", "decode_cases.jsonl", "pretokenize_cases.jsonl"):
        path = os.path.join(data, "tokenizers", "deepseek-v3", name)
        if not os.path.exists(path):
            continue
        with open(path, encoding="utf-8") as f:
            for i, line in enumerate(f):
                case = json.loads(line)
                text = case.get("text") or case.get("decoded")
                if text and i % 3 == 0:  # every third case keeps the corpus small but varied
                    write(out, "fuzz_encode", "%s_%d" % (name.split(".")[0], i), text)
                    seen += 1
    write(out, "fuzz_encode", "invalid_utf8", b"abc\xff\xfe\xc0\x80 \xed\xa0\x80")


def chat_template_seeds(data, out):
    messages = []
    path = os.path.join(data, "tokenizers", "deepseek-v3", "chat_cases.jsonl")
    if os.path.exists(path):
        with open(path, encoding="utf-8") as f:
            messages = [json.loads(line)["messages"] for line in f]
    messages = messages[:12] or [[{"role": "user", "content": "hi"}]]
    templates = []
    for cfg_path in sorted(glob.glob(os.path.join(data, "chat_templates", "*", "tokenizer_config.json"))):
        with open(cfg_path, encoding="utf-8") as f:
            t = json.load(f).get("chat_template")
        if isinstance(t, list):
            t = next((x["template"] for x in t if x.get("name") == "default"), t[0]["template"])
        if isinstance(t, str):
            templates.append((os.path.basename(os.path.dirname(cfg_path)), t))
    for i, msgs in enumerate(messages):  # the real DeepSeek-V3 template (empty template field)
        write(out, "fuzz_chat_template", "v3_msgs_%d" % i, SEP + json.dumps(msgs, ensure_ascii=False).encode() + SEP + b"{}")
    for tag, t in templates:
        for i, msgs in enumerate(messages[:3]):
            write(out, "fuzz_chat_template", "%s_%d" % (tag, i),
                  t.encode() + SEP + json.dumps(msgs, ensure_ascii=False).encode() +
                  SEP + b'{"tools": null, "date_string": "26 Jul 2024"}')


def gguf_seeds(data, out):
    for path in sorted(glob.glob(os.path.join(data, "fixtures", "gguf", "*", "*.gguf"))):
        tag = os.path.basename(path)[:-5]
        with open(path, "rb") as f:
            raw = f.read()
        head = raw[:65536]
        kib = min((len(raw) - len(head) + 1023) // 1024, 4095)
        # Mode 1: the file's first 64 KiB (header, metadata, tensor infos) + zeros for the rest.
        write(out, "fuzz_gguf", "head_" + tag, b"\x01" + bytes([kib & 255, (kib >> 8) & 255, 0]) + head)
        write(out, "fuzz_gguf", "cut_" + tag, b"\x00" + raw[:4096])  # truncated: mode 0


def c_api_seeds(out):
    # A call script: an op byte, then argument bytes (see fuzz_c_api.cpp). One seed per call kind,
    # with all-default arguments and with every "NULL" bit set.
    for op in range(8):
        write(out, "fuzz_c_api", "op%d_defaults" % op, bytes([op]) + bytes(64))
        write(out, "fuzz_c_api", "op%d_nulls" % op, bytes([op]) + bytes([0xff]) * 64)


def main():
    data, out = sys.argv[1], sys.argv[2]
    safetensors_seeds(data, out)
    config_seeds(data, out)
    tokenizer_seeds(data, out)
    encode_seeds(data, out)
    chat_template_seeds(data, out)
    c_api_seeds(out)
    gguf_seeds(data, out)


if __name__ == "__main__":
    main()
