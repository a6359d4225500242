#!/usr/bin/env python3
"""Records which type llama.cpp's quantizer gives each tensor, for tests/tools/test_quantize.py.

For a few small synthetic models (chord synth --type F32, several layers so that the per-layer
rules show), runs llama.cpp's llama_model_quantize (from the llama-cpp-python package) for each
file type and writes tensor -> type per file type into a small JSON file. The test then checks
that chord quantize chooses the same types.

usage: scripts/make-quantize-reference.py --chord build/chord [--out FILE]
"""
import argparse
import json
import os
import re
import subprocess
import sys
import tempfile

import gguf
import llama_cpp

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_OUT = os.path.join(ROOT, "tests", "tools", "data", "quantize-reference.json")
DEFAULT_VOCAB_DIR = os.path.join(ROOT, "..", "shared", "testdata", "vocab")

# Each case is one synthetic model; the dims exercise the rules (see the notes).
CASES = [
    {"name": "llama-8", "arch": "llama", "vocab": "ggml-vocab-llama-spm.gguf",
     "dims": "n_embd=256,n_layer=8,n_head=4,n_head_kv=2,n_ff=512",
     "note": "untied output; use_more_bits over 8 layers"},
    {"name": "qwen2-9-tied", "arch": "qwen2", "vocab": "ggml-vocab-gpt-2.gguf",
     "dims": "n_embd=256,n_layer=9,n_head=4,n_head_kv=2,n_ff=768,tied=1",
     "note": "tied embeddings take the output's type; biases stay f32"},
    {"name": "gemma3-8", "arch": "gemma3", "vocab": "ggml-vocab-llama-spm.gguf",
     "dims": "n_embd=640,n_layer=8,n_head=4,n_head_kv=1,head_dim=256,n_ff=2048",
     "note": "gemma3-270m's widths: rows of 640 fall back from k-quants"},
    {"name": "llama-odd", "arch": "llama", "vocab": "ggml-vocab-llama-spm.gguf",
     "dims": "n_embd=320,n_layer=4,n_head=5,n_head_kv=1,n_ff=864",
     "note": "rows that are multiples of 32 but not of 256"},
    {"name": "qwen2-f16-fallback", "arch": "qwen2", "vocab": "ggml-vocab-gpt-2.gguf",
     "dims": "n_embd=200,n_layer=2,n_head=5,n_head_kv=1,n_ff=400",
     "note": "rows that are not multiples of 32 fall back to f16"},
]

FILE_TYPES = ["F16", "BF16", "Q8_0", "Q4_0", "Q4_K_S", "Q4_K_M", "Q5_K_S", "Q5_K_M", "Q6_K"]
LLAMA_FTYPES = {
    "F16": llama_cpp.LLAMA_FTYPE_MOSTLY_F16,
    "BF16": llama_cpp.LLAMA_FTYPE_MOSTLY_BF16,
    "Q8_0": llama_cpp.LLAMA_FTYPE_MOSTLY_Q8_0,
    "Q4_0": llama_cpp.LLAMA_FTYPE_MOSTLY_Q4_0,
    "Q4_K_S": llama_cpp.LLAMA_FTYPE_MOSTLY_Q4_K_S,
    "Q4_K_M": llama_cpp.LLAMA_FTYPE_MOSTLY_Q4_K_M,
    "Q5_K_S": llama_cpp.LLAMA_FTYPE_MOSTLY_Q5_K_S,
    "Q5_K_M": llama_cpp.LLAMA_FTYPE_MOSTLY_Q5_K_M,
    "Q6_K": llama_cpp.LLAMA_FTYPE_MOSTLY_Q6_K,
}


def tensor_types(path):
    reader = gguf.GGUFReader(path)
    return {t.name: t.tensor_type.name.lower() for t in reader.tensors}


@llama_cpp.llama_log_callback
def quiet_log(level, text, user_data):
    """llama.cpp logs every tensor it quantizes; only errors (GGML_LOG_LEVEL_ERROR) matter."""
    if level == 4:
        sys.stderr.write(text.decode(errors="replace"))


def write_json(result, path):
    """Indented JSON with each list of names or types on one line, so diffs stay readable."""
    text = json.dumps(result, indent=1)
    text = re.sub(r"\[\s+([^\[\]{}]*?)\s+\]",
                  lambda m: "[" + " ".join(m.group(1).split()) + "]", text)
    with open(path, "w") as f:
        f.write(text + "\n")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chord", required=True, help="the chord binary")
    parser.add_argument("--vocab-dir", default=DEFAULT_VOCAB_DIR)
    parser.add_argument("--out", default=DEFAULT_OUT)
    args = parser.parse_args()

    llama_cpp.llama_log_set(quiet_log, None)
    llama_cpp.llama_backend_init()
    result = {
        "generator": "scripts/make-quantize-reference.py",
        "llama_cpp_python": llama_cpp.__version__,
        "file_types": FILE_TYPES,
        "cases": [],
    }
    with tempfile.TemporaryDirectory() as tmp:
        for case in CASES:
            source = os.path.join(tmp, case["name"] + "-f32.gguf")
            subprocess.run([args.chord, "synth", "-q", "--arch", case["arch"], "--dims",
                            case["dims"], "--vocab", os.path.join(args.vocab_dir, case["vocab"]),
                            "--type", "F32", "--seed", "0", "-o", source], check=True)
            names = [t.name for t in gguf.GGUFReader(source).tensors]
            entry = dict(case, tensors=names, types={})
            for file_type in FILE_TYPES:
                out = os.path.join(tmp, f"{case['name']}-{file_type}.gguf")
                params = llama_cpp.llama_model_quantize_default_params()
                params.ftype = LLAMA_FTYPES[file_type]
                params.nthread = 1
                rc = llama_cpp.llama_model_quantize(source.encode(), out.encode(), params)
                if rc != 0:
                    sys.exit(f"llama.cpp refused {case['name']} as {file_type} (rc {rc}): "
                             "chord synth's file is incomplete")
                types = tensor_types(out)
                entry["types"][file_type] = [types[name] for name in names]
                os.unlink(out)
                print(f"{case['name']:20s} {file_type:7s} ok", file=sys.stderr)
            result["cases"].append(entry)
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    write_json(result, args.out)
    print(f"wrote {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
