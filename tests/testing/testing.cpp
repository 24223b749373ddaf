#include "tests/testing/testing.hpp"

#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace optidiff::testing {
namespace fs = std::filesystem;

namespace {
std::string quote(const std::string& s) {
  std::string q(1, '\'');
  for (char c : s) {
    if (c == '\'')
      q.append("'\\''");
    else
      q.push_back(c);
  }
  q.push_back('\'');
  return q;
}
std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}
}  // namespace

CliResult run_cli(const std::vector<std::string>& args, const std::vector<std::string>& env) {
  TempDir tmp;
  std::string cmd;
  for (const auto& e : env) cmd += e + " ";
  cmd += quote(OPTIDIFF_BIN);
  for (const auto& a : args) cmd.append(1, ' ').append(quote(a));
  // Appended piecewise: GCC 12 warns falsely (-Wrestrict) on "literal" + std::string.
  cmd.append(" >").append(quote(tmp.file("out"))).append(" 2>").append(quote(tmp.file("err"))).append(" </dev/null");
  const int status = std::system(cmd.c_str());
  CliResult r;
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
  r.out = slurp(tmp.file("out"));
  r.err = slurp(tmp.file("err"));
  return r;
}

void expect_cli_error(const CliResult& r, int code, const std::string& fragment) {
  EXPECT_EQ(r.exit_code, code) << r.err;
  EXPECT_EQ(r.err.rfind("optidiff: error: ", 0), 0u) << r.err;
  EXPECT_NE(r.err.find(fragment), std::string::npos) << r.err;
}

void expect_error(const std::function<void()>& f, ErrorCode code, const std::string& fragment) {
  try {
    f();
    ADD_FAILURE() << "no error; expected one containing '" << fragment << "'";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), code) << e.what();
    EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
  }
}

TempDir::TempDir() {
  std::string templ = (fs::temp_directory_path() / "optidiff-test-XXXXXX").string();
  if (!::mkdtemp(templ.data())) throw std::runtime_error("mkdtemp failed");
  path_ = templ;
}

TempDir::~TempDir() {
  std::error_code ec;
  fs::remove_all(path_, ec);
}

bool have_fashion_mnist() {
  const char* env = std::getenv("OPTIDIFF_DATA");
  const std::string dir = env && *env ? env : "/usr/share/datasets/fashion-mnist";
  return fs::exists(fs::path(dir) / "t10k-labels-idx1-ubyte.gz") || fs::exists(fs::path(dir) / "t10k-labels-idx1-ubyte");
}

}  // namespace optidiff::testing
