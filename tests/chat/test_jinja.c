/* The Jinja engine, feature by feature: expressions, filters, methods, whitespace control, loops,
 * macros and scoping, then every diagnostic (syntax and runtime) with its line, column and caret,
 * and a clean failure at every allocation. The expected texts are what Python's jinja2 renders
 * with transformers' settings (trim_blocks, lstrip_blocks). */
#include <criterion/criterion.h>
#include <string.h>

#include "runtime/chat/chat.h"
#include "runtime/chat/jinja.h"
#include "runtime/support/alloc.h"

/* ---- helpers --------------------------------------------------------------------------------- */

static const struct tm fixed_time = {.tm_year = 125,
                                     .tm_mon = 2,
                                     .tm_mday = 14,
                                     .tm_hour = 9,
                                     .tm_min = 26,
                                     .tm_sec = 53,
                                     .tm_wday = 5,
                                     .tm_yday = 72};

/* Renders `source` with the variables of a JSON object; the text, or NULL with the error. */
static char *render_with(const char *source, const char *variables, chord_error *error) {
  chat_template *tmpl;
  if (chat_template_init("t.jinja", source, strlen(source), &tmpl, error) != CHORD_OK)
    return NULL;
  chat_render_options options = {.messages_json = "[]",
                                 .messages_size = 2,
                                 .kwargs_json = variables,
                                 .kwargs_size = variables ? strlen(variables) : 0,
                                 .add_generation_prompt = true,
                                 .now = &fixed_time};
  char *out = NULL;
  size_t size;
  chat_template_render(tmpl, &options, &out, &size, error);
  chat_template_free(tmpl);
  return out;
}

#define EXPECT_RENDER(source, variables, expected)                                                 \
  do {                                                                                             \
    chord_error error_ = {0};                                                                      \
    char *out_ = render_with(source, variables, &error_);                                          \
    cr_expect(out_ != NULL, "%s: %s", source, error_.message);                                     \
    if (out_)                                                                                      \
      cr_expect_str_eq(out_, expected, "%s", source);                                              \
    rt_free(out_);                                                                                 \
  } while (0)

#define EXPECT(source, expected) EXPECT_RENDER(source, NULL, expected)

/* The whole message of a failure: location, text, the line and the caret. */
#define EXPECT_ERROR(source, variables, expected)                                                  \
  do {                                                                                             \
    chord_error error_ = {0};                                                                      \
    char *out_ = render_with(source, variables, &error_);                                          \
    cr_expect(out_ == NULL, "%s rendered [%s]", source, out_ ? out_ : "");                         \
    cr_expect_str_eq(error_.message, expected);                                                    \
    rt_free(out_);                                                                                 \
  } while (0)

/* ---- expressions ----------------------------------------------------------------------------- */

Test(expressions, arithmetic_follows_python) {
  EXPECT("{{ 1 + 2 * 3 }} {{ (1 + 2) * 3 }} {{ 2 ** 3 ** 2 }} {{ -2 ** 2 }}", "7 9 64 4");
  EXPECT("{{ 7 / 2 }} {{ 7 // 2 }} {{ -7 // 2 }} {{ -7 % 3 }} {{ 7 % -3 }}", "3.5 3 -4 2 -2");
  EXPECT("{{ 1 + true }} {{ 0.5 + 1 }} {{ 10 / 5 }}", "2 1.5 2.0");
  EXPECT("{{ 'ab' * 2 }} {{ [1] * 3 }} {{ [1] + [2, 3] }} {{ (1,) + (2,) }}",
         "abab [1, 1, 1] [1, 2, 3] (1, 2)");
}

Test(expressions, floats_print_as_python_repr) {
  EXPECT("{{ 0.1 + 0.2 }} {{ 1.0 }} {{ 1e16 }} {{ 1e15 }} {{ 1.5e-5 }} {{ 0.0001 }} {{ -0.0 }}",
         "0.30000000000000004 1.0 1e+16 1000000000000000.0 1.5e-05 0.0001 -0.0");
  EXPECT("{{ 1e300 * 1e10 }} {{ 123456789.123456789 }}", "inf 123456789.12345679");
}

Test(expressions, comparisons_chain_and_mix_numbers) {
  EXPECT("{{ 1 < 2 < 3 }} {{ 3 > 2 > 2 }} {{ 1 == 1.0 }} {{ true == 1 }} {{ [1] == (1,) }}",
         "True False True True False");
  EXPECT("{{ 'a' < 'b' }} {{ [1, 2] < [1, 3] }} {{ {'a': 1} == {'a': 1.0} }}", "True True True");
}

