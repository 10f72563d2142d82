#!/usr/bin/env python3
"""Models exported by PyTorch itself (torch.onnx.export), for the tests of the onnx family:
the graphs, constants and shape arithmetic a user's own export holds, rather than graphs
written by hand. Each with a dynamic batch (and sequence) axis, an input and onnxruntime's
float output:

  t-mlp       [batch, 8] -> Linear, GELU, Linear, ReLU, Linear, Softmax -> [batch, 4]
              (torch.export's exporter, the default since PyTorch 2.9)
  t-cnn       [batch, 3, 8, 8] -> Conv + BatchNorm, ReLU, a residual block, a strided
              grouped Conv, MaxPool (3, stride 2, pad 1), AvgPool (2), AdaptiveAvgPool (1),
              Flatten, Linear -> [batch, 5] (torch.export's)
  t-cnn-ts    the same module through the TorchScript exporter (dynamo=False)
  t-block     [batch, seq, 32] -> a BERT encoder block: query, key and value Linear, heads
              split (unflatten, transpose), Q K^T / sqrt(8), Softmax, times V, heads joined,
              output Linear, residual, LayerNorm, Linear, GELU, Linear, residual, LayerNorm
              -> [batch, seq, 32] (torch.export's: Shape, Concat and Reshape for the heads)
  t-block-ts  the same through the TorchScript exporter (its shape arithmetic: Shape,
              Slice, Mod, Add, Concat, Constant nodes; Identity of initializers)
  t-causal    [batch, 6, 16] -> a GPT block: LayerNorm, one Linear for the queries, keys and
              values then Split, causal attention by masked_fill of a lower-triangular buffer
              (Where of a bool constant and -inf before the Softmax), output Linear, residual,
              LayerNorm, GELU MLP, residual (torch.export's; the length fixed: the mask is a
              constant of it)
  t-causal-sdpa  the same with scaled_dot_product_attention(is_causal=True) (an Add of a
              0 / -inf constant before the Softmax, the scale as Muls of the queries and keys)
  t-gpt2      [batch, 6, 32] -> Hugging Face's GPT-2 (transformers' GPT2Model, 2 layers, 4
              heads, seeded random weights) after its embeddings: the blocks and ln_f (Gemm on
              [batch seq, d], Split, the causal mask by Expand, Trilu, Equal and Where of
              constants, gelu_new as Pow, Mul, Add, Tanh)
  t-gpt2-static  the same module exported with every dimension fixed: the exporter folds the
              mask's Expand into a [6, 6] float constant (a dealer reads no values of it)
  t-llama     [3, 6, 32] -> Hugging Face's LlamaModel (2 layers, grouped-query attention)
              over embedded tokens, every dimension fixed (RMSNorm, rotary, SwiGLU patterns)
  t-lenet     fsskit's trained LeNet (cnn/lenet-fashion.safetensors) as a torch module,
              exported by torch.export's exporter: the tests hold it to the built-in lenet's
              bits

    python onnx/export_torch.py [OUT_DIR]     (default onnx/models)
    python onnx/export_torch.py --fuzz-seeds tests/fuzz/corpus/onnx
                                              (tiny blocks, d 4: block, block-ts, causal,
                                              causal-sdpa)
    python onnx/export_torch.py --bert-tiny-block OUT.onnx
                                              (one encoder block at bert-tiny's shapes, d 128,
                                              2 heads, 512 wide: for the dealer's dry run
                                              against the built-in bert-tiny's first layer)

Needs torch, transformers, onnxscript, onnx and onnxruntime from PyPI (not CI: the files it
writes are committed; the exporter's bytes differ from run to run, their numbers do not). Writes NAME.onnx, NAME-x.npy (batch 3; t-block's seq 8, and t-block-x5.npy of
seq 5 with its reference) and NAME-ref.npy (onnxruntime's output).
"""
import json
import math
import os
import struct
import sys
import warnings

import numpy as np
import onnx
import onnxruntime as ort
import torch
import torch.nn as nn

