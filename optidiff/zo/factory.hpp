// optidiff/zo/factory.hpp: optimisers by method name, and back from a saved state of any method.
//
//   zo::MethodSettings s{.method = "ranksgd-ls", .m = 10, .k = 5, .seed = 1};
//   std::unique_ptr<zo::AskTell> opt = zo::make_optimizer(x0, s);
//   std::unique_ptr<zo::AskTell> again = zo::load_optimizer(opt->save());   // reads "method"
//
// Methods: ranksgd (Algorithm 1), ranksgd-ls (line search), cmaes (rank-only, IPOP), zosgd (values),
// oneplusone ((1+1)-ES, one pairwise comparison per round). A 0 in a setting means "the method's default".
#pragma once

#include <Eigen/Dense>
#include <memory>
#include <string>
#include <string_view>

#include "optidiff/zo/ask_tell.hpp"
#include "optidiff/zo/ranksgd.hpp"

namespace optidiff::zo {

struct MethodSettings {
  std::string method = "ranksgd";
  int m = 0;            // candidates per round; 0: 10 (ranksgd, zosgd), 4 + 3 ln d (cmaes); cmaes: lambda
  int k = 0;            // ids ranked per gradient round; 0: m. cmaes always asks mu = lambda/2, oneplusone 1
  double mu = 0;        // smoothing radius; 0: 0.01 (ranksgd), 0.01 (zosgd)
  double step = 0;      // 0: 0.05 (ranksgd), 0.5 (ranksgd-ls), 1e-3 (zosgd)
  double sigma0 = 0;    // cmaes / oneplusone initial step; 0: 0.5
  StepSchedule schedule = StepSchedule::kConstant;
  bool adapt_step = false;   // ranksgd-ls
  int ls_points = 0;         // ranksgd-ls
  int restarts = 0;          // cmaes IPOP restarts
  double restart_lo = 0, restart_hi = 0;
  bool diagonal = false;     // cmaes: sep-CMA-ES
  bool maximize = false;     // zosgd only (rank-only methods follow the oracle's notion of best)
  std::uint64_t seed = 0;
};

// Throws kInvalidArgument naming the method or setting.
std::unique_ptr<AskTell> make_optimizer(const Eigen::VectorXd& x0, const MethodSettings& settings);
// Any method's save(); kDataLoss if the text is not a state or names an unknown method.
std::unique_ptr<AskTell> load_optimizer(std::string_view state);

std::string method_names();  // "ranksgd, ranksgd-ls, cmaes, zosgd, oneplusone"

}  // namespace optidiff::zo