Test(expressions, in_and_not_in) {
  EXPECT("{{ 'b' in 'abc' }} {{ 2 in [1, 2] }} {{ 'k' in {'k': 1} }} {{ 'x' not in 'abc' }}",
         "True True True True");
  EXPECT("{{ 1 in missing }}", "False");
}

Test(expressions, logic_returns_operands) {
  EXPECT("{{ 0 or 'x' }} {{ 'a' and 'b' }} {{ '' and 'b' }}|{{ not [] }} {{ not 'a' }}",
         "x b |True False");
  EXPECT("{{ 'y' if 1 else 'n' }} {{ 'y' if 0 else 'n' }} [{{ 'y' if 0 }}]", "y n []");
}

Test(expressions, concat_prints_str_of_each) {
  EXPECT("{{ 'a' ~ 1 ~ none ~ [1, 'b'] ~ missing ~ true }}", "a1None[1, 'b']True");
}

Test(expressions, values_print_as_python_str) {
  EXPECT("{{ none }} {{ true }} {{ [1, 'a', none, 1.5] }} {{ {'k': ['v']} }} {{ (1,) }} {{ () }}",
         "None True [1, 'a', None, 1.5] {'k': ['v']} (1,) ()");
  EXPECT("{{ [\"it's\", 'say \"hi\"', 'both \\' \"', 'tab\\t', '\\x07', '\\u00a0', 'é😀'] }}",
         "[\"it's\", 'say \"hi\"', 'both \\' \"', 'tab\\t', '\\x07', '\\xa0', 'é😀']");
}

Test(expressions, string_literals_decode_python_escapes) {
  EXPECT("{{ 'a\\nb' }}|{{ \"\\u00e9\\x41\\101\" }}|{{ 'a' \"b\" }}|{{ '\\q' }}",
         "a\nb|éAA|ab|\\q");
}

Test(expressions, subscripts_and_slices) {
  EXPECT_RENDER("{{ xs[0] }} {{ xs[-1] }} {{ xs[1:3] }} {{ xs[::-1] }} {{ xs[::2] }} {{ xs[9] }}|",
                "{\"xs\": [1, 2, 3, 4]}", "1 4 [2, 3] [4, 3, 2, 1] [1, 3] |");
  EXPECT_RENDER("{{ s[1] }} {{ s[-2:] }} {{ s[::-1] }}", "{\"s\": \"héllo\"}", "é lo olléh");
}

Test(expressions, dict_attributes_prefer_methods) {
  /* As in Python: d.items is the method even with a key "items"; d['items'] is the key. */
  EXPECT_RENDER("{{ d.a }} {{ d['a'] }} {{ d['items'] }} {{ d.items is callable }} {{ d.zz }}|",
                "{\"d\": {\"a\": 1, \"items\": 2}}", "1 1 2 True |");
}

/* ---- filters --------------------------------------------------------------------------------- */

Test(filters, text) {
  EXPECT("{{ '  x  ' | trim }}|{{ 'xxaxx' | trim('x') }}|{{ '\u3000a\u00a0' | trim }}", "x|a|a");
  EXPECT("{{ 'Ab' | upper }} {{ 'Ab' | lower }} {{ 'hello world' | title }} {{ 'hELLO' | "
         "capitalize }}",
         "AB ab Hello World Hello");
  EXPECT("{{ 'a-b' | replace('-', '+') }} {{ 'aaa' | replace('a', 'b', 2) }}", "a+b bba");
  EXPECT("{{ 'héllo' | length }} {{ [1, 2] | count }} {{ missing | length }}", "5 2 0");
}

Test(filters, default) {
  EXPECT("{{ missing | default('d') }} {{ none | default('d') }} {{ '' | default('d', true) }}",
         "d None d");
}

Test(filters, sequences) {
  EXPECT("{{ [3, 1, 2] | first }} {{ [3, 1, 2] | last }} {{ [3, 1, 2] | sort }} {{ 'ab' | list }}",
         "3 2 [1, 2, 3] ['a', 'b']");
  EXPECT("{{ [1, 2] | join(', ') }} {{ [1, 2, 1] | unique | list }} {{ [1, 2] | reverse | list }}",
         "1, 2 [1, 2] [2, 1]");
  EXPECT("{{ {'b': 1, 'a': 2} | items | list }} {{ {'b': 1, 'a': 2} | dictsort }}",
         "[('b', 1), ('a', 2)] [('a', 2), ('b', 1)]");
}