HERE = os.path.dirname(os.path.abspath(__file__))
warnings.filterwarnings("ignore")
torch.manual_seed(20)
rng = np.random.default_rng(21)


class Mlp(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(8, 16), nn.GELU(), nn.Linear(16, 16), nn.ReLU(), nn.Linear(16, 4),
                                 nn.Softmax(dim=-1))

    def forward(self, x):
        return self.net(x)


class Cnn(nn.Module):
    def __init__(self):
        super().__init__()
        self.c1, self.b1 = nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8)
        self.c2, self.b2 = nn.Conv2d(8, 8, 3, padding=1, bias=False), nn.BatchNorm2d(8)
        self.c3 = nn.Conv2d(8, 16, 3, stride=2, padding=1, groups=2)
        self.mp, self.ap = nn.MaxPool2d(3, 2, 1), nn.AvgPool2d(2)
        self.gp, self.fc = nn.AdaptiveAvgPool2d(1), nn.Linear(16, 5)
        for b in (self.b1, self.b2):  # statistics as training would leave them
            b.running_mean.uniform_(-0.1, 0.1), b.running_var.uniform_(0.5, 1.5)
            b.weight.data.uniform_(0.5, 1.5), b.bias.data.uniform_(-0.1, 0.1)

    def forward(self, x):
        y = torch.relu(self.b1(self.c1(x)))
        y = torch.relu(y + self.b2(self.c2(y)))
        y = self.ap(self.mp(torch.relu(self.c3(y))))
        return self.fc(torch.flatten(self.gp(y), 1))


class Block(nn.Module):
    def __init__(self, d=32, h=4, ff=64):
        super().__init__()
        self.h, self.dh = h, d // h
        self.q, self.k, self.v, self.o = (nn.Linear(d, d) for _ in range(4))
        self.ln1, self.ln2 = nn.LayerNorm(d), nn.LayerNorm(d)
        self.f1, self.f2 = nn.Linear(d, ff), nn.Linear(ff, d)

    def heads(self, t):
        return t.unflatten(-1, (self.h, self.dh)).transpose(1, 2)

    def forward(self, x):
        q, k, v = self.heads(self.q(x)), self.heads(self.k(x)), self.heads(self.v(x))
        a = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(self.dh), dim=-1)
        c = (a @ v).transpose(1, 2).flatten(2)
        x = self.ln1(x + self.o(c))
        return self.ln2(x + self.f2(nn.functional.gelu(self.f1(x))))


class Causal(nn.Module):
    """A GPT block: pre-LayerNorm, the queries, keys and values from one Linear then split,
    causal attention (masked_fill of a lower-triangular buffer, nanoGPT's; or
    scaled_dot_product_attention with is_causal), GELU MLP, residuals."""

    def __init__(self, sdpa, d=16, h=2, n=32):
        super().__init__()
        self.sdpa, self.h, self.dh = sdpa, h, d // h
        self.ln1, self.ln2 = nn.LayerNorm(d), nn.LayerNorm(d)
        self.qkv, self.o = nn.Linear(d, 3 * d), nn.Linear(d, d)
        self.f1, self.f2 = nn.Linear(d, 4 * d), nn.Linear(4 * d, d)
        self.register_buffer("tril", torch.tril(torch.ones(n, n)).view(1, 1, n, n))

    def forward(self, x):
        b, t, d = x.shape
        q, k, v = (u.view(b, t, self.h, self.dh).transpose(1, 2) for u in self.qkv(self.ln1(x)).split(d, dim=2))
        if self.sdpa:
            a = nn.functional.scaled_dot_product_attention(q, k, v, is_causal=True)
        else:
            s = (q @ k.transpose(-2, -1)) / math.sqrt(self.dh)
            a = torch.softmax(s.masked_fill(self.tril[:, :, :t, :t] == 0, float("-inf")), dim=-1) @ v
        x = x + self.o(a.transpose(1, 2).reshape(b, t, d))
        return x + self.f2(nn.functional.gelu(self.f1(self.ln2(x))))


