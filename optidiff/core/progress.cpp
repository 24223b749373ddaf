#include "optidiff/core/progress.hpp"

#include <unistd.h>

#include <atomic>
#include <cstdio>

namespace optidiff {
namespace {
std::atomic<Progress::Mode> g_mode{Progress::Mode::kAuto};

double seconds_between(std::chrono::steady_clock::time_point a, std::chrono::steady_clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}
}  // namespace

void Progress::set_mode(Mode mode) { g_mode = mode; }

Progress::Progress(std::string label, std::int64_t total, double log_every_seconds)
    : label_(std::move(label)), total_(total), log_every_(log_every_seconds) {
  const Mode mode = g_mode.load();
  silent_ = mode == Mode::kSilent;
  bar_ = mode == Mode::kBar || (mode == Mode::kAuto && isatty(STDERR_FILENO));
  start_ = last_draw_ = std::chrono::steady_clock::now();
}

Progress::~Progress() {
  if (!finished_ && bar_ && !silent_) std::fputc('\n', stderr);  // leave the terminal on a fresh line
}

void Progress::update(std::int64_t done, const std::string& status) {
  done_ = done;
  status_ = status;
  const auto now = std::chrono::steady_clock::now();
  const double since = seconds_between(last_draw_, now);
  if ((bar_ && since >= 0.1) || (!bar_ && since >= log_every_)) {
    last_draw_ = now;
    draw(false);
  }
}

void Progress::finish(const std::string& status) {
  if (finished_) return;
  if (!status.empty()) status_ = status;
  if (total_ > 0 && done_ < total_) done_ = total_;
  draw(true);
  finished_ = true;
}

void Progress::draw(bool final) {
  if (silent_) return;
  const double elapsed = seconds_between(start_, std::chrono::steady_clock::now());
  const double rate = elapsed > 0 ? static_cast<double>(done_) / elapsed : 0.0;
  char counts[96];
  if (total_ > 0)
    std::snprintf(counts, sizeof counts, "%lld/%lld", static_cast<long long>(done_),
                  static_cast<long long>(total_));
  else
    std::snprintf(counts, sizeof counts, "%lld", static_cast<long long>(done_));
  if (bar_) {
    constexpr int kWidth = 24;
    std::string bar;
    if (total_ > 0) {
      const int filled = static_cast<int>(kWidth * std::min<double>(1.0, double(done_) / double(total_)));
      // Built by appends: GCC 12 warns falsely (-Wrestrict) on "literal" + std::string here.
      bar.reserve(kWidth + 4);
      bar.append(1, '[').append(filled, '#').append(kWidth - filled, '.').append("]  ");
    }
    std::fprintf(stderr, "\r%s  %s%s  %s  %.1f it/s  %.0fs\033[K%s", label_.c_str(), bar.c_str(), counts,
                 status_.c_str(), rate, elapsed, final ? "\n" : "");
  } else {
    std::fprintf(stderr, "%s: %s  %s  %.1f it/s  %.0fs%s\n", label_.c_str(), counts, status_.c_str(), rate,
                 elapsed, final ? "  done" : "");
  }
  std::fflush(stderr);
}

}  // namespace optidiff
