#include "ops/prometheus.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <limits>

namespace forge::ops {
namespace {

double parseValue(std::string_view text) {
  if (text == "+Inf") return std::numeric_limits<double>::infinity();
  if (text == "-Inf") return -std::numeric_limits<double>::infinity();
  const std::string copy(text);
  char* end = nullptr;
  const double value = std::strtod(copy.c_str(), &end);
  return end == copy.c_str() ? std::nan("") : value;
}

// Parses `{a="x",b="y"}` starting at text[0] == '{'; returns the index after '}', or npos.
std::size_t parseLabels(std::string_view text, std::map<std::string, std::string>& labels) {
  std::size_t i = 1;
  while (i < text.size()) {
    while (i < text.size() && (text[i] == ',' || text[i] == ' '))
      ++i;
    if (i < text.size() && text[i] == '}') return i + 1;
    const auto eq = text.find('=', i);
    if (eq == std::string_view::npos || eq + 1 >= text.size() || text[eq + 1] != '"')
      return std::string_view::npos;
    std::string key(text.substr(i, eq - i));
    std::string value;
    i = eq + 2;
    for (; i < text.size() && text[i] != '"'; ++i) {
      if (text[i] == '\\' && i + 1 < text.size()) {
        ++i;
        value += text[i] == 'n' ? '\n' : text[i];
      } else {
        value += text[i];
      }
    }
    if (i >= text.size()) return std::string_view::npos;
    ++i; // closing quote
    labels.emplace(std::move(key), std::move(value));
  }
  return std::string_view::npos;
}

} // namespace

std::vector<Sample> parsePrometheus(std::string_view text) {
  std::vector<Sample> samples;
  while (!text.empty()) {
    const auto newline = text.find('\n');
    std::string_view line = text.substr(0, newline);
    text = newline == std::string_view::npos ? std::string_view() : text.substr(newline + 1);
    if (line.empty() || line.front() == '#') continue;
    Sample sample;
    const auto name_end = line.find_first_of("{ ");
    if (name_end == std::string_view::npos) continue;
    sample.name = std::string(line.substr(0, name_end));
    std::size_t rest = name_end;
    if (line[name_end] == '{') {
      const auto after = parseLabels(line.substr(name_end), sample.labels);
      if (after == std::string_view::npos) continue;
      rest = name_end + after;
    }
    std::string_view value = line.substr(rest);
    while (!value.empty() && value.front() == ' ')
      value.remove_prefix(1);
    value = value.substr(0, value.find(' ')); // an optional timestamp follows
    sample.value = parseValue(value);
    if (std::isnan(sample.value)) continue;
    samples.push_back(std::move(sample));
  }
  return samples;
}

double total(const std::vector<Sample>& samples, std::string_view name) {
  double sum = 0;
  for (const auto& s : samples)
    if (s.name == name) sum += s.value;
  return sum;
}

double histogramQuantile(const std::vector<std::pair<double, double>>& buckets, double quantile) {
  if (buckets.empty() || buckets.back().second <= 0) return 0;
  const double rank = quantile * buckets.back().second;
  double largest_finite = 0;
  for (const auto& [le, count] : buckets) {
    if (std::isfinite(le)) largest_finite = le;
    if (count >= rank) return std::isfinite(le) ? le : largest_finite;
  }
  return largest_finite;
}

GatewayStats gatewayStats(const std::vector<Sample>& samples) {
  GatewayStats stats;
  std::map<std::pair<std::string, std::string>, ToolFigures> tools;
  std::map<std::pair<std::string, std::string>, std::vector<std::pair<double, double>>> buckets;
  std::map<std::string, UpstreamFigures> upstreams;
  for (const auto& s : samples) {
    const auto key = std::make_pair(s.label("upstream"), s.label("tool"));
    if (s.name == "forge_mcp_requests_total") {
      stats.mcp_requests += s.value;
      if (s.label("outcome") == "error") stats.mcp_errors += s.value;
    } else if (s.name == "forge_http_responses_total") {
      stats.http_responses += s.value;
      if (s.label("class") == "5xx") stats.http_errors += s.value;
    } else if (s.name == "forge_tool_calls_total") {
      tools[key].calls = s.value;
      upstreams[key.first].calls += s.value;
    } else if (s.name == "forge_tool_errors_total") {
      tools[key].errors = s.value;
      upstreams[key.first].errors += s.value;
    } else if (s.name == "forge_tool_call_duration_seconds_sum") {
      tools[key].mean_seconds = s.value; // divided by the count below
    } else if (s.name == "forge_tool_call_duration_seconds_bucket") {
      buckets[key].emplace_back(parseValue(s.label("le")), s.value);
    } else if (s.name == "forge_upstream_up") {
      upstreams[s.label("upstream")].up = s.value > 0;
    } else if (s.name == "forge_mcp_sessions") {
      stats.sessions = s.value;
    } else if (s.name == "forge_http_connections") {
      stats.connections = s.value;
    } else if (s.name == "forge_uptime_seconds") {
      stats.uptime_seconds = s.value;
    } else if (s.name == "process_resident_memory_bytes") {
      stats.rss_bytes = s.value;
    } else if (s.name == "process_cpu_seconds_total") {
      stats.cpu_seconds = s.value;
    } else if (s.name == "process_open_fds") {
      stats.open_fds = s.value;
    } else if (s.name == "forge_build_info") {
      stats.pid = std::atoi(s.label("pid").c_str());
    }
  }
  for (auto& [key, figures] : tools) {
    figures.upstream = key.first;
    figures.tool = key.second;
    figures.mean_seconds = figures.calls > 0 ? figures.mean_seconds / figures.calls : 0;
    auto& b = buckets[key];
    std::sort(b.begin(), b.end());
    figures.p95_seconds = histogramQuantile(b, 0.95);
    stats.tool_calls += figures.calls;
    stats.tool_errors += figures.errors;
    stats.tools.push_back(figures);
  }
  std::stable_sort(stats.tools.begin(), stats.tools.end(),
                   [](const ToolFigures& a, const ToolFigures& b) { return a.calls > b.calls; });
  for (auto& [name, figures] : upstreams) {
    if (name.empty()) continue;
    figures.name = name;
    stats.upstreams.push_back(figures);
  }
  return stats;
}

} // namespace forge::ops
