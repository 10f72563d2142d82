#!/usr/bin/env python3
"""A float reference for the transformer family's weights files (issue 16).

    tf_reference.py NAMING OUTDIR SEED
    tf_reference.py compare OURS.npy REF.npy TOLERANCE

NAMING is bert (bert-tiny's shape), gpt2 (gpt2-tiny's), neo (gpt-neo-tiny's: its block 1
attends to the last 4 tokens only), llama or llama-tied (llama-tiny's). Writes into OUTDIR:
  weights.safetensors  random weights under Hugging Face's names for that architecture
                       (nn.Linear [out][in]; GPT-2's Conv1D [in][out] with a fused c_attn;
                       llama in F16, the others in F32)
  x.npy                random token embeddings, float32 [batch][seq][d]
  ref.npy              the model's output in float64 arithmetic, float32: BERT's last hidden
                       states [batch][seq][d], the others' last-position logits [batch][vocab]
`compare` prints the largest and the mean absolute difference of two float32 .npy files of
one shape and exits 1 when the largest exceeds TOLERANCE.

The reference follows Hugging Face's modeling code: BertLayer (post-LayerNorm, erf GeLU), GPT2Block
(gelu_new, Conv1D), GPTNeoBlock (no 1/sqrt(head size) in attention, Linear layers without
q/k/v biases), LlamaDecoderLayer (RMSNorm, rotate_half rotary with base 10000, repeat_kv for
grouped heads, SwiGLU). Pure Python, no numpy, so that CI needs nothing more."""
import json
import math
import random
import struct
import sys

SHAPES = {  # d, heads, kv_heads, ffn, layers, vocab, eps, batch, seq
    "bert": (128, 2, 2, 512, 2, 0, 1e-12, 1, 8),
    "gpt2": (64, 4, 4, 256, 2, 97, 1e-5, 2, 5),
    "neo": (64, 4, 4, 256, 2, 97, 1e-5, 1, 6),
    "llama": (64, 4, 2, 128, 2, 89, 1e-5, 1, 6),
    "llama-tied": (64, 4, 2, 128, 2, 89, 1e-5, 2, 4),
}


def mat(rows, cols, a, rnd):
    return [[rnd.uniform(-a, a) for _ in range(cols)] for _ in range(rows)]


def vec(n, mid, a, rnd):
    return [mid + rnd.uniform(-a, a) for _ in range(n)]


def T(m):
    return [list(r) for r in zip(*m)]


def matmul(x, w):  # x [m][k], w [k][n]
    wt = T(w)
    return [[sum(a * b for a, b in zip(r, c)) for c in wt] for r in x]


def linear(x, w_in_out, b=None):
    y = matmul(x, w_in_out)
    if b is not None:
        y = [[v + bb for v, bb in zip(r, b)] for r in y]
    return y


def layernorm(x, g, b, eps):
    out = []
    for r in x:
        mu = sum(r) / len(r)
        var = sum((v - mu) ** 2 for v in r) / len(r)
        out.append([(v - mu) / math.sqrt(var + eps) * gg + bb for v, gg, bb in zip(r, g, b)])
    return out


def rmsnorm(x, g, eps):
    return [[v / math.sqrt(sum(u * u for u in r) / len(r) + eps) * gg for v, gg in zip(r, g)] for r in x]


def gelu_erf(v):
    return 0.5 * v * (1 + math.erf(v / math.sqrt(2)))


def gelu_new(v):
    return 0.5 * v * (1 + math.tanh(math.sqrt(2 / math.pi) * (v + 0.044715 * v ** 3)))


def silu(v):
    return v / (1 + math.exp(-v))


def softmax(r):
    m = max(r)
    e = [math.exp(v - m) for v in r]
    s = sum(e)
    return [v / s for v in e]


def rotary(x, dh):  # x [seq][dh], rotate_half, position = row
    h = dh // 2
    out = []
    for p, r in enumerate(x):
        o = []
        for i in range(dh):
            a = p * 10000.0 ** (-2.0 * (i % h) / dh)
            rot = -r[i + h] if i < h else r[i - h]
            o.append(r[i] * math.cos(a) + rot * math.sin(a))
        out.append(o)
    return out