class Gpt2Blocks(nn.Module):
    """Hugging Face's GPT2Model (transformers) without its embeddings: its blocks and final
    LayerNorm over the embedded tokens, as the library builds them (Conv1D as Gemm,
    scaled_dot_product_attention with the causal mask it makes, gelu_new's tanh form)."""

    def __init__(self):
        super().__init__()
        import transformers
        cfg = transformers.GPT2Config(n_layer=2, n_embd=32, n_head=4, n_positions=16, vocab_size=64,
                                      bos_token_id=0, eos_token_id=0)
        m = transformers.GPT2Model(cfg).eval()
        self.h, self.ln_f = m.h, m.ln_f

    def forward(self, x):
        for block in self.h:
            x = block(x)
            x = x[0] if isinstance(x, tuple) else x
        return self.ln_f(x)


class LlamaLayers(nn.Module):
    """Hugging Face's LlamaModel (transformers; 2 layers, 4 query heads sharing 2 key/value
    heads, seeded random weights) over the embedded tokens (inputs_embeds): RMSNorm (Pow,
    ReduceMean, Add, Sqrt, Reciprocal, Mul, Mul), rotary embeddings (Mul by the cos and sin
    constants, Slice, Neg, Concat, Add), grouped-query heads (Unsqueeze, Expand, Reshape),
    the causal mask, a NaN guard after the Softmax (IsNaN, Where), SwiGLU (Sigmoid, Mul)."""

    def __init__(self):
        super().__init__()
        import transformers
        cfg = transformers.LlamaConfig(hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                                       num_attention_heads=4, num_key_value_heads=2, vocab_size=64,
                                       max_position_embeddings=16)
        self.m = transformers.LlamaModel(cfg).eval()

    def forward(self, x):
        return self.m(inputs_embeds=x).last_hidden_state


class LeNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1, self.conv2 = nn.Conv2d(1, 16, 5), nn.Conv2d(16, 16, 5)
        self.fc1, self.fc2 = nn.Linear(256, 100), nn.Linear(100, 10)

    def forward(self, x):
        x = nn.functional.max_pool2d(torch.relu(self.conv1(x)), 2)
        x = nn.functional.max_pool2d(torch.relu(self.conv2(x)), 2)
        return self.fc2(torch.relu(self.fc1(torch.flatten(x, 1))))


def load_safetensors(path):
    raw = open(path, "rb").read()
    n = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8:8 + n])
    return {k: torch.from_numpy(np.frombuffer(raw[8 + n + v["data_offsets"][0]:8 + n + v["data_offsets"][1]],
                                              dtype="<f4").reshape(v["shape"]).copy())
            for k, v in header.items() if k != "__metadata__"}


def export(name, module, x, seq=False, dynamo=True, extra=(), static=False):
    path = os.path.join(OUT, name + ".onnx")
    module.eval()
    if dynamo:
        dims = {0: torch.export.Dim("batch")}
        if seq:
            dims[1] = torch.export.Dim("seq")
        torch.onnx.export(module, (torch.from_numpy(x),), path, dynamo=True, input_names=["x"], output_names=["y"],
                          dynamic_shapes=None if static else {"x": dims}, external_data=False, verbose=False)
    else:
        axes = {0: "batch", 1: "seq"} if seq else {0: "batch"}
        torch.onnx.export(module, (torch.from_numpy(x),), path, dynamo=False, input_names=["x"], output_names=["y"],
                          dynamic_axes={"x": axes}, opset_version=17)
    onnx.checker.check_model(onnx.load(path))
    sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    for suffix, xi in (("", x),) + tuple(extra):
        y = sess.run(None, {"x": xi})[0]
        with torch.no_grad():
            want = module(torch.from_numpy(xi)).numpy()
        assert np.abs(y - want).max() < 1e-4, (name, np.abs(y - want).max())
        np.save(os.path.join(OUT, f"{name}-x{suffix}.npy"), xi)
        np.save(os.path.join(OUT, f"{name}-ref{suffix}.npy"), y.astype(np.float32))
    ops = sorted({n.op_type for n in onnx.load(path).graph.node})
    print(f"export_torch.py: {name}.onnx ({os.path.getsize(path)} bytes): {' '.join(ops)}", file=sys.stderr)


