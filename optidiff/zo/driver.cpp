#include "optidiff/zo/driver.hpp"

#include "optidiff/core/error.hpp"

namespace optidiff::zo {

RunResult minimize(AskTell& opt, Oracle& oracle, const Objective& f, const RunOptions& o) {
  RunResult r;
  r.x_best = opt.incumbent();
  r.f0 = r.f_best = f(r.x_best);
  r.history.emplace_back(0, r.f_best);
  const long long q0 = static_cast<long long>(oracle.queries());
  for (;;) {
    if (r.f_best <= o.target) {
      r.stop = "target";
      break;
    }
    if (auto s = opt.stop_reason()) {
      r.stop = s->code;
      break;
    }
    const Round round = opt.ask();
    if (r.queries + round.m() > o.budget) {
      r.stop = "budget";
      break;
    }
    const Feedback fb = oracle.answer(round);
    r.queries = static_cast<long long>(oracle.queries()) - q0;
    ++r.oracle_calls;
    const auto& tv = oracle.true_values();
    for (std::size_t i = 0; i < tv.size(); ++i)
      if (tv[i] < r.f_best) {
        r.f_best = tv[i];
        r.x_best = round.points.col(static_cast<Eigen::Index>(i));
        if (!r.history.empty() && r.history.back().first == r.queries)
          r.history.back().second = r.f_best;
        else
          r.history.emplace_back(r.queries, r.f_best);
      }
    opt.tell(round.id, fb);
    ++r.rounds;
    if (o.on_round && o.on_round({round.id, r.queries, r.f_best})) {
      r.stop = "callback";
      break;
    }
  }
  r.x_final = opt.incumbent();
  r.f_final = f(r.x_final);
  return r;
}

}  // namespace optidiff::zo
