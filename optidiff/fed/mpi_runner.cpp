#include "optidiff/fed/mpi_runner.hpp"

#include <mpi.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <map>
#include <thread>

#include "optidiff/core/error.hpp"
#include "optidiff/core/log.hpp"
#include "optidiff/core/table.hpp"
#include "optidiff/core/timing.hpp"

namespace optidiff::fed {
namespace {

constexpr int kTagWork = 1, kTagReply = 2, kTagStop = 3;

class Writer {
 public:
  template <typename T>
  void put(T v) {
    buf.append(reinterpret_cast<const char*>(&v), sizeof(T));
  }
  void put_bytes(const void* p, std::size_t n) { buf.append(static_cast<const char*>(p), n); }
  void put_message(const Message& m) {
    put<std::uint32_t>(std::uint32_t(m.size()));
    for (const auto& p : m) {
      put<std::uint8_t>(std::uint8_t(p.spec.encoding));
      put<std::uint64_t>(p.spec.length);
      put<std::int32_t>(p.spec.bits);
      put<std::uint64_t>(p.bytes.size());
      put_bytes(p.bytes.data(), p.bytes.size());
    }
  }
  std::string buf;
};

class Reader {
 public:
  explicit Reader(const std::string& b) : buf_(b) {}
  template <typename T>
  T get() {
    T v;
    std::memcpy(&v, take(sizeof(T)), sizeof(T));
    return v;
  }
  const char* take(std::size_t n) {
    if (n > buf_.size() - pos_) throw_data_loss("MPI message truncated at byte " + std::to_string(pos_));
    pos_ += n;
    return buf_.data() + pos_ - n;
  }
  Message get_message() {
    Message m(get<std::uint32_t>());
    for (auto& p : m) {
      p.spec.encoding = Encoding(get<std::uint8_t>());
      p.spec.length = get<std::uint64_t>();
      p.spec.bits = get<std::int32_t>();
      const auto n = get<std::uint64_t>();
      const char* data = take(n);
      p.bytes.assign(data, data + n);
    }
    return m;
  }