def attention(x, q, k, v, heads, kv_heads, scale, causal, rope, window=0):
    seq, d = len(x), len(q[0])
    dh = d // heads
    ctx = [[0.0] * d for _ in range(seq)]
    for h in range(heads):
        j = h // (heads // kv_heads)  # repeat_kv
        Q = [r[h * dh:(h + 1) * dh] for r in q]
        K = [r[j * dh:(j + 1) * dh] for r in k]
        V = [r[j * dh:(j + 1) * dh] for r in v]
        if rope:
            Q, K = rotary(Q, dh), rotary(K, dh)
        for t in range(seq):
            s = [sum(a * b for a, b in zip(Q[t], K[u])) * scale for u in range(seq)]
            lo = max(0, t - window + 1) if window else 0  # GPT-Neo's local blocks
            if causal:
                s = s[lo:t + 1]
            p = softmax(s)
            for i in range(dh):
                ctx[t][h * dh + i] = sum(p[u] * V[lo + u][i] for u in range(len(p)))
    return ctx


def add(a, b):
    return [[u + v for u, v in zip(r, s)] for r, s in zip(a, b)]


def main():
    naming, out, seed = sys.argv[1], sys.argv[2], int(sys.argv[3])
    d, heads, kvh, ffn, layers, vocab, eps, batch, seq = SHAPES[naming]
    rnd = random.Random(seed)
    dh, kv = d // heads, d // heads * kvh
    half = naming.startswith("llama")
    tensors = {}  # name -> (shape, flat values)

    def put(name, value):  # value: a matrix (list of rows) or a vector
        if value and isinstance(value[0], list):
            flat, shape = [v for r in value for v in r], [len(value), len(value[0])]
        else:
            flat, shape = list(value), [len(value)]
        if half:  # as stored: F16, and the reference uses the rounded values
            flat = list(struct.unpack("<%de" % len(flat), struct.pack("<%de" % len(flat), *flat)))
        tensors[name] = (shape, flat)
        if len(shape) == 1:
            return flat
        return [flat[i * shape[1]:(i + 1) * shape[1]] for i in range(shape[0])]

    wa = lambda fan_in: math.sqrt(3.0 / fan_in)
    blocks = []
    for l in range(layers):
        W = {}
        if naming == "bert":
            p = "bert.encoder.layer.%d." % l
            for nm, key in (("q", "query"), ("k", "key"), ("v", "value")):
                W[nm] = T(put(p + "attention.self.%s.weight" % key, mat(d, d, wa(d), rnd)))
                W["b" + nm] = put(p + "attention.self.%s.bias" % key, vec(d, 0, 0.1, rnd))
            W["o"] = T(put(p + "attention.output.dense.weight", mat(d, d, wa(d), rnd)))
            W["bo"] = put(p + "attention.output.dense.bias", vec(d, 0, 0.1, rnd))
            W["g1"] = put(p + "attention.output.LayerNorm.weight", vec(d, 1, 0.1, rnd))
            W["c1"] = put(p + "attention.output.LayerNorm.bias", vec(d, 0, 0.1, rnd))
            W["up"] = T(put(p + "intermediate.dense.weight", mat(ffn, d, wa(d), rnd)))
            W["bup"] = put(p + "intermediate.dense.bias", vec(ffn, 0, 0.1, rnd))
            W["down"] = T(put(p + "output.dense.weight", mat(d, ffn, wa(ffn), rnd)))
            W["bdown"] = put(p + "output.dense.bias", vec(d, 0, 0.1, rnd))
            W["g2"] = put(p + "output.LayerNorm.weight", vec(d, 1, 0.1, rnd))
            W["c2"] = put(p + "output.LayerNorm.bias", vec(d, 0, 0.1, rnd))
        elif naming == "gpt2":
            p = "h.%d." % l
            ca = put(p + "attn.c_attn.weight", mat(d, 3 * d, wa(d), rnd))
            cb = put(p + "attn.c_attn.bias", vec(3 * d, 0, 0.1, rnd))
            for i, nm in enumerate("qkv"):
                W[nm] = [r[i * d:(i + 1) * d] for r in ca]
                W["b" + nm] = cb[i * d:(i + 1) * d]
            W["o"] = put(p + "attn.c_proj.weight", mat(d, d, wa(d), rnd))
            W["bo"] = put(p + "attn.c_proj.bias", vec(d, 0, 0.1, rnd))
            W["up"] = put(p + "mlp.c_fc.weight", mat(d, ffn, wa(d), rnd))
            W["bup"] = put(p + "mlp.c_fc.bias", vec(ffn, 0, 0.1, rnd))
            W["down"] = put(p + "mlp.c_proj.weight", mat(ffn, d, wa(ffn), rnd))
            W["bdown"] = put(p + "mlp.c_proj.bias", vec(d, 0, 0.1, rnd))
        elif naming == "neo":
            p = "transformer.h.%d." % l
            for nm in "qkv":
                W[nm] = T(put(p + "attn.attention.%s_proj.weight" % nm, mat(d, d, wa(d), rnd)))
                W["b" + nm] = [0.0] * d
            W["o"] = T(put(p + "attn.attention.out_proj.weight", mat(d, d, wa(d), rnd)))
            W["bo"] = put(p + "attn.attention.out_proj.bias", vec(d, 0, 0.1, rnd))
            W["up"] = T(put(p + "mlp.c_fc.weight", mat(ffn, d, wa(d), rnd)))
            W["bup"] = put(p + "mlp.c_fc.bias", vec(ffn, 0, 0.1, rnd))
            W["down"] = T(put(p + "mlp.c_proj.weight", mat(d, ffn, wa(ffn), rnd)))
            W["bdown"] = put(p + "mlp.c_proj.bias", vec(d, 0, 0.1, rnd))
        else:
            p = "model.layers.%d." % l
            for nm, rows in (("q", d), ("k", kv), ("v", kv)):
                W[nm] = T(put(p + "self_attn.%s_proj.weight" % nm, mat(rows, d, wa(d), rnd)))
            W["o"] = T(put(p + "self_attn.o_proj.weight", mat(d, d, wa(d), rnd)))
            W["gate"] = T(put(p + "mlp.gate_proj.weight", mat(ffn, d, wa(d), rnd)))
            W["up"] = T(put(p + "mlp.up_proj.weight", mat(ffn, d, wa(d), rnd)))
            W["down"] = T(put(p + "mlp.down_proj.weight", mat(d, ffn, wa(ffn), rnd)))
            W["g1"] = put(p + "input_layernorm.weight", vec(d, 1, 0.1, rnd))
            W["g2"] = put(p + "post_attention_layernorm.weight", vec(d, 1, 0.1, rnd))
        if naming in ("gpt2", "neo"):
            pre = "h.%d." % l if naming == "gpt2" else "transformer.h.%d." % l
            W["g1"] = put(pre + "ln_1.weight", vec(d, 1, 0.1, rnd))
            W["c1"] = put(pre + "ln_1.bias", vec(d, 0, 0.1, rnd))
            W["g2"] = put(pre + "ln_2.weight", vec(d, 1, 0.1, rnd))
            W["c2"] = put(pre + "ln_2.bias", vec(d, 0, 0.1, rnd))
        blocks.append(W)
    head = None
    if naming in ("gpt2", "neo"):
        pre = "" if naming == "gpt2" else "transformer."
        gf = put(pre + "ln_f.weight", vec(d, 1, 0.1, rnd))
        cf = put(pre + "ln_f.bias", vec(d, 0, 0.1, rnd))
        head = put(pre + "wte.weight", mat(vocab, d, wa(d), rnd))  # tied
    elif half:
        gf = put("model.norm.weight", vec(d, 1, 0.1, rnd))
        emb = put("model.embed_tokens.weight", mat(vocab, d, wa(d), rnd))
        head = emb if naming == "llama-tied" else put("lm_head.weight", mat(vocab, d, wa(d), rnd))

    x = [[[rnd.uniform(-1, 1) for _ in range(d)] for _ in range(seq)] for _ in range(batch)]
    outs = []
    for xb in x:
        h = xb
        for li, W in enumerate(blocks):
            if naming == "bert":
                a = attention(h, linear(h, W["q"], W["bq"]), linear(h, W["k"], W["bk"]), linear(h, W["v"], W["bv"]),
                              heads, kvh, 1 / math.sqrt(dh), False, False)
                h1 = layernorm(add(h, linear(a, W["o"], W["bo"])), W["g1"], W["c1"], eps)
                f = [[gelu_erf(v) for v in r] for r in linear(h1, W["up"], W["bup"])]
                h = layernorm(add(h1, linear(f, W["down"], W["bdown"])), W["g2"], W["c2"], eps)
            elif naming in ("gpt2", "neo"):
                n1 = layernorm(h, W["g1"], W["c1"], eps)
                a = attention(n1, linear(n1, W["q"], W["bq"]), linear(n1, W["k"], W["bk"]),
                              linear(n1, W["v"], W["bv"]), heads, kvh, 1 / math.sqrt(dh) if naming == "gpt2" else 1,
                              True, False, 4 if naming == "neo" and li % 2 else 0)
                h = add(h, linear(a, W["o"], W["bo"]))
                n2 = layernorm(h, W["g2"], W["c2"], eps)
                f = [[gelu_new(v) for v in r] for r in linear(n2, W["up"], W["bup"])]
                h = add(h, linear(f, W["down"], W["bdown"]))
            else:
                n1 = rmsnorm(h, W["g1"], eps)
                a = attention(n1, linear(n1, W["q"]), linear(n1, W["k"]), linear(n1, W["v"]), heads, kvh,
                              1 / math.sqrt(dh), True, True)
                h = add(h, linear(a, W["o"]))
                n2 = rmsnorm(h, W["g2"], eps)
                g = [[silu(v) for v in r] for r in linear(n2, W["gate"])]
                u = linear(n2, W["up"])
                h = add(h, linear([[a * b for a, b in zip(r, s)] for r, s in zip(g, u)], W["down"]))
        if naming == "bert":
            outs.append([v for r in h for v in r])
        else:
            hf = layernorm(h, gf, cf, eps) if naming in ("gpt2", "neo") else rmsnorm(h, gf, eps)
            outs.append(linear([hf[-1]], T(head))[0])

    write_safetensors(out + "/weights.safetensors", tensors, "F16" if half else "F32")
    write_npy(out + "/x.npy", [v for xb in x for r in xb for v in r], (batch, seq, d))
    flat = [v for o in outs for v in o]
    write_npy(out + "/ref.npy", flat, (batch, seq, d) if naming == "bert" else (batch, vocab))