Test(filters, select_and_map) {
  const char *people = "{\"people\": [{\"n\": \"A\", \"r\": \"user\"}, {\"n\": \"B\", \"r\": "
                       "\"bot\"}, {\"n\": \"C\", \"r\": \"user\"}]}";
  EXPECT_RENDER("{{ people | selectattr('r', 'equalto', 'user') | map(attribute='n') | join }}",
                people, "AC");
  EXPECT_RENDER("{{ people | rejectattr('r', 'equalto', 'user') | map(attribute='n') | list }}",
                people, "['B']");
  EXPECT(
      "{{ [1, 2, 3, 4] | select('odd') | list }} {{ ['a', 'b'] | reject('equalto', 'a') | list }}",
      "[1, 3] ['b']");
}

Test(filters, generators_behave_as_in_python) {
  /* select, map, items and unique return generators: always true, read once */
  EXPECT("{{ [] | select | list }} {{ 'yes' if [] | select else 'no' }}", "[] yes");
  EXPECT("{% set g = [1, 2] | map('string') %}{{ g | list }}{{ g | list }}", "['1', '2'][]");
}

Test(filters, tojson_is_transformers_json_dumps) {
  EXPECT_RENDER("{{ v | tojson }}", "{\"v\": {\"b\": [1, 2.5, null, true], \"a\": \"é<>&'\\n\"}}",
                "{\"b\": [1, 2.5, null, true], \"a\": \"é<>&'\\n\"}");
  EXPECT_RENDER("{{ v | tojson(indent=2) }}", "{\"v\": {\"a\": [], \"b\": [1]}}",
                "{\n  \"a\": [],\n  \"b\": [\n    1\n  ]\n}");
  EXPECT("{{ 'é' | tojson(ensure_ascii=true) }} {{ {'b': 1, 'a': 2} | tojson(sort_keys=true) }}",
         "\"\\u00e9\" {\"a\": 2, \"b\": 1}");
  EXPECT("{{ {'a': 1} | tojson(separators=(',', ':')) }}", "{\"a\":1}");
}

Test(filters, numbers) {
  EXPECT("{{ '42' | int }} {{ '4.7' | int }} {{ 'x' | int(7) }} {{ '1.5' | float }} {{ -3 | abs }}",
         "42 4 7 1.5 3");
  EXPECT("{{ [1, 2.5] | sum }} {{ [3, 1] | max }} {{ 2.5 | round }} {{ 2.675 | round(2) }}",
         "3.5 3 2.0 2.67");
}

Test(filters, formatting) {
  EXPECT("{{ '%s=%d' | format('a', 3) }} {{ '%5.1f|%-3s|%03d' % (3.14159, 'a', 7) }}",
         "a=3   3.1|a  |007");
  EXPECT("{{ 'a\\nb' | indent(2) }}|{{ 'x' | center(5) }}|{{ 'a b c' | wordcount }}",
         "a\n  b|  x  |3");
}

/* ---- methods --------------------------------------------------------------------------------- */

Test(methods, str) {
  EXPECT(
      "{{ ' a '.strip() }}|{{ 'xax'.strip('x') }}|{{ 'a\\n'.rstrip('\\n') }}|{{ '  a'.lstrip() }}",
      "a|a|a|a");
  EXPECT("{{ 'a,b,,c'.split(',') }} {{ ' a  b '.split() }} {{ 'a b c'.rsplit(' ', 1) }}",
         "['a', 'b', '', 'c'] ['a', 'b'] ['a b', 'c']");
  EXPECT("{{ 'abc'.startswith('ab') }} {{ 'abc'.endswith(('x', 'c')) }} {{ 'héllo'.find('l') }}",
         "True True 2");
  EXPECT("{{ 'ab'.upper() }} {{ \"it's ok\".title() }} {{ ', '.join(['a', 'b']) }}",
         "AB It'S Ok a, b");
  EXPECT("{{ '{} {x}'.format(1, x='y') }} {{ 'a=b'.partition('=') }}", "1 y ('a', '=', 'b')");
}

Test(methods, dict_and_list) {
  EXPECT_RENDER("{{ d.get('a') }} {{ d.get('z', 0) }} {{ d.keys() | list }} {{ d.items() }}",
                "{\"d\": {\"a\": 1}}", "1 0 ['a'] dict_items([('a', 1)])");
  EXPECT("{{ [1, 2, 1].count(1) }} {{ [1, 2].index(2) }}", "2 1");
}

