"""chord info --json --tensors must agree with the gguf package's reader (an independent
implementation) on every file: header facts, every metadata value, the tensor table and the
per-type counts. Files: the default model and every vocabulary file in shared/testdata/vocab."""

import glob
import json
import math
import os
import subprocess
import sys
from collections import defaultdict

import gguf

CHORD = os.environ["CHORD"]
TEST_DATA = os.environ["CHORD_TEST_DATA"]
SHORT_ARRAY = 64  # chord info prints arrays up to this length in full

VALUE_TYPE_NAMES = {
    gguf.GGUFValueType.UINT8: "u8", gguf.GGUFValueType.INT8: "i8",
    gguf.GGUFValueType.UINT16: "u16", gguf.GGUFValueType.INT16: "i16",
    gguf.GGUFValueType.UINT32: "u32", gguf.GGUFValueType.INT32: "i32",
    gguf.GGUFValueType.FLOAT32: "f32", gguf.GGUFValueType.BOOL: "bool",
    gguf.GGUFValueType.STRING: "string", gguf.GGUFValueType.ARRAY: "array",
    gguf.GGUFValueType.UINT64: "u64", gguf.GGUFValueType.INT64: "i64",
    gguf.GGUFValueType.FLOAT64: "f64",
}

failures = []


def check(cond, what):
    if not cond:
        failures.append(what)


def same_number(a, b):
    if isinstance(b, float) or isinstance(a, float):
        return a is not None and (a == b or (math.isnan(a) and math.isnan(b)) or
                                  abs(a - b) <= 1e-12 * max(abs(a), abs(b)))
    return a == b


def field_scalars(field):
    """The values of a field as Python objects, through the reader's own decoding."""
    main_type = field.types[0]
    if main_type == gguf.GGUFValueType.STRING:
        return bytes(field.parts[-1]).decode("utf-8", errors="replace")
    if main_type != gguf.GGUFValueType.ARRAY:
        v = field.parts[-1][0]
        return bool(v) if main_type == gguf.GGUFValueType.BOOL else v.item()
    elem = field.types[1] if len(field.types) > 1 else None
    out = []
    for idx in field.data:
        part = field.parts[idx]
        if elem == gguf.GGUFValueType.STRING:
            out.append(bytes(part).decode("utf-8", errors="replace"))
        elif elem == gguf.GGUFValueType.BOOL:
            out.append(bool(part[0]))
        else:
            out.append(part[0].item())
    return out


def compare_file(path):
    name = os.path.basename(path)
    got = json.loads(subprocess.run([CHORD, "info", "--json", "--tensors", path], check=True,
                                    capture_output=True).stdout)
    reader = gguf.GGUFReader(path)
    check(got["path"] == path, f"{name}: path")
    check(got["file_size"] == os.path.getsize(path), f"{name}: file_size")
    fields = {k: f for k, f in reader.fields.items() if not k.startswith("GGUF.")}
    check(got["version"] == int(reader.fields["GGUF.version"].parts[-1][0]), f"{name}: version")
    check(got["metadata_count"] == len(fields), f"{name}: metadata_count {got['metadata_count']} vs {len(fields)}")
    arch = fields.get("general.architecture")
    check(got["architecture"] == (field_scalars(arch) if arch else ""), f"{name}: architecture")
    check(set(got["metadata"]) == set(fields), f"{name}: metadata keys differ")
    for key, field in fields.items():
        entry = got["metadata"].get(key)
        if entry is None:
            continue
        check(entry["type"] == VALUE_TYPE_NAMES[field.types[0]], f"{name}: {key}: type {entry['type']}")
        want = field_scalars(field)
        if field.types[0] == gguf.GGUFValueType.ARRAY:
            check(entry["count"] == len(field.data), f"{name}: {key}: count")
            if len(field.types) > 1:
                check(entry["element_type"] == VALUE_TYPE_NAMES[field.types[1]],
                      f"{name}: {key}: element type")
            if len(field.data) > SHORT_ARRAY:
                check("value" not in entry, f"{name}: {key}: long array printed in full")
                continue
            check(len(entry["value"]) == len(want) and
                  all(same_number(a, b) if not isinstance(b, str) else a == b
                      for a, b in zip(entry["value"], want)), f"{name}: {key}: values")
        elif isinstance(want, str):
            check(entry["value"] == want, f"{name}: {key}: string value")
        else:
            check(same_number(entry["value"], want), f"{name}: {key}: {entry['value']} vs {want}")

    check(got["tensor_count"] == len(reader.tensors), f"{name}: tensor_count")
    check(got["parameters"] == sum(int(t.n_elements) for t in reader.tensors), f"{name}: parameters")
    types = defaultdict(lambda: {"tensors": 0, "parameters": 0, "bytes": 0})
    for t in reader.tensors:
        u = types[t.tensor_type.name.lower()]
        u["tensors"] += 1
        u["parameters"] += int(t.n_elements)
        u["bytes"] += int(t.n_bytes)
    check(got["types"] == dict(types), f"{name}: types {got['types']} vs {dict(types)}")
    check(len(got["tensors"]) == len(reader.tensors), f"{name}: tensor list length")
    for mine, theirs in zip(got["tensors"], reader.tensors):
        check(mine["name"] == theirs.name, f"{name}: tensor name {mine['name']} vs {theirs.name}")
        check(mine["type"] == theirs.tensor_type.name.lower(), f"{name}: {theirs.name}: type")
        check(mine["shape"] == [int(d) for d in theirs.shape], f"{name}: {theirs.name}: shape")
        check(mine["offset"] == int(theirs.data_offset), f"{name}: {theirs.name}: offset")
        check(mine["bytes"] == int(theirs.n_bytes), f"{name}: {theirs.name}: bytes")
    return len(fields), len(reader.tensors)


def default_model():
    """The file chord picks with no model argument (it must be installed: setup does that)."""
    out = subprocess.run([CHORD, "info", "--json"], check=True, capture_output=True).stdout
    return json.loads(out)["path"]


def main():
    paths = [default_model()] + sorted(glob.glob(os.path.join(TEST_DATA, "vocab", "*.gguf")))
    if len(paths) < 7:
        print(f"expected the default model and 6 vocabulary files, found {paths}")
        return 1
    passed = 0
    for path in paths:
        before = len(failures)
        n_kv, n_tensors = compare_file(path)
        ok = len(failures) == before
        passed += ok
        print(f"{'ok  ' if ok else 'FAIL'} {os.path.basename(path)}: {n_kv} keys, {n_tensors} tensors")
    for f in failures[:50]:
        print("  ", f)
    print(f"{passed} passed, {len(paths) - passed} failed")
    return 0 if passed == len(paths) else 1


if __name__ == "__main__":
    sys.exit(main())