 private:
  const std::string& buf_;
  std::size_t pos_ = 0;
};

int owner_rank(int client, int size) { return 1 + client % (size - 1); }

std::string receive(int source, int tag, MPI_Status* status = nullptr) {
  MPI_Status st;
  MPI_Probe(source, tag, MPI_COMM_WORLD, &st);
  int count = 0;
  MPI_Get_count(&st, MPI_BYTE, &count);
  std::string buf(std::size_t(count), '\0');
  MPI_Recv(buf.data(), count, MPI_BYTE, st.MPI_SOURCE, st.MPI_TAG, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
  if (status) *status = st;
  return buf;
}

// Worker: run the clients of each work message until told to stop.
void serve_clients(const TrainConfig& c, Task& task, int rank) {
  auto strategy = make_strategy(c.strategy, c.options, task.layout());
  std::map<int, ClientState> states;
  // Fault injection for tests: OPTIDIFF_FED_STALL="rank,round,seconds" makes that rank sleep before answering.
  int stall_rank = -1, stall_round = -1;
  double stall_seconds = 0;
  if (const char* s = std::getenv("OPTIDIFF_FED_STALL"))
    std::sscanf(s, "%d,%d,%lf", &stall_rank, &stall_round, &stall_seconds);
  for (;;) {
    MPI_Status st;
    MPI_Probe(0, MPI_ANY_TAG, MPI_COMM_WORLD, &st);
    if (st.MPI_TAG == kTagStop) {
      MPI_Recv(nullptr, 0, MPI_BYTE, 0, kTagStop, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
      return;
    }
    const std::string buf = receive(0, kTagWork);
    Reader r(buf);
    const int round = r.get<std::int32_t>();
    std::vector<int> clients(r.get<std::uint32_t>());
    for (auto& client : clients) client = r.get<std::int32_t>();
    const Message down = r.get_message();
    Writer w;
    w.put<std::int32_t>(round);
    std::vector<std::pair<int, std::string>> failures;
    std::vector<Reply> replies;
    for (int client : clients) {
      Rng rng = round_stream(c.federation.seed, round, 2 + std::uint64_t(client));
      ClientContext ctx{round, client, task.client(client), states[client], rng};
      try {
        replies.push_back(strategy->fit(down, ctx));
      } catch (const std::exception& e) {
        failures.emplace_back(client, std::string("local training failed: ") + e.what());
      }
    }
    w.put<std::uint32_t>(std::uint32_t(replies.size()));
    for (const auto& reply : replies) {
      w.put<std::int32_t>(reply.client);
      w.put<double>(reply.train_loss);
      w.put<std::uint64_t>(reply.num_examples);
      w.put_message(reply.uplink);
    }
    w.put<std::uint32_t>(std::uint32_t(failures.size()));
    for (const auto& [client, reason] : failures) {
      w.put<std::int32_t>(client);
      w.put<std::uint32_t>(std::uint32_t(reason.size()));
      w.put_bytes(reason.data(), reason.size());
    }
    if (rank == stall_rank && round == stall_round)
      std::this_thread::sleep_for(std::chrono::duration<double>(stall_seconds));
    MPI_Send(w.buf.data(), int(w.buf.size()), MPI_BYTE, 0, kTagReply, MPI_COMM_WORLD);
  }
}

}  // namespace

std::optional<TrainResult> train_mpi(const TrainConfig& c, Task& task, const MpiOptions& options,
                                     const std::function<void(const RoundStats&)>& on_round) {
  int rank = 0, size = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  if (size < 2) throw_invalid("--runner mpi needs at least 2 processes (mpirun -n P, P >= 2); got " + std::to_string(size));
  if (!(options.timeout_seconds > 0))
    throw_invalid("--timeout is " + std::to_string(options.timeout_seconds) + "; expected seconds > 0");
  if (!c.checkpoint_dir.empty())
    throw_invalid("--checkpoint is written by the simulation runner only (client states live on the MPI ranks)");
  if (rank != 0) {
    serve_clients(c, task, rank);
    return std::nullopt;
  }
  // A rank dropped for lateness still owes its answer. Work is never sent to it until that answer has been
  // received and discarded: both messages can exceed MPI's eager limit, so a blocking send to a rank that
  // is itself blocked sending its late answer would deadlock (seen with Open MPI's shared-memory transport).
  std::map<int, int> owes;  // rank -> round of the answer it still owes
  auto collect_late = [&](bool wait) {
    for (auto it = owes.begin(); it != owes.end();) {
      int flag = 0;
      if (wait) {
        log_info("waiting for rank " + std::to_string(it->first) + "'s late answer to round " +
                 std::to_string(it->second) + " before stopping");
        MPI_Probe(it->first, kTagReply, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        flag = 1;
      } else {
        MPI_Iprobe(it->first, kTagReply, MPI_COMM_WORLD, &flag, MPI_STATUS_IGNORE);
      }
      if (!flag) {
        ++it;
        continue;
      }
      receive(it->first, kTagReply);  // discarded: its round has been aggregated without it
      it = owes.erase(it);
    }
  };
  const ClientExecutor executor = [&](int round, std::span<const int> clients, const Message& down,
                                      std::vector<Reply>& replies, std::vector<Failure>& failures) {
    collect_late(false);
    std::map<int, std::vector<int>> by_rank;
    std::map<int, std::string> failed;
    for (int client : clients) {
      const int worker = owner_rank(client, size);
      if (auto late = owes.find(worker); late != owes.end())
        failed[client] = "rank " + std::to_string(worker) + " has not yet answered round " + std::to_string(late->second);
      else
        by_rank[worker].push_back(client);
    }
    for (const auto& [worker, own] : by_rank) {
      Writer w;
      w.put<std::int32_t>(round);
      w.put<std::uint32_t>(std::uint32_t(own.size()));
      for (int client : own) w.put<std::int32_t>(client);
      w.put_message(down);
      MPI_Send(w.buf.data(), int(w.buf.size()), MPI_BYTE, worker, kTagWork, MPI_COMM_WORLD);
    }
    std::map<int, Reply> got;
    Stopwatch sw;
    auto pending = by_rank;
    while (!pending.empty() && sw.seconds() < options.timeout_seconds) {
      bool any = false;
      for (auto it = pending.begin(); it != pending.end();) {
        int flag = 0;
        MPI_Iprobe(it->first, kTagReply, MPI_COMM_WORLD, &flag, MPI_STATUS_IGNORE);
        if (!flag) {
          ++it;
          continue;
        }
        any = true;
        const std::string buf = receive(it->first, kTagReply);
        Reader r(buf);
        if (r.get<std::int32_t>() != round) continue;  // a late answer to an earlier round: discard
        const auto n = r.get<std::uint32_t>();
        for (std::uint32_t i = 0; i < n; ++i) {
          Reply reply;
          reply.client = r.get<std::int32_t>();
          reply.train_loss = r.get<double>();
          reply.num_examples = r.get<std::uint64_t>();
          reply.uplink = r.get_message();
          got[reply.client] = std::move(reply);
        }
        const auto nf = r.get<std::uint32_t>();
        for (std::uint32_t i = 0; i < nf; ++i) {
          const int client = r.get<std::int32_t>();
          const auto len = r.get<std::uint32_t>();
          failed[client] = std::string(r.take(len), len);
        }
        it = pending.erase(it);
      }
      if (!any) std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
    for (const auto& [worker, own] : pending) {
      log_warning("round " + std::to_string(round) + ": rank " + std::to_string(worker) + " did not answer within " +
                  format_double(options.timeout_seconds, 3) + " s" + "; its clients are dropped for this round");
      for (int client : own)
        failed[client] = "rank " + std::to_string(worker) + " did not answer within " +
                         format_double(options.timeout_seconds, 3) + " s";
      owes[worker] = round;
    }
    for (int client : clients) {  // the sampled order, as the simulation
      if (auto it = got.find(client); it != got.end()) replies.push_back(std::move(it->second));
      if (auto it = failed.find(client); it != failed.end()) failures.push_back({client, it->second});
    }
  };
  auto stop_workers = [&] {
    collect_late(true);  // a rank blocked sending a late answer cannot receive the stop message
    for (int worker = 1; worker < size; ++worker) MPI_Send(nullptr, 0, MPI_BYTE, worker, kTagStop, MPI_COMM_WORLD);
  };
  TrainResult result;
  try {
    result = train(c, task, on_round, executor);
  } catch (...) {
    stop_workers();
    throw;
  }
  stop_workers();
  return result;
}

}  // namespace optidiff::fed