Test(methods, mutating_methods_are_refused) {
  EXPECT_RENDER("{{ xs.append is defined }}", "{\"xs\": []}", "False");
}

Test(methods, globals) {
  EXPECT("{{ range(3) | list }} {{ dict(a=1) }} {{ strftime_now('%d %b %Y') }}",
         "[0, 1, 2] {'a': 1} 14 Mar 2025");
}

/* ---- whitespace control ---------------------------------------------------------------------- */

Test(whitespace, trim_blocks_drops_the_newline_after_a_tag) {
  EXPECT("a\n{% if true %}\nb\n{% endif %}\nc", "a\nb\nc");
  EXPECT("x{# c #}\ny", "xy");
  EXPECT("{{ 1 }}\n{{ 2 }}", "1\n2"); /* not after expressions */
}

Test(whitespace, lstrip_blocks_drops_indentation_before_a_tag) {
  EXPECT("a\n  {% if true %}\n  b\n  {% endif %}\nc", "a\n  b\nc");
  EXPECT("  {{ 'x' }}", "  x");                 /* not before expressions */
  EXPECT("a {% if true %}b{% endif %}", "a b"); /* only at the start of a line */
}

Test(whitespace, plus_turns_them_off) {
  EXPECT("a\n  {%+ if true %}b{% endif %}", "a\n  b");
  EXPECT("{% if true +%}\nb{% endif %}", "\nb");
}

Test(whitespace, minus_strips_everything) {
  EXPECT("a  \n {%- if true -%} \n b \n {%- endif -%}\n c", "abc");
  EXPECT("a \n {{- 'x' -}} \n b", "axb");
  EXPECT("a {#- c -#} b", "ab");
}

Test(whitespace, trailing_newline_and_line_ends) {
  EXPECT("line\n", "line");
  EXPECT("line\n\n", "line\n");
  EXPECT("a\r\nb\rc", "a\nb\nc");
}

Test(whitespace, raw_blocks) {
  EXPECT("{% raw %}{{ x }} {% if %}{% endraw %}", "{{ x }} {% if %}");
  EXPECT("{%- raw -%}  a  {%- endraw -%}", "a");
}

/* ---- statements ------------------------------------------------------------------------------ */

Test(loops, loop_variable) {
  EXPECT("{% for x in 'abc' %}{{ loop.index }}{{ loop.index0 }}{{ loop.revindex }}{{ loop.first }}"
         "{{ loop.last }}{{ loop.length }} {% endfor %}",
         "103TrueFalse3 212FalseFalse3 321FalseTrue3 ");
  EXPECT("{% for x in [1, 2] %}[{{ loop.previtem }}|{{ loop.nextitem }}]{% endfor %}", "[|2][1|]");
  EXPECT("{% for x in [1, 2, 3] %}{{ loop.cycle('a', 'b') }}{% endfor %}", "aba");
}

Test(loops, filter_else_and_controls) {
  EXPECT("{% for x in [1, 2, 3, 4] if x != 2 %}{{ x }}/{{ loop.length }} {% endfor %}",
         "1/3 3/3 4/3 ");
  EXPECT("{% for x in [] %}x{% else %}empty{% endfor %}", "empty");
  EXPECT("{% for x in [1, 2, 3, 4] %}{% if x == 2 %}{% continue %}{% endif %}{{ x }}"
         "{% if x == 3 %}{% break %}{% endif %}{% endfor %}",
         "13");
  EXPECT("{% for k, v in {'a': 1, 'b': 2}.items() %}{{ k }}{{ v }}{% endfor %}", "a1b2");
}

Test(loops, each_iteration_has_its_own_scope) {
  EXPECT("{% set x = 5 %}{% for i in [1, 2] %}[{{ x }}]{% set x = i %}{{ x }}{% endfor %}{{ x }}",
         "[5]1[5]25");
}

Test(statements, set_namespace_with) {
  EXPECT("{% set a, b = 1, 2 %}{{ a }}{{ b }}", "12");
  EXPECT("{% set ns = namespace(n=0) %}{% for i in [1, 2, 3] %}{% set ns.n = ns.n + i %}"
         "{% endfor %}{{ ns.n }}",
         "6");
  EXPECT("{% set x %}a{{ 1 }}{% endset %}{{ x }} {% set y | upper %}b{% endset %}{{ y }}", "a1 B");
  EXPECT("{% with a = 2 %}{{ a }}{% endwith %}[{{ a }}]", "2[]");
  EXPECT("{% filter upper %}ab{% endfilter %}", "AB");
  EXPECT("{% generation %}g{% endgeneration %}", "g");
}

