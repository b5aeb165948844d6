// The operations guide as a test: runs the walkthrough of docs/operations.md (the lines between
// its "walkthrough: begin" and "walkthrough: end" markers) against real cairnd processes, with
// exactly the commands the guide shows, and checks every output the guide marks with `#>`.
//
// The guide is read, not copied: a step is the command lines of a ```sh block up to its `#>`
// lines (or a blank or comment line), run by bash from a script file; its output (stdout and
// stderr) must contain the `#>` lines in order, `…` standing for anything. The exit status must
// be 0 unless a `#> (exit status N)` line says otherwise. Three things are rewritten so that the
// run cannot collide with a cluster on the machine: /tmp/cairn becomes a new directory, the
// ports 7001-7009 become free ones (PREFIX1-PREFIX9), and build/bin/ the directory of the
// binaries under test; cairn's default endpoints follow (CAIRN_ENDPOINTS).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace cairn::net {
namespace {

struct Step {
  int line = 0;  // of its first command in the guide
  std::string script;
  std::vector<std::string> expected;  // `#>` lines, in order
  int exit_status = 0;
};

std::string read_file(const std::string& path) {
  std::ifstream file(path);
  std::stringstream text;
  text << file.rdbuf();
  return text.str();
}

void replace_all(std::string& text, const std::string& from, const std::string& to) {
  for (std::size_t at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size())) {
    text.replace(at, from.size(), to);
  }
}

// The walkthrough's steps, in order.
std::vector<Step> parse_walkthrough(const std::string& guide) {
  std::vector<Step> steps;
  std::istringstream lines(guide);
  std::string line;
  int number = 0;
  bool inside = false;
  bool in_block = false;
  Step current;
  const auto finish = [&] {
    if (!current.script.empty()) steps.push_back(current);
    current = Step{};
  };
  while (std::getline(lines, line)) {
    ++number;
    if (line.find("<!-- walkthrough: begin -->") != std::string::npos) inside = true;
    if (line.find("<!-- walkthrough: end -->") != std::string::npos) break;
    if (!inside) continue;
    if (line.starts_with("```")) {
      if (in_block) finish();
      in_block = !in_block && line == "```sh";
      continue;
    }
    if (!in_block) continue;
    if (line.starts_with("#> ")) {
      const std::string expected = line.substr(3);
      if (expected.starts_with("(exit status ")) {
        current.exit_status = std::atoi(expected.c_str() + 13);
      } else {
        current.expected.push_back(expected);
      }
    } else if (line.empty() || line.starts_with("#")) {
      finish();
    } else {
      if (!current.expected.empty()) finish();
      if (current.script.empty()) current.line = number;
      current.script += line + "\n";
    }
  }
  finish();
  return steps;
}

// Whether `line` matches `pattern`, in which "…" stands for any text.
bool matches(const std::string& line, const std::string& pattern) {
  std::vector<std::string> pieces;
  std::size_t start = 0;
  for (std::size_t at; (at = pattern.find("…", start)) != std::string::npos; start = at + std::string("…").size()) {
    pieces.push_back(pattern.substr(start, at - start));
  }
  pieces.push_back(pattern.substr(start));
  if (!line.starts_with(pieces.front())) return false;
  std::size_t position = pieces.front().size();
  for (std::size_t i = 1; i < pieces.size(); ++i) {
    const bool last = i + 1 == pieces.size();
    if (last) return line.size() >= position + pieces[i].size() && line.ends_with(pieces[i]);
    const std::size_t found = line.find(pieces[i], position);
    if (found == std::string::npos) return false;
    position = found + pieces[i].size();
  }
  return position == line.size();
}

// The first unmatched expectation, or empty when every `#>` line was found in order.
std::string first_missing(const std::string& output, const std::vector<std::string>& expected) {
  std::istringstream lines(output);
  std::string line;
  std::size_t next = 0;
  while (next < expected.size() && std::getline(lines, line)) {
    if (matches(line, expected[next])) ++next;
  }
  return next < expected.size() ? expected[next] : "";
}

bool port_free(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  const int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const bool free = ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0;
  ::close(fd);
  return free;
}

// A four-digit prefix P whose ports P1..P9 are free, below Linux's ephemeral range.
std::string free_port_prefix() {
  for (int attempt = 0; attempt < 200; ++attempt) {
    const int prefix = 2000 + (static_cast<int>(::getpid()) * 31 + attempt * 97) % 1200;
    bool all_free = true;
    for (int node = 1; node <= 9 && all_free; ++node) all_free = port_free(prefix * 10 + node);
    if (all_free) return std::to_string(prefix);
  }
  ADD_FAILURE() << "no free range of ports";
  return "2999";
}

