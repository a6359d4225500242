"""chord's reference decoders against gguf-py's numpy decoders (and ggml's, for Q8_K), bit for
bit, on random blocks; and chord's dtype table against gguf-py's.

Blocks are uniformly random bytes, so f16 scales take every value, subnormals, infinities and NaNs
included. Outputs are compared as bit patterns, except that any NaN equals any NaN: NaN payloads
depend on how numpy converts f16 (software or F16C), not on the format.

usage: test_dequant.py QUANT_TOOL
"""

from __future__ import annotations

import sys

import numpy as np
from gguf import GGML_QUANT_SIZES, GGMLQuantizationType
from gguf.quants import dequantize as gguf_dequantize

import quant_data
from quant_data import ChordType, QuantTool

BLOCKS_SMALL = 4096   # blocks per 32-element type
BLOCKS_K = 4096       # blocks per 256-element type
SCALAR_ELEMS = 65536  # elements per scalar type (F32, F16, BF16)

# gguf-py lists Q8_1 as 40 bytes, which is stale: ggml's block_q8_1 is two f16 (d, s) and 32 int8,
# 36 bytes, as in ir/dtype.def.
GGUF_PY_STALE_SIZES = {"q8_1"}

failures: list[str] = []


def check(ok: bool, message: str) -> None:
    if not ok:
        failures.append(message)
        print("FAIL", message)


def first_mismatch(got: np.ndarray, want: np.ndarray) -> int | None:
    """Index of the first element whose bits differ (any NaN matching any NaN), else None."""
    if got.shape != want.shape:
        return -1
    same = (got.view(np.uint32) == want.view(np.uint32)) | (np.isnan(got) & np.isnan(want))
    bad = np.flatnonzero(~same)
    return int(bad[0]) if bad.size else None


def check_table(types: list[ChordType]) -> None:
    by_id = {t.ggml_id: t for t in types}
    for t in types:
        gguf_type = GGMLQuantizationType.__members__.get(t.name.upper())
        if gguf_type is None:
            print(f"note: {t.name} is not in gguf-py; table entry not checked")
            continue
        check(gguf_type.value == t.ggml_id, f"{t.name}: ggml id {t.ggml_id}, gguf-py {gguf_type.value}")
        if t.name in GGUF_PY_STALE_SIZES:
            continue
        sizes = GGML_QUANT_SIZES[gguf_type]
        check(sizes == (t.block_elems, t.block_bytes),
              f"{t.name}: block (elems, bytes) = {(t.block_elems, t.block_bytes)}, gguf-py {sizes}")
    for gguf_type in GGMLQuantizationType:
        check(gguf_type.value in by_id, f"gguf-py type {gguf_type.name} ({gguf_type.value}) missing")


def random_blocks(t: ChordType) -> np.ndarray:
    count = SCALAR_ELEMS if t.block_elems == 1 else BLOCKS_SMALL if t.block_elems == 32 else BLOCKS_K
    rng = np.random.default_rng(1000 + t.ggml_id)
    return rng.integers(0, 256, (count, t.block_bytes), dtype=np.uint8)


def check_decoder(tool: QuantTool, t: ChordType) -> None:
    if t.name == "q8_k":  # not in gguf-py: against ggml's output, committed under data/
        blocks = np.fromfile(quant_data.Q8_K_BLOCKS, dtype=np.uint8).reshape(-1, t.block_bytes)
        want = np.fromfile(quant_data.Q8_K_VALUES, dtype=np.float32)
        source = "ggml"
    else:
        blocks = random_blocks(t)
        with np.errstate(all="ignore"):  # inf * 0 and friends are part of the test
            want = gguf_dequantize(blocks, GGMLQuantizationType[t.name.upper()]).astype(np.float32)
        want = want.ravel()
        source = "gguf-py"
    got = tool.dequantize(t.name, blocks)
    bad = first_mismatch(got, want)
    if bad is None:
        print(f"ok   {t.name:8} {blocks.shape[0]:6} blocks bit-identical to {source}")
        return
    if bad < 0:
        check(False, f"{t.name}: {got.size} values, {source} gives {want.size}")
        return
    block = bad // t.block_elems
    check(False, f"{t.name}: element {bad} (block {block}, bytes {blocks[block].tobytes().hex()}) "
                 f"is {got[bad]!r}, {source} gives {want[bad]!r}")


def main() -> int:
    tool = QuantTool(sys.argv[1])
    types = tool.types()
    check_table(types)
    decoders = [t for t in types if t.has_dequantize]
    check(len(decoders) > 0, "no decoders")
    for t in decoders:
        check_decoder(tool, t)
    # A type without a decoder is refused, not decoded as garbage.
    for t in types:
        if not t.has_dequantize:
            check(tool.rejects(["dequantize", t.name], bytes(t.block_bytes)),
                  f"{t.name}: has no decoder but the tool accepted it")
    # A partial block is refused.
    check(tool.rejects(["dequantize", "q4_0"], bytes(17)), "a 17-byte q4_0 input was accepted")
    print(f"{len(failures)} failure(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
