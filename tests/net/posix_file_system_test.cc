// The daemon's FileSystem on a real temporary directory: every operation of the interface, and
// errors returned as values for bad paths and missing files.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>

#include "net/posix_file_system.h"

namespace cairn::net {
namespace {

class PosixFileSystemTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/cairn-fs-test-XXXXXX";
    ASSERT_NE(::mkdtemp(pattern), nullptr);
    root_ = pattern;
    auto fs = PosixFileSystem::open_root(root_);
    ASSERT_TRUE(fs.ok()) << fs.status().to_string();
    fs_ = std::move(fs).value();
  }
  void TearDown() override { std::filesystem::remove_all(root_); }

  std::string root_;
  std::unique_ptr<PosixFileSystem> fs_;
};

std::string read_all(File& file) {
  std::string contents(file.size().value(), '\0');
  auto read = file.read(0, std::as_writable_bytes(std::span<char>(contents)));
  EXPECT_TRUE(read.ok());
  return contents;
}

TEST_F(PosixFileSystemTest, WriteAppendReadTruncateSync) {
  auto file = fs_->open("data", OpenOptions::create_new());
  ASSERT_TRUE(file.ok()) << file.status().to_string();
  ASSERT_TRUE((*file)->write(0, as_bytes("hello")).ok());
  auto offset = (*file)->append(as_bytes(" world"));
  ASSERT_TRUE(offset.ok());
  EXPECT_EQ(*offset, 5u);
  ASSERT_TRUE((*file)->sync().ok());
  EXPECT_EQ(read_all(**file), "hello world");
  ASSERT_TRUE((*file)->truncate(5).ok());
  EXPECT_EQ(read_all(**file), "hello");
  std::array<std::byte, 16> buffer{};
  auto beyond = (*file)->read(100, buffer);
  ASSERT_TRUE(beyond.ok());
  EXPECT_EQ(*beyond, 0u);
}

TEST_F(PosixFileSystemTest, DirectoriesRenameListRemove) {
  ASSERT_TRUE(fs_->create_directory("wal").ok());
  ASSERT_TRUE(fs_->create_directory("wal").ok()) << "creating an existing directory is not an error";
  ASSERT_TRUE(write_file_atomically(*fs_, "wal/b", "two").ok());
  ASSERT_TRUE(write_file_atomically(*fs_, "wal/a", "one").ok());
  ASSERT_TRUE(fs_->rename("wal/a", "wal/c").ok());
  auto names = fs_->list("wal");
  ASSERT_TRUE(names.ok());
  EXPECT_EQ(*names, (std::vector<std::string>{"b", "c"}));
  EXPECT_EQ(read_whole_file(*fs_, "wal/c").value(), "one");
  ASSERT_TRUE(fs_->sync_directory("wal").ok());
  ASSERT_TRUE(fs_->sync_directory("").ok());
  EXPECT_EQ(fs_->remove("wal").code(), StatusCode::kFailedPrecondition) << "a non-empty directory";
  ASSERT_TRUE(fs_->remove("wal/b").ok());
  ASSERT_TRUE(fs_->remove("wal/c").ok());
  ASSERT_TRUE(fs_->remove("wal").ok());
  EXPECT_FALSE(fs_->exists("wal").value());
}

TEST_F(PosixFileSystemTest, ErrorsAreValues) {
  EXPECT_EQ(fs_->open("missing", OpenOptions::read()).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(fs_->open("../escape", OpenOptions::create_or_open()).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(fs_->open("/etc/passwd", OpenOptions::read()).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(fs_->open("a//b", OpenOptions::read()).status().code(), StatusCode::kInvalidArgument);
  ASSERT_TRUE(write_file_atomically(*fs_, "once", "x").ok());
  EXPECT_EQ(fs_->open("once", OpenOptions::create_new()).status().code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(fs_->remove("missing").code(), StatusCode::kNotFound);
  EXPECT_EQ(fs_->rename("missing", "other").code(), StatusCode::kNotFound);
  auto read_only = fs_->open("once", OpenOptions::read());
  ASSERT_TRUE(read_only.ok());
  EXPECT_FALSE((*read_only)->write(0, as_bytes("y")).ok());
  EXPECT_EQ(PosixFileSystem::open_root(root_ + "/nope").status().code(), StatusCode::kNotFound);
}

}  // namespace
}  // namespace cairn::net
