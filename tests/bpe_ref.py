#!/usr/bin/env python3
"""The reference for fss_bpe (io/bpe.c): SmolLM2's tokenizer rebuilt in Hugging Face's
`tokenizers` from a GGUF file's metadata, as its tokenizer.json has it (BPE over the
tokens and merges; pre-tokenizers Digits(individual_digits) then ByteLevel without a prefix
space; the control and user-defined tokens as special tokens). Test and benchmark only.

    bpe_ref.py GGUF cases OUT.tsv              the fixed cases (tests/data/bpe-cases.tsv)
    bpe_ref.py GGUF random SEED N OUT.tsv      N fresh random texts
    bpe_ref.py GGUF tokenizer OUT.gguf         the file's tokenizer alone, as a GGUF of no tensors
    bpe_ref.py GGUF ids PROMPTS.txt OUT.txt    each prompt's ids, a line each (a literal \\n in a
                                               prompt is a newline: bench/smollm2-check.sh's files)

Each line of OUT.tsv: the text's UTF-8 bytes in hex, a tab, the ids, a tab, 0."""
import random
import struct
import sys

import gguf
from tokenizers import AddedToken, Tokenizer, models, pre_tokenizers

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from wordpiece_ref import POOLS  # noqa: E402  (the same mix of scripts)

CASES = [
    "", " ", "  ", "Hello world", "Hello  world", " leading space", "trailing space ",
    "The capital of France is Paris. It has 2,148,271 people!",
    "I've been there, you're right, we'll see; they'd know. It's DON'T and 'quoted'.",
    "def f(x):\n    return x ** 2  # comment\n\n\tprint(f(10))",
    "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\nHi!<|im_end|>\n",
    "<|endoftext|><|im_start|><|im_end|> <|im_end|>x<|im_start", "1234567890 3.14159 1e-5 ½ ² ٣ 五",
    "Café déjà vu naïve — “quotes” … ¡hola! ¿qué?", "我爱北京天安门。東京タワー。안녕하세요.",
    "Привет, мир! Ελληνικά ΣΟΦΟΣ עברית العربية हिन्दी", "emoji 🎉👨‍👩‍👧 🇫🇷 ❤️",
    "\u00a0nbsp\u3000ideographic\u2028line\u200bzero", "a\r\nb\rc\n\n\nd   \n  e",
    "https://example.com/path?q=1&x=y#frag user@example.org", "SELECT * FROM t WHERE id = 42;",
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
    "The patient, a 54-year-old woman, presented with fever (38.9 °C) and cough for 3 days.",
    " ".join(["word"] * 100),
    "x" * 1000, " " * 700 + "a", "ab" * 600 + " " + "!?" * 300,  # pieces of hundreds of characters
    "\U0004f587a,x \U000e0001\U0010fffd\U00050000 \x7f\x01\x1b[0m",  # lead bytes and controls without a token
]


def load(path):
    r = gguf.GGUFReader(path)
    f = r.fields
    strs = lambda k: [bytes(f[k].parts[i]).decode("utf-8") for i in f[k].data]
    tokens, merges = strs("tokenizer.ggml.tokens"), strs("tokenizer.ggml.merges")
    types = [int(f["tokenizer.ggml.token_type"].parts[i][0]) for i in f["tokenizer.ggml.token_type"].data]
    return r, tokens, merges, types


def reference(tokens, merges, types):
    vocab = {t: i for i, t in enumerate(tokens)}
    tk = Tokenizer(models.BPE(vocab, [tuple(m.split(" ", 1)) for m in merges]))
    tk.pre_tokenizer = pre_tokenizers.Sequence([pre_tokenizers.Digits(individual_digits=True),
                                                pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)])
    tk.add_special_tokens([AddedToken(t, special=True, normalized=False)
                           for t, ty in zip(tokens, types) if ty in (3, 4)])
    return tk


def random_text(rng):
    out = []
    for _ in range(rng.randint(1, 60)):
        x = rng.random()
        if x < 0.3:
            out.append(rng.choice(" abcdefghijklmnopqrstuvwxyz'0123456789\n"))
        else:
            lo, hi = rng.choice(POOLS)
            c = rng.randint(lo, hi)
            if not 0xD800 <= c <= 0xDFFF:
                out.append(chr(c))
    return "".join(out)


def write_tokenizer(r, out):
    """A GGUF (version 3) of r's tokenizer.* metadata and general.architecture, no tensors."""
    def s(b):
        return struct.pack("<Q", len(b)) + b
    kvs = []
    for name, field in r.fields.items():
        if not (name.startswith("tokenizer.ggml.") or name == "general.architecture"):
            continue
        kvs.append(s(name.encode()) + b"".join(bytes(field.parts[i]) for i in range(len(field.parts)) if i >= 2))
    with open(out, "wb") as f:
        f.write(b"GGUF" + struct.pack("<IQQ", 3, 0, len(kvs)) + b"".join(kvs))


def main():
    r, tokens, merges, types = load(sys.argv[1])
    if sys.argv[2] == "tokenizer":
        write_tokenizer(r, sys.argv[3])
        return
    tk = reference(tokens, merges, types)
    if sys.argv[2] == "ids":
        with open(sys.argv[4], "w") as out:
            for line in open(sys.argv[3], encoding="utf-8").read().split("\n"):
                if line:
                    out.write(" ".join(map(str, tk.encode(line.replace("\\n", "\n")).ids)) + "\n")
        return
    if sys.argv[2] == "cases":
        texts, out = CASES, sys.argv[3]
    else:
        rng = random.Random(int(sys.argv[3]))
        texts, out = [random_text(rng) for _ in range(int(sys.argv[4]))], sys.argv[5]
    with open(out, "w") as f:
        for t in texts:
            f.write("%s\t%s\t0\n" % (t.encode("utf-8").hex(), " ".join(map(str, tk.encode(t).ids))))


if __name__ == "__main__":
    main()
