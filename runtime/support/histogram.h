// A Prometheus histogram of values in seconds (cumulative buckets with fixed
// upper bounds), written in the text exposition format. Used by govd's
// metrics file and govconsole's /metrics.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace gov {

class Histogram {
 public:
  // The latency bounds both use unless told otherwise: 0.1 ms to 1 s.
  static std::vector<double> LatencyBounds();

  explicit Histogram(std::vector<double> bounds = LatencyBounds());

  void Observe(double seconds);

  // The cumulative count per bound, the sum and the count of what it observed.
  const std::vector<double>& bounds() const { return bounds_; }
  const std::vector<std::uint64_t>& counts() const { return counts_; }
  double sum() const { return sum_; }
  std::uint64_t count() const { return count_; }

  // Adds what another histogram of the same bounds observed (its counts(),
  // sum() and count()); counts of another length are ignored.
  void Merge(const std::vector<std::uint64_t>& counts, double sum, std::uint64_t count);

  // Appends HELP, TYPE, every bucket, _sum and _count of `name` to `out`.
  void Write(std::string& out, const std::string& name, const std::string& help) const;

 private:
  std::vector<double> bounds_;
  std::vector<std::uint64_t> counts_;
  double sum_ = 0;
  std::uint64_t count_ = 0;
};

}  // namespace gov
