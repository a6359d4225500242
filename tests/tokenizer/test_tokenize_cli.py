"""chord tokenize: llama-tokenize's flags and output (ids on one line with --ids), the default
model, prompt sources and escapes, and the errors a user can make, each with a clear message."""
import os
import subprocess
import sys
import tempfile

CHORD = os.environ["CHORD"]
VOCAB = os.path.join(os.environ["CHORD_TEST_DATA"], "vocab")
GPT2 = os.path.join(VOCAB, "ggml-vocab-gpt-2.gguf")
SPM = os.path.join(VOCAB, "ggml-vocab-llama-spm.gguf")
failures = []


def run(*args, stdin=None):
    r = subprocess.run([CHORD, "tokenize", *args], input=stdin, capture_output=True)
    return r.returncode, r.stdout.decode("utf-8", "replace"), r.stderr.decode("utf-8", "replace")


def check(what, ok, detail=""):
    print(("ok   " if ok else "FAIL ") + what)
    if not ok:
        failures.append(what)
        if detail:
            print("     " + detail.replace("\n", "\n     "))


rc, out, err = run("-m", GPT2, "-p", "Hello world")
check("default output: one 'ID -> PIECE' line per token",
      rc == 0 and out == " 15496 -> 'Hello'\n   995 -> ' world'\n", repr(out) + err)
rc, out, err = run("-m", GPT2, "-p", "Hello world", "--ids")
check("--ids: one line, separated by spaces", rc == 0 and out == "15496 995\n", repr(out))
rc, out, err = run("-m", GPT2, "-p", "Hello world", "--ids", "--show-count")
check("--show-count", rc == 0 and out == "15496 995\nTotal number of tokens: 2\n", repr(out))
rc, out, err = run("-m", SPM, "-p", "Hello world", "--ids")
check("BOS where the model adds one", rc == 0 and out == "1 15043 3186\n", repr(out))
rc, out, err = run("-m", SPM, "-p", "Hello world", "--ids", "--no-bos")
check("--no-bos", rc == 0 and out == "15043 3186\n", repr(out))
rc, out, err = run("-m", SPM, "-p", "<s>", "--ids")
check("special tokens parsed by default", rc == 0 and out == "1 1\n", repr(out))
rc, out, err = run("-m", SPM, "-p", "<s>", "--ids", "--no-parse-special")
check("--no-parse-special", rc == 0 and out == "1 529 29879 29958\n", repr(out))
rc, out, err = run("-m", SPM, "-p", "<s>x")
check("control pieces are shown", rc == 0 and out.startswith("     1 -> '<s>'\n     1 -> '<s>'\n"),
      repr(out))
rc, out, err = run("-m", GPT2, "-p", "a\\nb", "--ids")
check("escapes processed like llama-tokenize", rc == 0 and out == "64 198 65\n", repr(out))
rc, out, err = run("-m", GPT2, "-p", "a\\nb", "--ids", "--no-escape")
check("--no-escape", rc == 0 and out == "64 59 46803\n", repr(out))
rc, out, err = run("-m", GPT2, "--stdin", "--ids", stdin=b"Hello world")
check("--stdin", rc == 0 and out == "15496 995\n", repr(out))
with tempfile.NamedTemporaryFile(suffix=".txt") as f:
    f.write(b"Hello world")
    f.flush()
    rc, out, err = run("-m", GPT2, "-f", f.name, "--ids")
    check("-f FILE", rc == 0 and out == "15496 995\n", repr(out))
rc, out, err = run("-m", GPT2, "--stdin", "--ids", stdin=b"\xff")
check("invalid UTF-8 from stdin", rc == 0 and out == "4210\n", repr(out))

rc, out, err = run("-p", "Hello", "--ids")
if rc == 1 and "default model is not installed" in err:
    print("skip default model: not installed")
else:
    check("no -m: the default model (Gemma 3)", rc == 0 and out == "2 9259\n", repr(out) + err)

rc, out, err = run("-m", GPT2)
check("no prompt: usage error naming the sources", rc == 2 and "-p TEXT" in err, err)
rc, out, err = run("-m", GPT2, "-p", "x", "--stdin")
check("two prompt sources: usage error", rc == 2 and "mutually exclusive" in err, err)
rc, out, err = run("-m", GPT2, "-p", "x", "--bogus")
check("unknown option: usage error", rc == 2 and "chord tokenize --help" in err, err)
rc, out, err = run("-m", "/nonexistent.gguf", "-p", "x")
check("missing model: error naming the file", rc == 1 and "/nonexistent.gguf" in err, err)
rc, out, err = run("-m", GPT2, "-f", "/nonexistent.txt")
check("missing prompt file: error naming it", rc == 1 and "/nonexistent.txt" in err, err)
rc, out, err = run("--help")
check("--help lists the flags", rc == 0 and all(f in out for f in (
    "--ids", "--no-bos", "--no-parse-special", "--show-count", "--stdin", "-f, --file")), out)

# An unknown pre-tokenizer is an error that names it, not a silent fallback.
try:
    import gguf
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "unknown-pre.gguf")
        reader = gguf.GGUFReader(GPT2)
        writer = gguf.GGUFWriter(path, "gpt2")
        for name, field in reader.fields.items():
            if name.startswith("GGUF.") or name == "general.architecture":
                continue
            value = "no-such-pre" if name == "tokenizer.ggml.pre" else field.contents()
            sub = field.types[-1] if field.types[0] == gguf.GGUFValueType.ARRAY else None
            writer.add_key_value(name, value, field.types[0], sub_type=sub)
        writer.write_header_to_file()
        writer.write_kv_data_to_file()
        writer.close()
        rc, out, err = run("-m", path, "-p", "x")
        check("unknown tokenizer.ggml.pre: error naming it", rc == 1 and "'no-such-pre'" in err,
              err)
except ImportError:
    print("skip unknown pre-tokenizer: the gguf package is not installed")

if failures:
    print(f"{len(failures)} failed")
    sys.exit(1)
print("all passed")