Test(statements, macros) {
  EXPECT("{% macro m(name, greeting='Hi') %}{{ greeting }} {{ name }}{% endmacro %}"
         "{{ m('A') }}, {{ m('B', 'Yo') }}, {{ m(greeting='Hey', name='C') }}",
         "Hi A, Yo B, Hey C");
  /* a macro sees its defining scope as it is when called */
  EXPECT("{% set x = 1 %}{% macro m() %}{{ x }}{% endmacro %}{% set x = 2 %}{{ m() }}", "2");
}

Test(tests, type_and_value_tests) {
  EXPECT("{{ x is defined }} {{ none is none }} {{ 1 is number }} {{ 'a' is string }} "
         "{{ {} is mapping }} {{ 'a' is iterable }} {{ missing is iterable }}",
         "False True True True True True True");
  EXPECT("{{ 4 is even }} {{ 9 is divisibleby 3 }} {{ 2 is in [1, 2] }} {{ 1 is eq 1 }} "
         "{{ 'a' is not upper }}",
         "True True True True True");
}

/* ---- diagnostics: syntax --------------------------------------------------------------------- */

Test(diagnostics, unclosed_block) {
  EXPECT_ERROR("{% for x in xs %}\n{{ x }}", NULL,
               "t.jinja:2:8: unexpected end of template: the 'for' block is not closed (expected "
               "'endfor' or 'else')\n{{ x }}\n       ^");
}

Test(diagnostics, wrong_end_tag) {
  EXPECT_ERROR("{% if a %}\n  {% endfor %}", NULL,
               "t.jinja:2:6: unknown tag 'endfor' (the innermost open block is 'if', expecting "
               "'elif', 'else' or 'endif')\n  {% endfor %}\n     ^");
}

Test(diagnostics, unknown_tag) {
  EXPECT_ERROR("{% frobnicate %}", NULL,
               "t.jinja:1:4: unknown tag 'frobnicate'\n{% frobnicate %}\n   ^");
}

Test(diagnostics, unsupported_tag) {
  EXPECT_ERROR("{% include 'x' %}", NULL,
               "t.jinja:1:4: the 'include' tag is not supported in chat templates\n"
               "{% include 'x' %}\n   ^");
}

Test(diagnostics, expected_expression) {
  EXPECT_ERROR("{{ 1 + }}", NULL,
               "t.jinja:1:8: expected an expression, got '}}' (end of print statement)\n"
               "{{ 1 + }}\n       ^");
}

Test(diagnostics, unexpected_token) {
  EXPECT_ERROR("{{ a b }}", NULL, "t.jinja:1:6: expected '}}', got 'b'\n{{ a b }}\n     ^");
}

Test(diagnostics, cannot_assign) {
  EXPECT_ERROR("{% set 1 = 2 %}", NULL,
               "t.jinja:1:8: can't assign to this expression\n{% set 1 = 2 %}\n       ^");
}

Test(diagnostics, unknown_filter_and_test) {
  EXPECT_ERROR("{{ x | shout }}", NULL,
               "t.jinja:1:8: no filter named 'shout'\n{{ x | shout }}\n       ^");
  EXPECT_ERROR("{{ x is loud }}", NULL,
               "t.jinja:1:9: no test named 'loud'\n{{ x is loud }}\n        ^");
  /* inside an if, only when reached (as in Jinja2) */
  EXPECT("{% if false %}{{ x | shout }}{% endif %}ok", "ok");
  EXPECT_ERROR("{% if true %}{{ x | shout }}{% endif %}", NULL,
               "t.jinja:1:21: no filter named 'shout'\n{% if true %}{{ x | shout }}{% endif %}\n"
               "                    ^");
}

Test(diagnostics, break_outside_loop) {
  EXPECT_ERROR("{% break %}", NULL, "t.jinja:1:4: 'break' outside of a loop\n{% break %}\n   ^");
}

Test(diagnostics, non_default_after_default) {
  EXPECT_ERROR("{% macro m(a=1, b) %}{% endmacro %}", NULL,
               "t.jinja:1:17: non-default argument follows default argument\n"
               "{% macro m(a=1, b) %}{% endmacro %}\n                ^");
}

Test(diagnostics, positional_after_keyword) {
  EXPECT_ERROR("{{ f(a=1, 2) }}", NULL,
               "t.jinja:1:5: invalid syntax for function call expression: a positional argument "
               "follows a keyword argument\n{{ f(a=1, 2) }}\n    ^");
}

