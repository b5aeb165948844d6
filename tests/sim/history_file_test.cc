// History file formats: the simulator's JSON lines, Jepsen log lines and Jepsen EDN maps parse
// into the operations they describe (pairing, unknown outcomes, keys, cas values), the format is
// detected from the content, every error names its line, limits hold, and random bytes or
// damaged files never crash the parser.
#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <fstream>
#include <unistd.h>

#include "sim/checkers/edn_reader.h"
#include "sim/checkers/history_file.h"
#include "sim/checkers/json_reader.h"
#include "sim/checkers/linearizability_checker.h"
#include "tests/support/reaching_property.h"

namespace cairn::sim::linearizability {
namespace {

ParsedHistory parse_ok(std::string_view text, HistoryFormat format = HistoryFormat::kAuto, bool tuples = false) {
  Result<ParsedHistory> parsed = parse_history(text, {.format = format, .key_value_tuples = tuples});
  EXPECT_TRUE(parsed.ok()) << parsed.status() << "\n" << text;
  return parsed.ok() ? *parsed : ParsedHistory{};
}

std::string parse_error(std::string_view text, HistoryFormat format = HistoryFormat::kAuto, bool tuples = false) {
  Result<ParsedHistory> parsed = parse_history(text, {.format = format, .key_value_tuples = tuples});
  EXPECT_FALSE(parsed.ok()) << text;
  return parsed.ok() ? std::string() : parsed.status().message();
}

// --- JSON lines ------------------------------------------------------------------------------

TEST(JsonLinesHistory, ReadsWhatTheSimulatorWrites) {
  const ParsedHistory parsed = parse_ok(
      R"({"process":1005,"f":"read","invoke_ns":4402408,"complete_ns":5928827,"type":"ok","value":null,"version":[0,0]}
{"process":1005,"f":"write","invoke_ns":8871713,"complete_ns":13287441,"type":"ok","value":"c1005-1-zhikbpwk","version":[1,1005]}
{"process":1002,"f":"write","invoke_ns":9640315,"complete_ns":-1,"type":"unknown","value":"c1002-1-x","version":[0,0]}

{"process":1003,"f":"read","invoke_ns":9700000,"complete_ns":9800000,"type":"fail","value":"","version":[0,0]}
)");
  EXPECT_EQ(parsed.format, HistoryFormat::kJsonLines);
  ASSERT_EQ(parsed.operations.size(), 4u);
  const Operation& first = parsed.operations[0];
  EXPECT_EQ(first.process, 1005u);
  EXPECT_EQ(first.function, Function::kRead);
  EXPECT_EQ(first.value, std::nullopt);
  EXPECT_EQ(first.invoke_time, 4402408);
  EXPECT_EQ(first.complete_time, 5928827);
  EXPECT_EQ(parsed.operations[1].value, Value("c1005-1-zhikbpwk"));
  EXPECT_EQ(parsed.operations[2].outcome, Outcome::kUnknown);
  EXPECT_EQ(parsed.operations[2].complete_time, kNeverCompleted);
  EXPECT_EQ(parsed.operations[3].outcome, Outcome::kFail);
  EXPECT_EQ(parsed.operations[3].source_line, 5u);
}

TEST(JsonLinesHistory, KeysCasAndNumbers) {
  const ParsedHistory parsed = parse_ok(
      R"({"process":1,"f":"cas","key":"k1","expected":"1","value":"2","invoke_ns":0,"complete_ns":5,"type":"ok"}
{"process":2,"f":"write","key":7,"value":3,"invoke_ns":1,"complete_ns":2,"type":"info"}
{"process":3,"f":"delete","key":"k1","invoke_ns":6,"complete_ns":9,"type":"ok"}
{"process":4,"f":"cas","key":"k1","value":"x","invoke_ns":10,"complete_ns":12,"type":"ok"})");
  ASSERT_EQ(parsed.operations.size(), 4u);
  EXPECT_EQ(parsed.operations[0].key, "k1");
  EXPECT_EQ(parsed.operations[0].expected, Value("1"));
  EXPECT_EQ(parsed.operations[0].value, Value("2"));
  EXPECT_EQ(parsed.operations[1].key, "7");
  EXPECT_EQ(parsed.operations[1].value, Value("3"));
  EXPECT_EQ(parsed.operations[1].outcome, Outcome::kUnknown);
  EXPECT_EQ(parsed.operations[2].function, Function::kDelete);
  EXPECT_EQ(parsed.operations[3].expected, std::nullopt) << "a missing expected is nil";
}

TEST(JsonLinesHistory, ErrorsNameTheLineAndTheField) {
  const std::string ok = R"({"process":1,"f":"read","invoke_ns":0,"complete_ns":5,"type":"ok"})";
  EXPECT_NE(parse_error(ok + "\n" + R"({"process":1,"f":"read","invoke_ns":0,"type":"ok"})").find("line 2: field \"complete_ns\" is missing"),
            std::string::npos);
  EXPECT_NE(parse_error(ok + "\n" + R"({"process":1,"f":"jump","invoke_ns":0,"complete_ns":5,"type":"ok"})", HistoryFormat::kJsonLines)
                .find("line 2: field \"f\""),
            std::string::npos);
  EXPECT_NE(parse_error(R"({"process":-1,"f":"read","invoke_ns":0,"complete_ns":5,"type":"ok"})").find("process"),
            std::string::npos);
  EXPECT_NE(parse_error(R"({"process":1,"f":"read","invoke_ns":0,"complete_ns":5,"type":"ok","value":[1]})").find("value"),
            std::string::npos);
  EXPECT_NE(parse_error(ok + "\n{\"process\":1,", HistoryFormat::kJsonLines).find("line 2: column"), std::string::npos);
  EXPECT_NE(parse_error(R"({"process":1,"f":"read","invoke_ns":9,"complete_ns":5,"type":"ok"})").find("line 1: the operation completes"),
            std::string::npos);
  EXPECT_NE(parse_error(R"({"process":1,"f":"read","invoke_ns":99999999999999999999,"complete_ns":5,"type":"ok"})")
                .find("invoke_ns"),
            std::string::npos);
}

TEST(JsonReader, DecodesEscapesAndBoundsNesting) {
  Result<JsonValue> value = parse_json(R"({"a":"x\"\u00e9\ud83d\ude00","b":[1,-2.5e3,true,null]})");
  ASSERT_TRUE(value.ok()) << value.status();
  EXPECT_EQ(value->find("a")->text, "x\"\xc3\xa9\xf0\x9f\x98\x80");
  EXPECT_EQ(value->find("b")->items[1].text, "-2.5e3");
  EXPECT_FALSE(parse_json(std::string(100, '[') + std::string(100, ']')).ok());
  EXPECT_FALSE(parse_json("{\"a\":1} x").ok());
  EXPECT_FALSE(parse_json("01").ok());
}

// --- Jepsen logs -----------------------------------------------------------------------------

constexpr std::string_view kJepsenLog =
    "INFO  jepsen.core - Running test etcd\n"
    "INFO  jepsen.util - 2\t:invoke\t:read\tnil\n"
    "INFO  jepsen.util - 1\t:invoke\t:cas\t[4 4]\n"
    "INFO  jepsen.util - 2\t:ok\t:read\t3\n"
    "INFO  jepsen.util - :nemesis\t:info\t:start\tnil\n"
    "INFO  jepsen.util - 1\t:fail\t:cas\t[4 4]\n"
    "INFO  jepsen.util - 4\t:invoke\t:write\t0\n"
    "INFO  jepsen.util - 4\t:info\t:write\t0\tindeterminate: Read timed out\n"
    "2017-03-09 12:25:13,480{GMT}\tINFO\t[jepsen worker 3] jepsen.util: 3\t:invoke\t:cas\t[1 2]\n"
    "WARN  jepsen.client - something unrelated happened\n";

TEST(JepsenLogHistory, PairsInvocationsWithCompletionsByProcess) {
  const ParsedHistory parsed = parse_ok(kJepsenLog);
  EXPECT_EQ(parsed.format, HistoryFormat::kJepsenLog);
  EXPECT_EQ(parsed.nemesis_events, 1u);
  EXPECT_EQ(parsed.skipped_lines, 2u);
  ASSERT_EQ(parsed.operations.size(), 4u);
  const Operation& read = parsed.operations[0];
  EXPECT_EQ(read.process, 2u);
  EXPECT_EQ(read.function, Function::kRead);
  EXPECT_EQ(read.value, Value("3"));
  EXPECT_EQ(read.outcome, Outcome::kOk);
  EXPECT_LT(read.invoke_time, read.complete_time);
  EXPECT_EQ(read.source_line, 2u);
  const Operation& cas = parsed.operations[1];
  EXPECT_EQ(cas.outcome, Outcome::kFail);
  EXPECT_EQ(cas.expected, Value("4"));
  EXPECT_EQ(cas.value, Value("4"));
  EXPECT_EQ(parsed.operations[2].outcome, Outcome::kUnknown) << ":info";
  EXPECT_EQ(parsed.operations[2].value, Value("0"));
  EXPECT_EQ(parsed.operations[3].process, 3u);
  EXPECT_EQ(parsed.operations[3].outcome, Outcome::kUnknown) << "never completed";
  EXPECT_EQ(parsed.operations[3].expected, Value("1"));
  // Real-time order is event order: the read completed before process 4's write was invoked.
  EXPECT_LT(read.complete_time, parsed.operations[2].invoke_time);
}

TEST(JepsenLogHistory, SpaceSeparatedAndBareLinesWork) {
  const ParsedHistory parsed = parse_ok("0 :invoke :write 1\n0 :ok :write 1\n1 :invoke :read nil\n1 :ok :read 1\n");
  ASSERT_EQ(parsed.operations.size(), 2u);
  EXPECT_EQ(parsed.format, HistoryFormat::kJepsenLog);
  EXPECT_EQ(parsed.operations[1].value, Value("1"));
}

TEST(JepsenLogHistory, AProcessInvokingAgainLeavesItsOpenOperationUnknown) {
  const ParsedHistory parsed =
      parse_ok("3 :invoke :write 1\n3 :invoke :read nil\n3 :ok :read 1\n", HistoryFormat::kJepsenLog);
  ASSERT_EQ(parsed.operations.size(), 2u);
  EXPECT_EQ(parsed.operations[0].outcome, Outcome::kUnknown);
  EXPECT_EQ(parsed.operations[1].outcome, Outcome::kOk);
  EXPECT_EQ(parsed.superseded_invocations, 1u);
}

TEST(JepsenLogHistory, IndependentKeysInTuples) {
  const ParsedHistory parsed = parse_ok(
      "0\t:invoke\t:write\t[5 1]\n0\t:ok\t:write\t[5 1]\n1\t:invoke\t:read\t[5 nil]\n1\t:ok\t:read\t[5 1]\n"
      "2\t:invoke\t:cas\t[6 [1 2]]\n2\t:fail\t:cas\t[6 [1 2]]\n",
      HistoryFormat::kJepsenLog, true);
  ASSERT_EQ(parsed.operations.size(), 3u);
  EXPECT_EQ(parsed.operations[0].key, "5");
  EXPECT_EQ(parsed.operations[1].key, "5");
  EXPECT_EQ(parsed.operations[1].value, Value("1"));
  EXPECT_EQ(parsed.operations[2].key, "6");
  EXPECT_EQ(parsed.operations[2].expected, Value("1"));
}

TEST(JepsenLogHistory, ErrorsNameTheLine) {
  EXPECT_NE(parse_error("0 :invoke :read nil\n1 :ok :read 3\n").find("line 2: process 1 completes"), std::string::npos);
  EXPECT_NE(parse_error("0 :invoke :add 1\n").find("line 1: unsupported operation ':add'"), std::string::npos);
  EXPECT_NE(parse_error("0 :invoke :cas 4\n").find("line 1: a cas value must be [expected new]"), std::string::npos);
  EXPECT_NE(parse_error("0 :invoke :write [1\n").find("line 1:"), std::string::npos);
  EXPECT_NE(parse_error("0 :invoke :write 1\n0 :ok :read 1\n").find("line 2: process 0 invoked a write on line 1"),
            std::string::npos);
  EXPECT_NE(parse_error("just some text\nand more\n", HistoryFormat::kJepsenLog).find("no Jepsen operation lines"),
            std::string::npos);
  EXPECT_NE(parse_error("0 :invoke :write 1\n", HistoryFormat::kJepsenLog, true).find("[key value]"), std::string::npos);
}

// --- EDN -------------------------------------------------------------------------------------

TEST(EdnHistory, OneMapPerLineWithTimesAndKeys) {
  const ParsedHistory parsed = parse_ok(
      "{:type :invoke, :f :write, :value 3, :process 0, :time 1000, :index 0, :key \"k\"}\n"
      "{:type :invoke, :f :read, :value nil, :process 1, :time 2000, :index 1, :key \"k\"}\n"
      "{:type :ok, :f :write, :value 3, :process 0, :time 3000, :index 2, :key \"k\"}\n"
      "{:type :ok, :f :read, :value 3, :process 1, :time 4000, :index 3, :key \"k\"}\n"
      "{:type :info, :f :start, :value nil, :process :nemesis, :time 5000, :index 4}\n"
      "{:type :invoke, :f :cas, :value [3 :four], :process 2, :time 6000, :index 5, :key \"k\"}\n"
      "{:type :ok, :f :cas, :value [3 :four], :process 2, :time 7000, :index 6, :key \"k\"}\n");
  EXPECT_EQ(parsed.format, HistoryFormat::kEdn);
  EXPECT_EQ(parsed.nemesis_events, 1u);
  ASSERT_EQ(parsed.operations.size(), 3u);
  EXPECT_EQ(parsed.operations[0].key, "k");
  EXPECT_EQ(parsed.operations[1].value, Value("3"));
  EXPECT_EQ(parsed.operations[2].expected, Value("3"));
  EXPECT_EQ(parsed.operations[2].value, Value(":four"));
  EXPECT_EQ(parsed.operations[2].source_line, 6u);
  Result<CheckResult> result = check_linearizability(parsed.operations, ModelKind::kCasRegister);
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result->verdict, Verdict::kLinearizable);
}