TEST(ParseWalkthrough, StepsEndAtExpectationsBlankAndCommentLines) {
  const std::vector<Step> steps = parse_walkthrough(
      "intro\n<!-- walkthrough: begin -->\n```sh\na\nb\n#> one\n#> (exit status 1)\nc\n# note\nd\n```\ntext\n"
      "```toml\nx = 1\n```\n<!-- walkthrough: end -->\n```sh\nafter\n```\n");
  ASSERT_EQ(steps.size(), 3u);
  EXPECT_EQ(steps[0].script, "a\nb\n");
  EXPECT_EQ(steps[0].expected, std::vector<std::string>{"one"});
  EXPECT_EQ(steps[0].exit_status, 1);
  EXPECT_EQ(steps[1].script, "c\n");
  EXPECT_EQ(steps[2].script, "d\n");
}

TEST(ParseWalkthrough, EllipsisMatchesAnyTextAndTheRestIsExact) {
  EXPECT_TRUE(matches("OK: voters 1,2,3 (at index 12)", "OK: voters 1,2,3 (at index …)"));
  EXPECT_TRUE(matches("4      127.0.0.1:7004   leader   2  4", "4 … leader …"));
  EXPECT_FALSE(matches("14     127.0.0.1:7004   leader", "4 … leader …"));
  EXPECT_FALSE(matches("OK: voters 1,2 (at index 12)", "OK: voters 1,2,3 (at index …)"));
  EXPECT_FALSE(matches("hello world", "hello"));
  EXPECT_EQ(first_missing("a\nb\nc\n", {"a", "c"}), "");
  EXPECT_EQ(first_missing("a\nb\nc\n", {"c", "a"}), "a");
}

class OperationsGuide : public ::testing::Test {
 protected:
  void TearDown() override {
    // The walkthrough writes the pid of every node it starts beside its data (N.pid): whatever
    // a failed step left running is stopped here.
    std::error_code error;
    for (const auto& entry : std::filesystem::directory_iterator(root_ + "/data", error)) {
      if (entry.path().extension() != ".pid") continue;
      const pid_t pid = static_cast<pid_t>(std::atol(read_file(entry.path().string()).c_str()));
      if (pid > 1) ::kill(pid, SIGKILL);
    }
    if (!HasFailure()) std::filesystem::remove_all(root_);
  }

  std::string root_;
};

TEST_F(OperationsGuide, TheWalkthroughRunsAsWrittenAndEveryMarkedOutputAppears) {
  const std::vector<Step> steps = parse_walkthrough(read_file(std::string(CAIRN_SOURCE_DIR) + "/docs/operations.md"));
  ASSERT_GE(steps.size(), 10u) << "the walkthrough of docs/operations.md was not found";
  char pattern[] = "/tmp/cairn-guide-XXXXXX";
  ASSERT_NE(::mkdtemp(pattern), nullptr);
  root_ = pattern;
  const std::string prefix = free_port_prefix();
  const std::string bin = std::filesystem::path(CAIRND_PATH).parent_path().string() + "/";
  const auto rewrite = [&](std::string text) {
    replace_all(text, "/tmp/cairn", root_ + "/data");
    replace_all(text, "127.0.0.1:700", "127.0.0.1:" + prefix);
    replace_all(text, "build/bin/", bin);
    return text;
  };
  const std::string endpoints = rewrite("1=127.0.0.1:7001,2=127.0.0.1:7002,3=127.0.0.1:7003");
  ::setenv("CAIRN_ENDPOINTS", endpoints.c_str(), 1);
  for (std::size_t i = 0; i < steps.size(); ++i) {
    const Step& step = steps[i];
    const std::string script = root_ + "/step" + std::to_string(i) + ".sh";
    const std::string output_path = root_ + "/step" + std::to_string(i) + ".out";
    std::ofstream(script) << "set -e\n" << rewrite(step.script);
    // To a file, not a pipe: the nodes a step starts in the background keep running after it.
    const int status = std::system(("timeout 120 bash " + script + " > " + output_path + " 2>&1").c_str());
    const std::string output = read_file(output_path);
    const std::string context = "docs/operations.md line " + std::to_string(step.line) + ":\n" + step.script +
                                "--- output:\n" + output + "--- logs in " + root_ + "/data";
    ASSERT_TRUE(WIFEXITED(status)) << context;
    ASSERT_EQ(WEXITSTATUS(status), step.exit_status) << context;
    std::vector<std::string> expected;
    for (const std::string& line : step.expected) expected.push_back(rewrite(line));
    const std::string missing = first_missing(output, expected);
    ASSERT_EQ(missing, "") << "expected output not found\n" << context;
  }
}

}  // namespace
}  // namespace cairn::net
