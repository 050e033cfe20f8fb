// Prometheus histograms (see histogram.h).
#include "runtime/support/histogram.h"

#include <fmt/format.h>

namespace gov {

std::vector<double> Histogram::LatencyBounds() {
  return {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1};
}

Histogram::Histogram(std::vector<double> bounds) : bounds_(std::move(bounds)), counts_(bounds_.size(), 0) {}

void Histogram::Observe(double seconds) {
  for (std::size_t i = 0; i < bounds_.size(); ++i) {
    if (seconds <= bounds_[i]) ++counts_[i];
  }
  sum_ += seconds;
  ++count_;
}

void Histogram::Merge(const std::vector<std::uint64_t>& counts, double sum, std::uint64_t count) {
  if (counts.size() != counts_.size()) return;
  for (std::size_t i = 0; i < counts_.size(); ++i) counts_[i] += counts[i];
  sum_ += sum;
  count_ += count;
}

void Histogram::Write(std::string& out, const std::string& name, const std::string& help) const {
  out += fmt::format("# HELP {} {}\n# TYPE {} histogram\n", name, help, name);
  for (std::size_t i = 0; i < bounds_.size(); ++i) {
    out += fmt::format("{}_bucket{{le=\"{}\"}} {}\n", name, bounds_[i], counts_[i]);
  }
  out += fmt::format("{}_bucket{{le=\"+Inf\"}} {}\n{}_sum {}\n{}_count {}\n", name, count_, name, sum_, name, count_);
}

}  // namespace gov
