# all-MiniLM-L6-v2 from text in float64 (numpy), as sentence-transformers runs it: the
# model's own tokenizer (Hugging Face `tokenizers`, tokenizer.json, cut at 256 tokens), a
# BertModel forward of each sentence alone, mean pooling over its tokens, L2 normalization.
# Test and benchmark only (bench/minilm-text-check.sh); the C code never runs it.
#   minilm_text_ref.py MODEL_DIR SENTENCES.txt OUT.npy   (MODEL_DIR: model.safetensors, tokenizer.json)
import json, math, struct, sys
import numpy as np
from tokenizers import Tokenizer

model, sentences, out = sys.argv[1:4]
raw = open(model + "/model.safetensors", "rb").read()
n = struct.unpack("<Q", raw[:8])[0]
hdr = json.loads(raw[8:8 + n])
base = 8 + n


def T(name):
    e = hdr[name]
    a, b = e["data_offsets"]
    return np.frombuffer(raw[base + a:base + b], dtype=np.float32).reshape(e["shape"]).astype(np.float64)


def ln(x, g, b, eps=1e-12):
    mu = x.mean(-1, keepdims=True)
    var = ((x - mu) ** 2).mean(-1, keepdims=True)
    return (x - mu) / np.sqrt(var + eps) * g + b


erf = np.frompyfunc(math.erf, 1, 1)


def gelu(v):
    return 0.5 * v * (1 + erf(v / math.sqrt(2)).astype(np.float64))


W = {k: T(k) for k in hdr if k != "__metadata__" and hdr[k]["dtype"] == "F32"}


def encode(ids):
    s = len(ids)
    x = W["embeddings.word_embeddings.weight"][ids] + W["embeddings.position_embeddings.weight"][:s] + \
        W["embeddings.token_type_embeddings.weight"][0]
    x = ln(x, W["embeddings.LayerNorm.weight"], W["embeddings.LayerNorm.bias"])
    H, dh = 12, 32
    for l in range(6):
        p = "encoder.layer.%d." % l
        lin = lambda v, nm: v @ W[p + nm + ".weight"].T + W[p + nm + ".bias"]
        q, k, v = lin(x, "attention.self.query"), lin(x, "attention.self.key"), lin(x, "attention.self.value")
        ctx = np.zeros_like(x)
        for hh in range(H):
            sl = slice(hh * dh, (hh + 1) * dh)
            sc = q[:, sl] @ k[:, sl].T / math.sqrt(dh)
            pr = np.exp(sc - sc.max(-1, keepdims=True))
            pr /= pr.sum(-1, keepdims=True)
            ctx[:, sl] = pr @ v[:, sl]
        x = ln(x + lin(ctx, "attention.output.dense"), W[p + "attention.output.LayerNorm.weight"],
               W[p + "attention.output.LayerNorm.bias"])
        x = ln(x + lin(gelu(lin(x, "intermediate.dense")), "output.dense"), W[p + "output.LayerNorm.weight"],
               W[p + "output.LayerNorm.bias"])
    e = x.mean(0)
    return e / max(np.linalg.norm(e), 1e-12)


tok = Tokenizer.from_file(model + "/tokenizer.json")
tok.no_padding()
tok.enable_truncation(256)
lines = open(sentences, encoding="utf-8").read().split("\n")
if lines and lines[-1] == "":
    lines.pop()
emb = np.stack([encode(tok.encode(t).ids) for t in lines]).astype("<f4")
h = "{'descr': '<f4', 'fortran_order': False, 'shape': %s, }" % (str(emb.shape),)
h += " " * ((64 - (10 + len(h) + 1) % 64) % 64) + "\n"
open(out, "wb").write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(h)) + h.encode() + emb.tobytes())
