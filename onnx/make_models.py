#!/usr/bin/env python3
"""Small ONNX models for the tests of the onnx family, with seeded random weights, an input
and onnxruntime's float output for each (the tests' reference):

  mlp        [batch, 8] -> MatMul, Add (a bias), Relu, Gemm (transB) -> [batch, 4]
  cnn        [batch, 3, 8, 8] -> Conv (pad 1) + BatchNormalization, Relu, Conv (no bias) +
             BatchNormalization, Add (the residual), Relu, Conv (stride 2), Relu, MaxPool (3,
             stride 2, pad 1), AveragePool (2), GlobalAveragePool... (a residual block, BN
             folded, strided convolution, both pools) -> Flatten -> Gemm -> [batch, 5]
  acts       [batch, 8] -> Gemm, Sigmoid, Gemm, Tanh, Gemm, Clip (0, 6), Sub (a bias), Gemm,
             Relu, Sub (two values), Gemm, Softmax -> [batch, 5]
  more       [batch, 3, 6, 6] -> Pad (1), Conv, LeakyRelu, Conv, Mul (0.5), Concat (of three),
             Div (4), AveragePool (3, pad 1 counted), GlobalAveragePool, Flatten, Gemm -> [batch, 3]
  leaky      an MLP with a LeakyRelu of slope 2: refused (the node named)
  grouped    [batch, 2, 6, 6] -> Conv (2 groups), Relu, Conv (depthwise, stride 2) +
             BatchNormalization, Relu, Conv (1 x 1), GlobalAveragePool, Flatten -> [batch, 6]
  dilated    [batch, 2, 6, 6] -> Conv (dilation 2), Relu, Conv (dilation 3, stride 2, 2 groups)
             -> [batch, 4, 3, 3]
  norm       [batch, 8] -> Gemm, LayerNormalization, GELU (PyTorch's Erf pattern: Div, Erf,
             Add, Mul, Mul, with a Relu amid them in node order), Gemm, Add (the residual),
             Add (the Relu's), LayerNormalization (no bias), Gemm -> [batch, 4] (opset 17)
  gelu       [batch, 8] -> Gemm, Gelu, Gemm, Gelu (tanh), Gemm -> [batch, 4] (opset 20)
  se         [batch, 4, 6, 6] -> Conv, Relu, a squeeze-and-excitation (ReduceMean keeping
             dims, 1 x 1 Conv, Relu, 1 x 1 Conv, Sigmoid, Mul by the gates per channel),
             ReduceMean (h, w), Mul (a value by itself), Gemm -> [batch, 3]
  hard       [batch, 8] -> Gemm, HardSigmoid, Gemm, HardSwish, Gemm, HardSigmoid (0.25, 0.4)
             -> [batch, 4] (opset 14)
  avgpad     [batch, 2, 6, 6] -> AveragePool (3, pad 1 not counted: ONNX's default), AveragePool
             (3, stride 2, pad 1 not counted), AveragePool (2, pad 1 counted) -> [batch, 2, 4, 4]
  avgceil    an AveragePool with ceil_mode: refused
  maskup     a Where that keeps the upper triangle of the scores before a Softmax (not the
             causal mask): refused
  maskadd    an Add of a [4, 4] float constant before a Softmax that masks the diagonal: a
             dealer (reading no float values) takes it for the causal mask, party 0 and the
             clear run refuse it
  shapes     [batch, 6, 4] -> Reshape to [batch, 12, 2] by a target that shape arithmetic
             makes (Shape, Gather, Unsqueeze, Squeeze, Mul, Cast, Div, Sub, Concat),
             Transpose, Concat along the last axis, MatMul, Add -> [batch, 2, 3]

    python3 onnx/make_models.py [OUT_DIR]     (default onnx/models; needs numpy, onnx and
                                              onnxruntime from PyPI)

Writes NAME.onnx, NAME-x.npy (the input, batch 3) and NAME-ref.npy (onnxruntime's output).
The graphs are written with onnx.helper, the nodes and attributes PyTorch's exporter
writes for such modules (opset 13).
"""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
rng = np.random.default_rng(20)


def init(name, *shape, scale=None):
    fan = int(np.prod(shape[1:])) if len(shape) > 1 else shape[0]
    a = rng.normal(0, scale if scale is not None else np.sqrt(2 / fan), shape).astype(np.float32)
    return numpy_helper.from_array(a, name)