Test(diagnostics, unterminated_string) {
  EXPECT_ERROR("{{ 'abc }}", NULL, "t.jinja:1:4: unterminated string literal\n{{ 'abc }}\n   ^");
}

Test(diagnostics, bad_escape) {
  EXPECT_ERROR("{{ '\\x4' }}", NULL,
               "t.jinja:1:5: truncated \\x escape in string literal\n{{ '\\x4' }}\n    ^");
}

Test(diagnostics, unterminated_comment) {
  EXPECT_ERROR("a\n{# never closed", NULL,
               "t.jinja:2:1: missing end of comment tag\n{# never closed\n^");
}

Test(diagnostics, unclosed_tag) {
  EXPECT_ERROR("{{ x ", NULL,
               "t.jinja:1:1: unclosed tag: expected '}}' before the end of the template\n{{ x \n^");
}

Test(diagnostics, unbalanced_brackets) {
  EXPECT_ERROR("{{ (1, 2 }}", NULL,
               "t.jinja:1:10: unexpected '}', expected ')'\n{{ (1, 2 }}\n         ^");
  EXPECT_ERROR("{{ 1) }}", NULL, "t.jinja:1:5: unexpected ')'\n{{ 1) }}\n    ^");
}

Test(diagnostics, missing_endraw) {
  EXPECT_ERROR("{% raw %}x", NULL,
               "t.jinja:1:1: missing end of raw directive ({% endraw %})\n{% raw %}x\n^");
}

Test(diagnostics, unexpected_character) {
  EXPECT_ERROR("{{ a $ b }}", NULL, "t.jinja:1:6: unexpected character '$'\n{{ a $ b }}\n     ^");
}

Test(diagnostics, integer_too_large) {
  EXPECT_ERROR("{{ 99999999999999999999 }}", NULL,
               "t.jinja:1:4: integer literal too large (chord's integers are 64-bit)\n"
               "{{ 99999999999999999999 }}\n   ^");
}

Test(diagnostics, invalid_utf8) {
  EXPECT_ERROR("ok\n\xff{{ x }}", NULL,
               "t.jinja:2:1: the template is not valid UTF-8\n\xff{{ x }}\n^");
}

/* ---- diagnostics: runtime -------------------------------------------------------------------- */

Test(diagnostics, raise_exception_points_at_the_call) {
  EXPECT_ERROR("{% if true %}\n  {{- raise_exception('Roles must alternate') }}\n{% endif %}", NULL,
               "t.jinja:2:7: Roles must alternate\n  {{- raise_exception('Roles must "
               "alternate') }}\n      ^");
}

Test(diagnostics, undefined_in_arithmetic) {
  EXPECT_ERROR("{{ 1 + count }}", NULL,
               "t.jinja:1:8: 'count' is undefined\n{{ 1 + count }}\n       ^");
}

Test(diagnostics, attribute_of_undefined) {
  EXPECT_ERROR("{{ m.tool_calls[0].id }}", "{\"m\": {}}",
               "t.jinja:1:6: 'dict object' has no attribute 'tool_calls'\n"
               "{{ m.tool_calls[0].id }}\n     ^");
  EXPECT_ERROR("{{ xs[3]['role'] }}", "{\"xs\": []}",
               "t.jinja:1:6: list object has no element 3\n{{ xs[3]['role'] }}\n     ^");
}

Test(diagnostics, type_errors_have_pythons_words) {
  EXPECT_ERROR(
      "{{ 'a' + 1 }}", NULL,
      "t.jinja:1:8: can only concatenate str (not \"int\") to str\n{{ 'a' + 1 }}\n       ^");
  EXPECT_ERROR("{{ 1 < 'a' }}", NULL,
               "t.jinja:1:6: '<' not supported between instances of 'int' and 'str'\n"
               "{{ 1 < 'a' }}\n     ^");
  EXPECT_ERROR("{{ 5 | length }}", NULL,
               "t.jinja:1:8: object of type 'int' has no len()\n{{ 5 | length }}\n       ^");
}

Test(diagnostics, division_by_zero) {
  EXPECT_ERROR("{{ 1 // 0 }}", NULL,
               "t.jinja:1:6: integer division or modulo by zero\n{{ 1 // 0 }}\n     ^");
}

Test(diagnostics, not_iterable) {
  EXPECT_ERROR("{% for t in items %}{% endfor %}", "{\"items\": null}",
               "t.jinja:1:13: 'NoneType' object is not iterable\n{% for t in items %}{% endfor "
               "%}\n            ^");
}

