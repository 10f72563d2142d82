#!/usr/bin/env python3
"""Writes the fuzz targets' seed corpus (tests/fuzz/corpus/<target>/): small valid inputs
by each format's documented layout, so that mutations start from something the readers
accept. Deterministic; run it again after a format changes.   python3 make_seeds.py"""
import json, os, random, struct

here = os.path.dirname(os.path.abspath(__file__))
rnd = random.Random(1)


def crc32c(data, crc=0):
    crc ^= 0xFFFFFFFF
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
    return crc ^ 0xFFFFFFFF


def put(target, name, data):
    d = os.path.join(here, "corpus", target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def npy(descr, shape, payload):
    hdr = "{'descr': '%s', 'fortran_order': False, 'shape': (%s), }" % (
        descr, ", ".join(map(str, shape)) + ("," if len(shape) == 1 else ""))
    pad = (64 - (10 + len(hdr) + 1) % 64) % 64
    hdr = hdr + " " * pad + "\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(hdr)) + hdr.encode() + payload


put("npy", "f4_2x3", npy("<f4", (2, 3), struct.pack("<6f", 1, -2, 3.5, 0, 1e-3, 7)))
put("npy", "i8_4", npy("<i8", (4,), struct.pack("<4q", 0, 1, -1, 9)))
put("npy", "f8_scalar", npy("<f8", (), struct.pack("<d", 2.5)))


def safetensors(tensors, meta):
    head, blob = {}, b""
    for name, (dtype, shape, data) in tensors.items():
        head[name] = {"dtype": dtype, "shape": shape, "data_offsets": [len(blob), len(blob) + len(data)]}
        blob += data
    head["__metadata__"] = meta
    h = json.dumps(head).encode()
    return struct.pack("<Q", len(h)) + h + blob


put("safetensors", "two", safetensors({"a.weight": ("F32", [2, 2], struct.pack("<4f", 1, 2, 3, 4)),
                                       "b": ("I64", [1], struct.pack("<q", 5))}, {"format": "pt"}))
put("safetensors", "f16", safetensors({"h": ("F16", [3], b"\x00\x3c\x00\xc0\x00\x00")}, {}))


def keyfile(party, chunks):
    body = b""
    for kind, elements, payload in chunks:
        ch = struct.pack("<IIQQI", kind, 0, elements, len(payload), crc32c(payload))
        body += ch + struct.pack("<I", crc32c(ch)) + payload
    total = 128 + len(body)
    run_id, fp, secret = (bytes(rnd.randrange(256) for _ in range(k)) for k in (16, 32, 32))
    h = b"FSSKEYS1" + struct.pack("<II", 2, party) + run_id + fp + struct.pack("<IIQQ", 0, 0, len(chunks), total)
    check = crc32c(secret, crc32c(h))  # bytes 0..87 (state 0), then the secret
    h += struct.pack("<I", check) + secret + bytes(4)
    assert len(h) == 128
    return h + body


# the fuzz input: fix (u8: 3 rewrites the checksums, 0 leaves them) | kind (u32) |
# elements (u64) | the file
put("keyfile", "two_chunks", struct.pack("<BIQ", 3, 7, 3) + keyfile(0, [(7, 3, bytes(range(20))), (7, 3, b"xyz")]))
put("keyfile", "party1_empty", struct.pack("<BIQ", 0, 5, 1) + keyfile(1, [(5, 1, b"")]))


def key_seed(prim, n, l, g, count, party):
    # root and correction seeds random (whole blocks), the packed bit fields zero (no
    # stray bits): a key the parser accepts
    depth = n
    if prim == 1:
        size = 16 + 16 * n + 2 * ((n + 7) // 8) + ((n + 1) * g * l + 7) // 8
    else:
        early = g & 1
        depth = (n - 7 if n > 7 else 0) if early else n
        leaf = (1 << (n - depth)) if early else 1
        size = 16 + 16 * depth + 2 * ((depth + 7) // 8) + ((leaf + 7) // 8 if early else (l + 7) // 8)
    head = bytes([prim, n - 1, l - 1, g - 1 if prim == 1 else g, count - 1, party])
    blocks = 16 * (1 + (n if prim == 1 else depth)) * count  # root and scw come first, for all instances
    return head + bytes(rnd.randrange(256) for _ in range(blocks)) + bytes(size * count - blocks)


put("keys", "dcf_16_16_1", key_seed(1, 16, 16, 1, 3, 0))
put("keys", "dcf_64_64_2", key_seed(1, 64, 64, 2, 2, 1))
put("keys", "dpf_20_1", key_seed(0, 20, 1, 0, 4, 0))
put("keys", "dpf_early_20", key_seed(0, 20, 1, 1, 2, 1))
put("keys", "dpf_cmp_32", key_seed(2, 32, 1, 0, 1, 0))


# masked weights files and model keys (io/include/fss/weights_file.h)
def wfile_head(magic, sid, key, desc):
    b = magic + sid + (key or b"") + struct.pack("<I", len(desc)) + desc
    return b + struct.pack("<I", crc32c(b))


def wfile(records):
    out = wfile_head(b"FSSMWTS1", bytes(range(16)), None, b"fsskit-transformer/8 model=bert-tiny setup=00")
    heads = 0
    for wid, count, bits, data in records:
        h = struct.pack("<QQII", wid, count, bits, crc32c(data))
        h += struct.pack("<I", crc32c(h)) + bytes(4)
        heads = crc32c(h, heads)
        out += h + data
    h = struct.pack("<QQII", 2**64 - 1, len(records), 0, heads)
    return out + h + struct.pack("<I", crc32c(h)) + bytes(4)


put("wfile", "two", wfile([(0, 3, 50, bytes(rnd.randrange(256) for _ in range(19))),
                          (1 << 32 | 5 << 24, 8, 13, bytes(rnd.randrange(256) for _ in range(13)))]))
put("wfile", "empty", wfile([]))
put("wfile", "model_key", wfile_head(b"FSSWKEY1", bytes(16), bytes(range(16)), b"fsskit-cnn/2 model=lenet"))


# texts for the WordPiece tokenizer (io/include/fss/wordpiece.h)
put("wordpiece", "mixed", "Héllo, ΣΟΦΟΣ 我爱北京 [SEP] x[MASK]y 👨\u200d👩 \u0000\ufffd\ue000 a\u0301".encode())
put("wordpiece", "long_word", b"a" * 101 + b" " + "é".encode() * 100)
put("wordpiece", "bad_utf8", b"ok \xc0\xaf \xed\xa0\x80 \xe4\xb8")


# GGUF files (io/include/fss/gguf.h): metadata of each kind, tensors of each read type
def gguf_str(s):
    return struct.pack("<Q", len(s)) + s


def gguf(kvs, tensors):
    out = b"GGUF" + struct.pack("<IQQ", 3, len(tensors), len(kvs))
    for k, t, v in kvs:
        out += gguf_str(k) + struct.pack("<I", t) + v
    off, blobs = 0, b""
    for name, ne, ty, data in tensors:
        out += gguf_str(name) + struct.pack("<I", len(ne)) + b"".join(struct.pack("<Q", n) for n in ne)
        out += struct.pack("<IQ", ty, off)
        blobs += data + bytes(-len(data) % 32)
        off += len(data) + (-len(data) % 32)
    return out + bytes(-len(out) % 32) + blobs


put("gguf", "small", gguf(
    [(b"general.architecture", 8, gguf_str(b"llama")), (b"llama.block_count", 4, struct.pack("<I", 2)),
     (b"tokenizer.ggml.tokens", 9, struct.pack("<IQ", 8, 2) + gguf_str(b"a") + gguf_str(b"\xc4\xa0b")),
     (b"tokenizer.ggml.token_type", 9, struct.pack("<IQ", 5, 2) + struct.pack("<ii", 1, 3))],
    [(b"f32", [4], 0, struct.pack("<4f", 1, -2, 3.5, 0)), (b"f16", [4], 1, bytes.fromhex("003c00c000420000")),
     (b"q8", [32], 8, bytes.fromhex("003c") + bytes(range(32))),
     (b"q4_0", [32], 2, bytes.fromhex("0038") + bytes(range(16))),
     (b"q4_1", [32, 1], 3, bytes.fromhex("00380040") + bytes(range(16, 32)))]))


# texts for SmolLM2's byte-level BPE (io/include/fss/bpe.h)
put("bpe", "mixed", "The capital of France is Paris. It's 2,148,271 people! \u00e9\u4e2d <|im_start|>user\n".encode())
put("bpe", "spaces", b"a  b   \t\n\n  c" + b" " * 40 + b"x" * 300)


# tables for the CSV reader (io/include/fss/csv.h), asked for columns "a" and "b c"
put("csv", "quoted", b'\xef\xbb\xbfid,"b c",a\r\n1,"2.5",-3e2\r\n"x\n""y""",7, 1e-3 \n')
put("csv", "bad", b"a,b c\n1,\n2,nan\n3\n\n\"4")

# statistics specs (stats/include/fss/stats.h)
put("stats", "rows", b'{"split": "rows", "rows": [2, 3], "columns": ["x", "y"], "bounds": {"x": [-1, 1], "y": [0, 1e3]}, '
    b'"stats": [{"op": "count"}, {"op": "mean", "column": "x"}, {"op": "std", "column": "y", "ddof": 1}, '
    b'{"op": "min", "column": "x"}, {"op": "max", "column": "y"}, {"op": "sum", "column": "x"}, '
    b'{"op": "variance", "column": "x"}, {"op": "histogram", "column": "y", "edges": [0, 1, 2.5]}], "reveal_to": [0, 1]}')
put("stats", "columns", b'{"split": "columns", "rows": 4, "columns": {"0": ["a"], "1": ["b"]}, "bounds": {"b": [1e-9, 2e-9]}, '
    b'"stats": [{"op": "mean", "column": "b"}, {"op": "histogram", "column": "a", "edges": [-1e300, 1e300]}], "reveal_to": [1]}')


# ONNX models (io/include/fss/onnx.h), the protobuf wire format by hand: x [batch, 4] ->
# Gemm(W [4, 3], B [3], transB 0) -> Relu -> z
def pb_varint(v):
    v &= (1 << 64) - 1
    out = b""
    while True:
        b = v & 0x7F
        v >>= 7
        out += bytes([b | (0x80 if v else 0)])
        if not v:
            return out


def pb_field(num, wire, payload):
    key = pb_varint(num << 3 | wire)
    if wire == 0:
        return key + pb_varint(payload)
    if wire == 5:
        return key + struct.pack("<f", payload)
    return key + pb_varint(len(payload)) + payload


def pb_str(num, s):
    return pb_field(num, 2, s.encode() if isinstance(s, str) else s)


def onnx_value(name, dims):
    shape = b"".join(pb_field(1, 2, pb_str(2, d) if isinstance(d, str) else pb_field(1, 0, d)) for d in dims)
    tensor_type = pb_field(1, 0, 1) + pb_field(2, 2, shape)
    return pb_str(1, name) + pb_field(2, 2, pb_field(1, 2, tensor_type))


def onnx_model():
    W = b"".join(pb_field(1, 0, d) for d in (4, 3)) + pb_field(2, 0, 1) + pb_str(8, "W") + \
        pb_field(9, 2, struct.pack("<12f", *range(12)))
    B = pb_field(1, 0, 3) + pb_field(2, 0, 1) + pb_field(4, 2, struct.pack("<3f", 0.5, -1, 2)) + pb_str(8, "B")
    attr = pb_str(1, "transB") + pb_field(20, 0, 2) + pb_field(3, 0, 0)
    gemm = pb_str(1, "x") + pb_str(1, "W") + pb_str(1, "B") + pb_str(2, "y") + pb_str(3, "fc") + pb_str(4, "Gemm") + \
        pb_field(5, 2, attr)
    relu = pb_str(1, "y") + pb_str(2, "z") + pb_str(3, "act") + pb_str(4, "Relu")
    graph = pb_field(1, 2, gemm) + pb_field(1, 2, relu) + pb_str(2, "tiny") + pb_field(5, 2, W) + \
        pb_field(5, 2, B) + pb_field(11, 2, onnx_value("x", ["batch", 4])) + pb_field(12, 2, onnx_value("z", ["batch", 3]))
    return pb_field(1, 0, 8) + pb_field(8, 2, pb_str(1, "") + pb_field(2, 0, 13)) + pb_field(7, 2, graph)


put("onnx", "tiny", onnx_model())
put("onnx", "cut", onnx_model()[:60])
