"""Trains the demo DeepSeek-V3-architecture model (main next-token loss + DeepSeek-V3 MTP loss).

  nice -n 5 tools/train_demo/train.sh OUT_DIR      # builds the corpus + tokenizer, then trains
Writes OUT_DIR/{tokenizer.json, config.json, corpus_stats.json, ckpt.pt, log.jsonl}. Checkpoints every
--ckpt-every steps, so export.py can run on a partially trained model. Deterministic for a given
seed on one thread (torch.set_num_threads(1)).
"""
import argparse
import json
import math
import os
import random
import time

import numpy as np
import torch

import bpe
import data
from model import DeepseekV3

HERE = os.path.dirname(os.path.abspath(__file__))

CONFIG = {
    "vocab_size": 4096, "hidden_size": 256, "intermediate_size": 512, "moe_intermediate_size": 128,
    "num_hidden_layers": 4, "num_attention_heads": 4, "num_key_value_heads": 4,
    "q_lora_rank": 128, "kv_lora_rank": 64, "qk_nope_head_dim": 64, "qk_rope_head_dim": 32, "v_head_dim": 64,
    "n_routed_experts": 8, "n_shared_experts": 1, "num_experts_per_tok": 2, "n_group": 4, "topk_group": 2,
    "routed_scaling_factor": 2.5, "norm_topk_prob": True, "first_k_dense_replace": 1, "moe_layer_freq": 1,
    "rms_norm_eps": 1e-6, "rope_theta": 10000.0, "initializer_range": 0.02, "num_nextn_predict_layers": 1,
    "max_position_embeddings": 2048,
}


def build_tokens(out_dir, log):
    docs, stats = data.corpus()
    tok_path = os.path.join(out_dir, "tokenizer.json")
    if not os.path.exists(tok_path):
        plain = [d.replace(data.USER, "\n").replace(data.ASSISTANT, "\n") for d in docs]
        vocab, merges = bpe.train(plain, CONFIG["vocab_size"], log=log)
        bpe.save_tokenizer_json(tok_path, vocab, merges)
    tok = bpe.Tokenizer.load(tok_path)
    rng = random.Random(1234)
    order = list(range(len(docs)))
    rng.shuffle(order)
    n_val = len(docs) // 50
    streams = []
    for part in (order[n_val:], order[:n_val]):
        ids = []
        for i in part:  # <bos> document <eos>, packed back to back
            ids += tok.encode(docs[i], add_bos=True) + [tok.vocab[bpe.EOS]]
        streams.append(np.array(ids, dtype=np.int32))
    stats.update({"train_tokens": int(len(streams[0])), "val_tokens": int(len(streams[1])), "val_docs": n_val})
    with open(os.path.join(out_dir, "corpus_stats.json"), "w") as f:
        json.dump(stats, f, indent=1)
    log(f"corpus: {stats}")
    return streams


def batch(stream, gen, bsz, seq):
    starts = torch.randint(0, len(stream) - seq - 1, (bsz,), generator=gen).tolist()
    return torch.from_numpy(np.stack([stream[s:s + seq] for s in starts]).astype(np.int64))


def lr_at(step, args):
    if step < args.warmup:
        return args.lr * (step + 1) / args.warmup
    frac = min(1.0, (step - args.warmup) / max(1, args.steps - args.warmup))
    return args.lr * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * frac)))


