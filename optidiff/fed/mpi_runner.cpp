#include "optidiff/fed/mpi_runner.hpp"

#include <mpi.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <list>
#include <map>
#include <thread>
#include <vector>

#include "optidiff/core/error.hpp"
#include "optidiff/core/log.hpp"
#include "optidiff/core/table.hpp"
#include "optidiff/core/timing.hpp"

namespace optidiff::fed {
namespace {

constexpr int kTagWork = 1, kTagReply = 2, kTagStop = 3, kTagBye = 4;

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
    if (n > buf_.size() - pos_)
      throw_data_loss("MPI message truncated at byte " + std::to_string(pos_));
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
  MPI_Recv(buf.data(), count, MPI_BYTE, st.MPI_SOURCE, st.MPI_TAG, MPI_COMM_WORLD,
           MPI_STATUS_IGNORE);
  if (status) *status = st;
  return buf;
}

// Who each rank is, exchanged once at start-up so that a rank can tell whether a peer's process has
// exited. Open MPI 4.1 (no ULFM) reports nothing when a peer dies: with `mpirun --enable-recovery`
// the survivors go on, a message to the dead rank vanishes or never completes, and a receive from
// it never matches. A rank on the same host (same hostname and pid namespace) can see the exit
// itself, with kill(pid, 0) and /proc/<pid>/stat; a rank elsewhere whose death the transport does
// not report looks like a stalled one.
struct ProcInfo {
  std::int32_t pid = 0;
  std::uint64_t pid_namespace = 0;
  char host[256] = {};
};

ProcInfo self_info() {
  ProcInfo p;
  p.pid = std::int32_t(::getpid());
  struct stat st {};
  if (::stat("/proc/self/ns/pid", &st) == 0) p.pid_namespace = std::uint64_t(st.st_ino);
  ::gethostname(p.host, sizeof(p.host) - 1);
  return p;
}

std::vector<ProcInfo> exchange_info(int size) {
  std::vector<ProcInfo> all(static_cast<std::size_t>(size));
  ProcInfo me = self_info();
  MPI_Allgather(&me, int(sizeof(ProcInfo)), MPI_BYTE, all.data(), int(sizeof(ProcInfo)), MPI_BYTE,
                MPI_COMM_WORLD);
  return all;
}

// True if `peer` runs on this host and its process has exited (gone, or a zombie not yet reaped by
// Open MPI's daemon). False when it is alive or cannot be seen from here.
bool has_exited(const ProcInfo& peer) {
  const ProcInfo me = self_info();
  if (peer.pid <= 0 || me.pid_namespace == 0 || peer.pid_namespace != me.pid_namespace ||
      std::strncmp(peer.host, me.host, sizeof(me.host)) != 0)
    return false;
  if (::kill(pid_t(peer.pid), 0) == -1 && errno == ESRCH) return true;
  std::ifstream stat_file("/proc/" + std::to_string(peer.pid) + "/stat");
  std::string text;
  std::getline(stat_file, text);
  const auto paren = text.rfind(')');
  if (paren == std::string::npos || paren + 2 >= text.size()) return false;
  const char state = text[paren + 2];
  return state == 'Z' || state == 'X';
}

std::string mpi_error_string(int rc) {
  char text[MPI_MAX_ERROR_STRING];
  int len = 0;
  MPI_Error_string(rc, text, &len);
  return std::string(text, std::size_t(len));
}

// Polling instead of blocking MPI calls (which spin a core in Open MPI): sleeps that grow from 50
// us to 2 ms while nothing arrives, so that a waiting rank costs the ranks computing beside it next
// to nothing (each round takes tens of milliseconds at least) and still answers within 2 ms.
class Backoff {
 public:
  void pause() {
    std::this_thread::sleep_for(std::chrono::microseconds(us_));
    us_ = std::min(us_ * 2, 2000);
  }
  void reset() { us_ = 50; }

