# The real all-MiniLM-L6-v2 encoder in float64 (numpy), after Hugging Face's BertModel:
# embeddings (word + position + token type, LayerNorm) written as x.npy, then the six
# layers, last hidden states as ref.npy.
import json, struct, sys, math
import numpy as np
path, out, ids = sys.argv[1], sys.argv[2], [int(t) for t in sys.argv[3].split(",")]
raw = open(path, "rb").read(); n = struct.unpack("<Q", raw[:8])[0]; h = json.loads(raw[8:8 + n]); base = 8 + n
def T(name):
    e = h[name]; a, b = e["data_offsets"]
    return np.frombuffer(raw[base + a:base + b], dtype=np.float32).reshape(e["shape"]).astype(np.float64)
def ln(x, g, b, eps=1e-12):
    mu = x.mean(-1, keepdims=True); var = ((x - mu) ** 2).mean(-1, keepdims=True)
    return (x - mu) / np.sqrt(var + eps) * g + b
from math import erf
gelu = np.vectorize(lambda v: 0.5 * v * (1 + erf(v / math.sqrt(2))))
s = len(ids)
x = T("embeddings.word_embeddings.weight")[ids] + T("embeddings.position_embeddings.weight")[:s] + T("embeddings.token_type_embeddings.weight")[0]
x = ln(x, T("embeddings.LayerNorm.weight"), T("embeddings.LayerNorm.bias"))
def npy(p, a):
    a = np.asarray(a, dtype="<f4"); hdr = "{'descr': '<f4', 'fortran_order': False, 'shape': %s, }" % (str(a.shape),)
    hdr += " " * ((64 - (10 + len(hdr) + 1) % 64) % 64) + "\n"
    open(p, "wb").write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(hdr)) + hdr.encode() + a.tobytes())
npy(out + "/x.npy", x[None])
H, dh = 12, 32
for l in range(6):
    p = "encoder.layer.%d." % l
    lin = lambda v, nm: v @ T(p + nm + ".weight").T + T(p + nm + ".bias")
    q, k, v = lin(x, "attention.self.query"), lin(x, "attention.self.key"), lin(x, "attention.self.value")
    ctx = np.zeros_like(x)
    for hh in range(H):
        sl = slice(hh * dh, (hh + 1) * dh)
        sc = q[:, sl] @ k[:, sl].T / math.sqrt(dh)
        pr = np.exp(sc - sc.max(-1, keepdims=True)); pr /= pr.sum(-1, keepdims=True)
        ctx[:, sl] = pr @ v[:, sl]
        if l == 0 and hh == 0: print("layer 0 head 0 scores range", sc.min(), sc.max())
    x = ln(x + lin(ctx, "attention.output.dense"), T(p + "attention.output.LayerNorm.weight"), T(p + "attention.output.LayerNorm.bias"))
    f = gelu(lin(x, "intermediate.dense"))
    x = ln(x + lin(f, "output.dense"), T(p + "output.LayerNorm.weight"), T(p + "output.LayerNorm.bias"))
    print("layer", l, "hidden range", x.min(), x.max())
npy(out + "/ref.npy", x[None])