Test(diagnostics, unpacking) {
  EXPECT_ERROR("{% for a, b in [[1, 2, 3]] %}{% endfor %}", NULL,
               "t.jinja:1:8: too many values to unpack (expected 2)\n"
               "{% for a, b in [[1, 2, 3]] %}{% endfor %}\n       ^");
}

Test(diagnostics, namespace_assignment) {
  EXPECT_ERROR("{% set x = 1 %}{% set x.y = 2 %}", NULL,
               "t.jinja:1:23: cannot assign attribute on non-namespace object\n"
               "{% set x = 1 %}{% set x.y = 2 %}\n                      ^");
}

Test(diagnostics, unsafe_method) {
  EXPECT_ERROR("{{ xs.append(1) }}", "{\"xs\": []}",
               "t.jinja:1:4: access to attribute 'append' of 'list' object is unsafe.\n"
               "{{ xs.append(1) }}\n   ^");
}

Test(diagnostics, runaway_recursion) {
  EXPECT_ERROR("{% macro m() %}{{ m() }}{% endmacro %}{{ m() }}", NULL,
               "t.jinja:1:19: maximum recursion depth exceeded in macro 'm'\n"
               "{% macro m() %}{{ m() }}{% endmacro %}{{ m() }}\n                  ^");
}

Test(diagnostics, long_lines_show_a_window) {
  char source[400];
  snprintf(source, sizeof source, "%.*s{{ oops() }}%.*s", 120,
           "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
           "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
           120,
           "yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy"
           "yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy");
  chord_error error;
  char *out = render_with(source, NULL, &error);
  cr_assert_null(out);
  /* 50 characters before the column, 50 after, "..." where the line was cut */
  cr_expect_str_eq(
      error.message,
      "t.jinja:1:124: 'oops' is undefined\n"
      "...xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx{{ oops() }}yyyyyyyyyyyyyyyyyy"
      "yyyyyyyyyyyyyyyyyyyyyyy...\n"
      "                                                     ^");
}

Test(diagnostics, caret_follows_tabs_and_wide_characters) {
  EXPECT_ERROR("\t¡é {{ nope() }}", NULL,
               "t.jinja:1:8: 'nope' is undefined\n\t¡é {{ nope() }}\n\t      ^");
}

/* ---- the chat layer's input ------------------------------------------------------------------ */

static chord_status render_messages(const char *messages, const char *kwargs, chord_error *error) {
  chat_template *tmpl;
  const char *source = "{{ messages | length }}";
  cr_assert_eq(chat_template_init("t", source, strlen(source), &tmpl, error), CHORD_OK);
  chat_render_options options = {.messages_json = messages,
                                 .messages_size = strlen(messages),
                                 .messages_name = "m.json",
                                 .kwargs_json = kwargs,
                                 .kwargs_size = kwargs ? strlen(kwargs) : 0,
                                 .now = &fixed_time};
  char *out = NULL;
  size_t size;
  chord_status status = chat_template_render(tmpl, &options, &out, &size, error);
  rt_free(out);
  chat_template_free(tmpl);
  return status;
}

Test(chat_input, invalid_json_names_line_and_column) {
  chord_error error;
  cr_expect_eq(render_messages("[\n  {\"role\": \"user\",}\n]", NULL, &error), CHORD_ERROR_FORMAT);
  cr_expect_str_eq(error.message, "m.json:2:19: invalid JSON: string or '}' expected near '}'");
}

Test(chat_input, messages_must_be_a_list) {
  chord_error error;
  cr_expect_eq(render_messages("{\"role\": \"user\"}", NULL, &error), CHORD_ERROR_FORMAT);
  cr_expect_str_eq(error.message,
                   "m.json: expected a JSON array of messages (or an object with \"messages\")");
}

Test(chat_input, kwargs_cannot_replace_the_conversation) {
  chord_error error;
  cr_expect_eq(render_messages("[]", "{\"messages\": []}", &error), CHORD_ERROR_INVALID);
  cr_expect_str_eq(error.message,
                   "template kwargs: 'messages' cannot be passed as a template kwarg");
}

