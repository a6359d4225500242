"""chord info from a user's side: help, bad arguments, bad files and the default-model lookup
give a clear message on stderr and the right exit status, never a crash or partial output."""

import os
import subprocess
import sys
import tempfile

CHORD = os.environ["CHORD"]
TEST_DATA = os.environ["CHORD_TEST_DATA"]
VOCAB = os.path.join(TEST_DATA, "vocab", "ggml-vocab-gpt-2.gguf")

results = []


def run(args, env=None):
    return subprocess.run([CHORD] + args, capture_output=True, text=True, env=env)


def case(name, proc, rc, stderr_has=(), stdout_has=()):
    ok = proc.returncode == rc and all(s in proc.stderr for s in stderr_has) and all(
        s in proc.stdout for s in stdout_has)
    if rc != 0:
        ok = ok and proc.stdout == ""  # nothing half-printed on failure
    results.append(ok)
    print(f"{'ok  ' if ok else 'FAIL'} {name}")
    if not ok:
        print(f"     rc={proc.returncode} stdout={proc.stdout[:300]!r} stderr={proc.stderr[:300]!r}")


with tempfile.TemporaryDirectory() as tmp:
    case("--help", run(["info", "--help"]), 0, stdout_has=["usage: chord info", "--tensors", "--json"])
    case("top-level --help", run(["--help"]), 0, stdout_has=["info", "quantize", "synth"])
    case("unknown command", run(["frobnicate"]), 2, stderr_has=["unknown command 'frobnicate'"])
    case("unknown option", run(["info", "--bogus"]), 2, stderr_has=["chord info --help"])
    case("two models", run(["info", VOCAB, VOCAB]), 2, stderr_has=["expected one MODEL"])
    case("missing file", run(["info", os.path.join(tmp, "nope.gguf")]), 1,
         stderr_has=["nope.gguf", "cannot open"])
    case("a directory", run(["info", tmp]), 1, stderr_has=["not a regular file"])
    text = os.path.join(tmp, "text.gguf")
    with open(text, "w") as f:
        f.write("hello world, not a model\n")
    case("not GGUF", run(["info", text]), 1, stderr_has=["text.gguf: offset 0: not a GGUF file",
                                                        'magic is "hell"'])
    with open(VOCAB, "rb") as f:
        head = f.read(4096)
    cut = os.path.join(tmp, "cut.gguf")
    with open(cut, "wb") as f:
        f.write(head)
    case("cut inside the vocabulary", run(["info", cut]), 1,
         stderr_has=["cut.gguf: offset 496: value of 'tokenizer.ggml.tokens'", "does not fit"])
    with open(cut, "wb") as f:
        f.write(head[:20])
    case("cut inside the header", run(["info", cut]), 1,
         stderr_has=["cut.gguf: offset 16: truncated: the metadata count needs 8 bytes"])
    env = dict(os.environ, CHORD_MODEL=os.path.join(tmp, "absent.gguf"))
    case("default model missing", run(["info"], env=env), 1,
         stderr_has=["absent.gguf", "scripts/setup.sh"])
    env = dict(os.environ, CHORD_MODEL=VOCAB)
    case("CHORD_MODEL", run(["info"], env=env), 0, stdout_has=["architecture:  gpt2", "50257 tokens"])
    case("--tensors text", run(["info", "--tensors"]), 0, stdout_has=["tensor list", "token_embd.weight"])

passed = sum(results)
print(f"{passed} passed, {len(results) - passed} failed")
sys.exit(0 if passed == len(results) else 1)
