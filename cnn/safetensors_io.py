"""A safetensors writer for the training scripts (numpy only): float32 tensors."""
import json
import os
import struct

import numpy as np


def save_safetensors(path, tensors, metadata):
    """safetensors: u64 little-endian header length N, N bytes of JSON (padded with
    spaces to a multiple of 8), then the tensors' raw little-endian bytes back to back.
    data_offsets are relative to the first byte after the header."""
    header = {"__metadata__": metadata}
    blobs = []
    offset = 0
    for name, arr in tensors:
        arr = np.ascontiguousarray(arr, dtype="<f4")
        b = arr.tobytes()
        header[name] = {"dtype": "F32", "shape": list(arr.shape),
                        "data_offsets": [offset, offset + len(b)]}
        blobs.append(b)
        offset += len(b)
    hj = json.dumps(header, separators=(",", ":")).encode("utf-8")
    hj += b" " * (-len(hj) % 8)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(hj)))
        f.write(hj)
        for b in blobs:
            f.write(b)
    os.replace(tmp, path)