def main():
    global OUT
    if len(sys.argv) > 2 and sys.argv[1] == "--fuzz-seeds":  # tiny blocks (d 4, 2 heads) for fuzz_onnx's corpus
        for dyn, name, module in ((True, "block", Block(4, 2, 8)), (False, "block-ts", Block(4, 2, 8)),
                                  (True, "causal", Causal(False, 4, 2, 8)), (True, "causal-sdpa", Causal(True, 4, 2, 8))):
            seq = name.startswith("block")  # a causal mask is a constant of a fixed length
            kw = (dict(dynamic_shapes={"x": {0: torch.export.Dim("batch"), 1: torch.export.Dim("seq")} if seq else
                                            {0: torch.export.Dim("batch")}},
                       external_data=False, verbose=False) if dyn else
                  dict(dynamic_axes={"x": {0: "batch", 1: "seq"}}, opset_version=17))
            path = os.path.join(sys.argv[2], name)
            torch.onnx.export(module.eval(), (torch.zeros(2, 3, 4),), path, dynamo=dyn, input_names=["x"],
                              output_names=["y"], **kw)
            m = onnx.load(path)  # the graph only: no doc strings, metadata or inferred shapes (seeds under 8 kB)
            del m.metadata_props[:], m.graph.value_info[:]
            m.doc_string = m.graph.doc_string = ""
            for n in m.graph.node:
                n.doc_string = ""
                del n.metadata_props[:]
            onnx.save(m, path)
        return
    if len(sys.argv) > 2 and sys.argv[1] == "--bert-tiny-block":
        x = torch.zeros(1, 128, 128)
        torch.onnx.export(Block(128, 2, 512).eval(), (x,), sys.argv[2], dynamo=True, input_names=["x"],
                          output_names=["y"], dynamic_shapes={"x": {0: torch.export.Dim("batch"),
                                                                     1: torch.export.Dim("seq")}},
                          external_data=False, verbose=False)
        return
    OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "models")
    os.makedirs(OUT, exist_ok=True)
    f32 = np.float32
    export("t-mlp", Mlp(), rng.normal(0, 1, (3, 8)).astype(f32))
    cnn, xc = Cnn(), rng.uniform(-1, 1, (3, 3, 8, 8)).astype(f32)
    export("t-cnn", cnn, xc)
    export("t-cnn-ts", cnn, xc, dynamo=False)
    block, xb = Block(), rng.normal(0, 1, (3, 8, 32)).astype(f32)
    x5 = rng.normal(0, 1, (2, 5, 32)).astype(f32)
    export("t-block", block, xb, seq=True, extra=(("5", x5),))
    export("t-block-ts", block, xb, seq=True, dynamo=False)
    xg = rng.normal(0, 1, (3, 6, 16)).astype(f32)  # a causal mask is a constant of the length: a fixed seq
    export("t-causal", Causal(False), xg)
    export("t-causal-sdpa", Causal(True), xg)
    gpt2 = Gpt2Blocks()
    export("t-gpt2", gpt2, rng.normal(0, 1, (3, 6, 32)).astype(f32))
    export("t-gpt2-static", gpt2, rng.normal(0, 1, (3, 6, 32)).astype(f32), static=True)
    export("t-llama", LlamaLayers(), rng.normal(0, 1, (3, 6, 32)).astype(f32), static=True)
    lenet = LeNet()
    lenet.load_state_dict(load_safetensors(os.path.join(HERE, "..", "cnn", "lenet-fashion.safetensors")))
    xl = np.load(os.path.join(HERE, "..", "cnn", "fashion-test-4.npy")).astype(f32)
    export("t-lenet", lenet, xl)


if __name__ == "__main__":
    main()