TEST(EdnHistory, AVectorOfMapsAcrossLines) {
  const ParsedHistory parsed = parse_ok(
      "; a Knossos-style history\n"
      "[{:process 0, :type :invoke, :f :write, :value \"a b\"}\n"
      " {:process 0, :type :ok, :f :write, :value \"a b\"}\n"
      " #_{:process 9, :type :invoke, :f :read}\n"
      " {:process 1, :type :invoke, :f :read, :value nil}\n"
      " {:process 1, :type :ok, :f :read, :value \"a b\"}]\n");
  ASSERT_EQ(parsed.operations.size(), 2u);
  EXPECT_EQ(parsed.operations[0].value, Value("a b"));
  EXPECT_EQ(parsed.operations[1].source_line, 5u);
  EXPECT_EQ(parsed.operations[1].value, Value("a b"));
}

TEST(EdnHistory, IndependentTuplesAndTaggedOperations) {
  const ParsedHistory parsed = parse_ok(
      "#jepsen.history.Op{:index 0, :process 0, :type :invoke, :f :cas, :value [\"x\" [nil 1]]}\n"
      "{:index 1, :process 0, :type :ok, :f :cas, :value [\"x\" [nil 1]]}\n"
      "{:index 2, :process 1, :type :invoke, :f :read, :value [\"y\" nil]}\n"
      "{:index 3, :process 1, :type :ok, :f :read, :value [\"y\" nil]}\n",
      HistoryFormat::kEdn, true);
  ASSERT_EQ(parsed.operations.size(), 2u);
  EXPECT_EQ(parsed.operations[0].key, "x");
  EXPECT_EQ(parsed.operations[0].expected, std::nullopt);
  EXPECT_EQ(parsed.operations[0].value, Value("1"));
  EXPECT_EQ(parsed.operations[1].key, "y");
}

