#!/usr/bin/env python3
"""torchvision's ResNet-18 or ResNet-50 itself, with seeded random weights (and batch-norm
statistics as training would leave them), written twice: its state dict as safetensors
(what the built-in `resnet18` / `resnet50` read) and the ONNX model torch.onnx.export writes
for it (torch.export's exporter, a dynamic batch; the exporter folds each BatchNormalization
into its Conv).

    python onnx/export_torchvision.py resnet18|resnet50 OUT_DIR [SEED]

Writes OUT_DIR/NAME.safetensors, OUT_DIR/NAME-torch.onnx and OUT_DIR/NAME-torch-ref.npy
(onnxruntime's logits for OUT_DIR/x.npy, when that exists). Needs torch, torchvision,
onnxscript, onnx and onnxruntime from PyPI.
"""
import os
import sys
import warnings

import numpy as np
import torch
import torchvision

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "cnn"))
from safetensors_io import save_safetensors  # noqa: E402

warnings.filterwarnings("ignore")


def main():
    name, out = sys.argv[1], sys.argv[2]
    torch.manual_seed(int(sys.argv[3]) if len(sys.argv) > 3 else 0)
    model = getattr(torchvision.models, name)(weights=None).eval()
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-0.1, 0.1), m.running_var.uniform_(0.5, 1.5)
            m.weight.data.uniform_(0.5, 1.5), m.bias.data.uniform_(-0.1, 0.1)
    os.makedirs(out, exist_ok=True)
    sd = [(k, v.numpy()) for k, v in model.state_dict().items() if v.dtype == torch.float32]
    save_safetensors(os.path.join(out, name + ".safetensors"), sd, {"source": "torchvision " + name})
    path = os.path.join(out, name + "-torch.onnx")
    x = torch.zeros(1, 3, 224, 224)
    torch.onnx.export(model, (x,), path, dynamo=True, input_names=["x"], output_names=["logits"],
                      dynamic_shapes={"x": {0: torch.export.Dim("batch")}}, external_data=False, verbose=False)
    xp = os.path.join(out, "x.npy")
    if os.path.exists(xp):
        import onnxruntime as ort
        y = ort.InferenceSession(path, providers=["CPUExecutionProvider"]).run(None, {"x": np.load(xp)})[0]
        np.save(os.path.join(out, name + "-torch-ref.npy"), y.astype(np.float32))


if __name__ == "__main__":
    main()
