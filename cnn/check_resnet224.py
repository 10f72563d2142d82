#!/usr/bin/env python3
"""Checks fsskit's `resnet18` and `resnet50` (3x224x224) against PyTorch.

The models are written here in plain PyTorch with torchvision's module names and
structure (torchvision.models.resnet18 / resnet50, ResNet v1.5: stride on the 3x3 conv of
a Bottleneck), because torchvision is not installed on our machines; a state dict of this
module loads into torchvision's and back. Weights are random (Kaiming-uniform convs,
random BatchNorm scales and shifts, eval mode), scaled so that activations stay
inside the 48-bit ring at 12 fractional bits (BN statistics measured on random images). The script writes the weights as
safetensors and a random image as .npy, runs `online --clear` (the fixed-point walk that
the secure run equals bit for bit), and compares the logits with PyTorch's float32 ones.

    python3 cnn/check_resnet224.py BUILD_DIR [resnet18|resnet50 ...]

Exit status 0 when, for every model, the fixed-point logits are within 5% of the largest
float logit (12 fractional bits lose about 0.2% a layer) and the difference of two
images' logits (what depends on the input) correlates with PyTorch's at 0.9 or more.
A misplaced stride (ResNet v1 instead of v1.5) gives a correlation near 0.
"""
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
import torch
import torch.nn as nn


class BasicBlock(nn.Module):
    expansion = 1

    def __init__(self, inp, planes, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(inp, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU()
        self.downsample = None
        if stride != 1 or inp != planes:
            self.downsample = nn.Sequential(nn.Conv2d(inp, planes, 1, stride, bias=False), nn.BatchNorm2d(planes))

    def forward(self, x):
        idt = x if self.downsample is None else self.downsample(x)
        y = self.relu(self.bn1(self.conv1(x)))
        return self.relu(self.bn2(self.conv2(y)) + idt)


class Bottleneck(nn.Module):
    expansion = 4

    def __init__(self, inp, planes, stride):
        super().__init__()
        out = planes * 4
        self.conv1 = nn.Conv2d(inp, planes, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, out, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(out)
        self.relu = nn.ReLU()
        self.downsample = None
        if stride != 1 or inp != out:
            self.downsample = nn.Sequential(nn.Conv2d(inp, out, 1, stride, bias=False), nn.BatchNorm2d(out))

    def forward(self, x):
        idt = x if self.downsample is None else self.downsample(x)
        y = self.relu(self.bn1(self.conv1(x)))
        y = self.relu(self.bn2(self.conv2(y)))
        return self.relu(self.bn3(self.conv3(y)) + idt)


class ResNet(nn.Module):
    def __init__(self, block, layers, classes=1000):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU()
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        inp = 64
        for i, n in enumerate(layers):
            planes = 64 << i
            blocks = []
            for b in range(n):
                blocks.append(block(inp, planes, 2 if i and not b else 1))
                inp = planes * block.expansion
            setattr(self, f"layer{i + 1}", nn.Sequential(*blocks))
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(inp, classes)

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        for i in range(4):
            x = getattr(self, f"layer{i + 1}")(x)
        return self.fc(torch.flatten(self.avgpool(x), 1))


def save_safetensors(path, tensors):
    header, blobs, off = {}, [], 0
    for name, arr in tensors:
        b = np.ascontiguousarray(arr, dtype="<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(arr.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    hj = json.dumps(header, separators=(",", ":")).encode()
    hj += b" " * (-len(hj) % 8)
    with open(path, "wb") as f:
        f.write(len(hj).to_bytes(8, "little"))
        f.write(hj)
        for b in blobs:
            f.write(b)


def check(build, name, work, seed):
    torch.manual_seed(seed)
    model = ResNet(BasicBlock, [2, 2, 2, 2]) if name == "resnet18" else ResNet(Bottleneck, [3, 4, 6, 3])
    with torch.no_grad():
        # BN scales and shifts at random, then running statistics measured on random
        # images (a data-dependent init): every layer's output is then about unit scale,
        # and the logits depend on the input as a fresh network's do.
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.2, 0.2)
                m.momentum = None  # running statistics = the average over the batches
        model.train()
        calib = torch.Generator().manual_seed(seed + 2)
        for _ in range(2):
            model(torch.randn(4, 3, 224, 224, generator=calib))
    model.eval()
    tensors = [(k, v.detach().numpy()) for k, v in model.state_dict().items() if not k.endswith("num_batches_tracked")]
    wpath, ipath, opath = (os.path.join(work, f"{name}.{ext}") for ext in ("safetensors", "in.npy", "out.npy"))
    save_safetensors(wpath, tensors)
    # Two images: a random deep network maps every input to nearly the same logits, so the
    # check is on what depends on the input, the difference of the two images' logits.
    img = torch.randn(2, 3, 224, 224, generator=torch.Generator().manual_seed(seed + 1))
    np.save(ipath, img.numpy().astype(np.float32))
    with torch.no_grad():
        want = model(img).numpy()
    subprocess.run([os.path.join(build, "online", "online"), "--clear", "--model", name, "--weights", wpath,
                    "--input", ipath, "--output", opath], check=True)
    got = np.load(opath)
    dw, dg = want[0] - want[1], got[0] - got[1]
    span, dspan = float(np.abs(want).max()), float(np.abs(dw).max())
    err = float(np.abs(got - want).max())
    corr = float(np.corrcoef(dw, dg)[0, 1])
    ok = err <= 0.05 * span and corr >= 0.9 and dspan >= 100 * 2.0 ** -12
    print(f"{name}: logits up to {span:.4g}, max |fixed - float| {err:.4g} ({100 * err / span:.2f}%); "
          f"image 0 - image 1 up to {dspan:.4g}, correlation fixed/float {corr:.5f}: {'ok' if ok else 'MISMATCH'}")
    return ok


def main():
    build = sys.argv[1] if len(sys.argv) > 1 else "build"
    names = sys.argv[2:] or ["resnet18", "resnet50"]
    seed = int.from_bytes(os.urandom(4), "little")
    print(f"check_resnet224: seed {seed}")
    with tempfile.TemporaryDirectory() as work:
        ok = all([check(build, n, work, seed) for n in names])
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
