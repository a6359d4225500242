"""chord template from a user's side: where the template and the special tokens come from (the
model's own template, the built-in for its architecture, a file, a built-in by name), the input
forms (a messages array, a request body, --tools, standard input), and that every failure prints
nothing on stdout and says why on stderr, with the template's line, column and caret."""

import json
import os
import subprocess
import sys
import tempfile

CHORD = os.environ["CHORD"]
TEST_DATA = os.environ["CHORD_TEST_DATA"]
HERE = os.path.dirname(os.path.abspath(__file__))
CONVERSATIONS = os.path.join(HERE, "data", "conversations")
TEMPLATES = os.path.join(TEST_DATA, "templates")
VOCAB = os.path.join(TEST_DATA, "vocab")

with open(os.path.join(HERE, "data", "reference.json"), encoding="utf-8") as f:
    REFERENCE = json.load(f)
ENV = dict(os.environ, CHORD_TEMPLATE_NOW=REFERENCE["now"])

results = []


def reference(template, conversation, generation_prompt=True):
    for case in REFERENCE["cases"]:
        if (case["template"], case["conversation"], case["add_generation_prompt"]) == (
                template, conversation, generation_prompt):
            return case["output"]
    raise KeyError(template)


def run(args, env=ENV, stdin=None):
    return subprocess.run([CHORD, "template"] + args, capture_output=True, env=env, input=stdin)


def case(name, proc, rc, stdout=None, stdout_has=(), stderr_has=()):
    out, err = proc.stdout.decode("utf-8", "replace"), proc.stderr.decode("utf-8", "replace")
    ok = proc.returncode == rc and all(s in out for s in stdout_has)
    ok = ok and all(s in err for s in stderr_has) and (stdout is None or out == stdout)
    if rc != 0:
        ok = ok and out == ""  # nothing half-printed on failure
    results.append(ok)
    print(f"{'ok  ' if ok else 'FAIL'} {name}")
    if not ok:
        print(f"     rc={proc.returncode} stdout={out[:400]!r} stderr={err[:400]!r}")


def conversation(name):
    return os.path.join(CONVERSATIONS, name + ".json")


