// Making a file that was found on disk durable before a node vouches for what it holds.
//
// What a start reads may live only in the page cache: an earlier try of the same process, or a
// process that crashed (the page cache outlives it), may have written or renamed the file in
// and then failed, or never reached, the syncs that make it durable. A file written atomically
// (write_file_atomically) and then read by a later start is synced again here, with the
// directory that names it.
#pragma once

#include <string_view>

#include "core/runtime/file_system.h"

namespace cairn {

// Syncs the file at `path` and its parent directory. The file must exist.
Status make_file_durable(FileSystem& file_system, std::string_view path);

// Creates every missing directory of `path` ("a/b/c": a, a/b, a/b/c), each made durable in its
// parent, so that a crash cannot leave a log in a directory that vanished. Empty: nothing.
Status create_directories_durably(FileSystem& file_system, std::string_view path);

}  // namespace cairn
