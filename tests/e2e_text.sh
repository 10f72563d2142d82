#!/usr/bin/env bash
# End to end for a model that takes text (minilm: all-MiniLM-L6-v2's shape, random weights,
# its real vocabulary): party 1's sentences tokenized, looked up in party 0's table through
# the one-hot product, padded, pooled and normalized. The dealer and two online processes
# over loopback must give the clear run's embeddings bit for bit; a sentence in a padded
# batch must get the same bits as alone (the pads' attention bias and pooling weights hide
# them exactly); each embedding has unit norm; wrong text is refused before a key is spent.
#   e2e_text.sh BUILD_DIR SOURCE_DIR
set -u
build=$1
src=$2
source "$src/tests/e2e_common.sh"
w=(--random-weights 7)
printf '%s\n' "Hello, World! Café ΣΟΦΟΣ 我爱北京" "[CLS] short" \
    "The patient, 67, was discharged in stable condition; BP 120/80 mmHg. Follow-up in 2 weeks." >"$work/s.txt"

# Both parties over loopback on the keys in $work/NAME (party 1 with the rest of the
# arguments): party 1's output $work/NAME.npy must be CLEAR's bits.
secure() { # NAME CLEAR WHAT PARTY1-ARGS...
    local name=$1 clear=$2 what=$3 p pid rc1
    shift 3
    p=$(port)
    "$online" --party 0 --keys "$work/$name/p0.bin" --peer 127.0.0.1:$p "${w[@]}" --threads 1 --timeout 60 --quiet \
        >"$work/log0" 2>&1 &
    pid=$!
    "$online" --party 1 --keys "$work/$name/p1.bin" --peer 127.0.0.1:$p "$@" --output "$work/$name.npy" --threads 1 \
        --timeout 60 --quiet >"$work/log1" 2>&1
    rc1=$?
    wait $pid
    [ $? = 0 ] && [ $rc1 = 0 ] && cmp -s "$work/$name.npy" "$clear" && ok ||
        { bad "$what: the secure output differs from the clear run's"; cat "$work/log0" "$work/log1"; }
}

"$dealer" --model minilm --seq 16 --batch 3 --layers 1 --out "$work/k" --quiet >/dev/null || bad "dealer"
"$online" --clear --model minilm --layers 1 --seq 16 "${w[@]}" --text-file "$work/s.txt" --output "$work/clear.npy" \
    --quiet 2>"$work/log" || { bad "clear run"; cat "$work/log"; }
grep -q "sentence 3: its last .* pieces cut (16 tokens a sentence)" "$work/log" && ok ||
    { bad "the cut of sentence 3 is not reported"; cat "$work/log"; }
secure k "$work/clear.npy" "minilm" --text-file "$work/s.txt"

# the weights input once (the table, positions and the embeddings' LayerNorm among them):
# the same bits again
"$dealer" --model minilm --setup "$work/m.key" --out "$work/su" --quiet >/dev/null 2>&1 || bad "dealer --setup"
p=$(port)
"$online" --party 0 --keys "$work/su/p0.bin" --peer 127.0.0.1:$p "${w[@]}" --timeout 30 --quiet >"$work/log0" 2>&1 &
pid=$!
"$online" --party 1 --keys "$work/su/p1.bin" --peer 127.0.0.1:$p --masked-weights "$work/mw.bin" --timeout 30 \
    --quiet >"$work/log1" 2>&1 || { bad "the setup run"; cat "$work/log1"; }
wait $pid
"$dealer" --model minilm --seq 16 --batch 3 --layers 1 --weights-key "$work/m.key" --out "$work/k2" --quiet >/dev/null 2>&1
secure k2 "$work/clear.npy" "minilm, weights input once" --masked-weights "$work/mw.bin" --text-file "$work/s.txt"

# sentence 2 alone (its own 4 tokens, no pads) and in the batch: the same bits; unit norms
"$online" --clear --model minilm --layers 1 "${w[@]}" --text "[CLS] short" --output "$work/one.npy" --quiet ||
    bad "clear run of one sentence"
