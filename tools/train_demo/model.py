"""A DeepSeek-V3-architecture language model in plain PyTorch, with one MTP module.

Written from the DeepSeek-V3 technical report and the structure of DeepSeek's published model code
(HF modeling_deepseek.py / inference/model.py): MLA attention with a low-rank query (q_lora_rank),
a compressed KV latent and decoupled RoPE keys; DeepSeekMoE with sigmoid scores, an auxiliary-loss-
free bias used only for choosing experts, group-limited ("noaux_tc") top-k, normalized and scaled
weights, and shared experts; dense MLPs in the first `first_k_dense_replace` layers.

Parameter names follow the HF checkpoint layout so export is a rename-free state_dict dump.
"""
import math

import torch
import torch.nn.functional as F
from torch import nn


class RMSNorm(nn.Module):
    def __init__(self, dim, eps):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(dim))
        self.eps = eps

    def forward(self, x):
        x32 = x.float()
        return self.weight * (x32 * torch.rsqrt(x32.pow(2).mean(-1, keepdim=True) + self.eps))


def rope_tables(cfg, length):
    """cos/sin of shape [length, rope_dim/2]; pair i of a head rotates by position * theta^(-2i/d)."""
    d = cfg["qk_rope_head_dim"]
    inv = 1.0 / (cfg["rope_theta"] ** (torch.arange(0, d, 2, dtype=torch.float64) / d))
    ang = torch.arange(length, dtype=torch.float64)[:, None] * inv[None, :]
    return torch.cos(ang).float(), torch.sin(ang).float()


def apply_rope(x, cos, sin):
    """Rotates interleaved pairs (x[2i], x[2i+1]) as DeepSeek's reference code does (complex multiply).
    x: [b, s, h, d]; cos/sin: [s, d/2]."""
    x1, x2 = x[..., 0::2], x[..., 1::2]
    c, s = cos[None, :, None, :], sin[None, :, None, :]
    return torch.stack((x1 * c - x2 * s, x1 * s + x2 * c), dim=-1).flatten(-2)