Test(chat_input, request_body_with_tools) {
  chat_template *tmpl;
  chord_error error;
  const char *source = "{{ messages[0].role }} {{ tools | map(attribute='name') | join }}";
  cr_assert_eq(chat_template_init("t", source, strlen(source), &tmpl, &error), CHORD_OK);
  const char *body = "{\"messages\": [{\"role\": \"user\", \"content\": \"hi\"}], \"tools\": "
                     "[{\"name\": \"f\"}, {\"name\": \"g\"}]}";
  chat_render_options options = {.messages_json = body, .messages_size = strlen(body)};
  char *out;
  size_t size;
  cr_assert_eq(chat_template_render(tmpl, &options, &out, &size, &error), CHORD_OK, "%s",
               error.message);
  cr_expect_str_eq(out, "user fg");
  rt_free(out);
  chat_template_free(tmpl);
}

Test(chat_input, builtin_names) {
  chat_template *tmpl;
  chord_error error;
  cr_expect_eq(chat_template_init_builtin("vicuna", &tmpl, &error), CHORD_ERROR_NOT_FOUND);
  cr_expect_str_eq(error.message, "no built-in chat template named 'vicuna' (there are: chatml, "
                                  "llama2, llama3, gemma, alpaca, mistral, phi3)");
  for (size_t i = 0; i < chat_builtin_count(); i++) {
    cr_expect_eq(chat_template_init_builtin(chat_builtin_name(i), &tmpl, &error), CHORD_OK, "%s",
                 error.message);
    chat_template_free(tmpl);
  }
}

/* ---- the engine API without the chat layer --------------------------------------------------- */

Test(engine, renders_values_built_by_hand) {
  jinja_template *tmpl;
  chord_error error;
  const char *source = "{% for m in messages %}{{ m.role }}:{{ m.n + 1 }} {% endfor %}";
  jinja_syntax_options syntax = {.trim_blocks = true, .lstrip_blocks = true};
  cr_assert_eq(jinja_template_parse("t", source, strlen(source), &syntax, &tmpl, &error), CHORD_OK);
  jinja_arena arena;
  jinja_arena_init(&arena);
  jinja_dict *vars = jinja_dict_new(&arena), *m = jinja_dict_new(&arena);
  jinja_list *messages = jinja_list_new(&arena);
  jinja_value role;
  cr_assert(jinja_make_string(&arena, "user", 4, &role));
  cr_assert(jinja_dict_set_cstr(&arena, m, "role", role));
  cr_assert(jinja_dict_set_cstr(&arena, m, "n", jinja_int(41)));
  cr_assert(jinja_list_push(&arena, messages, jinja_dict_value(m)));
  cr_assert(jinja_dict_set_cstr(&arena, vars, "messages", jinja_list_value(messages)));
  jinja_render_options options = {.now = fixed_time};
  const char *out;
  size_t size;
  cr_assert_eq(jinja_template_render(tmpl, vars, &options, &arena, &out, &size, &error), CHORD_OK);
  cr_expect_str_eq(out, "user:42 ");
  jinja_arena_free(&arena);
  jinja_template_free(tmpl);
}

/* SQLite-style: make the N-th allocation fail, for every N, until parsing and rendering succeed;
 * each failure must be a clean "out of memory" (the sanitizer build checks that nothing leaks). */
Test(engine, every_allocation_failure_is_clean) {
  const char *source = "{% set ns = namespace(n=0) %}{% for m in messages %}{{ m.role | upper }}"
                       "{% set ns.n = ns.n + 1 %}{{ m | tojson }}{% endfor %}{{ ns.n }}";
  const char *messages = "[{\"role\": \"user\", \"content\": \"hi\"}, {\"role\": \"assistant\"}]";
  bool succeeded = false;
  for (long n = 0; n < 100000 && !succeeded; n++) {
    chord_error error = {0};
    chat_template *tmpl = NULL;
    char *out = NULL;
    rt_alloc_fail_after(n);
    chord_status status = chat_template_init("t", source, strlen(source), &tmpl, &error);
    if (status == CHORD_OK) {
      chat_render_options options = {
          .messages_json = messages, .messages_size = strlen(messages), .now = &fixed_time};
      size_t size;
      status = chat_template_render(tmpl, &options, &out, &size, &error);
    }
    rt_alloc_fail_after(-1);
    if (status == CHORD_OK) {
      cr_expect_str_eq(out, "USER{\"role\": \"user\", \"content\": \"hi\"}ASSISTANT{\"role\": "
                            "\"assistant\"}2");
      succeeded = true;
    } else {
      cr_expect_eq(status, CHORD_ERROR_NO_MEMORY, "allocation %ld: %s", n, error.message);
      cr_expect(strstr(error.message, "out of memory") != NULL, "%s", error.message);
    }
    rt_free(out);
    chat_template_free(tmpl);
  }
  cr_expect(succeeded);
}
