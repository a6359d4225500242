"""chord's reference encoders: byte-identical to gguf-py where gguf-py has the same algorithm
(Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, F16, BF16), and for every encoder a quantize -> dequantize round
trip whose RMSE is no worse than the reference quantizer's on the same seeded rows
(quant_data.datasets): gguf-py's, measured here, or llama.cpp's (Q4_K, Q5_K, Q6_K, Q8_K),
measured by scripts/make-quant-reference.py and committed in data/reference.json together with a
hash of llama.cpp's bytes, which chord's must equal.

usage: test_quantize.py QUANT_TOOL
"""

from __future__ import annotations

import hashlib
import json
import sys

import numpy as np
from gguf import GGMLQuantizationType
from gguf.quants import dequantize as gguf_dequantize
from gguf.quants import quantize as gguf_quantize

import quant_data
from quant_data import QuantTool

# gguf-py runs ggml's reference algorithm for these, so the bytes must match, not just the error.
SAME_BYTES_AS_GGUF_PY = ["q4_0", "q4_1", "q5_0", "q5_1", "q8_0", "bf16", "f16"]
# Allowed slack over the reference RMSE: rounding noise only.
RMSE_RELATIVE_SLACK = 1.0001
RMSE_ABSOLUTE_SLACK = 1e-9

failures: list[str] = []


def check(ok: bool, message: str) -> None:
    if not ok:
        failures.append(message)
        print("FAIL", message)


def edge_values() -> np.ndarray:
    """Values where f16/bf16 rounding is delicate: ties, subnormals, overflow, signed zeros."""
    f16_ties = np.array([1 + 2.0**-11, 1 + 3 * 2.0**-11, 2.0**-25, 1.5 * 2.0**-24, 65504, 65519.996,
                         65520, 1e10, 2.0**-14, 1023.5 * 2.0**-24, 0.0, -0.0, 1e-30])
    bf16_ties = np.array([0x3F808000, 0x3F818000, 0x3F807FFF, 0x7F7FFFFF, 0x00008000, 0x00018000],
                         dtype=np.uint32).view(np.float32)
    values = np.concatenate([f16_ties, -f16_ties, bf16_ties, -bf16_ties, [np.inf, -np.inf]])
    values = values.astype(np.float32)
    return np.resize(values, (values.size + 31) // 32 * 32)  # whole blocks of every 32-type


def gguf_bytes(values: np.ndarray, name: str) -> np.ndarray:
    with np.errstate(all="ignore"):
        out = gguf_quantize(values, GGMLQuantizationType[name.upper()])
    return np.ascontiguousarray(out).view(np.uint8).ravel()


def check_same_bytes(tool: QuantTool, sets: dict[str, np.ndarray]) -> None:
    cases = dict(sets, edges=edge_values())
    for name in SAME_BYTES_AS_GGUF_PY:
        for set_name, values in cases.items():
            if set_name == "edges" and name not in ("f16", "bf16"):
                continue  # the block types expect finite input
            got = tool.quantize(name, values)
            want = gguf_bytes(values, name)
            same = got.size == want.size and np.array_equal(got, want)
            where = "" if same or got.size != want.size else f" from byte {np.flatnonzero(got != want)[0]}"
            check(same, f"{name} on {set_name}: bytes differ from gguf-py{where}")
    # NaN: chord keeps it a quiet NaN; its payload bits are not compared (numpy's differs by path).
    nan = np.array([np.nan, -np.nan, np.float32(np.uint32(0x7F800001).view(np.float32))], dtype=np.float32)
    for name in ("f16", "bf16"):
        back = tool.dequantize(name, tool.quantize(name, nan))
        check(bool(np.all(np.isnan(back))), f"{name}: NaN did not survive the round trip: {back}")


def load_reference() -> dict:
    with open(quant_data.REFERENCE_JSON) as f:
        return json.load(f)


def reference_rmse(name: str, set_name: str, values: np.ndarray, committed: dict) -> tuple[float, str] | None:
    if name in committed["rmse"]:
        return committed["rmse"][name][set_name], "llama.cpp"
    gguf_type = GGMLQuantizationType.__members__.get(name.upper())
    if gguf_type is None:
        return None
    try:
        with np.errstate(all="ignore"):
            back = gguf_dequantize(gguf_quantize(values, gguf_type), gguf_type)
    except NotImplementedError:
        return None
    return quant_data.rmse(back, values), "gguf-py"


def check_round_trips(tool: QuantTool, sets: dict[str, np.ndarray]) -> None:
    committed = load_reference()
    encoders = [t for t in tool.types() if t.has_quantize]
    check(len(encoders) > 0, "no encoders")
    print(f"{'type':6} {'set':8} {'chord rmse':>14} {'reference rmse':>14}  reference")
    for t in encoders:
        for set_name, values in sets.items():
            blocks = tool.quantize(t.name, values)
            ours = quant_data.rmse(tool.dequantize(t.name, blocks), values)
            ref = reference_rmse(t.name, set_name, values, committed)
            if ref is None:
                check(False, f"{t.name}: no reference quantizer; add it to make-quant-reference.py")
                continue
            theirs, source = ref
            print(f"{t.name:6} {set_name:8} {ours:14.8g} {theirs:14.8g}  {source}")
            check(ours <= theirs * RMSE_RELATIVE_SLACK + RMSE_ABSOLUTE_SLACK,
                  f"{t.name} on {set_name}: RMSE {ours!r} worse than {source}'s {theirs!r}")
            digest = committed.get("sha256", {}).get(t.name, {}).get(set_name)
            if digest is not None:
                check(hashlib.sha256(blocks.tobytes()).hexdigest() == digest,
                      f"{t.name} on {set_name}: bytes differ from llama.cpp's")


def main() -> int:
    tool = QuantTool(sys.argv[1])
    sets = quant_data.datasets()
    check_same_bytes(tool, sets)
    check_round_trips(tool, sets)
    # All-zero input takes the encoders' degenerate branch (no scale to divide by): it must decode
    # to exact zeros.
    zeros = np.zeros(2 * 4096, dtype=np.float32)
    for t in tool.types():
        if t.has_quantize:
            back = tool.dequantize(t.name, tool.quantize(t.name, zeros))
            check(back.size == zeros.size and not np.any(back), f"{t.name}: zeros do not round-trip")
    # A type without an encoder is refused.
    for t in tool.types():
        if not t.has_quantize:
            check(tool.rejects(["quantize", t.name], bytes(4 * t.block_elems)),
                  f"{t.name}: has no encoder but the tool accepted it")
    # An input that is not a whole number of blocks is refused.
    check(tool.rejects(["quantize", "q4_k"], bytes(4 * 255)), "255 floats accepted as q4_k")
    print(f"{len(failures)} failure(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
