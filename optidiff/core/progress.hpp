// optidiff/core/progress.hpp: progress reporting for long work, on stderr.
//
// When stderr is a terminal, a bar redrawn in place ("train  [#####.....]  512/1000  loss 0.031  12.3 it/s");
// otherwise one log line every `log_every_seconds` (and at the end), so CI logs and nohup files stay short.
//   Progress bar("train", steps);
//   for (int s = 0; s < steps; ++s) { ...; bar.update(s + 1, "loss " + format_double(loss, 4)); }
//   bar.finish();
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace optidiff {

class Progress {
 public:
  // total = 0: unknown length (no bar, counts only).
  Progress(std::string label, std::int64_t total, double log_every_seconds = 10.0);
  ~Progress();
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;

  void update(std::int64_t done, const std::string& status = "");
  void finish(const std::string& status = "");

  // Forces the mode, for tests and for --quiet: kAuto looks at isatty(stderr).
  enum class Mode { kAuto, kBar, kLog, kSilent };
  static void set_mode(Mode mode);

 private:
  void draw(bool final);

  std::string label_;
  std::int64_t total_;
  std::int64_t done_ = 0;
  std::string status_;
  double log_every_;
  bool bar_;
  bool silent_;
  bool finished_ = false;
  std::chrono::steady_clock::time_point start_, last_draw_;
};

}  // namespace optidiff