TEST(EdnHistory, ErrorsNameTheLine) {
  EXPECT_NE(parse_error("{:process 0, :type :invoke, :f :read}\n{:process 0 :type :ok :f :read :value}\n")
                .find("line 2:"),
            std::string::npos);
  EXPECT_NE(parse_error("{:process 0, :type :begin, :f :read}\n", HistoryFormat::kEdn).find("line 1: :type"),
            std::string::npos);
  EXPECT_NE(parse_error("{:process 0, :type :invoke}\n", HistoryFormat::kEdn).find("line 1: :f"), std::string::npos);
  EXPECT_NE(parse_error("{:type :invoke, :f :read}\n", HistoryFormat::kEdn).find("no :process"), std::string::npos);
  EXPECT_NE(parse_error("\n\n[{:process 0, :type :invoke, :f :read}\n", HistoryFormat::kEdn).find("opened on line 3"),
            std::string::npos);
  EXPECT_NE(parse_error("[1 2]", HistoryFormat::kEdn).find("expected an operation map"), std::string::npos);
  EXPECT_NE(parse_error("{:process 0 :type :invoke :f :read :value 12abc}", HistoryFormat::kEdn).find("malformed number"),
            std::string::npos);
}

TEST(EdnReader, CanonicalValues) {
  EdnReader reader("[+007 -0 12N \"s\\\"q\" :kw sym \\c 1.5 #{1} {:a 1} (1 2) #inst \"2020\"]");
  Result<std::optional<EdnValue>> form = reader.next();
  ASSERT_TRUE(form.ok()) << form.status();
  ASSERT_TRUE(form->has_value());
  EXPECT_EQ(edn_text(**form), "[7 0 12 \"s\\\"q\" :kw sym \\c 1.5 #{1} {:a 1} (1 2) #inst \"2020\"]");
  EXPECT_FALSE(EdnReader(std::string(200, '[')).next().ok());
}

