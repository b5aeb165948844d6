// cairnd's strict configuration files (net/cairnd/config_file_check.h): every key must be a
// long flag; a misspelt one is an error naming the file, the line and the likely key.
#include <gtest/gtest.h>

#include "net/cairnd/config_file_check.h"

namespace cairn::net {
namespace {

const std::vector<std::string> kKeys = {"node-id", "data-dir", "listen-peer", "listen-http", "peer", "config"};

TEST(ConfigFileCheck, KnownKeysCommentsAndMultiLineArraysPass) {
  const std::string text =
      "# node 1\n"
      "node-id = 1\n"
      "; INI comments too\n"
      "\n"
      "data-dir = \"/var/lib/cairn/1\"\n"
      "peer = [\"2=10.0.0.2:7001\",\n"
      "        \"3=10.0.0.3:7001\"]   # the others\n"
      "listen-peer = \"10.0.0.1:7001\"\n";
  EXPECT_TRUE(check_config_keys("node1.toml", text, kKeys).ok());
}

TEST(ConfigFileCheck, AMisspeltKeyNamesTheLineAndTheLikelyKey) {
  const Status peers = check_config_keys("node1.toml", "node-id = 1\npeers = [\"2=10.0.0.2:7001\"]\n", kKeys);
  EXPECT_EQ(peers.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(peers.message().find("node1.toml line 2: unknown key 'peers' (did you mean 'peer'?)"), std::string::npos)
      << peers.message();
  const Status underscore = check_config_keys("n.toml", "listen_http = \"127.0.0.1:8001\"\n", kKeys);
  EXPECT_NE(underscore.message().find("line 1: unknown key 'listen_http' (did you mean 'listen-http'?)"),
            std::string::npos)
      << underscore.message();
}

TEST(ConfigFileCheck, AKeyFarFromAnyIsUnknownWithoutASuggestion) {
  const Status status = check_config_keys("n.toml", "node-id = 1\n\nreplication_factor = 3\n", kKeys);
  EXPECT_NE(status.message().find("line 3: unknown key 'replication_factor'; "), std::string::npos) << status.message();
}

TEST(ConfigFileCheck, SectionsAndLinesWithoutAnEqualsSignAreRefused) {
  EXPECT_NE(check_config_keys("n.ini", "[cairnd]\nnode-id = 1\n", kKeys).message().find("line 1: sections are not used"),
            std::string::npos);
  EXPECT_NE(check_config_keys("n.ini", "node-id = 1\nnode-id\n", kKeys).message().find("line 2: expected `key = value`"),
            std::string::npos);
}

TEST(ConfigFileCheck, AKeyInsideAnArrayValueIsNotTakenForAKey) {
  // The second line belongs to the array: "peers = x" there is a value, not a key.
  EXPECT_TRUE(check_config_keys("n.toml", "peer = [\n  \"peers = x\",\n]\nnode-id = 2\n", kKeys).ok());
}

}  // namespace
}  // namespace cairn::net