def bn(prefix, c):
    return [numpy_helper.from_array(rng.uniform(0.5, 1.5, c).astype(np.float32), prefix + ".weight"),
            numpy_helper.from_array(rng.normal(0, 0.1, c).astype(np.float32), prefix + ".bias"),
            numpy_helper.from_array(rng.normal(0, 0.1, c).astype(np.float32), prefix + ".running_mean"),
            numpy_helper.from_array(rng.uniform(0.5, 1.5, c).astype(np.float32), prefix + ".running_var")]


def save(name, nodes, inits, in_shape, out_shape, out_dir, run=True, opset=13):
    graph = helper.make_graph(nodes, name, [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["batch"] + in_shape)],
                              [helper.make_tensor_value_info("output", TensorProto.FLOAT, ["batch"] + out_shape)], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], producer_name="fsskit")
    model.ir_version = 8 if opset <= 18 else 9
    onnx.checker.check_model(model)
    path = os.path.join(out_dir, name + ".onnx")
    onnx.save(model, path)
    if not run:
        return
    import onnxruntime as ort
    x = rng.uniform(-1, 1, [3] + in_shape).astype(np.float32)
    y = ort.InferenceSession(path, providers=["CPUExecutionProvider"]).run(None, {"input": x})[0]
    np.save(os.path.join(out_dir, name + "-x.npy"), x)
    np.save(os.path.join(out_dir, name + "-ref.npy"), y.astype(np.float32))


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "models")
    os.makedirs(out, exist_ok=True)
    save("mlp", [
        helper.make_node("MatMul", ["input", "w1"], ["m1"], name="/fc1/MatMul"),
        helper.make_node("Add", ["m1", "b1"], ["a1"], name="/fc1/Add"),
        helper.make_node("Relu", ["a1"], ["r1"], name="/relu/Relu"),
        helper.make_node("Gemm", ["r1", "w2", "b2"], ["output"], name="/fc2/Gemm", alpha=1.0, beta=1.0, transB=1),
    ], [init("w1", 8, 16), init("b1", 16, scale=0.1), init("w2", 4, 16), init("b2", 4, scale=0.1)], [8], [4], out)
    save("cnn", [
        helper.make_node("Conv", ["input", "c1.weight", "c1.bias"], ["c1"], name="/c1/Conv", kernel_shape=[3, 3],
                         pads=[1, 1, 1, 1], strides=[1, 1]),
        helper.make_node("BatchNormalization", ["c1", "bn1.weight", "bn1.bias", "bn1.running_mean", "bn1.running_var"],
                         ["n1"], name="/bn1/BatchNormalization", epsilon=1e-5),
        helper.make_node("Relu", ["n1"], ["r1"], name="/relu1/Relu"),
        helper.make_node("Conv", ["r1", "c2.weight"], ["c2"], name="/c2/Conv", kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
        helper.make_node("BatchNormalization", ["c2", "bn2.weight", "bn2.bias", "bn2.running_mean", "bn2.running_var"],
                         ["n2"], name="/bn2/BatchNormalization", epsilon=1e-5),
        helper.make_node("Add", ["n2", "r1"], ["s"], name="/Add"),
        helper.make_node("Relu", ["s"], ["r2"], name="/relu2/Relu"),
        helper.make_node("Conv", ["r2", "c3.weight", "c3.bias"], ["c3"], name="/c3/Conv", kernel_shape=[3, 3],
                         pads=[1, 1, 1, 1], strides=[2, 2]),
        helper.make_node("Relu", ["c3"], ["r3"], name="/relu3/Relu"),
        helper.make_node("MaxPool", ["r3"], ["p1"], name="/pool/MaxPool", kernel_shape=[3, 3], strides=[1, 1],
                         pads=[1, 1, 1, 1]),
        helper.make_node("AveragePool", ["p1"], ["p2"], name="/avg/AveragePool", kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("GlobalAveragePool", ["p2"], ["g"], name="/gap/GlobalAveragePool"),
        helper.make_node("Flatten", ["g"], ["f"], name="/Flatten", axis=1),
        helper.make_node("Gemm", ["f", "fc.weight", "fc.bias"], ["output"], name="/fc/Gemm", transB=1),
    ], [init("c1.weight", 8, 3, 3, 3), init("c1.bias", 8, scale=0.1), *bn("bn1", 8), init("c2.weight", 8, 8, 3, 3),
        *bn("bn2", 8), init("c3.weight", 16, 8, 3, 3), init("c3.bias", 16, scale=0.1), init("fc.weight", 5, 16),
        init("fc.bias", 5, scale=0.1)], [3, 8, 8], [5], out)
    save("acts", [
        helper.make_node("Gemm", ["input", "w1"], ["h1"], name="/fc1/Gemm", transB=1),
        helper.make_node("Sigmoid", ["h1"], ["s1"], name="/act1/Sigmoid"),
        helper.make_node("Gemm", ["s1", "w2"], ["h2"], name="/fc2/Gemm", transB=1),
        helper.make_node("Tanh", ["h2"], ["t2"], name="/act2/Tanh"),
        helper.make_node("Gemm", ["t2", "w3", "b3"], ["h3"], name="/fc3/Gemm", transB=1),
        helper.make_node("Clip", ["h3", "lo", "hi"], ["c3"], name="/act3/Clip"),
        helper.make_node("Sub", ["c3", "shift"], ["d3"], name="/shift/Sub"),
        helper.make_node("Gemm", ["d3", "w4"], ["h4"], name="/fc4/Gemm", transB=1),
        helper.make_node("Relu", ["h4"], ["r4"], name="/act4/Relu"),
        helper.make_node("Sub", ["h4", "r4"], ["e"], name="/neg/Sub"),
        helper.make_node("Gemm", ["e", "w5", "b5"], ["z"], name="/fc5/Gemm", transB=1),
        helper.make_node("Softmax", ["z"], ["output"], name="/softmax/Softmax", axis=-1),
    ], [init("w1", 16, 8, scale=0.8), init("w2", 16, 16, scale=0.5), init("w3", 16, 16, scale=2.0),
        init("b3", 16, scale=1.0), numpy_helper.from_array(np.array(0, np.float32), "lo"),
        numpy_helper.from_array(np.array(6, np.float32), "hi"), init("shift", 16, scale=0.5),
        init("w4", 16, 16), init("w5", 5, 16), init("b5", 5, scale=0.1)], [8], [5], out)
    save("more", [
        helper.make_node("Pad", ["input", "pads"], ["pd"], name="/pad/Pad", mode="constant"),
        helper.make_node("Conv", ["pd", "k1.weight", "k1.bias"], ["c1"], name="/k1/Conv", kernel_shape=[3, 3]),
        helper.make_node("LeakyRelu", ["c1"], ["l1"], name="/act/LeakyRelu", alpha=0.1),
        helper.make_node("Conv", ["l1", "k2.weight"], ["c2"], name="/k2/Conv", kernel_shape=[1, 1]),
        helper.make_node("Mul", ["c2", "half"], ["m"], name="/half/Mul"),
        helper.make_node("Concat", ["m", "l1", "c1"], ["cat"], name="/cat/Concat", axis=1),
        helper.make_node("Div", ["cat", "four"], ["dv"], name="/quarter/Div"),
        helper.make_node("AveragePool", ["dv"], ["ap"], name="/ap/AveragePool", kernel_shape=[3, 3], pads=[1, 1, 1, 1],
                         strides=[1, 1], count_include_pad=1),
        helper.make_node("GlobalAveragePool", ["ap"], ["g"], name="/gap/GlobalAveragePool"),
        helper.make_node("Flatten", ["g"], ["f"], name="/Flatten", axis=1),
        helper.make_node("Gemm", ["f", "fc.weight", "fc.bias"], ["output"], name="/fc/Gemm", transB=1),
    ], [numpy_helper.from_array(np.array([0, 0, 1, 1, 0, 0, 1, 1], np.int64), "pads"), init("k1.weight", 4, 3, 3, 3),
        init("k1.bias", 4, scale=0.1), init("k2.weight", 4, 4, 1, 1), numpy_helper.from_array(np.array(0.5, np.float32), "half"),
        numpy_helper.from_array(np.array(4.0, np.float32), "four"), init("fc.weight", 3, 12), init("fc.bias", 3, scale=0.1)],
        [3, 6, 6], [3], out)
    save("leaky", [
        helper.make_node("Gemm", ["input", "w"], ["m"], name="/fc/Gemm", transB=1),
        helper.make_node("LeakyRelu", ["m"], ["output"], name="/act/LeakyRelu", alpha=2.0),
    ], [init("w", 4, 8)], [8], [4], out, run=False)
    save("grouped", [
        helper.make_node("Conv", ["input", "w"], ["c1"], name="/g2/Conv", kernel_shape=[3, 3], group=2,
                         pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c1"], ["r1"], name="/act1/Relu"),
        helper.make_node("Conv", ["r1", "dw.weight", "dw.bias"], ["c2"], name="/dw/Conv", kernel_shape=[3, 3], group=4,
                         pads=[1, 1, 1, 1], strides=[2, 2]),
        helper.make_node("BatchNormalization", ["c2", "bn.weight", "bn.bias", "bn.running_mean", "bn.running_var"],
                         ["b2"], name="/bn/BatchNormalization"),
        helper.make_node("Relu", ["b2"], ["r2"], name="/act2/Relu"),
        helper.make_node("Conv", ["r2", "pw.weight"], ["c3"], name="/pw/Conv", kernel_shape=[1, 1]),
        helper.make_node("GlobalAveragePool", ["c3"], ["g"], name="/gap/GlobalAveragePool"),
        helper.make_node("Flatten", ["g"], ["output"], name="/Flatten", axis=1),
    ], [init("w", 4, 1, 3, 3), init("dw.weight", 4, 1, 3, 3), init("dw.bias", 4, scale=0.1)] + bn("bn", 4) +
        [init("pw.weight", 6, 4, 1, 1)], [2, 6, 6], [6], out)
    save("dilated", [
        helper.make_node("Conv", ["input", "w"], ["c1"], name="/dil/Conv", kernel_shape=[3, 3], dilations=[2, 2],
                         pads=[2, 2, 2, 2]),
        helper.make_node("Relu", ["c1"], ["r1"], name="/act/Relu"),
        helper.make_node("Conv", ["r1", "w2", "b2"], ["output"], name="/dil2/Conv", kernel_shape=[2, 2], dilations=[3, 3],
                         strides=[2, 2], pads=[1, 1, 1, 1], group=2),
    ], [init("w", 4, 2, 3, 3), init("w2", 4, 2, 2, 2), init("b2", 4, scale=0.1)], [2, 6, 6], [4, 3, 3], out)
    save("norm", [  # opset 17: LayerNormalization; GELU as PyTorch writes nn.GELU() there
        helper.make_node("Gemm", ["input", "w1", "b1"], ["h1"], name="/fc1/Gemm", transB=1),
        helper.make_node("LayerNormalization", ["h1", "ln1.weight", "ln1.bias"], ["n1"], name="/ln1/LayerNormalization",
                         axis=-1, epsilon=1e-5),
        helper.make_node("Div", ["n1", "sqrt2"], ["g1"], name="/act/Div"),
        helper.make_node("Relu", ["n1"], ["side"], name="/side/Relu"),  # a node amid the pattern's
        helper.make_node("Erf", ["g1"], ["g2"], name="/act/Erf"),
        helper.make_node("Add", ["g2", "one"], ["g3"], name="/act/Add"),
        helper.make_node("Mul", ["n1", "g3"], ["g4"], name="/act/Mul"),
        helper.make_node("Mul", ["g4", "half"], ["g5"], name="/act/Mul_1"),
        helper.make_node("Gemm", ["g5", "w2"], ["h2"], name="/fc2/Gemm", transB=1),
        helper.make_node("Add", ["h2", "h1"], ["r0"], name="/residual/Add"),
        helper.make_node("Add", ["r0", "side"], ["r"], name="/side/Add"),
        helper.make_node("LayerNormalization", ["r", "ln2.weight"], ["n2"], name="/ln2/LayerNormalization", axis=1),
        helper.make_node("Gemm", ["n2", "w3", "b3"], ["output"], name="/head/Gemm", transB=1),
    ], [init("w1", 16, 8), init("b1", 16, scale=0.1),
        numpy_helper.from_array(rng.uniform(0.5, 1.5, 16).astype(np.float32), "ln1.weight"), init("ln1.bias", 16, scale=0.1),
        numpy_helper.from_array(np.array(1.4142135381698608, np.float32), "sqrt2"),
        numpy_helper.from_array(np.array(1.0, np.float32), "one"), numpy_helper.from_array(np.array(0.5, np.float32), "half"),
        init("w2", 16, 16, scale=0.25), numpy_helper.from_array(rng.uniform(0.5, 1.5, 16).astype(np.float32), "ln2.weight"),
        init("w3", 4, 16, scale=0.25), init("b3", 4, scale=0.1)], [8], [4], out, opset=17)
    save("gelu", [  # opset 20's Gelu, exact and tanh
        helper.make_node("Gemm", ["input", "w1"], ["h1"], name="/fc1/Gemm", transB=1),
        helper.make_node("Gelu", ["h1"], ["a1"], name="/act1/Gelu"),
        helper.make_node("Gemm", ["a1", "w2"], ["h2"], name="/fc2/Gemm", transB=1),
        helper.make_node("Gelu", ["h2"], ["a2"], name="/act2/Gelu", approximate="tanh"),
        helper.make_node("Gemm", ["a2", "w3"], ["output"], name="/fc3/Gemm", transB=1),
    ], [init("w1", 16, 8, scale=1.0), init("w2", 16, 16, scale=0.5), init("w3", 4, 16, scale=0.25)], [8], [4], out,
        opset=20)
    save("se", [  # a squeeze-and-excitation block (MobileNetV3's, EfficientNet's)
        helper.make_node("Conv", ["input", "c1.weight", "c1.bias"], ["c1"], name="/c1/Conv", kernel_shape=[3, 3],
                         pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c1"], ["r1"], name="/act1/Relu"),
        helper.make_node("ReduceMean", ["r1"], ["m1"], name="/se/ReduceMean", axes=[2, 3], keepdims=1),
        helper.make_node("Conv", ["m1", "fc1.weight", "fc1.bias"], ["s1"], name="/se/fc1/Conv", kernel_shape=[1, 1]),
        helper.make_node("Relu", ["s1"], ["s2"], name="/se/act/Relu"),
        helper.make_node("Conv", ["s2", "fc2.weight", "fc2.bias"], ["s3"], name="/se/fc2/Conv", kernel_shape=[1, 1]),
        helper.make_node("Sigmoid", ["s3"], ["s4"], name="/se/gate/Sigmoid"),
        helper.make_node("Mul", ["s4", "r1"], ["e"], name="/se/Mul"),
        helper.make_node("ReduceMean", ["e"], ["m2"], name="/pool/ReduceMean", axes=[-1, -2], keepdims=0),
        helper.make_node("Mul", ["m2", "m2"], ["sq"], name="/square/Mul"),
        helper.make_node("Gemm", ["sq", "fc.weight", "fc.bias"], ["output"], name="/fc/Gemm", transB=1),
    ], [init("c1.weight", 8, 4, 3, 3), init("c1.bias", 8, scale=0.1), init("fc1.weight", 2, 8, 1, 1),
        init("fc1.bias", 2, scale=0.1), init("fc2.weight", 8, 2, 1, 1), init("fc2.bias", 8, scale=0.1),
        init("fc.weight", 3, 8), init("fc.bias", 3, scale=0.1)], [4, 6, 6], [3], out)
    save("hard", [  # MobileNetV3's activations (opset 14)
        helper.make_node("Gemm", ["input", "w1", "b1"], ["h1"], name="/fc1/Gemm", transB=1),
        helper.make_node("HardSigmoid", ["h1"], ["a1"], name="/act1/HardSigmoid"),
        helper.make_node("Gemm", ["a1", "w2", "b2"], ["h2"], name="/fc2/Gemm", transB=1),
        helper.make_node("HardSwish", ["h2"], ["a2"], name="/act2/HardSwish"),
        helper.make_node("Gemm", ["a2", "w3"], ["h3"], name="/fc3/Gemm", transB=1),
        helper.make_node("HardSigmoid", ["h3"], ["output"], name="/act3/HardSigmoid", alpha=0.25, beta=0.4),
    ], [init("w1", 16, 8, scale=2.0), init("b1", 16, scale=1.0), init("w2", 16, 16, scale=1.5), init("b2", 16, scale=1.0),
        init("w3", 4, 16, scale=0.5)], [8], [4], out, opset=14)
    save("avgpad", [  # ONNX's default, the pads not counted (TensorFlow's 'SAME' pools): per-position divisors
        helper.make_node("AveragePool", ["input"], ["a1"], name="/ap/AveragePool", kernel_shape=[3, 3],
                         pads=[1, 1, 1, 1]),
        helper.make_node("AveragePool", ["a1"], ["a2"], name="/ap2/AveragePool", kernel_shape=[3, 3], strides=[2, 2],
                         pads=[1, 1, 1, 1], count_include_pad=0),
        helper.make_node("AveragePool", ["a2"], ["output"], name="/ap3/AveragePool", kernel_shape=[2, 2],
                         pads=[1, 1, 1, 1], count_include_pad=1),
    ], [], [2, 6, 6], [2, 4, 4], out)
    save("maskup", [  # a mask on attention's scores that is not the causal one (it keeps the upper triangle)
        helper.make_node("Where", ["up", "input", "ninf"], ["m"], name="/Where"),
        helper.make_node("Softmax", ["m"], ["output"], name="/Softmax", axis=-1),
    ], [numpy_helper.from_array(np.triu(np.ones((4, 4), dtype=bool)).reshape(1, 1, 4, 4), "up"),
        numpy_helper.from_array(np.array(-np.inf, dtype=np.float32), "ninf")], [2, 4, 4], [2, 4, 4], out, run=False)
    save("maskadd", [  # an additive mask of the causal shape whose values are not the causal mask's
        helper.make_node("Add", ["input", "mask"], ["m"], name="/Add"),
        helper.make_node("Softmax", ["m"], ["output"], name="/Softmax", axis=-1),
    ], [numpy_helper.from_array(np.where(np.eye(4, dtype=bool), -np.inf, 0).astype(np.float32), "mask")],
        [2, 4, 4], [2, 4, 4], out, run=False)
    save("avgceil", [
        helper.make_node("AveragePool", ["input"], ["output"], name="/ap/AveragePool", kernel_shape=[3, 3],
                         strides=[2, 2], ceil_mode=1),
    ], [], [2, 6, 6], [2, 3, 3], out, run=False)
    def i64(name, v):  # an int64 constant: a scalar, or a vector from a list
        return numpy_helper.from_array(np.array(v, dtype=np.int64), name)

    save("shapes", [  # the target shape [batch, h w / 2, -1] from shape arithmetic, as exporters write it
        helper.make_node("Shape", ["input"], ["s"], name="/Shape"),
        helper.make_node("Gather", ["s", "zero"], ["g0"], name="/Gather0", axis=0),
        helper.make_node("Unsqueeze", ["g0", "vaxis0"], ["u0"], name="/Unsqueeze0"),
        helper.make_node("Squeeze", ["u0", "vaxis0"], ["sq"], name="/Squeeze"),
        helper.make_node("Unsqueeze", ["sq", "vaxis0"], ["u0b"], name="/Unsqueeze1"),
        helper.make_node("Gather", ["s", "one"], ["g1"], name="/Gather1", axis=0),
        helper.make_node("Gather", ["s", "vlast"], ["g2v"], name="/Gather2"),
        helper.make_node("Squeeze", ["g2v", "vaxis0"], ["g2"], name="/Squeeze2"),
        helper.make_node("Mul", ["g1", "g2"], ["p"], name="/Mul"),
        helper.make_node("Cast", ["p"], ["c"], name="/Cast", to=TensorProto.INT64),
        helper.make_node("Div", ["c", "two"], ["h"], name="/Div"),
        helper.make_node("Sub", ["c", "h"], ["m"], name="/Sub"),
        helper.make_node("Unsqueeze", ["m", "vaxis0"], ["um"], name="/Unsqueeze2"),
        helper.make_node("Concat", ["u0b", "um", "vminus1"], ["tgt"], name="/Concat", axis=0),
        helper.make_node("Reshape", ["input", "tgt"], ["r"], name="/Reshape"),
        helper.make_node("Transpose", ["r"], ["t"], name="/Transpose", perm=[0, 2, 1]),
        helper.make_node("Concat", ["t", "t"], ["cat"], name="/Concat_last", axis=-1),
        helper.make_node("MatMul", ["cat", "w"], ["mm"], name="/MatMul"),
        helper.make_node("Add", ["b", "mm"], ["output"], name="/Add"),
    ], [i64("zero", 0), i64("one", 1), i64("two", 2), i64("vaxis0", [0]), i64("vlast", [-1]), i64("vminus1", [-1]),
        init("w", 24, 3), init("b", 3, scale=0.1)], [6, 4], [2, 3], out)


if __name__ == "__main__":
    main()