class MLA(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        d, h = cfg["hidden_size"], cfg["num_attention_heads"]
        self.h, self.dn, self.dr, self.dv = h, cfg["qk_nope_head_dim"], cfg["qk_rope_head_dim"], cfg["v_head_dim"]
        self.rank = cfg["kv_lora_rank"]
        self.q_a_proj = nn.Linear(d, cfg["q_lora_rank"], bias=False)
        self.q_a_layernorm = RMSNorm(cfg["q_lora_rank"], cfg["rms_norm_eps"])
        self.q_b_proj = nn.Linear(cfg["q_lora_rank"], h * (self.dn + self.dr), bias=False)
        self.kv_a_proj_with_mqa = nn.Linear(d, self.rank + self.dr, bias=False)
        self.kv_a_layernorm = RMSNorm(self.rank, cfg["rms_norm_eps"])
        self.kv_b_proj = nn.Linear(self.rank, h * (self.dn + self.dv), bias=False)
        self.o_proj = nn.Linear(h * self.dv, d, bias=False)
        self.scale = (self.dn + self.dr) ** -0.5  # no YaRN, so no mscale

    def forward(self, x, cos, sin):
        b, s, _ = x.shape
        q = self.q_b_proj(self.q_a_layernorm(self.q_a_proj(x))).view(b, s, self.h, self.dn + self.dr)
        q_nope, q_pe = q.split([self.dn, self.dr], dim=-1)
        kv_a = self.kv_a_proj_with_mqa(x)
        latent, k_pe = kv_a.split([self.rank, self.dr], dim=-1)
        kv = self.kv_b_proj(self.kv_a_layernorm(latent)).view(b, s, self.h, self.dn + self.dv)
        k_nope, v = kv.split([self.dn, self.dv], dim=-1)
        q_pe = apply_rope(q_pe, cos, sin)
        k_pe = apply_rope(k_pe.view(b, s, 1, self.dr), cos, sin).expand(b, s, self.h, self.dr)
        qh = torch.cat([q_nope, q_pe], dim=-1).transpose(1, 2)  # [b, h, s, dq]
        kh = torch.cat([k_nope, k_pe], dim=-1).transpose(1, 2)
        scores = (qh @ kh.transpose(-1, -2)) * self.scale
        causal = torch.ones(s, s, dtype=torch.bool, device=x.device).triu(1)
        scores = scores.masked_fill(causal, float("-inf"))
        o = torch.softmax(scores.float(), dim=-1) @ v.transpose(1, 2)
        return self.o_proj(o.transpose(1, 2).reshape(b, s, self.h * self.dv))


class MLP(nn.Module):
    def __init__(self, d, inter):
        super().__init__()
        self.gate_proj = nn.Linear(d, inter, bias=False)
        self.up_proj = nn.Linear(d, inter, bias=False)
        self.down_proj = nn.Linear(inter, d, bias=False)

    def forward(self, x):
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


class Gate(nn.Module):
    """noaux_tc routing: sigmoid scores; bias (not trained by gradients) only affects which experts."""

    def __init__(self, cfg):
        super().__init__()
        self.e, self.k = cfg["n_routed_experts"], cfg["num_experts_per_tok"]
        self.groups, self.topk_groups = cfg["n_group"], cfg["topk_group"]
        self.scale, self.norm = cfg["routed_scaling_factor"], cfg["norm_topk_prob"]
        self.weight = nn.Parameter(torch.empty(self.e, cfg["hidden_size"]))
        self.register_buffer("e_score_correction_bias", torch.zeros(self.e))
        nn.init.normal_(self.weight, std=cfg["initializer_range"])

    def forward(self, x):  # x: [T, d] -> (indices [T, k], weights [T, k])
        scores = torch.sigmoid(F.linear(x.float(), self.weight.float()))
        choice = scores.detach() + self.e_score_correction_bias
        t = x.shape[0]
        grouped = choice.view(t, self.groups, -1)
        group_score = grouped.topk(2, dim=-1).values.sum(-1)  # sum of the two best per group
        keep = group_score.topk(self.topk_groups, dim=-1).indices
        mask = torch.ones(t, self.groups, dtype=torch.bool).scatter_(1, keep, False)
        choice = grouped.masked_fill(mask[..., None], float("-inf")).view(t, self.e)
        idx = choice.topk(self.k, dim=-1).indices
        w = scores.gather(1, idx)
        if self.norm:
            w = w / (w.sum(-1, keepdim=True) + 1e-20)
        return idx, w * self.scale, scores


class MoE(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        d, inter = cfg["hidden_size"], cfg["moe_intermediate_size"]
        self.gate = Gate(cfg)
        self.experts = nn.ModuleList(MLP(d, inter) for _ in range(cfg["n_routed_experts"]))
        self.shared_experts = MLP(d, inter * cfg["n_shared_experts"])
        self.last_load = None  # tokens per expert in the last forward, for the bias update

    def forward(self, x):
        shape = x.shape
        x = x.reshape(-1, shape[-1])
        idx, w, _ = self.gate(x)
        out = torch.zeros_like(x)
        flat = idx.view(-1)
        self.last_load = torch.bincount(flat, minlength=len(self.experts)).float()
        tok = torch.arange(x.shape[0]).repeat_interleave(idx.shape[1])
        wf = w.reshape(-1)
        for e, expert in enumerate(self.experts):
            sel = (flat == e).nonzero(as_tuple=True)[0]
            if sel.numel() == 0:
                continue
            rows = tok[sel]
            out.index_add_(0, rows, expert(x[rows]) * wf[sel, None].to(x.dtype))
        return (out + self.shared_experts(x)).view(shape)


class Block(nn.Module):
    def __init__(self, cfg, moe):
        super().__init__()
        self.input_layernorm = RMSNorm(cfg["hidden_size"], cfg["rms_norm_eps"])
        self.self_attn = MLA(cfg)
        self.post_attention_layernorm = RMSNorm(cfg["hidden_size"], cfg["rms_norm_eps"])
        self.mlp = MoE(cfg) if moe else MLP(cfg["hidden_size"], cfg["intermediate_size"])

    def forward(self, h, cos, sin):
        h = h + self.self_attn(self.input_layernorm(h), cos, sin)
        return h + self.mlp(self.post_attention_layernorm(h))


class SharedHead(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.norm = RMSNorm(cfg["hidden_size"], cfg["rms_norm_eps"])


class MTPLayer(nn.Module):
    """DeepSeek-V3 MTP module (depth 1). Checkpoint names as model.layers.{N}.*: enorm, hnorm, eh_proj,
    the block's own names, shared_head.norm; embed_tokens and shared_head.head are the main model's
    embedding and output head (shared), written out as copies at export.
    h' = eh_proj(cat(enorm(embed(t_{i+1})), hnorm(h_i))), as vLLM/SGLang read DeepSeek-V3's MTP weights,
    where h_i is the main model's final hidden state (after model.norm)."""

    def __init__(self, cfg):
        super().__init__()
        d = cfg["hidden_size"]
        self.enorm = RMSNorm(d, cfg["rms_norm_eps"])
        self.hnorm = RMSNorm(d, cfg["rms_norm_eps"])
        self.eh_proj = nn.Linear(2 * d, d, bias=False)
        self.block = Block(cfg, moe=True)
        self.shared_head = SharedHead(cfg)

    def forward(self, h, next_emb, cos, sin):
        x = self.eh_proj(torch.cat([self.enorm(next_emb), self.hnorm(h)], dim=-1))
        return self.shared_head.norm(self.block(x, cos, sin))


class DeepseekV3(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        self.embed_tokens = nn.Embedding(cfg["vocab_size"], cfg["hidden_size"])
        self.layers = nn.ModuleList(Block(cfg, moe=i >= cfg["first_k_dense_replace"])
                                    for i in range(cfg["num_hidden_layers"]))
        self.norm = RMSNorm(cfg["hidden_size"], cfg["rms_norm_eps"])
        self.lm_head = nn.Linear(cfg["hidden_size"], cfg["vocab_size"], bias=False)
        self.mtp = MTPLayer(cfg) if cfg["num_nextn_predict_layers"] > 0 else None
        std = cfg["initializer_range"]
        for name, p in self.named_parameters():
            if p.dim() == 2 and not name.endswith("gate.weight"):
                nn.init.normal_(p, std=std)
        # Scale the residual-branch outputs down with depth (GPT-2 style) for stable early training.
        for name, p in self.named_parameters():
            if name.endswith(("o_proj.weight", "down_proj.weight")):
                nn.init.normal_(p, std=std / math.sqrt(2 * (cfg["num_hidden_layers"] + 1)))

    def moe_layers(self):
        return [m for m in self.modules() if isinstance(m, MoE)]

    def hidden(self, ids):
        s = ids.shape[1]
        cos, sin = rope_tables(self.cfg, s)
        h = self.embed_tokens(ids)
        for layer in self.layers:
            h = layer(h, cos, sin)
        return self.norm(h), cos, sin

    def forward(self, ids):
        """Main-model logits [b, s, V]."""
        h, _, _ = self.hidden(ids)
        return self.lm_head(h)

    def forward_mtp(self, ids):
        """(main logits [b, s, V], MTP logits [b, s-1, V]); MTP position i predicts token i+2."""
        h, cos, sin = self.hidden(ids)
        logits = self.lm_head(h)
        s = ids.shape[1]
        g = self.mtp(h[:, :-1], self.embed_tokens(ids[:, 1:]), cos[: s - 1], sin[: s - 1])
        return logits, self.lm_head(g)

    def losses(self, ids):
        """Next-token loss and the MTP loss (cross-entropy on the token after next)."""
        logits, mtp_logits = self.forward_mtp(ids)
        v = logits.shape[-1]
        main = F.cross_entropy(logits[:, :-1].reshape(-1, v).float(), ids[:, 1:].reshape(-1))
        mtp = F.cross_entropy(mtp_logits[:, :-1].reshape(-1, v).float(), ids[:, 2:].reshape(-1))
        return main, mtp

    @torch.no_grad()
    def update_routing_bias(self, gamma):
        """Auxiliary-loss-free balancing (DeepSeek-V3 report 2.1.2): raise the bias of underloaded
        experts and lower it for overloaded ones by gamma per step."""
        for m in self.moe_layers():
            if m.last_load is None:
                continue
            load = m.last_load
            m.gate.e_score_correction_bias += gamma * torch.sign(load.mean() - load)