 private:
  int us_ = 50;
};

void poll_pause() { std::this_thread::sleep_for(std::chrono::microseconds(200)); }

// Worker: run the clients of each work message until told to stop.
void serve_clients(const TrainConfig& c, Task& task, int rank, const ProcInfo& server) {
  auto strategy = make_strategy(c.strategy, c.options, task.layout());
  std::map<int, ClientState> states;
  // Fault injection for tests: OPTIDIFF_FED_STALL="rank,round,seconds" makes that rank sleep before
  // answering.
  int stall_rank = -1, stall_round = -1;
  double stall_seconds = 0;
  if (const char* s = std::getenv("OPTIDIFF_FED_STALL"))
    std::sscanf(s, "%d,%d,%lf", &stall_rank, &stall_round, &stall_seconds);
  // OPTIDIFF_FED_KILL="rank,round": that rank kills itself (SIGKILL, no clean-up) on receiving that
  // round's work.
  int kill_rank = -1, kill_round = -1;
  if (const char* s = std::getenv("OPTIDIFF_FED_KILL"))
    std::sscanf(s, "%d,%d", &kill_rank, &kill_round);
  // Waits for a message from the server, polling (a blocking probe spins a core, which the other
  // ranks on a small machine need) and giving up if the server's process has exited: under
  // --enable-recovery nothing else would end this rank.
  Stopwatch since_check;
  auto server_gone = [&] {
    if (since_check.seconds() < 0.1) return false;
    since_check = Stopwatch();
    if (!has_exited(server)) return false;
    log_warning("rank " + std::to_string(rank) + ": the server (rank 0) has exited; stopping");
    return true;
  };
  for (;;) {
    MPI_Status st;
    int flag = 0;
    Backoff idle;
    while (MPI_Iprobe(0, MPI_ANY_TAG, MPI_COMM_WORLD, &flag, &st), !flag) {
      if (server_gone()) return;
      idle.pause();
    }
    if (st.MPI_TAG == kTagStop) {
      MPI_Recv(nullptr, 0, MPI_BYTE, 0, kTagStop, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
      MPI_Send(nullptr, 0, MPI_BYTE, 0, kTagBye,
               MPI_COMM_WORLD);  // the server waits for it (see stop_workers)
      return;
    }
    const std::string buf = receive(0, kTagWork);
    Reader r(buf);
    const int round = r.get<std::int32_t>();
    std::vector<int> clients(r.get<std::uint32_t>());
    for (auto& client : clients) client = r.get<std::int32_t>();
    const Message down = r.get_message();
    if (rank == kill_rank && round == kill_round) std::raise(SIGKILL);
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
    // The server may have stopped waiting for this answer (it was late) and sent the stop message
    // instead: a blocking send could then wait forever, so send without blocking and watch for the
    // stop.
    MPI_Request req;
    w.buf.shrink_to_fit();  // (moving a std::string keeps its heap buffer; the request points into
                            // it)
    MPI_Isend(w.buf.data(), int(w.buf.size()), MPI_BYTE, 0, kTagReply, MPI_COMM_WORLD, &req);
    Backoff sending;
    for (int done = 0;;) {
      MPI_Test(&req, &done, MPI_STATUS_IGNORE);
      if (done) break;
      int stop = 0;
      MPI_Iprobe(0, kTagStop, MPI_COMM_WORLD, &stop, MPI_STATUS_IGNORE);
      if (stop) {
        MPI_Recv(nullptr, 0, MPI_BYTE, 0, kTagStop, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        MPI_Send(nullptr, 0, MPI_BYTE, 0, kTagBye, MPI_COMM_WORLD);
        // The answer is abandoned, its request still pending: its buffer must outlive MPI_Finalize.
        static std::list<std::string> abandoned;
        abandoned.push_back(std::move(w.buf));
        return;
      }
      if (server_gone()) return;
      sending.pause();
    }
  }
}

}  // namespace

std::optional<TrainResult> train_mpi(const TrainConfig& c, Task& task, const MpiOptions& options,
                                     const std::function<void(const RoundStats&)>& on_round) {
  int rank = 0, size = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  if (size < 2)
    throw_invalid("--runner mpi needs at least 2 processes (mpirun -n P, P >= 2); got " +
                  std::to_string(size));
  if (!(options.timeout_seconds > 0))
    throw_invalid("--timeout is " + std::to_string(options.timeout_seconds) +
                  "; expected seconds > 0");
  if (!c.checkpoint_dir.empty())
    throw_invalid(
        "--checkpoint is written by the simulation runner only (client states live on the MPI "
        "ranks)");
  const std::vector<ProcInfo> procs = exchange_info(size);
  if (rank != 0) {
    serve_clients(c, task, rank, procs[0]);
    return std::nullopt;
  }
  // Errors on the world communicator (a transport that notices a dead peer) come back as codes,
  // which mark that rank dead, instead of aborting the server.
  MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
  if (const char* r = std::getenv("OMPI_MCA_orte_enable_recovery");
      std::getenv("OMPI_COMM_WORLD_SIZE") && (!r || std::string(r) != "1"))
    log_info(
        "mpirun without --enable-recovery: Open MPI ends the whole job if a client rank dies "
        "(with it, that rank's clients are dropped and the run goes on)");

  // Per worker rank: what the server knows of it. A rank dropped for lateness still owes its
  // answer; work is not sent to it until that answer has been received and discarded (both messages
  // can exceed MPI's eager limit; a rank busy sending a late answer would not receive new work, and
  // the first version, with blocking sends, deadlocked there). A rank whose process has exited, or
  // whose messages fail, is dead: never sent to or waited for again, its clients failing every
  // round with the reason.
  struct Peer {
    int owes = -1;     // round of the answer it still owes; -1 if none
    std::string dead;  // why it is gone; "" while alive
    std::list<std::pair<MPI_Request, std::string>>
        sends;  // in flight; the buffers must stay put until done
  };
  std::vector<Peer> peers(static_cast<std::size_t>(size));
  int current_round = 0;
  auto mark_dead = [&](int worker, const std::string& why) {
    auto& p = peers[std::size_t(worker)];
    if (!p.dead.empty()) return;
    p.dead = "rank " + std::to_string(worker) + " " + why + " (noticed in round " +
             std::to_string(current_round) + ")";
    p.owes = -1;
    log_warning(p.dead + "; its clients are dropped for the rest of the run");
    // Its pending sends are left as they are: a rendezvous send to a dead process never completes,
    // and MPI_Finalize does not wait for it (Open MPI 4.1, tested). Their buffers stay alive in
    // `peers`.
  };
  auto check_exit = [&](int worker) {
    const auto& info = procs[std::size_t(worker)];
    if (peers[std::size_t(worker)].dead.empty() && has_exited(info))
      mark_dead(worker, "(pid " + std::to_string(info.pid) + ") has exited");
    return !peers[std::size_t(worker)].dead.empty();
  };
  auto post = [&](int worker, int tag, std::string buf) {
    auto& p = peers[std::size_t(worker)];
    p.sends.emplace_back(MPI_REQUEST_NULL, std::move(buf));
    auto& [req, data] = p.sends.back();
    if (const int rc =
            MPI_Isend(data.data(), int(data.size()), MPI_BYTE, worker, tag, MPI_COMM_WORLD, &req);
        rc != MPI_SUCCESS)
      mark_dead(worker, "failed a send: " + mpi_error_string(rc));
  };
  auto reap_sends = [&](int worker) {
    auto& p = peers[std::size_t(worker)];
    for (auto it = p.sends.begin(); it != p.sends.end() && p.dead.empty();) {
      int done = 0;
      if (const int rc = MPI_Test(&it->first, &done, MPI_STATUS_IGNORE); rc != MPI_SUCCESS)
        mark_dead(worker, "failed a send: " + mpi_error_string(rc));
      it = done ? p.sends.erase(it) : std::next(it);
    }
    return p.sends.empty();
  };
  // A message from `worker` ready to receive? Errors mark it dead.
  auto ready = [&](int worker) {
    int flag = 0;
    if (const int rc = MPI_Iprobe(worker, kTagReply, MPI_COMM_WORLD, &flag, MPI_STATUS_IGNORE);
        rc != MPI_SUCCESS) {
      mark_dead(worker, "failed a probe: " + mpi_error_string(rc));
      return false;
    }
    return flag != 0;
  };
  auto collect_late = [&] {
    for (int worker = 1; worker < size; ++worker) {
      auto& p = peers[std::size_t(worker)];
      reap_sends(worker);
      if (p.owes < 0 || check_exit(worker) || !ready(worker)) continue;
      receive(worker, kTagReply);  // discarded: its round has been aggregated without it
      p.owes = -1;
    }
  };
  const ClientExecutor executor = [&](int round, std::span<const int> clients, const Message& down,
                                      std::vector<Reply>& replies, std::vector<Failure>& failures) {
    current_round = round;
    collect_late();
    for (int worker = 1; worker < size; ++worker) check_exit(worker);
    std::map<int, std::vector<int>> by_rank;
    std::map<int, std::string> failed;
    for (int client : clients) {
      const int worker = owner_rank(client, size);
      const auto& p = peers[std::size_t(worker)];
      if (!p.dead.empty())
        failed[client] = p.dead;
      else if (p.owes >= 0)
        failed[client] = "rank " + std::to_string(worker) + " has not yet answered round " +
                         std::to_string(p.owes);
      else
        by_rank[worker].push_back(client);
    }
    for (const auto& [worker, own] : by_rank) {
      Writer w;
      w.put<std::int32_t>(round);
      w.put<std::uint32_t>(std::uint32_t(own.size()));
      for (int client : own) w.put<std::int32_t>(client);
      w.put_message(down);
      post(worker, kTagWork, std::move(w.buf));
    }
    std::map<int, Reply> got;
    Stopwatch sw, since_check;
    auto pending = by_rank;
    Backoff idle;
    while (!pending.empty() && sw.seconds() < options.timeout_seconds) {
      bool any = false;
      const bool check = since_check.seconds() >= 0.05;  // exits are looked for every 50 ms
      if (check) since_check = Stopwatch();
      for (auto it = pending.begin(); it != pending.end();) {
        const int worker = it->first;
        reap_sends(worker);
        if (!peers[std::size_t(worker)].dead.empty() || (check && check_exit(worker))) {
          for (int client : it->second) failed[client] = peers[std::size_t(worker)].dead;
          it = pending.erase(it);
          continue;
        }
        if (!ready(worker)) {
          ++it;
          continue;
        }
        any = true;
        const std::string buf = receive(worker, kTagReply);
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
      if (any)
        idle.reset();
      else
        idle.pause();
    }
    for (const auto& [worker, own] : pending) {
      log_warning("round " + std::to_string(round) + ": rank " + std::to_string(worker) +
                  " did not answer within " + format_double(options.timeout_seconds, 3) + " s" +
                  "; its clients are dropped for this round");
      for (int client : own)
        failed[client] = "rank " + std::to_string(worker) + " did not answer within " +
                         format_double(options.timeout_seconds, 3) + " s";
      peers[std::size_t(worker)].owes = round;
    }
    for (int client : clients) {  // the sampled order, as the simulation
      if (auto it = got.find(client); it != got.end()) replies.push_back(std::move(it->second));
      if (auto it = failed.find(client); it != failed.end())
        failures.push_back({client, it->second});
    }
  };
  // Every wait here is bounded by the timeout: a late rank gets that long to deliver its answer (a
  // rank blocked sending it would not see the stop message), then it is stopped anyway; dead ranks
  // are skipped.
  auto stop_workers = [&] {
    Stopwatch sw;
    auto owing = [&] {
      for (int worker = 1; worker < size; ++worker)
        if (peers[std::size_t(worker)].owes >= 0) return true;
      return false;
    };
    if (owing())
      log_info("waiting up to " + format_double(options.timeout_seconds, 3) +
               " s for late answers");
    while (owing() && sw.seconds() < options.timeout_seconds) {
      collect_late();
      poll_pause();
    }
    for (int worker = 1; worker < size; ++worker) {
      auto& p = peers[std::size_t(worker)];
      if (p.owes >= 0)
        log_warning("rank " + std::to_string(worker) + " has still not answered round " +
                    std::to_string(p.owes) + "; stopping it without that answer");
      if (p.dead.empty()) post(worker, kTagStop, std::string());
    }
    // Each live worker acknowledges the stop. MPI_Finalize has no barrier (run_train_mpi sets
    // async_mpi_finalize: Open MPI 4.1's finalize fence can wait forever for a dead rank), so this
    // handshake is what guarantees every message has arrived before anyone exits.
    std::vector<bool> bye(static_cast<std::size_t>(size), false);
    Stopwatch flush;
    for (bool all = false; !all && flush.seconds() < options.timeout_seconds; poll_pause()) {
      all = true;
      for (int worker = 1; worker < size; ++worker) {
        if (bye[std::size_t(worker)] || !peers[std::size_t(worker)].dead.empty()) continue;
        reap_sends(worker);
        int flag = 0;
        if (const int rc = MPI_Iprobe(worker, kTagBye, MPI_COMM_WORLD, &flag, MPI_STATUS_IGNORE);
            rc != MPI_SUCCESS)
          mark_dead(worker, "failed a probe: " + mpi_error_string(rc));
        else if (flag)
          MPI_Recv(nullptr, 0, MPI_BYTE, worker, kTagBye, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        else if (!check_exit(worker))
          all = false;
        bye[std::size_t(worker)] = flag != 0;
      }
    }
    for (int worker = 1; worker < size; ++worker)
      if (!bye[std::size_t(worker)] && peers[std::size_t(worker)].dead.empty())
        log_warning("rank " + std::to_string(worker) + " did not acknowledge the stop within " +
                    format_double(options.timeout_seconds, 3) + " s");
    // Sends that never completed (to dead ranks) keep their buffers until the process exits: MPI
    // still holds pointers into them through MPI_Finalize. splice() moves list nodes, so the
    // buffers stay put.
    static std::list<std::pair<MPI_Request, std::string>> abandoned;
    for (auto& p : peers) abandoned.splice(abandoned.end(), p.sends);
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
