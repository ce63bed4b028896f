// Small templates, one or more constructs each. Expected outputs are what Python Jinja2 3.1.6
// renders with Hugging Face's settings (ImmutableSandboxedEnvironment(trim_blocks=True,
// lstrip_blocks=True), json.dumps-based tojson), recorded once from Jinja2 itself.
#include <string>

#include <gtest/gtest.h>

#include "tokenizer/jinja/chat_template.h"

namespace ds {
namespace {

struct Case {
  const char* source;
  const char* expected;
};

// Variables: x = 1, d = {"a": 1, "b": 2}, l = [1, 2, 3], msgs = system/user/assistant messages.
const Case kCases[] = {
    {"{{ \"s\" }}|{{ 1 }}|{{ 1.5 }}|{{ true }}|{{ none }}|{{ [1, \"a\", none] }}|{{ {\"a\": 1} }}|{{ (1, 2) }}", "s|1|1.5|True|None|[1, 'a', None]|{'a': 1}|(1, 2)"},
    {"{{ 1e16 }} {{ 1e15 }} {{ 0.0001 }} {{ 0.00001 }} {{ 0.1 + 0.2 }} {{ 2.0 }}", "1e+16 1000000000000000.0 0.0001 1e-05 0.30000000000000004 2.0"},
    {"{{ '\\u00e9\\x41\\101\\n' }}|{{ \"a\" 'b' }}|{{ 1_000 }}|{{ 0x1F }}|{{ 1.5e2 }}", "éAA\n|ab|1000|31|150.0"},
    {"{% for x in [1,2,3] %}{{ loop.index }}{% endfor %}", "123"},
    {"{% for x in l %}{{ loop.index0 }}{{ loop.first }}{{ loop.last }}{{ loop.length }}{{ loop.revindex }}{{ loop.revindex0 }}|{% endfor %}", "0TrueFalse332|1FalseFalse321|2FalseTrue310|"},
    {"{% for x in [] %}a{% else %}b{% endfor %}", "b"},
    {"{% for k, v in d.items() %}{{ k }}={{ v }};{% endfor %}", "a=1;b=2;"},
    {"{% for x in [1,2,3,4] if x is even %}{{ x }}/{{ loop.length }} {% endfor %}", "2/2 4/2 "},
    {"{% for i in range(5) %}{% if i == 1 %}{% continue %}{% endif %}{% if i == 3 %}{% break %}{% endif %}{{ i }}{% endfor %}", "02"},
    {"{% for a in [[1,2],[3,4]] %}{% for b in a %}{{ loop.index }}{{ b }}{% endfor %}-{{ loop.index }} {% endfor %}", "1122-1 1324-2 "},
    {"{% for m in msgs %}{{ loop.previtem is defined }}{{ loop.cycle(\"a\", \"b\") }}{% endfor %}", "FalseaTruebTruea"},
    {"{% for x in d %}{{ x }}{% endfor %}{% for c in \"ab\" %}[{{ c }}]{% endfor %}", "ab[a][b]"},
    {"{% set x = 5 %}{% for i in [1,2] %}[{{ x }}]{% set x = i %}{% endfor %}|{{ x }}", "[5][5]|5"},
    {"{% set ns = namespace(a=1, b=\"x\") %}{% for i in [1,2] %}{% set ns.a = ns.a + i %}{% endfor %}{{ ns.a }}{{ ns.b }}", "4x"},
    {"{% set ns = namespace(l=[]) %}{% for i in [1,2] %}{% set ns.l = ns.l + [i] %}{% endfor %}{{ ns.l }}", "[1, 2]"},
    {"{% set a, b = 1, 2 %}{{ a }}{{ b }}{% set t = (1, 2) %}{{ t }}", "12(1, 2)"},
    {"{% set x %}block {{ 1 }}{% endset %}[{{ x }}]", "[block 1]"},
    {"{% set x = 1 %}{% if true %}{% set x = 2 %}{% endif %}{{ x }}", "2"},
    {"{% with a = 1, b = 2 %}{{ a + b }}{% endwith %}[{{ a }}]", "3[]"},
    {"{% if 0 %}a{% elif 1 %}b{% else %}c{% endif %}{% if 0 %}a{% elif 0 %}b{% else %}c{% endif %}", "bc"},
    {"{% if d %}T{% endif %}{% if {} %}F{% endif %}{% if [] %}F{% endif %}{% if \"\" %}F{% endif %}{% if \" \" %}T{% endif %}{% if 0.0 %}F{% endif %}", "TT"},
    {"{% macro m(a, b=\"d\") %}[{{ a }}|{{ b }}]{% endmacro %}{{ m(1) }}{{ m(1, 2) }}{{ m(a=3, b=4) }}{{ m() }}", "[1|d][1|2][3|4][|d]"},
    {"{% macro outer(x) %}<{{ caller(x) }}>{% endmacro %}{% call(y) outer(5) %}got {{ y }}{% endcall %}", "<got 5>"},
    {"{% filter upper %}abc {{ \"d\" }}{% endfilter %}", "ABC D"},
    {"{{ d.a }}{{ d[\"b\"] }}[{{ d.missing }}]{{ l[0] }}{{ l[-1] }}{{ l[1:] }}{{ l[::-1] }}{{ \"abcdé\"[::-1] }}{{ \"abc\"[1] }}{{ l[:-1] }}{{ l[::2] }}", "12[]13[2, 3][3, 2, 1]édcbab[1, 2][1, 3]"},
    {"{{ msgs[0].content }}{{ msgs[1][\"role\"] }}{{ msgs|length }}{{ \"héllo\"|length }}", "S user35"},
    {"{{ x is defined }}{{ y is defined }}{{ none is none }}{{ \"a\" is string }}{{ d is mapping }}{{ l is iterable }}{{ 1 is number }}{{ l is sequence }}{{ true is boolean }}{{ 1 is not string }}{{ y is undefined }}", "TrueFalseTrueTrueTrueTrueTrueTrueTrueTrueTrue"},
    {"{{ 3 is odd }}{{ 4 is divisibleby 2 }}{{ 1 is integer }}{{ 1.0 is float }}{{ none is not none }}{{ d is not mapping }}{{ \"x\" is sequence }}{{ true is number }}", "TrueTrueTrueTrueFalseFalseTrueTrue"},
    {"{{ 1 in l }}{{ 9 not in l }}{{ \"a\" in \"cat\" }}{{ \"a\" in d }}", "TrueTrueTrueTrue"},
    {"{{ 1 and 2 }}{{ 0 or \"x\" }}{{ not 0 }}{{ 1 < 2 < 3 }}{{ 2 > 1 >= 1 }}{{ 1 == 1.0 }}{{ \"a\" != \"b\" }}{{ [1,2] < [1,3] }}", "2xTrueTrueTrueTrueTrueTrue"},
    {"{{ 7 // 2 }} {{ -7 // 2 }} {{ 7 % 3 }} {{ -7 % 3 }} {{ 7 / 2 }} {{ 2 ** 10 }} {{ 1 + 2 * 3 }} {{ (1 + 2) * 3 }} {{ 7.5 // 2 }} {{ -1.5 % 1 }} {{ 2 ** 3 ** 2 }} {{ -2 ** 2 }}", "3 -4 1 2 3.5 1024 7 9 3.0 0.5 64 4"},
    {"{{ \"a\" ~ 1 ~ none ~ y }}|{{ 1 ~ 2 * 3 }}|{{ 3 * \"ab\" }}|{{ [0] * 3 }}", "a1None|16|ababab|[0, 0, 0]"},
    // '%f' output of any length (it went through a 512-byte buffer): 1e300 with 250 decimals.
    {"{{ ('%.250f' % 1e300) | length }}|{{ '%.3f' % 2.5 }}", "552|2.500"},
    // A list holding itself prints and compares as in Python (printing it overflowed the stack).
    // Such cycles are freed when the render ends (ContainerArena; the ASan run checks for leaks),
    // also through a namespace, a bound method and a list the caller passed in.
    {"{% set x = [] %}{% set _ = x.append(x) %}{{ x }}|{{ x == x }}|{{ [x] }}", "[[...]]|True|[[[...]]]"},
    {"{% set ns = namespace(a=1) %}{% set ns.a = ns %}{% set y = [] %}{% set _ = y.append(y.append) %}"
     "{% set _ = l.append(l) %}{{ ns.a.a.a is defined }}|{{ y | length }}|{{ l | length }}",
     "True|1|4"},
    // Empty sequences repeat at once however large n is (a fuzzer's '' * 10^10 ran for minutes).
    {"{{ '' * 10000000000 }}|{{ [] * 10000000000 }}|{{ 'ab' * 0 }}|{{ 'ab' * -2 }}|{{ (1,) * 2 }}", "|[]|||(1, 1)"},
    {"{{ \"yes\" if x else \"no\" }}{{ \"yes\" if y else \"no\" }}[{{ \"a\" if false }}]{{ 1 if 0 else 2 if 0 else 3 }}", "yesno[]3"},
    {"{{ l|length }}{{ l|count }}{{ l|first }}{{ l|last }}[{{ \"  hi  \"|trim }}]{{ \"ab\"|upper }}{{ \"AB\"|lower }}{{ \"hello wOrld\"|title }}{{ \"hELLO\"|capitalize }}", "3313[hi]ABabHello WorldHello"},
    {"{{ \"a-b-c\"|replace(\"-\", \"+\") }}|{{ l|join(\",\") }}|{{ y|default(\"dflt\") }}|{{ \"\"|default(\"e\", true) }}|{{ y|d(\"z\") }}|{{ msgs|map(attribute=\"role\")|join(\",\") }}", "a+b+c|1,2,3|dflt|e|z|system,user,assistant"},
    {"{{ d|tojson }}{{ l|tojson }}{{ \"é\\n\\\"x\"|tojson }}{{ {\"a\": [1, {\"b\": none}], \"c\": {}}|tojson(indent=2) }}{{ {}|tojson }}{{ []|tojson(indent=2) }}", "{\"a\": 1, \"b\": 2}[1, 2, 3]\"é\\n\\\"x\"{\n  \"a\": [\n    1,\n    {\n      \"b\": null\n    }\n  ],\n  \"c\": {}\n}{}[]"},
    {"{{ none|tojson }}{{ true|tojson }}{{ 1.0|tojson }}{{ \"\\u2028\\x01\"|tojson }}{{ \"é\"|tojson(ensure_ascii=true) }}{{ {\"b\": 1, \"a\": 2}|tojson(sort_keys=true) }}{{ d|tojson(separators=(\",\", \":\")) }}", "nulltrue1.0\" \\u0001\"\"\\u00e9\"{\"a\": 2, \"b\": 1}{\"a\":1,\"b\":2}"},
    {"{{ 1|string }}{{ \"42\"|int }}{{ \"4.7\"|int }}{{ \"x\"|int }}{{ \"2.5\"|float }}{{ d|list }}{{ d|items|list }}{{ d|dictsort }}{{ d|dictsort(reverse=true) }}", "142402.5['a', 'b'][('a', 1), ('b', 2)][('a', 1), ('b', 2)][('b', 2), ('a', 1)]"},
    {"{{ msgs|selectattr(\"role\", \"equalto\", \"user\")|list }}{{ msgs|rejectattr(\"role\", \"equalto\", \"user\")|map(attribute=\"content\")|list }}{{ [1,2,3,4]|select(\"odd\")|list }}", "[{'role': 'user', 'content': 'U'}]['S ', 'A'][1, 3]"},
    {"{{ [3,1,2,1]|unique|list }}{{ [3,1,2]|reverse|list }}{{ [3,1,2]|sort }}{{ [\"b\",\"A\",\"a\"]|sort }}{{ -3|abs }}{{ 2.567|round(1) }}{{ 2.5|round }}{{ 3|round }}{{ \"x\"|safe }}", "[3, 1, 2][2, 1, 3][1, 2, 3]['A', 'a', 'b']32.62.03x"},
    {"{{ \"a\\nb\\nc\"|indent(2) }}|{{ \"a\\n\\nb\"|indent(2, true) }}|{{ \"a\\n\\nb\"|indent(2, blank=true) }}", "a\n  b\n  c|  a\n\n  b|a\n  \n  b"},
    {"{{ [1,2,3]|sum }}{{ [1,5,3]|max }}{{ [4,2,8]|min }}{{ [1,2,3,4,5]|batch(2)|list }}{{ \"%s-%d\"|format(\"a\", 3) }}", "652[[1, 2], [3, 4], [5]]a-3"},
    {"[{{ \"  a b  \".strip() }}]{{ \"xxaxx\".lstrip(\"x\") }}{{ \"xxaxx\".rstrip(\"x\") }}{{ \"a,b,c\".split(\",\") }}{{ \" a  b \".split() }}{{ \"abc\".startswith(\"a\") }}{{ \"abc\".endswith(\"bc\") }}{{ \"aaa\".replace(\"a\", \"b\", 2) }}{{ \"ab\".upper() }}{{ \"AB\".lower() }}{{ \"hello world\".title() }}", "[a b]axxxxa['a', 'b', 'c']['a', 'b']TrueTruebbaABabHello World"},
    {"{{ d.get(\"a\") }}{{ d.get(\"zz\", 5) }}{{ d.get(\"zz\") }}{{ d.keys()|list }}{{ d.values()|list }}{{ \"{} and {}\".format(1, \"x\") }}", "15None['a', 'b'][1, 2]1 and x"},
    {"  {% if true %}\n    x\n  {% endif %}\n  y\n", "    x\n  y"},
    {"a  {%- if true -%}  b  {%- endif -%}  c", "abc"},
    {"a\n{% if true %}\nb\n{% endif %}\nc\n", "a\nb\nc"},
    {"a {{- \" b \" -}} c\n{{ \"d\" }}\n", "a b c\nd"},
    {"x {# comment #} y\n  {# c2 #}\nz {#- c3 -#} w", "x  y\nzw"},
    {"{% raw %}{{ not parsed }}{% endraw %}", "{{ not parsed }}"},
    {"{%+ if true %}  a{% endif %}\n  {%+ if true +%}\nb{% endif %}", "  a  \nb"},
    {"\n  {% for x in l %}\n    {{ x }}\n  {% endfor %}\n", "\n    1\n    2\n    3\n"},
    {"{% if true %}\r\nA\r\n{% endif %}\r\n", "A\n"},
};

ChatTemplateInputs Inputs() {
  ChatTemplateInputs in;
  in.extra = nlohmann::ordered_json::parse(R"({
    "x": 1, "d": {"a": 1, "b": 2}, "l": [1, 2, 3],
    "msgs": [{"role": "system", "content": "S "}, {"role": "user", "content": "U"},
             {"role": "assistant", "content": "A"}]})");
  return in;
}

TEST(ChatTemplateConstructs, MatchJinja2) {
  const ChatTemplateInputs in = Inputs();
  for (const Case& c : kCases) {
    SCOPED_TRACE(c.source);
    StatusOr<ChatTemplate> t = ChatTemplate::Compile(c.source);
    ASSERT_TRUE(t.ok()) << t.status();
    StatusOr<std::string> out = t->Render(in);
    ASSERT_TRUE(out.ok()) << out.status();
    EXPECT_EQ(*out, c.expected);
  }
}

TEST(ChatTemplateConstructs, ToolSchemaKeepsKeyOrder) {
  ChatTemplateInputs in;
  in.tools = nlohmann::ordered_json::parse(
      R"([{"type": "function", "function": {"name": "f", "parameters": {"z": 1, "a": [2.5, null, true]}}}])");
  StatusOr<ChatTemplate> t = ChatTemplate::Compile("{% for t in tools %}{{ t | tojson }}{% endfor %}");
  ASSERT_TRUE(t.ok()) << t.status();
  StatusOr<std::string> out = t->Render(in);
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(*out,
            R"({"type": "function", "function": {"name": "f", "parameters": {"z": 1, "a": [2.5, null, true]}}})");
}

TEST(ChatTemplateConstructs, StandardVariables) {
  ChatTemplateInputs in;
  in.messages = nlohmann::ordered_json::parse(R"([{"role": "user", "content": "hi"}])");
  in.add_generation_prompt = true;
  in.bos_token = "<s>";
  in.eos_token = "</s>";
  StatusOr<ChatTemplate> t = ChatTemplate::Compile(
      "{{ bos_token }}{{ messages[0].content }}{{ add_generation_prompt }}{{ eos_token }}"
      "{{ tools is none }}");
  ASSERT_TRUE(t.ok()) << t.status();
  StatusOr<std::string> out = t->Render(in);
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(*out, "<s>hiTrue</s>True");
}

}  // namespace
}  // namespace ds
