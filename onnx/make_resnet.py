#!/usr/bin/env python3
"""torchvision's ResNet-18 or ResNet-50 (v1.5) with seeded random weights, written twice: as a
state dict in safetensors (torchvision's names: what the built-in `resnet18` / `resnet50`
read) and as an ONNX model of the same weights, the graph PyTorch's exporter writes for it
without constant folding (Conv, BatchNormalization, Relu, MaxPool, the blocks' Adds,
GlobalAveragePool, Flatten, Gemm; opset 13).

    python3 onnx/make_resnet.py resnet18|resnet50 OUT_DIR [SEED]

Writes OUT_DIR/NAME.safetensors and OUT_DIR/NAME.onnx. Needs numpy and onnx (PyPI).
"""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "cnn"))
from safetensors_io import save_safetensors  # noqa: E402


def main():
    name, out = sys.argv[1], sys.argv[2]
    rng = np.random.default_rng(int(sys.argv[3]) if len(sys.argv) > 3 else 0)
    os.makedirs(out, exist_ok=True)
    W, nodes = {}, []

    def conv(x, prefix, cin, cout, k, stride, pad):
        W[prefix + ".weight"] = rng.normal(0, np.sqrt(2 / (cin * k * k)), (cout, cin, k, k)).astype(np.float32)
        nodes.append(helper.make_node("Conv", [x, prefix + ".weight"], [prefix], name=prefix, kernel_shape=[k, k],
                                      strides=[stride, stride], pads=[pad] * 4))
        return prefix

    def bn(x, prefix, c):
        W[prefix + ".weight"] = rng.uniform(0.3, 0.6, c).astype(np.float32)
        W[prefix + ".bias"] = rng.normal(0, 0.05, c).astype(np.float32)
        W[prefix + ".running_mean"] = rng.normal(0, 0.05, c).astype(np.float32)
        W[prefix + ".running_var"] = rng.uniform(0.8, 1.2, c).astype(np.float32)
        nodes.append(helper.make_node("BatchNormalization", [x] + [prefix + s for s in (".weight", ".bias",
                                      ".running_mean", ".running_var")], [prefix], name=prefix, epsilon=1e-5))
        return prefix

    def relu(x, tag):
        nodes.append(helper.make_node("Relu", [x], [tag], name=tag))
        return tag

    x = relu(bn(conv("input", "conv1", 3, 64, 7, 2, 3), "bn1", 64), "relu")
    nodes.append(helper.make_node("MaxPool", [x], ["maxpool"], name="maxpool", kernel_shape=[3, 3], strides=[2, 2],
                                  pads=[1, 1, 1, 1]))
    x, inp = "maxpool", 64
    bottleneck = name == "resnet50"
    blocks = [3, 4, 6, 3] if bottleneck else [2, 2, 2, 2]
    for st, nb in enumerate(blocks):
        planes = 64 << st
        for b in range(nb):
            p, stride = f"layer{st + 1}.{b}", 2 if st and not b else 1
            outc = planes * 4 if bottleneck else planes
            if bottleneck:
                y = relu(bn(conv(x, p + ".conv1", inp, planes, 1, 1, 0), p + ".bn1", planes), p + ".relu1")
                y = relu(bn(conv(y, p + ".conv2", planes, planes, 3, stride, 1), p + ".bn2", planes), p + ".relu2")
                y = bn(conv(y, p + ".conv3", planes, outc, 1, 1, 0), p + ".bn3", outc)
            else:
                y = relu(bn(conv(x, p + ".conv1", inp, planes, 3, stride, 1), p + ".bn1", planes), p + ".relu1")
                y = bn(conv(y, p + ".conv2", planes, planes, 3, 1, 1), p + ".bn2", planes)
            skip = x
            if stride != 1 or inp != outc:
                skip = bn(conv(x, p + ".downsample.0", inp, outc, 1, stride, 0), p + ".downsample.1", outc)
            nodes.append(helper.make_node("Add", [y, skip], [p + ".add"], name=p + ".add"))
            x, inp = relu(p + ".add", p + ".relu"), outc
    nodes.append(helper.make_node("GlobalAveragePool", [x], ["avgpool"], name="avgpool"))
    nodes.append(helper.make_node("Flatten", ["avgpool"], ["flatten"], name="flatten", axis=1))
    W["fc.weight"] = rng.normal(0, np.sqrt(1 / inp), (1000, inp)).astype(np.float32)
    W["fc.bias"] = rng.normal(0, 0.05, 1000).astype(np.float32)
    nodes.append(helper.make_node("Gemm", ["flatten", "fc.weight", "fc.bias"], ["output"], name="fc", transB=1))
    graph = helper.make_graph(nodes, name, [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["batch", 3, 224, 224])],
                              [helper.make_tensor_value_info("output", TensorProto.FLOAT, ["batch", 1000])],
                              [numpy_helper.from_array(v, k) for k, v in W.items()])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], producer_name="fsskit")
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, os.path.join(out, name + ".onnx"))
    save_safetensors(os.path.join(out, name + ".safetensors"), list(W.items()), {"format": "pt"})


if __name__ == "__main__":
    main()
