#include "ops/autoscale.h"

#include "storage/store.h"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <deque>
#include <filesystem>
#include <fstream>

namespace forge::ops {

namespace json = boost::json;
namespace fs = std::filesystem;

core::Status validate(const ScalePolicy& p) {
  auto bad = [](std::string message) {
    return core::Error{core::Errc::kUnprocessable, std::move(message)};
  };
  if (p.service.empty()) return bad("service: required");
  if (p.min_replicas < 0 || p.min_replicas > 64) return bad("min: must be 0..64");
  if (p.max_replicas < std::max(1, p.min_replicas) || p.max_replicas > 64)
    return bad("max: must be at least min (and 1), at most 64");
  if (!(p.target_cpu_percent > 0 && p.target_cpu_percent <= 100))
    return bad("target-cpu: must be in (0, 100]");
  if (!(p.scale_down_below_percent >= 0 && p.scale_down_below_percent < p.target_cpu_percent))
    return bad("scale-down-below: must be at least 0 and below target-cpu");
  if (p.cooldown.count() < 0) return bad("cooldown: must not be negative");
  return core::Ok{};
}

std::optional<double> meanCpuPercent(const CpuSample& before, const CpuSample& after) {
  const double seconds = std::chrono::duration<double>(after.at - before.at).count();
  if (seconds <= 0) return std::nullopt;
  double sum = 0;
  int counted = 0;
  for (const auto& now : after.replicas) {
    auto then = std::find_if(before.replicas.begin(), before.replicas.end(),
                             [&](const ReplicaCpu& r) { return r.pid == now.pid; });
    if (then == before.replicas.end() || now.cpu_seconds < then->cpu_seconds) continue;
    sum += (now.cpu_seconds - then->cpu_seconds) / seconds * 100.0;
    ++counted;
  }
  if (counted == 0) return std::nullopt;
  return sum / counted;
}

ScaleDecision decide(const ScalePolicy& p, int current, double load) {
  const int floor = std::max(p.min_replicas, 0);
  auto clamp = [&](int n) { return std::clamp(n, floor, p.max_replicas); };
  if (current < floor || current > p.max_replicas) {
    return {clamp(current), fmt::format("{} replicas is outside the policy's {}..{}", current,
                                        floor, p.max_replicas)};
  }
  if (load > p.target_cpu_percent && current > 0) {
    const int wanted = clamp(static_cast<int>(std::ceil(current * load / p.target_cpu_percent)));
    return {wanted, fmt::format("CPU {:.1f}% per replica is above the {:.0f}% target", load,
                                p.target_cpu_percent)};
  }
  if (load < p.scale_down_below_percent && current > floor) {
    return {current - 1, fmt::format("CPU {:.1f}% per replica is below {:.0f}%", load,
                                     p.scale_down_below_percent)};
  }
  return {current, fmt::format("CPU {:.1f}% per replica is within {:.0f}%..{:.0f}%", load,
                               p.scale_down_below_percent, p.target_cpu_percent)};
}

namespace {

json::object toJson(const ScalePolicy& p) {
  return {{"service", p.service},
          {"min", p.min_replicas},
          {"max", p.max_replicas},
          {"target_cpu_percent", p.target_cpu_percent},
          {"scale_down_below_percent", p.scale_down_below_percent},
          {"cooldown_seconds", p.cooldown.count()}};
}

json::object toJson(const ScaleEvent& e) {
  return {{"at", e.at},        {"service", e.service},         {"from", e.from},
          {"to", e.to},        {"cpu_percent", e.cpu_percent}, {"reason", e.reason},
          {"result", e.result}};
}

// Fields read with defaults, so that a hand-edited file with a field missing still loads.
double number(const json::object& o, const char* key, double fallback) {
  const auto* v = o.if_contains(key);
  return v && v->is_number() ? v->to_number<double>() : fallback;
}

std::string text(const json::object& o, const char* key) {
  const auto* v = o.if_contains(key);
  return v && v->is_string() ? std::string(v->get_string()) : std::string();
}

core::Result<json::value> readJson(const fs::path& path, const json::value& empty) {
  std::ifstream in(path);
  if (!in) return empty;
  const std::string content((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  boost::system::error_code ec;
  auto parsed = json::parse(content, ec);
  if (ec) {
    return core::Error{
        core::Errc::kInternal,
        fmt::format("{} is not valid JSON ({}): fix or remove it", path.string(), ec.message())};
  }
  return parsed;
}

} // namespace

core::Result<std::map<std::string, ScalePolicy>> AutoscaleStore::policies() const {
  auto doc = readJson(fs::path(data_dir_) / "autoscale" / "policies.json", json::array{});
  if (!doc) return doc.error();
  std::map<std::string, ScalePolicy> out;
  if (!doc->is_array()) return out;
  for (const auto& item : doc->get_array()) {
    if (!item.is_object()) continue;
    const auto& o = item.get_object();
    ScalePolicy p;
    p.service = text(o, "service");
    p.min_replicas = static_cast<int>(number(o, "min", p.min_replicas));
    p.max_replicas = static_cast<int>(number(o, "max", p.max_replicas));
    p.target_cpu_percent = number(o, "target_cpu_percent", p.target_cpu_percent);
    p.scale_down_below_percent = number(o, "scale_down_below_percent", p.scale_down_below_percent);
    p.cooldown = std::chrono::seconds(
        static_cast<std::int64_t>(number(o, "cooldown_seconds", p.cooldown.count())));
    if (!p.service.empty()) out[p.service] = p;
  }
  return out;
}

core::Status AutoscaleStore::writePolicies(const std::map<std::string, ScalePolicy>& all) {
  const fs::path dir = fs::path(data_dir_) / "autoscale";
  std::error_code ec;
  fs::create_directories(dir, ec);
  json::array list;
  for (const auto& [name, policy] : all)
    list.push_back(toJson(policy));
  // Written whole and renamed into place: a reader never sees half a file.
  const fs::path tmp = dir / "policies.json.tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << json::serialize(list) << "\n";
    if (!out.flush()) {
      return core::Error{core::Errc::kInternal, fmt::format("cannot write {}", tmp.string())};
    }
  }
  fs::rename(tmp, dir / "policies.json", ec);
  if (ec) return core::Error{core::Errc::kInternal, ec.message()};
  return core::Ok{};
}

core::Status AutoscaleStore::save(const ScalePolicy& policy) {
  if (auto valid = validate(policy); !valid) return valid;
  auto all = policies();
  if (!all) return all.error();
  (*all)[policy.service] = policy;
  return writePolicies(*all);
}

core::Result<bool> AutoscaleStore::remove(const std::string& service) {
  auto all = policies();
  if (!all) return all.error();
  if (all->erase(service) == 0) return false;
  if (auto written = writePolicies(*all); !written) return written.error();
  return true;
}

core::Status AutoscaleStore::record(const ScaleEvent& event) {
  const fs::path dir = fs::path(data_dir_) / "autoscale";
  std::error_code ec;
  fs::create_directories(dir, ec);
  std::ofstream out(dir / "events.jsonl", std::ios::app);
  out << json::serialize(toJson(event)) << "\n";
  if (!out.flush()) return core::Error{core::Errc::kInternal, "cannot append to events.jsonl"};
  return core::Ok{};
}

core::Result<std::vector<ScaleEvent>> AutoscaleStore::events(std::size_t limit) const {
  std::ifstream in(fs::path(data_dir_) / "autoscale" / "events.jsonl");
  std::deque<ScaleEvent> last;
  std::string line;
  while (std::getline(in, line)) {
    boost::system::error_code ec;
    auto v = json::parse(line, ec);
    if (ec || !v.is_object()) continue; // a line cut short by a crash
    const auto& o = v.get_object();
    last.push_back({text(o, "at"), text(o, "service"), static_cast<int>(number(o, "from", 0)),
                    static_cast<int>(number(o, "to", 0)), number(o, "cpu_percent", 0),
                    text(o, "reason"), text(o, "result")});
    if (last.size() > limit) last.pop_front();
  }
  return std::vector<ScaleEvent>(last.begin(), last.end());
}

} // namespace forge::ops
