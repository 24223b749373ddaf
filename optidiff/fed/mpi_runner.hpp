// optidiff/fed/mpi_runner.hpp (target optidiff::fed_mpi, Open MPI): the same Strategy and
// Federation as the simulation, with the clients' local work on other processes. Rank 0 serves: it
// samples, broadcasts and aggregates exactly as the simulation; rank r >= 1 owns the clients c with
// 1 + c mod (P - 1) = r and keeps their ClientState. Clients draw from the same counter-based
// streams and replies are aggregated in the sampled order, so for the same seed and thread count
// the numbers equal the simulation's. A rank that has not answered a round within `timeout_seconds`
// has its clients passed to aggregate() as Failures for that round ("rank 2 did not answer within 1
// s"); a late answer is recognised by its round number and discarded, and the rank gets work again
// the next round. A rank whose process has exited (seen from rank 0's host by pid; needs `mpirun
// --enable-recovery`, else Open MPI ends the job) or whose MPI calls fail is dead: its clients fail
// every later round, it is never sent to or waited for, and the run ends normally. Every send is
// non-blocking and every wait bounded; the run ends with a stop/acknowledge handshake, so
// MPI_Finalize needs no barrier (the CLI sets OMPI_MCA_async_mpi_finalize=1: Open MPI 4.1's
// finalize fence can wait forever for a killed rank).
// Wire format per message (MPI_BYTE): round, client ids, then payloads as (encoding, length, bits,
// bytes).
//   MPI_Init(...);  auto r = fed::train_mpi(config, *task, {.timeout_seconds = 30});  // r set on
//   rank 0
#pragma once

#include <optional>

#include "optidiff/fed/train.hpp"

namespace optidiff::fed {

struct MpiOptions {
  double timeout_seconds = 60;  // per round, per worker rank
};

// Call on every rank between MPI_Init and MPI_Finalize with the same config. Rank 0 returns the
// result; worker ranks return nullopt after the server has finished. Needs at least 2 processes.
std::optional<TrainResult> train_mpi(const TrainConfig& c, Task& task, const MpiOptions& options,
                                     const std::function<void(const RoundStats&)>& on_round = {});

}  // namespace optidiff::fed