// --- detection, files, limits ----------------------------------------------------------------

TEST(HistoryFormatDetection, RecognisesEachFormat) {
  EXPECT_EQ(detect_history_format("\n{\"process\":1}"), HistoryFormat::kJsonLines);
  EXPECT_EQ(detect_history_format("{:process 0}"), HistoryFormat::kEdn);
  EXPECT_EQ(detect_history_format("[{:process 0}]"), HistoryFormat::kEdn);
  EXPECT_EQ(detect_history_format(kJepsenLog), HistoryFormat::kJepsenLog);
  EXPECT_EQ(detect_history_format("hello\nworld\n"), HistoryFormat::kAuto);
  EXPECT_NE(parse_error("hello\nworld\n").find("--format"), std::string::npos);
  // An explicit format wins over what the content looks like.
  EXPECT_FALSE(parse_history(kJepsenLog, {.format = HistoryFormat::kJsonLines}).ok());
}

TEST(HistoryFile, ReadsFilesAndNamesThemInErrors) {
  const std::string path = ::testing::TempDir() + "/history-" + std::to_string(::getpid()) + ".log";
  std::ofstream(path) << "0 :invoke :read nil\n0 :ok :read nil\n1 :ok :read nil\n";
  Result<ParsedHistory> parsed = read_history_file(path, {});
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(parsed.status().message().rfind(path + ": line 3:", 0), 0u) << parsed.status();
  Result<ParsedHistory> missing = read_history_file(path + ".missing", {});
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find(path + ".missing"), std::string::npos);
  std::remove(path.c_str());
}

