"""Exports a training checkpoint as a DeepSeek-V3 HF folder, plus reference logits for the C++ test.

  tools/train_demo/train.sh OUT_DIR ...; SCRIPT=export.py tools/train_demo/train.sh OUT_DIR models/deepseek-demo
Writes config.json, generation_config.json, model.safetensors (bf16; the routing bias in f32),
tokenizer.json, tokenizer_config.json, reference_logits.safetensors, samples.json and loss_curve.png.
The reference logits are computed in f32 from the bf16-rounded weights that are written out.
"""
import argparse
import json
import os
import shutil
import struct

import numpy as np
import torch

import bpe
from model import DeepseekV3

HERE = os.path.dirname(os.path.abspath(__file__))
REFERENCE_PROMPTS = [
    "In the beginning God created the heaven and the earth.",
    "床前明月光，疑是地上霜。举头望明月，",
    "<｜User｜>Tell me a saying.<｜Assistant｜>A fool and 3 coins",
]
SAMPLE_PROMPTS = ["And God said", "The LORD is my shepherd", "A wise man", "春眠不觉晓，",
                  "<｜User｜>请背诵《静夜思》。<｜Assistant｜>"]


def write_safetensors(path, tensors, metadata=None):
    """Minimal safetensors writer: JSON header (8-byte little-endian length) then raw little-endian data."""
    dt = {torch.bfloat16: "BF16", torch.float32: "F32", torch.int32: "I32"}
    header, blobs, off = {}, [], 0
    for name in sorted(tensors):
        t = tensors[name].contiguous()
        raw = (t.view(torch.int16) if t.dtype == torch.bfloat16 else t).numpy().tobytes()
        header[name] = {"dtype": dt[t.dtype], "shape": list(t.shape), "data_offsets": [off, off + len(raw)]}
        blobs.append(raw)
        off += len(raw)
    if metadata:
        header["__metadata__"] = metadata
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)  # keep tensor data 8-byte aligned
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def hf_state_dict(model):
    """Our module names -> DeepSeek-V3 checkpoint names; the MTP layer becomes model.layers.{N}."""
    n = model.cfg["num_hidden_layers"]
    out = {}
    for name, t in model.state_dict().items():
        if name.startswith("mtp."):
            rest = name[len("mtp."):]
            rest = rest[len("block."):] if rest.startswith("block.") else rest
            out[f"model.layers.{n}.{rest}"] = t
        elif name.startswith("lm_head."):
            out[name] = t
        else:
            out["model." + name] = t
    if model.mtp is not None:  # shared with the main model; DeepSeek-V3 stores copies in the MTP layer
        out[f"model.layers.{n}.embed_tokens.weight"] = model.embed_tokens.weight.detach()
        out[f"model.layers.{n}.shared_head.head.weight"] = model.lm_head.weight.detach()
    return out


def hf_config(cfg):
    c = {"architectures": ["DeepseekV3ForCausalLM"], "model_type": "deepseek_v3", "torch_dtype": "bfloat16",
         "bos_token_id": 0, "eos_token_id": 1, "hidden_act": "silu", "attention_bias": False,
         "attention_dropout": 0.0, "tie_word_embeddings": False, "topk_method": "noaux_tc",
         "scoring_func": "sigmoid", "ep_size": 1, "rope_scaling": None, "use_cache": True,
         "aux_loss_alpha": 0.0, "seq_aux": False}
    c.update(cfg)
    return dict(sorted(c.items()))


def chat_template():
    """DeepSeek-V3's template, reduced to system/user/assistant turns (no tool calls), R1-style in that
    a stored assistant turn drops any reasoning before </think>."""
    return (
        "{% if not add_generation_prompt is defined %}{% set add_generation_prompt = false %}{% endif %}"
        "{% set ns = namespace(system_prompt='', is_first_sp=true) %}"
        "{%- for message in messages %}{%- if message['role'] == 'system' %}"
        "{%- if ns.is_first_sp %}{% set ns.system_prompt = ns.system_prompt + message['content'] %}"
        "{% set ns.is_first_sp = false %}"
        "{%- else %}{% set ns.system_prompt = ns.system_prompt + '\\n\\n' + message['content'] %}{%- endif %}"
        "{%- endif %}{%- endfor %}"
        "{{ bos_token }}{{ ns.system_prompt }}"
        "{%- for message in messages %}"
        "{%- if message['role'] == 'user' %}{{ '<｜User｜>' + message['content'] }}{%- endif %}"
        "{%- if message['role'] == 'assistant' %}{% set content = message['content'] %}"
        "{% if '</think>' in content %}{% set content = content.split('</think>')[-1] %}{% endif %}"
        "{{ '<｜Assistant｜>' + content + '<｜end▁of▁sentence｜>' }}{%- endif %}"
        "{%- endfor -%}"
        "{% if add_generation_prompt %}{{ '<｜Assistant｜>' }}{% endif %}")


def tokenizer_config():
    def tok(s):
        return {"__type": "AddedToken", "content": s, "lstrip": False, "normalized": True, "rstrip": False,
                "single_word": False}
    return {"add_bos_token": True, "add_eos_token": False, "bos_token": tok(bpe.BOS), "eos_token": tok(bpe.EOS),
            "pad_token": tok(bpe.EOS), "clean_up_tokenization_spaces": False, "legacy": True,
            "model_max_length": 2048, "sp_model_kwargs": {}, "unk_token": None,
            "tokenizer_class": "LlamaTokenizerFast", "chat_template": chat_template()}


