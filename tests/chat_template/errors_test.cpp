// Bad templates and failing renders give clear errors that name the template line and column.
#include <string>

#include <gtest/gtest.h>

#include "tokenizer/jinja/chat_template.h"

namespace ds {
namespace {

std::string CompileError(const std::string& source) {
  StatusOr<ChatTemplate> t = ChatTemplate::Compile(source);
  return t.ok() ? "compiled" : std::string(t.status().message());
}

std::string RenderError(const std::string& source, const char* extra_json = "{}") {
  StatusOr<ChatTemplate> t = ChatTemplate::Compile(source);
  if (!t.ok()) return "compile failed: " + std::string(t.status().message());
  ChatTemplateInputs in;
  in.extra = nlohmann::ordered_json::parse(extra_json);
  StatusOr<std::string> out = t->Render(in);
  return out.ok() ? "rendered: " + *out : std::string(out.status().message());
}

TEST(ChatTemplateErrors, UnknownTag) {
  EXPECT_EQ(CompileError("line one\n{% foo %}"),
            "chat template line 2, column 4: encountered unknown tag 'foo'.");
}

TEST(ChatTemplateErrors, WrongEndTagNamesTheOpenBlock) {
  std::string e = CompileError("{% if x %}\n{% endfor %}");
  EXPECT_NE(e.find("line 2, column 4"), std::string::npos) << e;
  EXPECT_NE(e.find("'endif'"), std::string::npos) << e;
}

TEST(ChatTemplateErrors, UnclosedBlock) {
  std::string e = CompileError("{% for m in messages %}\n{{ m }}\n");
  EXPECT_NE(e.find("unexpected end of template"), std::string::npos) << e;
  EXPECT_NE(e.find("'endfor'"), std::string::npos) << e;
  EXPECT_NE(e.find("line 2"), std::string::npos) << e;
}

TEST(ChatTemplateErrors, UnclosedTagsAndComments) {
  EXPECT_NE(CompileError("a\n{{ x").find("line 2, column 1"), std::string::npos);
  EXPECT_NE(CompileError("{% if x").find("line 1, column 1"), std::string::npos);
  EXPECT_NE(CompileError("{# never closed").find("comment"), std::string::npos);
  EXPECT_NE(CompileError("{{ 'abc }}").find("unterminated string"), std::string::npos);
}

TEST(ChatTemplateErrors, UnknownFilterAndTest) {
  EXPECT_EQ(CompileError("{{ x }}\n  {{ x | nofilter }}"),
            "chat template line 2, column 10: no filter named 'nofilter'");
  EXPECT_EQ(CompileError("{{ x is notatest }}"), "chat template line 1, column 9: no test named 'notatest'");
}

TEST(ChatTemplateErrors, SyntaxErrors) {
  EXPECT_NE(CompileError("{{ 1 + }}").find("line 1, column 8"), std::string::npos);
  EXPECT_NE(CompileError("{{ (1, 2 }}").find("line 1"), std::string::npos);
  EXPECT_NE(CompileError("{% break %}").find("outside of a loop"), std::string::npos);
  EXPECT_NE(CompileError("{{ 99999999999999999999 }}").find("too large"), std::string::npos);
  EXPECT_NE(CompileError("{% extends 'x' %}").find("not supported"), std::string::npos);
  EXPECT_NE(CompileError("{{ x @ y }}").find("unexpected char '@'"), std::string::npos);
}

TEST(ChatTemplateErrors, DeepNestingIsAnErrorNotACrash) {
  std::string deep = "{{ " + std::string(5000, '(') + "1" + std::string(5000, ')') + " }}";
  EXPECT_NE(CompileError(deep).find("nested too deeply"), std::string::npos);
  std::string nots = "{{ " ;
  for (int i = 0; i < 5000; ++i) nots += "not ";
  EXPECT_NE(CompileError(nots + "x }}").find("nested too deeply"), std::string::npos);
}

TEST(ChatTemplateErrors, RaiseException) {
  EXPECT_EQ(RenderError("ok\n{% if true %}{{ raise_exception('Only user and assistant roles!') }}{% endif %}"),
            "chat template line 2, column 17: raise_exception: Only user and assistant roles!");
}

TEST(ChatTemplateErrors, RuntimeErrors) {
  EXPECT_EQ(RenderError("{{ y.foo }}"), "chat template line 1, column 5: 'y' is undefined");
  EXPECT_EQ(RenderError("{{ d.missing.foo }}", R"({"d": {}})"),
            "chat template line 1, column 13: 'dict object' has no attribute 'missing'");
  EXPECT_EQ(RenderError("\n{{ 'a' + 1 }}"),
            "chat template line 2, column 8: can only concatenate str (not \"int\") to str");
  EXPECT_NE(RenderError("{{ 1 / 0 }}").find("division by zero"), std::string::npos);
  EXPECT_NE(RenderError("{% for x in 5 %}{% endfor %}").find("not iterable"), std::string::npos);
  EXPECT_NE(RenderError("{{ 1 < 'a' }}").find("not supported"), std::string::npos);
  EXPECT_NE(RenderError("{{ undefined_fn() }}").find("'undefined_fn' is undefined"), std::string::npos);
  EXPECT_NE(RenderError("{% set n = 5 %}{% set n.a = 1 %}").find("non-namespace"), std::string::npos);
  EXPECT_NE(RenderError("{{ y | tojson }}").find("not JSON serializable"), std::string::npos);
  EXPECT_NE(RenderError("{% macro m(a) %}{% endmacro %}{{ m(1, 2) }}").find("takes not more than 1"),
            std::string::npos);
  EXPECT_NE(RenderError("{% macro m() %}{{ m() }}{% endmacro %}{{ m() }}").find("recursion"),
            std::string::npos);
  EXPECT_NE(RenderError("{{ range(1000000) | length }}").find("Range too big"), std::string::npos);
}

// Runaway templates (found while fuzzing; inputs in tests/fuzz/regressions/fuzz_chat_template) stop
// with an error instead of hanging or exhausting memory.
TEST(ChatTemplateErrors, RunawayTemplatesHitLimits) {
  EXPECT_NE(RenderError("{{ 'a' * 1000000000 }}").find("repetition result too large"), std::string::npos);
  EXPECT_NE(RenderError("{{ ([1] * 100000000) | length }}").find("repetition result too large"), std::string::npos);
  // Widths and precisions that would allocate or print gigabytes (found probing after a fuzzer hit).
  EXPECT_NE(RenderError("{{ 'a' | center(10000000000) }}").find("width too large"), std::string::npos);
  EXPECT_NE(RenderError("{{ 'x\ny' | indent(10000000000) }}").find("width too large"), std::string::npos);
  EXPECT_NE(RenderError("{{ ('x\n' * 1000000) | indent(100) }}").find("result too long"), std::string::npos);
  EXPECT_NE(RenderError("{{ '%.10000000000f' % 1.5 }}").find("precision too large"), std::string::npos);
  EXPECT_NE(RenderError("{{ ([1] * 1000) | join('x' * 10000000) }}").find("join() result longer"), std::string::npos);
  EXPECT_NE(RenderError("{{ {'a': 1} | tojson(indent=10000000000) }}").find("indent too large"), std::string::npos);
  EXPECT_NE(RenderError("{% for i in range(100000) %}{% for j in range(100000) ,%}{% endfor %}{% endfor %}")
                .find("range() built more than"),
            std::string::npos);
  // A list holding itself prints as Python prints it (it overflowed the stack); tojson refuses it.
  EXPECT_EQ(RenderError("{% set x = [] %}{% set _ = x.append(x) %}{{ x }}{{ x == x }}"), "rendered: [[...]]True");
  EXPECT_NE(RenderError("{% set x = [] %}{% set _ = x.append(x) %}{{ x | tojson }}").find("nested too deeply"),
            std::string::npos);
  // Nesting 3000 deep and lists sharing sub-lists 2^60 ways: comparing or printing them stops
  // instead of overflowing the stack or running for ages.
  EXPECT_EQ(RenderError("{% set ns = namespace(x=[]) %}{% for i in range(3000) %}{% set ns.x = [ns.x] %}{% endfor %}"
                        "{{ ns.x | length }}{{ ns.x == ns.x }}{{ (ns.x | string | length) > 0 }}"),
            "rendered: 1TrueTrue");
  EXPECT_EQ(RenderError("{% set ns = namespace(a=[], b=[]) %}{% for i in range(60) %}{% set ns.a = [ns.a, ns.a] %}"
                        "{% set ns.b = [ns.b, ns.b] %}{% endfor %}{{ ns.a == ns.b }}"),
            "rendered: False");
  EXPECT_NE(RenderError("{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}")
                .find("more than 100000 loop iterations"),
            std::string::npos);
  EXPECT_NE(RenderError("{% set ns = namespace(s='aaaaaaaaaaaaaaaa') %}{% for i in range(40) %}"
                        "{% set ns.s = ns.s ~ ns.s %}{% endfor %}{{ ns.s|length }}")
                .find("string longer than"),
            std::string::npos);
  EXPECT_NE(RenderError("{% set ns = namespace(s='aaaaaaaaaaaaaaaa') %}{% for i in range(40) %}"
                        "{% set ns.s = ns.s + ns.s %}{% endfor %}")
                .find("concatenation result too long"),
            std::string::npos);
  EXPECT_NE(RenderError("{% for i in range(99999) %}{{ 'x' * 1000 }}{% endfor %}").find("output longer than"),
            std::string::npos);
  // One replace can multiply a string's length: refused before the result is built.
  EXPECT_NE(RenderError("{% set s = 'ab' * 4000000 %}{{ s.replace('', s) | length }}").find("replace() result longer than"),
            std::string::npos);
  EXPECT_NE(RenderError("{% set s = 'ab' * 4000000 %}{{ (s | replace('a', s)) | length }}").find("replace() result longer than"),
            std::string::npos);
  // Within the limits, big renders still work.
  EXPECT_EQ(RenderError("{{ ('ab' * 500000) | length }}"), "rendered: 1000000");
  EXPECT_EQ(RenderError("{{ ('ab' * 500000).replace('a', 'xyz') | length }}"), "rendered: 2000000");
  EXPECT_EQ(RenderError("{{ 'abc'.replace('', '-') }}|{{ 'abc'.replace('', '-', 2) }}"), "rendered: -a-b-c-|-a-bc");
}

TEST(ChatTemplateErrors, BadExtraVariables) {
  StatusOr<ChatTemplate> t = ChatTemplate::Compile("x");
  ASSERT_TRUE(t.ok());
  ChatTemplateInputs in;
  in.extra = nlohmann::ordered_json::array();
  EXPECT_FALSE(t->Render(in).ok());
}

}  // namespace
}  // namespace ds
