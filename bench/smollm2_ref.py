# SmolLM2-135M in float64 (numpy) from its GGUF file, after llama.cpp's Llama: the weights
# dequantized by the `gguf` package, attn_q and attn_k used as the file has them (its rotary
# on adjacent pairs, which the converter's row permutation is for: independent of
# fsskit's un-permutation and rotate_half). Test and benchmark only.
#   [GENERATE=N] smollm2_ref.py GGUF IDS_FILE OUT.json   (IDS_FILE: one prompt's ids a line)
# OUT.json: for each prompt its next token (argmax of the last position's logits), the top-5,
# and the largest |hidden state| seen (the ring's needs).
import json, sys
import numpy as np
import gguf

r = gguf.GGUFReader(sys.argv[1])
f = r.fields
W = {t.name: gguf.quants.dequantize(t.data, t.tensor_type).astype(np.float64) for t in r.tensors}
num = lambda k: f[k].parts[f[k].data[0]][0]
L, d, H, KV = int(num("llama.block_count")), int(num("llama.embedding_length")), int(num("llama.attention.head_count")), int(num("llama.attention.head_count_kv"))
base, eps = float(num("llama.rope.freq_base")), float(num("llama.attention.layer_norm_rms_epsilon"))
dh = d // H
emb = W["token_embd.weight"]  # [vocab][d]
head = W.get("output.weight", emb)


def rms(x, g):
    return x / np.sqrt((x * x).mean(-1, keepdims=True) + eps) * g


def rope_pairs(x, pos):  # x [s][heads][dh]: rotate (x[2i], x[2i+1]) by pos * base^(-2i/dh)
    i = np.arange(dh // 2)
    ang = pos[:, None] * base ** (-2.0 * i / dh)
    c, s = np.cos(ang)[:, None, :], np.sin(ang)[:, None, :]
    a, b = x[..., 0::2], x[..., 1::2]
    y = np.empty_like(x)
    y[..., 0::2], y[..., 1::2] = a * c - b * s, a * s + b * c
    return y


def forward(ids):
    s = len(ids)
    x = emb[ids]
    big = np.abs(x).max()
    pos = np.arange(s, dtype=np.float64)
    mask = np.triu(np.full((s, s), -np.inf), 1)
    for l in range(L):
        p = "blk.%d." % l
        h = rms(x, W[p + "attn_norm.weight"])
        q = (h @ W[p + "attn_q.weight"].T).reshape(s, H, dh)
        k = (h @ W[p + "attn_k.weight"].T).reshape(s, KV, dh)
        v = (h @ W[p + "attn_v.weight"].T).reshape(s, KV, dh)
        q, k = rope_pairs(q, pos), rope_pairs(k, pos)
        out = np.zeros((s, H, dh))
        for hh in range(H):
            kk = hh // (H // KV)
            sc = q[:, hh] @ k[:, kk].T / np.sqrt(dh) + mask
            pr = np.exp(sc - sc.max(-1, keepdims=True))
            pr /= pr.sum(-1, keepdims=True)
            out[:, hh] = pr @ v[:, kk]
        x = x + out.reshape(s, d) @ W[p + "attn_output.weight"].T
        h = rms(x, W[p + "ffn_norm.weight"])
        g, u = h @ W[p + "ffn_gate.weight"].T, h @ W[p + "ffn_up.weight"].T
        x = x + (g / (1 + np.exp(-g)) * u) @ W[p + "ffn_down.weight"].T
        big = max(big, np.abs(x).max())
    logits = rms(x[-1], W["output_norm.weight"]) @ head.T
    top = np.argsort(-logits)[:5]
    return {"next": int(top[0]), "top5": [int(t) for t in top], "logits_top5": [float(logits[t]) for t in top],
            "max_abs_hidden": float(big)}


import os
steps = int(os.environ.get("GENERATE", "0"))  # GENERATE=N: also N greedy tokens ("generated")
res = []
for line in open(sys.argv[2]):
    if not line.strip():
        continue
    ids = [int(t) for t in line.split()]
    r0 = forward(ids)
    if steps:
        gen = [r0["next"]]
        while len(gen) < steps:
            gen.append(forward(ids + gen)["next"])
        r0["generated"] = gen
    res.append(r0)
json.dump(res, open(sys.argv[3], "w"))