def write_safetensors(path, tensors, dtype):
    size, code = (2, "e") if dtype == "F16" else (4, "f")
    header, blobs, off = {"__metadata__": {"format": "pt"}}, [], 0
    for name, (shape, flat) in tensors.items():
        blob = struct.pack("<%d%s" % (len(flat), code), *flat)
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [off, off + len(blob)]}
        blobs.append(blob)
        off += len(blob)
    h = json.dumps(header).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


def write_npy(path, flat, shape):
    hdr = "{'descr': '<f4', 'fortran_order': False, 'shape': %s, }" % (str(tuple(shape)),)
    hdr += " " * ((64 - (10 + len(hdr) + 1) % 64) % 64) + "\n"
    with open(path, "wb") as f:
        f.write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(hdr)) + hdr.encode())
        f.write(struct.pack("<%df" % len(flat), *flat))


def read_npy(path):
    import ast
    with open(path, "rb") as f:
        assert f.read(8)[:6] == b"\x93NUMPY"
        n = struct.unpack("<H", f.read(2))[0]
        h = ast.literal_eval(f.read(n).decode())
        assert h["descr"] == "<f4" and not h["fortran_order"], h
        data = f.read()
    return tuple(h["shape"]), struct.unpack("<%df" % (len(data) // 4), data)


def compare(ours, ref, tol):
    (sa, a), (sb, b) = read_npy(ours), read_npy(ref)
    if sa != sb:
        print("shapes differ: %s %s, reference %s" % (ours, sa, sb))
        return 1
    diff = [abs(u - v) for u, v in zip(a, b)]
    worst = max(range(len(diff)), key=diff.__getitem__)
    print("%s against the float reference: max |diff| %.5f (element %d: %.5f vs %.5f), mean %.5f, tolerance %g"
          % (ours, diff[worst], worst, a[worst], b[worst], sum(diff) / len(diff), tol))
    return 0 if diff[worst] <= tol else 1


if __name__ == "__main__":
    if sys.argv[1] == "compare":
        sys.exit(compare(sys.argv[2], sys.argv[3], float(sys.argv[4])))
    main()
