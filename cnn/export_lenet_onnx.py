#!/usr/bin/env python3
"""fsskit's trained LeNet (cnn/lenet-fashion.safetensors) as an ONNX model, the graph
PyTorch's exporter writes for it (opset 13): Conv, Relu, MaxPool twice, Flatten, Gemm
(transB 1), Relu, Gemm; input "input" [batch, 1, 28, 28] with a named batch dimension.

    python3 cnn/export_lenet_onnx.py [OUT]      (default: cnn/lenet-fashion.onnx)

Needs numpy and onnx (PyPI); with onnxruntime too, it checks the file's logits on the
committed test images against a float32 numpy forward pass.
"""
import json
import os
import struct
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))


def load_safetensors(path):
    raw = open(path, "rb").read()
    n = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8:8 + n])
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        a, b = info["data_offsets"]
        out[name] = np.frombuffer(raw[8 + n + a:8 + n + b], dtype="<f4").reshape(info["shape"])
    return out


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "lenet-fashion.onnx")
    w = load_safetensors(os.path.join(HERE, "lenet-fashion.safetensors"))
    inits = [numpy_helper.from_array(np.ascontiguousarray(v, dtype=np.float32), k) for k, v in sorted(w.items())]
    nodes = [
        helper.make_node("Conv", ["input", "conv1.weight", "conv1.bias"], ["c1"], name="/conv1/Conv",
                         kernel_shape=[5, 5], strides=[1, 1], pads=[0, 0, 0, 0], dilations=[1, 1], group=1),
        helper.make_node("Relu", ["c1"], ["r1"], name="/relu1/Relu"),
        helper.make_node("MaxPool", ["r1"], ["p1"], name="/pool1/MaxPool", kernel_shape=[2, 2], strides=[2, 2],
                         pads=[0, 0, 0, 0], ceil_mode=0),
        helper.make_node("Conv", ["p1", "conv2.weight", "conv2.bias"], ["c2"], name="/conv2/Conv",
                         kernel_shape=[5, 5], strides=[1, 1], pads=[0, 0, 0, 0], dilations=[1, 1], group=1),
        helper.make_node("Relu", ["c2"], ["r2"], name="/relu2/Relu"),
        helper.make_node("MaxPool", ["r2"], ["p2"], name="/pool2/MaxPool", kernel_shape=[2, 2], strides=[2, 2],
                         pads=[0, 0, 0, 0], ceil_mode=0),
        helper.make_node("Flatten", ["p2"], ["f"], name="/Flatten", axis=1),
        helper.make_node("Gemm", ["f", "fc1.weight", "fc1.bias"], ["g1"], name="/fc1/Gemm", alpha=1.0, beta=1.0,
                         transB=1),
        helper.make_node("Relu", ["g1"], ["r3"], name="/relu3/Relu"),
        helper.make_node("Gemm", ["r3", "fc2.weight", "fc2.bias"], ["logits"], name="/fc2/Gemm", alpha=1.0,
                         beta=1.0, transB=1),
    ]
    graph = helper.make_graph(nodes, "lenet", [helper.make_tensor_value_info("input", TensorProto.FLOAT,
                                                                             ["batch", 1, 28, 28])],
                              [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", 10])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], producer_name="fsskit")
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, out)
    print(f"export_lenet_onnx.py: wrote {out} ({os.path.getsize(out)} bytes)", file=sys.stderr)
    try:
        import onnxruntime as ort
    except ImportError:
        return
    x = np.load(os.path.join(HERE, "fashion-test-4.npy")).astype(np.float32)
    got = ort.InferenceSession(out, providers=["CPUExecutionProvider"]).run(None, {"input": x})[0]

    def conv(a, k, b):
        n, c, h, ww = a.shape
        o, _, kh, kw = k.shape
        cols = np.lib.stride_tricks.sliding_window_view(a, (kh, kw), axis=(2, 3))  # n c h' w' kh kw
        return np.einsum("nchwij,ocij->nohw", cols, k) + b[None, :, None, None]

    def pool(a):
        n, c, h, ww = a.shape
        return a.reshape(n, c, h // 2, 2, ww // 2, 2).max(axis=(3, 5))

    y = pool(np.maximum(conv(x, w["conv1.weight"], w["conv1.bias"]), 0))
    y = pool(np.maximum(conv(y, w["conv2.weight"], w["conv2.bias"]), 0)).reshape(len(x), -1)
    y = np.maximum(y @ w["fc1.weight"].T + w["fc1.bias"], 0) @ w["fc2.weight"].T + w["fc2.bias"]
    print(f"export_lenet_onnx.py: onnxruntime's logits within {np.abs(got - y).max():.2g} of numpy's", file=sys.stderr)


if __name__ == "__main__":
    main()