TEST(HistoryFile, LimitsAreErrorsNotCrashes) {
  HistoryParseOptions options;
  options.limits.max_line_bytes = 100;
  Result<ParsedHistory> long_line = parse_history("0 :invoke :write " + std::string(200, '1') + "\n", options);
  ASSERT_FALSE(long_line.ok());
  EXPECT_NE(long_line.status().message().find("line 1: longer than the limit"), std::string::npos);
  options = {};
  options.limits.max_operations = 2;
  for (const std::string& text :
       {std::string("0 :invoke :read nil\n1 :invoke :read nil\n2 :invoke :read nil\n"),
        std::string("{\"process\":1,\"f\":\"read\",\"invoke_ns\":0,\"complete_ns\":5,\"type\":\"ok\"}\n").append(
            "{\"process\":1,\"f\":\"read\",\"invoke_ns\":0,\"complete_ns\":5,\"type\":\"ok\"}\n{\"process\":1,\"f\":\"read\",\"invoke_ns\":0,\"complete_ns\":5,\"type\":\"ok\"}\n"),
        std::string("[{:process 0 :type :invoke :f :read} {:process 1 :type :invoke :f :read} {:process 2 :type :invoke :f :read}]")}) {
    Result<ParsedHistory> parsed = parse_history(text, options);
    ASSERT_FALSE(parsed.ok()) << text;
    EXPECT_NE(parsed.status().message().find("more than 2 operations"), std::string::npos) << parsed.status();
  }
  options = {};
  options.limits.max_file_bytes = 10;
  EXPECT_FALSE(parse_history("0 :invoke :read nil\n", options).ok());
}

