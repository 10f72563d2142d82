#!/usr/bin/env python3
"""The reference for fss_wordpiece (io/wordpiece.c): all-MiniLM-L6-v2's own tokenizer.json
run by Hugging Face's `tokenizers` library, without padding, truncated at 256 tokens as
sentence-transformers does. Test and benchmark only; the C code never runs Python.

    wordpiece_ref.py TOKENIZER_JSON cases OUT.tsv          the fixed cases (tests/data)
    wordpiece_ref.py TOKENIZER_JSON random SEED N OUT.tsv  N fresh random texts
    wordpiece_ref.py TOKENIZER_JSON all-code-points OUT.tsv  "a" c "b" for every code point c

Each line of OUT.tsv: the text's UTF-8 bytes in hex, a tab, the ids (space-separated),
a tab, how many pieces truncation cut. The vocabulary file beside TOKENIZER_JSON
(vocab.txt) must give every token the same id; this checks it."""
import json
import os
import random
import sys

from tokenizers import Tokenizer

MAX_TOKENS = 256

CASES = [
    "",
    "   ",
    "Hello, World!",
    "The quick brown fox jumps over the lazy dog.",
    "Patient, 67 y/o male, presents w/ acute chest pain (onset 2h); BP 150/95 mmHg, HR 110 bpm. "
    "Hx: T2DM, HTN. Rx: aspirin 325 mg PO, nitroglycerin 0.4 mg SL q5min x3.",
    "Café déjà vu, naïve résumé, Ångström, façade, coöperate, jalapeño.",
    "ΟΔΥΣΣΕΥΣ ΣΟΦΟΣ ΚΑΙ ΠΟΛΥΤΡΟΠΟΣ. Σίσυφος, ΣΊΣΥΦΟΣ.",
    "我爱北京天安门，中文分词测试。",
    "こんにちは世界！カタカナとひらがな、漢字。",
    "안녕하세요, 세계! 한국어 토큰화.",
    "Привет, мир! ЁЖИК в тумане.",
    "مرحبا بالعالم، هذا اختبار.",
    "שלום עולם",
    "नमस्ते दुनिया, यह एक परीक्षण है।",
    "สวัสดีครับ ภาษาไทย",
    "İstanbul ıi IĞDIR Iİ",
    "Straße STRASSE ẞ",
    "ﬁnance ﬂow ﬀ",
    "ＡＢＣ１２３ full-width",
    "∑ x² ≤ ∞, ∫ f(x) dx ≈ 3.14159",
    "Ω Å K (ohm, angstrom, kelvin signs)",
    "e\u0301\u0323 a\u0323\u0301 combining marks in both orders",
    "I ❤️ 🍕 and 👨\u200d👩\u200d👧 family 🎉🎉",
    "zero\u200bwidth\u200cnon\u200djoiner\ufeffbom\u2060word-joiner",
    "soft\u00adhyphen and\u200e marks\u200f",
    "\x00nul \x01\x02\x7f controls\tand\nnewlines\r\nand\x0bvt\x0cff",
    "replacement \ufffd char",
    "private \ue000\uf8ff use and \U000f0000 plane 15",
    "unassigned \u0378 \U000e0080 characters",
    "a\u00a0b\u3000c\u1680d\u2028e\u2029f\u0085g\u202fh\u205fi",
    "a" * 100,
    "a" * 101,
    "é" * 101,
    "supercalifragilisticexpialidocious antidisestablishmentarianism pneumonoultramicroscopic",
    "[CLS] hello [SEP] [MASK] [PAD] [UNK] [cls] [Mask] [SEP",
    "x[SEP]y[MASK][MASK]z",
    "def f(x):\n    return x ** 2 // 3  # comment\nprint(f\"{f(7)!r}\")",
    "https://example.com/a?b=c&d=e#frag user@example.org",
    "3.14159 1,000,000 $5 50% 2^10 ~tilde `tick` |pipe| <tag> {brace} 100€ £3 ¥9",
    "“quotes” ‘single’ «guillemets» — em – en … ellipsis ¡hola! ¿qué?",
    "Ⅻ ① ½ ²³ ﹏ ‿ ⁀ ・ ｡",
    "𠀀𠀁 𪜀 𫝀 𫠠 𬺰 丽 CJK extensions",
    " ".join(["The patient was discharged in stable condition."] * 40),
    "word " * 300,
]

POOLS = [
    (0x20, 0x7e), (0xa0, 0xff), (0x100, 0x24f), (0x300, 0x36f), (0x370, 0x3ff), (0x400, 0x4ff),
    (0x590, 0x5ff), (0x600, 0x6ff), (0x900, 0x97f), (0xe00, 0xe7f), (0x1100, 0x11ff),
    (0x1e00, 0x1eff), (0x2000, 0x206f), (0x20a0, 0x20cf), (0x2100, 0x214f), (0x2200, 0x22ff),
    (0x3000, 0x303f), (0x3040, 0x30ff), (0x4e00, 0x9fff), (0xac00, 0xd7a3), (0xf900, 0xfaff),
    (0xfe00, 0xfe6f), (0xff00, 0xffef), (0x1f300, 0x1f6ff), (0x20000, 0x2a6df), (0x0, 0x1f),
]


def random_text(rng):
    out = []
    for _ in range(rng.randint(1, 60)):
        r = rng.random()
        if r < 0.35:
            out.append(rng.choice(" abcdefghijklmnopqrstuvwxyz"))
        elif r < 0.45:
            out.append(" ")
        else:
            lo, hi = rng.choice(POOLS)
            c = rng.randint(lo, hi)
            if 0xd800 <= c <= 0xdfff:
                continue
            out.append(chr(c))
    return "".join(out)


def main():
    tok_path = sys.argv[1]
    tok = Tokenizer.from_file(tok_path)
    tok.no_padding()
    tok.enable_truncation(MAX_TOKENS)
    vocab_txt = os.path.join(os.path.dirname(tok_path), "vocab.txt")
    with open(vocab_txt, encoding="utf-8") as f:
        lines = [l.rstrip("\r\n").rstrip() for l in f]
    vocab = tok.get_vocab()
    for i, t in enumerate(lines):
        if vocab.get(t) != i:
            sys.exit("vocab.txt line %d (%r) is not the tokenizer's id %r" % (i, t, vocab.get(t)))
    if sys.argv[2] == "cases":
        texts, out = CASES, sys.argv[3]
    elif sys.argv[2] == "all-code-points":
        texts = ["a" + chr(c) + "b" for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF]
        out = sys.argv[3]
    else:
        rng = random.Random(int(sys.argv[3]))
        texts, out = [random_text(rng) for _ in range(int(sys.argv[4]))], sys.argv[5]
    untruncated = Tokenizer.from_file(tok_path)
    untruncated.no_padding()
    untruncated.no_truncation()
    with open(out, "w") as f:
        for i in range(0, len(texts), 20000):
            part = texts[i:i + 20000]
            for t, e, full in zip(part, tok.encode_batch(part), untruncated.encode_batch(part)):
                f.write("%s\t%s\t%d\n" % (t.encode("utf-8").hex(), " ".join(map(str, e.ids)), len(full.ids) - len(e.ids)))


if __name__ == "__main__":
    main()
