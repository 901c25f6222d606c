// Result<T>: the control plane's error channel (config, startup, CLI). An Error carries a
// message and, for config errors, the file:line:col and the key it concerns.
// The data plane never uses this: it returns -errno. Any thread may use these value types.
#pragma once

#include <string>
#include <utility>
#include <variant>

namespace ringlb {

struct Error {
  std::string message;
  std::string file;  // empty when not about a file
  int line = 0;      // 1-based; 0 = unknown
  int column = 0;    // 1-based; 0 = unknown
  std::string key;   // dotted key path, e.g. "pools.gateways.retries"; may be empty

  // "file:line:col: key: message", leaving out the parts that are unknown.
  std::string to_string() const;
};

template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::in_place_index<0>, std::move(value)) {}  // NOLINT: implicit by design
  Result(Error error) : v_(std::in_place_index<1>, std::move(error)) {}  // NOLINT

  bool ok() const noexcept { return v_.index() == 0; }
  explicit operator bool() const noexcept { return ok(); }

  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  const Error& error() const& { return std::get<1>(v_); }
  Error&& error() && { return std::get<1>(std::move(v_)); }

 private:
  std::variant<T, Error> v_;
};

// For operations that produce nothing but may fail.
struct Ok {};
using Status = Result<Ok>;

}  // namespace ringlb