python3 - "$work/clear.npy" "$work/one.npy" <<'PY' && ok || bad "padding changed a sentence, or a norm is not 1"
import struct, sys
def load(p):
    raw = open(p, "rb").read()
    n = struct.unpack("<H", raw[8:10])[0]
    hdr = eval(raw[10:10 + n].decode())
    v = struct.unpack("<%df" % (len(raw[10 + n:]) // 4), raw[10 + n:])
    return hdr["shape"], v
(b, d), batch = load(sys.argv[1])
shape, one = load(sys.argv[2])
assert (b, d) == (3, 384) and shape == (1, 384), ((b, d), shape)
rows = [batch[i * d:(i + 1) * d] for i in range(b)]
assert list(rows[1]) == list(one), "sentence 2 padded differs from sentence 2 alone"
for r in rows:
    assert abs(sum(x * x for x in r) - 1) < 2e-3, sum(x * x for x in r)
assert rows[0] != rows[2]
PY

# refused before a key is spent: a sentence too few, --input for a text model, both --text
# and --text-file, a vocabulary of another size, text that is not UTF-8
"$dealer" --model minilm --seq 8 --batch 2 --layers 1 --out "$work/r" --quiet >/dev/null
refused() { # WHAT PATTERN ARGS...: party 1 with ARGS stops, says PATTERN, spends nothing
    local what=$1 pat=$2
    shift 2
    "$online" --party 1 --keys "$work/r/p1.bin" --peer 127.0.0.1:1 --output "$work/o.npy" "$@" --quiet >"$work/log" 2>&1
    [ $? != 0 ] && grep -q -- "$pat" "$work/log" && [ "$(key_state "$work/r/p1.bin")" = 0 ] && ok ||
        { bad "$what"; cat "$work/log"; }
}
refused "one sentence for keys of two" "the keys are for 2 sentences, and the text has 1" --text "one"
refused "--input for minilm" "minilm takes text" --input random
refused "--text and --text-file" "one of" --text "a" --text-file "$work/s.txt"
printf "%s\n" "[PAD]" "[UNK]" "[CLS]" "[SEP]" "[MASK]" >"$work/v.txt"
printf 'a\nb\n' >"$work/two.txt"
refused "a vocabulary of 5 tokens" "5 tokens; minilm's vocabulary has 30522" --text-file "$work/two.txt" --vocab "$work/v.txt"
printf 'ok\n\xc0\xaf\n' >"$work/bad.txt"
refused "text that is not UTF-8" "not valid UTF-8" --text-file "$work/bad.txt"
"$dealer" --model minilm --seq 513 --out "$work/s" >"$work/log" 2>&1
[ $? = 2 ] && grep -q "2 to 512 tokens" "$work/log" && ok || { bad "--seq 513"; cat "$work/log"; }

# smollm2 (a Llama from text: SmolLM2's BPE, the table's one-hot product, the last token
# picked by party 1's weights, the tied LM head), one block, random weights: the next token
# of a batch of two prompts of different lengths, secure == clear, and each prompt alone
# gives the same token as in the padded batch
printf '%s\n' "The capital of France is" "def fib(n): return 1 if n < 2 else" >"$work/p.txt"
"$dealer" --model smollm2 --seq 14 --batch 2 --layers 1 --next-token --out "$work/sm" --quiet >/dev/null 2>&1 ||
    bad "smollm2: dealer"
"$online" --clear --model smollm2 --layers 1 --seq 14 --next-token "${w[@]}" --text-file "$work/p.txt" \
    --output "$work/sm-clear.npy" --quiet || bad "smollm2: clear run"
secure sm "$work/sm-clear.npy" "smollm2" --text-file "$work/p.txt"
for i in 1 2; do
    "$online" --clear --model smollm2 --layers 1 --next-token "${w[@]}" --text "$(sed -n ${i}p "$work/p.txt")" \
        --output "$work/sm$i.npy" --quiet
done
python3 - "$work/sm-clear.npy" "$work/sm1.npy" "$work/sm2.npy" <<'PY' && ok || bad "smollm2: padding changed a prompt's next token"
import struct, sys
def ints(p):
    raw = open(p, "rb").read()
    n = struct.unpack("<H", raw[8:10])[0]
    return list(struct.unpack("<%dq" % ((len(raw) - 10 - n) // 8), raw[10 + n:]))
both = ints(sys.argv[1])
assert both == ints(sys.argv[2]) + ints(sys.argv[3]), (both, ints(sys.argv[2]), ints(sys.argv[3]))
PY

# generation: three tokens, each a forward pass over the prompt and the tokens so far; the
# first is the next token above, and secure == clear
"$dealer" --model smollm2 --seq 14 --batch 2 --layers 1 --generate 3 --out "$work/g" --quiet >/dev/null 2>&1 ||
    bad "smollm2 --generate: dealer"
"$online" --clear --model smollm2 --layers 1 --seq 14 --generate 3 "${w[@]}" --text-file "$work/p.txt" \
    --output "$work/g-clear.npy" --quiet || bad "smollm2 --generate: clear run"
secure g "$work/g-clear.npy" "smollm2 --generate" --text-file "$work/p.txt"
python3 - "$work/g-clear.npy" "$work/sm-clear.npy" <<'PY' && ok || bad "smollm2 --generate: not [2][3], or its first tokens are not the next tokens"
import ast, struct, sys
def ints(p):
    raw = open(p, "rb").read()
    n = struct.unpack("<H", raw[8:10])[0]
    return ast.literal_eval(raw[10:10 + n].decode())["shape"], list(struct.unpack("<%dq" % ((len(raw) - 10 - n) // 8), raw[10 + n:]))
(shape, g), (_, nxt) = ints(sys.argv[1]), ints(sys.argv[2])
assert shape == (2, 3) and [g[0], g[3]] == nxt, (shape, g, nxt)
PY
finish
