// tests/testing/testing.hpp: helpers shared by every test suite.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "optidiff/core/error.hpp"

namespace optidiff::testing {

struct CliResult {
  int exit_code = -1;
  std::string out, err;
};
// Runs the built optidiff binary with args (no shell quoting issues: args are quoted here) and
// captures stdout and stderr. `env` lines ("NAME=value") are set for the child only.
CliResult run_cli(const std::vector<std::string>& args, const std::vector<std::string>& env = {});

// Expects exit status `code` and one error line on stderr that starts with "optidiff: error: " and
// contains `fragment` (the CLI's error contract).
void expect_cli_error(const CliResult& r, int code, const std::string& fragment);

// Expects f() to throw optidiff::Error with `code` and a message containing `fragment` (the library's
// error contract).
void expect_error(const std::function<void()>& f, ErrorCode code, const std::string& fragment);

// A fresh directory under the system temp dir, removed when the object dies.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// True if Debian's Fashion-MNIST (or $OPTIDIFF_DATA) is present; tests that need it skip otherwise.
bool have_fashion_mnist();

}  // namespace optidiff::testing
