#!/usr/bin/env python3
"""Train fsskit's `lenet` on Fashion-MNIST on the CPU and export its weights.

Model (PyTorch notation), input 1x28x28 grey images scaled to [0, 1] by x / 255:
    Conv2d(1,16,5) ReLU MaxPool2d(2,2) Conv2d(16,16,5) ReLU MaxPool2d(2,2)
    Flatten Linear(256,100) ReLU Linear(100,10)

Data: Debian's `dataset-fashion-mnist` package (idx files under
/usr/share/datasets/fashion-mnist), read with numpy; no torchvision.

Writes, next to this script (or into --out):
    lenet-fashion.safetensors        float32 weights, written by hand (format below)
    fashion-test-100.npy             first 100 test images, float32 [100,1,28,28]
    fashion-test-100-labels.npy      their labels, int64 [100]

Inputs are plain x / 255 (no mean/std normalisation) so that the secure runtime's
fixed-point input encoding is a single scale.
"""
import argparse
import gzip
import json
import os
import struct
import time

import numpy as np
import torch
import torch.nn as nn

from safetensors_io import save_safetensors

DATA_DIR = "/usr/share/datasets/fashion-mnist"
SEED = 1234


def read_idx(path):
    """Read an idx file (optionally .gz): magic 0x0000 <dtype 0x08=u8> <ndim>, then
    ndim big-endian u32 dimensions, then the data."""
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        raw = f.read()
    zero, dtype, ndim = struct.unpack(">HBB", raw[:4])
    if zero != 0 or dtype != 0x08:
        raise ValueError(f"{path}: not an unsigned-byte idx file")
    dims = struct.unpack(">" + "I" * ndim, raw[4:4 + 4 * ndim])
    data = np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim)
    if data.size != int(np.prod(dims)):
        raise ValueError(f"{path}: expected {np.prod(dims)} bytes of data, got {data.size}")
    return data.reshape(dims)


def load_split(data_dir, prefix):
    x = read_idx(os.path.join(data_dir, f"{prefix}-images-idx3-ubyte.gz"))
    y = read_idx(os.path.join(data_dir, f"{prefix}-labels-idx1-ubyte.gz"))
    x = (x.astype(np.float32) / 255.0).reshape(-1, 1, 28, 28)
    return x, y.astype(np.int64)


class LeNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 16, 5)
        self.conv2 = nn.Conv2d(16, 16, 5)
        self.fc1 = nn.Linear(256, 100)
        self.fc2 = nn.Linear(100, 10)
        self.pool = nn.MaxPool2d(2, 2)

    def forward(self, x):
        x = self.pool(torch.relu(self.conv1(x)))
        x = self.pool(torch.relu(self.conv2(x)))
        x = torch.flatten(x, 1)
        x = torch.relu(self.fc1(x))
        return self.fc2(x)


def evaluate(model, x, y, batch=1000):
    model.eval()
    correct = 0
    with torch.no_grad():
        for i in range(0, len(x), batch):
            out = model(torch.from_numpy(x[i:i + batch]))
            correct += int((out.argmax(1).numpy() == y[i:i + batch]).sum())
    return correct / len(x)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", default=DATA_DIR, help="folder with the Fashion-MNIST idx(.gz) files")
    ap.add_argument("--out", default=os.path.dirname(os.path.abspath(__file__)))
    ap.add_argument("--epochs", type=int, default=15)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(SEED)
    np.random.seed(SEED)

    xtr, ytr = load_split(args.data, "train")
    xte, yte = load_split(args.data, "t10k")
    print(f"train {xtr.shape} test {xte.shape}")

    model = LeNet()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=5, gamma=0.5)
    loss_fn = nn.CrossEntropyLoss()
    xtr_t, ytr_t = torch.from_numpy(xtr), torch.from_numpy(ytr)
    gen = torch.Generator().manual_seed(SEED)
    t0 = time.time()
    for epoch in range(args.epochs):
        model.train()
        perm = torch.randperm(len(xtr_t), generator=gen)
        total = 0.0
        for i in range(0, len(perm), 128):
            idx = perm[i:i + 128]
            opt.zero_grad()
            loss = loss_fn(model(xtr_t[idx]), ytr_t[idx])
            loss.backward()
            opt.step()
            total += loss.item() * len(idx)
        sched.step()
        acc = evaluate(model, xte, yte)
        print(f"epoch {epoch + 1}: loss {total / len(perm):.4f} test acc {acc:.4f} "
              f"({time.time() - t0:.0f} s)", flush=True)

    acc = evaluate(model, xte, yte)
    print(f"float test accuracy: {acc:.4f} (10000 images), training time {time.time() - t0:.0f} s")

    sd = model.state_dict()
    names = ["conv1.weight", "conv1.bias", "conv2.weight", "conv2.bias",
             "fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"]
    meta = {"model": "lenet", "dataset": "fashion-mnist", "float_test_accuracy": f"{acc:.4f}"}
    save_safetensors(os.path.join(args.out, "lenet-fashion.safetensors"),
                     [(n, sd[n].numpy()) for n in names], meta)
    np.save(os.path.join(args.out, "fashion-test-100.npy"), np.ascontiguousarray(xte[:100], dtype=np.float32))
    np.save(os.path.join(args.out, "fashion-test-100-labels.npy"), np.ascontiguousarray(yte[:100], dtype=np.int64))
    print(f"wrote lenet-fashion.safetensors, fashion-test-100.npy, fashion-test-100-labels.npy to {args.out}")


if __name__ == "__main__":
    main()
