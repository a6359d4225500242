#!/usr/bin/env python3
"""Regenerates tests/quant/data/ from llama.cpp's ggml, for the quantization tests.

llama.cpp is heavy to install, so the tests do not call it; they compare against what this script
measured and committed:
  reference.json    per encoder chord has and gguf-py lacks (Q4_K, Q5_K, Q6_K, Q8_K) and per data
                    set of tests/quant/quant_data.py: ggml's quantize -> dequantize RMSE and the
                    sha256 of ggml's quantized bytes
  q8_k_blocks.bin   random Q8_K blocks (gguf-py has no Q8_K decoder) ...
  q8_k_values.bin   ... and ggml's dequantization of them, f32

ggml is reached through the libggml-base shared library that the llama-cpp-python package ships
(pip install llama-cpp-python), with ctypes; --lib names another copy of the library.

usage: scripts/make-quant-reference.py [--lib PATH/libggml-base.so]
"""

from __future__ import annotations

import argparse
import ctypes
import hashlib
import importlib.metadata
import importlib.util
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "quant"))
import quant_data  # noqa: E402

# chord name -> (ggml type id, ggml block elems, block bytes, ggml's decoder symbol)
ENCODERS = {
    "q4_k": (12, 256, 144, "dequantize_row_q4_K"),
    "q5_k": (13, 256, 176, "dequantize_row_q5_K"),
    "q6_k": (14, 256, 210, "dequantize_row_q6_K"),
    "q8_k": (15, 256, 292, "dequantize_row_q8_K"),
}
# ggml_quantize_chunk has no case for Q8_K (an intermediate type of the CPU backend's dot
# products); its reference encoder is called directly.
Q8_K_ENCODER = "quantize_row_q8_K_ref"

FLOAT_P = ctypes.POINTER(ctypes.c_float)


def find_library() -> Path:
    spec = importlib.util.find_spec("llama_cpp")
    if spec is None or not spec.submodule_search_locations:
        sys.exit("llama_cpp is not installed (pip install llama-cpp-python), or pass --lib")
    package = Path(list(spec.submodule_search_locations)[0])
    found = sorted(package.rglob("libggml-base.so*")) + sorted(package.rglob("libggml-base.dylib"))
    if not found:
        sys.exit(f"no libggml-base shared library under {package}")
    return found[0]


class Ggml:
    def __init__(self, path: Path):
        self.lib = ctypes.CDLL(str(path))
        self.lib.ggml_quantize_chunk.restype = ctypes.c_size_t
        self.lib.ggml_quantize_chunk.argtypes = [ctypes.c_int, FLOAT_P, ctypes.c_void_p, ctypes.c_int64,
                                                 ctypes.c_int64, ctypes.c_int64, FLOAT_P]
        self.lib.ggml_quantize_requires_imatrix.restype = ctypes.c_bool
        self.lib.ggml_quantize_requires_imatrix.argtypes = [ctypes.c_int]

    def row_function(self, symbol: str, arg_types):
        fn = getattr(self.lib, symbol)
        fn.restype = None
        fn.argtypes = arg_types
        return fn

    def quantize(self, name: str, rows: np.ndarray) -> np.ndarray:
        ggml_id, elems, size, _ = ENCODERS[name]
        rows = np.ascontiguousarray(rows, dtype=np.float32)
        out = np.zeros(rows.size // elems * size, dtype=np.uint8)
        src = rows.ctypes.data_as(FLOAT_P)
        if name == "q8_k":
            encode = self.row_function(Q8_K_ENCODER, [FLOAT_P, ctypes.c_void_p, ctypes.c_int64])
            encode(src, out.ctypes.data, rows.size)
        else:
            assert not self.lib.ggml_quantize_requires_imatrix(ggml_id)
            written = self.lib.ggml_quantize_chunk(ggml_id, src, out.ctypes.data, 0, rows.shape[0],
                                                   rows.shape[1], None)
            assert written == out.size, (name, written, out.size)
        return out

    def dequantize(self, name: str, blocks: np.ndarray) -> np.ndarray:
        _, elems, size, symbol = ENCODERS[name]
        blocks = np.ascontiguousarray(blocks, dtype=np.uint8)
        out = np.zeros(blocks.size // size * elems, dtype=np.float32)
        decode = self.row_function(symbol, [ctypes.c_void_p, FLOAT_P, ctypes.c_int64])
        decode(blocks.ctypes.data, out.ctypes.data_as(FLOAT_P), out.size)
        return out


def llama_cpp_version() -> str:
    try:
        return importlib.metadata.version("llama-cpp-python")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lib", type=Path, help="libggml-base shared library to use")
    args = parser.parse_args()
    lib_path = args.lib or find_library()
    ggml = Ggml(lib_path)

    sets = quant_data.datasets()
    reference = {
        "about": "ggml's quantize -> dequantize RMSE (f64) and sha256 of its blocks on the rows of "
                 "tests/quant/quant_data.py; written by scripts/make-quant-reference.py",
        "llama_cpp_python": llama_cpp_version(),
        "rmse": {},
        "sha256": {},
    }
    for name in ENCODERS:
        reference["rmse"][name] = {}
        reference["sha256"][name] = {}
        for set_name, rows in sets.items():
            blocks = ggml.quantize(name, rows)
            back = ggml.dequantize(name, blocks)
            reference["rmse"][name][set_name] = quant_data.rmse(back, rows)
            reference["sha256"][name][set_name] = hashlib.sha256(blocks.tobytes()).hexdigest()
            print(f"{name} {set_name:8} rmse {reference['rmse'][name][set_name]:.8g}")

    quant_data.DATA_DIR.mkdir(parents=True, exist_ok=True)
    with open(quant_data.REFERENCE_JSON, "w") as f:
        json.dump(reference, f, indent=2)
        f.write("\n")

    q8_k = quant_data.q8_k_sample_blocks()
    q8_k.tofile(quant_data.Q8_K_BLOCKS)
    ggml.dequantize("q8_k", q8_k).tofile(quant_data.Q8_K_VALUES)
    print(f"wrote {quant_data.DATA_DIR} (ggml from {lib_path})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