// Parses `text` in every format; only "no crash" is asserted (an ok parse must also validate).
void parse_every_way(const std::string& text) {
  for (HistoryFormat format : {HistoryFormat::kAuto, HistoryFormat::kJsonLines, HistoryFormat::kJepsenLog, HistoryFormat::kEdn}) {
    for (bool tuples : {false, true}) {
      Result<ParsedHistory> parsed = parse_history(text, {.format = format, .key_value_tuples = tuples});
      if (parsed.ok()) {
        RC_ASSERT(validate_history(parsed->operations).ok());
        for (ModelKind model : {ModelKind::kRegister, ModelKind::kCasRegister, ModelKind::kKeyValue}) {
          (void)check_linearizability(parsed->operations, model, {.max_states_per_partition = 1000});
        }
      } else {
        RC_ASSERT(!parsed.status().message().empty());
      }
    }
  }
}

RC_GTEST_PROP_CASES(HistoryFileFuzz, RandomBytesNeverCrash, 1000, ()) {
  parse_every_way(*rc::gen::container<std::string>(rc::gen::arbitrary<char>()));
}

RC_GTEST_PROP_CASES(HistoryFileFuzz, DamagedValidFilesNeverCrash, 1000, ()) {
  const std::vector<std::string> seeds = {
      std::string(kJepsenLog),
      "[{:process 0, :type :invoke, :f :cas, :value [1 2]} {:process 0, :type :ok, :f :cas, :value [1 2]}\n"
      " {:process 1, :type :invoke, :f :read, :key \"k\", :value nil} #{1 2} \"s\\n\" \\c]",
      R"({"process":1,"f":"cas","key":"k1","expected":"1","value":"2","invoke_ns":0,"complete_ns":5,"type":"ok"})"
      "\n"
      R"({"process":1,"f":"read","value":"\u00e9","invoke_ns":6,"complete_ns":7,"type":"ok"})"};
  std::string text = *rc::gen::elementOf(seeds);
  const int edits = *rc::gen::inRange(1, 6);
  for (int i = 0; i < edits && !text.empty(); ++i) {
    const auto position = *rc::gen::inRange<std::size_t>(0, text.size());
    switch (*rc::gen::inRange(0, 3)) {
      case 0: text[position] = *rc::gen::arbitrary<char>(); break;
      case 1: text.erase(position, *rc::gen::inRange<std::size_t>(1, 8)); break;
      default: text.insert(position, 1, *rc::gen::elementOf(std::string("[]{}()\"\\:#;, \n\t0-"))); break;
    }
  }
  parse_every_way(text);
}

}  // namespace
}  // namespace cairn::sim::linearizability
