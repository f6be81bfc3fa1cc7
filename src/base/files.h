// Whole-file reads and JSON files, with errors that name the file and line,
// and durable atomic writes.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

#include <nlohmann/json.hpp>

#include "base/status.h"

namespace winnow::base {

// The file's bytes. NotFound if it does not exist.
Result<std::string> read_file(const std::filesystem::path& path);

// How deep arrays and objects may nest in any JSON Winnow reads. Deeper
// input is refused at parse time, so no code that walks a value (copies,
// dumps, templates, conditions) can run out of stack on hostile input.
inline constexpr std::size_t kMaxJsonDepth = 512;

// Parses `text` as JSON. InvalidArgument naming `source`, and where it
// could, the line and column: a syntax error, nesting deeper than
// kMaxJsonDepth, or a number out of range (1e400), which also names the
// field it is in (e.g. "metadata.n", "documents[3]").
Result<nlohmann::json> parse_json(std::string_view text, std::string_view source);
// The same, keeping the order of object members.
Result<nlohmann::ordered_json> parse_ordered_json(std::string_view text, std::string_view source);

// read_file + parse_json.
Result<nlohmann::json> read_json_file(const std::filesystem::path& path);

// A path beside `path` that no other thread or process picks at the same
// time (path + ".tmp.<pid>.<thread>.<counter>"), for write-then-rename.
std::filesystem::path temp_path_beside(const std::filesystem::path& path);

// Writes `contents` to `path` through a temporary file beside it: write,
// fsync, rename, fsync of the directory. Readers never see a half-written
// file, concurrent writers never share a temporary file, and after it
// returns a crash (or power loss) leaves either the old or the new contents.
// On a full disk: OutOfSpace naming the file; the old contents stay.
Status write_file_durably(const std::filesystem::path& path, std::string_view contents);

// True for the errno values of a full disk or quota: ENOSPC, EDQUOT.
bool is_out_of_space(int error);

// The Status of a failed system call `what` on `path` with errno `error`:
// OutOfSpace "PATH: WHAT: no space left on device" (or "disk quota
// exceeded") when the disk is full, else FailedPrecondition with strerror.
Status file_error(const std::filesystem::path& path, std::string_view what, int error);

// fsync()s a file (or, with directory = true, a directory's entries).
Status sync_file(const std::filesystem::path& path, bool directory = false);

// 64-bit FNV-1a of the file's bytes (memory-mapped): a cheap check that a
// file written earlier is the one read back.
Result<std::uint64_t> file_checksum(const std::filesystem::path& path);

}  // namespace winnow::base