with tempfile.TemporaryDirectory() as tmp:
    def write(name, text):
        path = os.path.join(tmp, name)
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
        return path

    # usage
    case("--help", run(["--help"]), 0, stdout_has=["usage: chord template", "--chat-template-file",
                                                   "CHORD_TEMPLATE_NOW"])
    case("no --messages", run([]), 2, stderr_has=["--messages FILE is required", "--help"])
    case("two templates", run(["--chat-template", "chatml", "--chat-template-file", "x",
                               "--messages", "m"]), 2, stderr_has=["alternatives"])
    case("unknown option", run(["--bogus"]), 2, stderr_has=["chord template --help"])
    case("--list-templates", run(["--list-templates"]), 0,
         stdout_has=["chatml", "llama2", "llama3", "gemma", "alpaca", "mistral", "phi3"])
    case("unknown built-in", run(["--chat-template", "vicuna", "--messages", conversation("single")]),
         1, stderr_has=["no built-in chat template named 'vicuna'", "chatml, llama2"])

    # where the template comes from
    no_model = dict(ENV, CHORD_MODEL=os.path.join(tmp, "absent.gguf"))
    case("--print-template of a built-in needs no model",
         run(["--chat-template", "gemma", "--print-template"], env=no_model), 0,
         stdout_has=["<start_of_turn>", "raise_exception"])
    case("a file and both tokens need no model",
         run(["--chat-template-file", os.path.join(TEMPLATES, "Qwen-Qwen2.5-7B-Instruct.jinja"),
              "--bos-token", "<|endoftext|>", "--eos-token", "<|im_end|>",
              "--messages", conversation("system")], env=no_model), 0,
         stdout=reference("testdata/Qwen-Qwen2.5-7B-Instruct.jinja", "system"))
    case("the default model (Gemma 3, no template of its own) uses the built-in gemma",
         run(["--messages", conversation("multi_turn")]), 0,
         stdout=reference("builtin/gemma", "multi_turn"))
    case("--no-add-generation-prompt",
         run(["--messages", conversation("multi_turn"), "--no-add-generation-prompt"]), 0,
         stdout=reference("builtin/gemma", "multi_turn", False))
    case("a model's own tokenizer.chat_template (Phi-3 vocabulary)",
         run(["-m", os.path.join(VOCAB, "ggml-vocab-phi-3.gguf"), "--messages",
              conversation("system")]), 0,
         stdout=reference("model/ggml-vocab-phi-3.gguf", "system"))
    case("a llama model without a template gets llama2, with its vocabulary's <s> and </s>",
         run(["-m", os.path.join(VOCAB, "ggml-vocab-llama-spm.gguf"), "--messages",
              conversation("system_multi_turn"), "--no-add-generation-prompt"]), 0,
         stdout="<s>[INST] <<SYS>>\nAnswer in one sentence.\n<</SYS>>\n\nWhy is the sky blue? "
                "[/INST] Because air scatters blue light more than red light. </s><s>[INST] "
                "And sunsets? [/INST] Near sunset light crosses more air, so the blue is "
                "scattered away. </s>")
    case("no built-in for the architecture",
         run(["-m", os.path.join(VOCAB, "ggml-vocab-gpt-2.gguf"), "--messages",
              conversation("single")]), 1,
         stderr_has=["no built-in template fits its architecture 'gpt2'", "--chat-template"])
    case("a built-in by name over the model's tokens",
         run(["-m", os.path.join(VOCAB, "ggml-vocab-llama-spm.gguf"), "--chat-template", "chatml",
              "--messages", conversation("single")]), 0,
         stdout="<|im_start|>user\nHello!<|im_end|>\n<|im_start|>assistant\n")
    case("--bos-token overrides the model's",
         run(["--messages", conversation("single"), "--bos-token", "[BOS]"]), 0,
         stdout="[BOS]<start_of_turn>user\nHello!<end_of_turn>\n<start_of_turn>model\n")

    # the input forms
    with open(conversation("tool_call"), encoding="utf-8") as f:
        body = json.load(f)
    messages = write("messages.json", json.dumps(body["messages"]))
    tools = write("tools.json", json.dumps(body["tools"]))
    qwen = ["--chat-template-file", os.path.join(TEMPLATES, "Qwen-Qwen2.5-7B-Instruct.jinja"),
            "--bos-token", "<|endoftext|>", "--eos-token", "<|im_end|>"]
    expected = reference("testdata/Qwen-Qwen2.5-7B-Instruct.jinja", "tool_call")
    case("--tools beside a messages array is the request body's tools",
         run(qwen + ["--messages", messages, "--tools", tools]), 0, stdout=expected)
    case("--messages - reads standard input",
         run(qwen + ["--messages", "-"], stdin=json.dumps(body).encode()), 0, stdout=expected)
    case("--chat-template-kwargs",
         run(["--chat-template-file", os.path.join(TEMPLATES, "Qwen-Qwen3-0.6B.jinja"),
              "--bos-token", "b", "--eos-token", "e", "--messages", conversation("single"),
              "--chat-template-kwargs", '{"enable_thinking": false}']), 0,
         stdout="<|im_start|>user\nHello!<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n")
    case("CHORD_TEMPLATE_NOW is the date strftime_now() sees",
         run(["--chat-template-file", os.path.join(TEMPLATES, "meta-llama-Llama-3.2-3B-Instruct.jinja"),
              "--bos-token", "b", "--eos-token", "e", "--messages", conversation("single")],
             env=dict(ENV, CHORD_TEMPLATE_NOW="1999-12-31")), 0, stdout_has=["Today Date: 31 Dec 1999"])

    # failures
    case("missing messages file", run(["--messages", os.path.join(tmp, "nope.json")]), 1,
         stderr_has=["nope.json", "cannot open"])
    bad = write("bad.json", '[{"role": "user", "content": "hi"},\n ]')
    case("invalid JSON names the line and column", run(["--messages", bad]), 1,
         stderr_has=["bad.json:2:2: invalid JSON"])
    case("a request body without messages", run(["--messages", write("o.json", '{"model": "x"}')]), 1,
         stderr_has=["expected a JSON array of messages"])
    case("invalid kwargs", run(["--messages", conversation("single"), "--chat-template-kwargs", "{"]),
         1, stderr_has=["--chat-template-kwargs:1:1: invalid JSON"])
    case("kwargs cannot replace messages",
         run(["--messages", conversation("single"), "--chat-template-kwargs", '{"messages": 1}']), 1,
         stderr_has=["'messages' cannot be passed as a template kwarg"])
    case("bad CHORD_TEMPLATE_NOW", run(["--messages", conversation("single")],
                                       env=dict(ENV, CHORD_TEMPLATE_NOW="yesterday")), 1,
         stderr_has=["CHORD_TEMPLATE_NOW='yesterday'", "YYYY-MM-DD"])
    syntax = write("syntax.jinja", "{% for m in messages %}\n{{ m.content }\n{% endfor %}")
    case("a syntax error shows the line and a caret",
         run(["--chat-template-file", syntax, "--messages", conversation("single")]), 1,
         stderr_has=[f"chord: error: {syntax}:2:14: unexpected '}}'\n{{{{ m.content }}\n             ^"])
    case("the template refuses the conversation (raise_exception)",
         run(["--messages", conversation("not_alternating")]), 1,
         stderr_has=["built-in template 'gemma':", "Gemma conversations alternate user and assistant",
                     "raise_exception("])
    case("a runtime error in a real template",
         run(["--chat-template-file", os.path.join(TEMPLATES, "NousResearch-Hermes-3-Llama-3.1-8B-tool_use.jinja"),
              "--bos-token", "b", "--eos-token", "e", "--messages", conversation("single")]), 1,
         stderr_has=["NousResearch-Hermes-3-Llama-3.1-8B-tool_use.jinja:38:17: 'NoneType' object is "
                     "not iterable\n{%- for tool in tools %}\n                ^"])

print(f"{sum(results)} passed, {len(results) - sum(results)} failed")
sys.exit(0 if all(results) else 1)