@torch.no_grad()
def evaluate(model, stream, args):
    gen = torch.Generator().manual_seed(999)
    model.eval()
    tot = [0.0, 0.0]
    for _ in range(args.eval_batches):
        main, mtp = model.losses(batch(stream, gen, args.batch, args.seq))
        tot[0] += main.item()
        tot[1] += mtp.item()
    model.train()
    return [t / args.eval_batches for t in tot]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out_dir")
    ap.add_argument("--steps", type=int, default=720)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--seq", type=int, default=256)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--warmup", type=int, default=30)
    ap.add_argument("--mtp-lambda", type=float, default=0.3, help="weight of the MTP loss (DeepSeek-V3: 0.3, later 0.1)")
    ap.add_argument("--bias-gamma", type=float, default=1e-3, help="routing-bias update speed (aux-loss-free balancing)")
    ap.add_argument("--ckpt-every", type=int, default=50)
    ap.add_argument("--eval-every", type=int, default=100)
    ap.add_argument("--eval-batches", type=int, default=4)
    ap.add_argument("--max-minutes", type=float, default=40.0, help="stop (after a checkpoint) past this wall time")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    os.makedirs(args.out_dir, exist_ok=True)
    torch.set_num_threads(1)
    torch.manual_seed(args.seed)
    logf = open(os.path.join(args.out_dir, "log.jsonl"), "a")

    def log(msg):
        print(msg, flush=True)

    t0 = time.time()
    train_ids, val_ids = build_tokens(args.out_dir, log)
    log(f"data ready in {time.time() - t0:.0f}s")
    with open(os.path.join(args.out_dir, "train_config.json"), "w") as f:
        json.dump({"model": CONFIG, "args": vars(args)}, f, indent=1)
    model = DeepseekV3(CONFIG)
    decay = [p for n, p in model.named_parameters() if p.dim() == 2]
    no_decay = [p for n, p in model.named_parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1}, {"params": no_decay, "weight_decay": 0.0}],
                            lr=args.lr, betas=(0.9, 0.95), eps=1e-8)
    step, gen, train_seconds = 0, torch.Generator().manual_seed(args.seed), 0.0
    ckpt = os.path.join(args.out_dir, "ckpt.pt")
    if os.path.exists(ckpt):  # resume
        st = torch.load(ckpt)
        model.load_state_dict(st["model"])
        opt.load_state_dict(st["opt"])
        gen.set_state(st["gen"])
        step, train_seconds = st["step"], st["train_seconds"]
        log(f"resumed at step {step}")
    log(f"params: {sum(p.numel() for p in model.parameters()):,}")

    def save():
        tmp = ckpt + ".tmp"
        torch.save({"model": model.state_dict(), "opt": opt.state_dict(), "gen": gen.get_state(), "step": step,
                    "train_seconds": train_seconds, "config": CONFIG}, tmp)
        os.replace(tmp, ckpt)

    t_start = time.time() - train_seconds
    while step < args.steps:
        for g in opt.param_groups:
            g["lr"] = lr_at(step, args)
        ids = batch(train_ids, gen, args.batch, args.seq)
        main_loss, mtp_loss = model.losses(ids)
        loss = main_loss + args.mtp_lambda * mtp_loss
        opt.zero_grad(set_to_none=True)
        loss.backward()
        gnorm = torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0).item()
        opt.step()
        model.update_routing_bias(args.bias_gamma)
        step += 1
        train_seconds = time.time() - t_start
        rec = {"step": step, "time_s": round(train_seconds, 1), "lr": lr_at(step - 1, args),
               "loss": round(main_loss.item(), 4), "mtp_loss": round(mtp_loss.item(), 4), "grad_norm": round(gnorm, 3)}
        if step % args.eval_every == 0 or step == args.steps:
            rec["val_loss"], rec["val_mtp_loss"] = [round(v, 4) for v in evaluate(model, val_ids, args)]
            loads = [m.last_load.tolist() for m in model.moe_layers()]
            rec["expert_load_last_batch"] = loads
        logf.write(json.dumps(rec) + "\n")
        logf.flush()
        if step % 10 == 0 or "val_loss" in rec:
            log(json.dumps({k: v for k, v in rec.items() if k != "expert_load_last_batch"}))
        if step % args.ckpt_every == 0 or step == args.steps:
            save()
        if train_seconds > args.max_minutes * 60:
            save()
            log(f"stopping at step {step}: time limit")
            break
    save()
    log(f"done: {step} steps, {train_seconds / 60:.1f} min of training")


if __name__ == "__main__":
    main()