@torch.no_grad()
def greedy(model, tok, prompt, n):
    ids = tok.encode(prompt, add_bos=True)
    start = len(ids)
    for _ in range(n):
        nxt = int(model(torch.tensor([ids]))[0, -1].argmax())
        ids.append(nxt)
        if nxt == tok.vocab[bpe.EOS]:
            break
    return ids[start:]


def plot_losses(log_path, png_path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    recs = [json.loads(l) for l in open(log_path)]
    steps = [r["step"] for r in recs]
    fig, ax = plt.subplots(figsize=(7, 4), dpi=100)
    ax.plot(steps, [r["loss"] for r in recs], label="train: next token", lw=1)
    ax.plot(steps, [r["mtp_loss"] for r in recs], label="train: MTP (token after next)", lw=1)
    ev = [r for r in recs if "val_loss" in r]
    ax.plot([r["step"] for r in ev], [r["val_loss"] for r in ev], "o-", label="validation: next token")
    ax.plot([r["step"] for r in ev], [r["val_mtp_loss"] for r in ev], "s-", label="validation: MTP")
    ax.set_xlabel("step (8 x 256 tokens)")
    ax.set_ylabel("cross-entropy (nats)")
    ax.set_ylim(bottom=0)
    ax.grid(alpha=0.3)
    ax.legend()
    ax.set_title("deepseek-demo training loss")
    fig.tight_layout()
    fig.savefig(png_path)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("run_dir")
    ap.add_argument("out_dir")
    args = ap.parse_args()
    torch.set_num_threads(1)
    os.makedirs(args.out_dir, exist_ok=True)
    st = torch.load(os.path.join(args.run_dir, "ckpt.pt"))
    cfg = st["config"]
    model = DeepseekV3(cfg)
    model.load_state_dict(st["model"])
    model.eval()
    # Round every weight to bf16 (what we store), keeping the routing bias in f32.
    sd = hf_state_dict(model)
    tensors = {k: (v.float() if k.endswith("e_score_correction_bias") else v.to(torch.bfloat16)) for k, v in sd.items()}
    with torch.no_grad():
        for name, p in model.named_parameters():
            p.copy_(p.to(torch.bfloat16).float())
    write_safetensors(os.path.join(args.out_dir, "model.safetensors"), tensors, {"format": "pt"})
    with open(os.path.join(args.out_dir, "config.json"), "w") as f:
        json.dump(hf_config(cfg), f, indent=2)
        f.write("\n")
    with open(os.path.join(args.out_dir, "generation_config.json"), "w") as f:
        json.dump({"bos_token_id": 0, "eos_token_id": 1, "do_sample": True, "temperature": 0.7, "top_p": 0.9}, f, indent=2)
        f.write("\n")
    shutil.copy(os.path.join(args.run_dir, "tokenizer.json"), os.path.join(args.out_dir, "tokenizer.json"))
    with open(os.path.join(args.out_dir, "tokenizer_config.json"), "w") as f:
        json.dump(tokenizer_config(), f, indent=2, ensure_ascii=False)
        f.write("\n")
    tok = bpe.Tokenizer.load(os.path.join(args.out_dir, "tokenizer.json"))

    ref, texts = {}, []
    with torch.no_grad():
        for i, p in enumerate(REFERENCE_PROMPTS):
            ids = tok.encode(p, add_bos=True)
            logits, mtp_logits = model.forward_mtp(torch.tensor([ids]))
            ref[f"tokens_{i}"] = torch.tensor(ids, dtype=torch.int32)
            ref[f"logits_{i}"] = logits[0].float()
            if i == 0:  # MTP head: position j predicts token j+2 given tokens <= j+1
                ref[f"mtp_logits_{i}"] = mtp_logits[0].float()
            texts.append(p)
    meta = {"prompts": json.dumps(texts, ensure_ascii=False),
            "about": "f32 logits of tools/train_demo/model.py on the bf16 weights of model.safetensors; tokens_i "
                     "from tools/train_demo/bpe.py with <bos> prepended; logits_i [T, vocab] teacher-forced; "
                     "mtp_logits_0 [T-1, vocab]: row j = MTP logits from main hidden state j and embed(tokens[j+1])"}
    write_safetensors(os.path.join(args.out_dir, "reference_logits.safetensors"), ref, meta)

    samples = {}
    for p in SAMPLE_PROMPTS:
        samples[p] = tok.decode(greedy(model, tok, p, 48))
        print(repr(p), "->", repr(samples[p]))
    with open(os.path.join(args.run_dir, "samples_torch_greedy.json"), "w") as f:
        json.dump(samples, f, ensure_ascii=False, indent=1)
    plot_losses(os.path.join(args.run_dir, "log.jsonl"), os.path.join(args.out_dir, "loss_curve.png"))
    total = sum(os.path.getsize(os.path.join(args.out_dir, f)) for f in os.listdir(args.out_dir))
    print(f"exported step {st['step']} ({st['train_seconds'] / 60:.1f} min) to {args.out_dir}: {total / 1e6:.2f} MB")


if __name__ == "__main__":
    main()
