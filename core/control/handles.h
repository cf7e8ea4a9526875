// The handle registry of the control layer: the objects a JS host holds by
// number (client engines, servers). Each area keeps one registry; numbering
// starts at 1 per registry, so a replayed sequence of operations gets the same
// handles (control_reset).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <utility>

#include "common/json_util.h"

namespace edgesync {

/// Owns objects of type T under integer handles 1, 2, 3, …
template <typename T>
class handle_registry {
 public:
  /// Stores `object` under the next handle and returns that handle.
  std::int64_t add(std::unique_ptr<T> object) {
    std::int64_t handle = next_++;
    items_[handle] = std::move(object);
    return handle;
  }

  /// The object under `handle`, or nullptr.
  T* find(std::int64_t handle) const {
    auto it = items_.find(handle);
    return it == items_.end() ? nullptr : it->second.get();
  }

  /// The object named by the integer member `key` of `meta`, or nullptr.
  T* find(const json& meta, const char* key) const {
    auto h = meta.find(key);
    if (h == meta.end() || !h->is_number_integer()) return nullptr;
    return find(h->template get<std::int64_t>());
  }

  /// Forgets the object under `handle` (nothing when there is none).
  void erase(std::int64_t handle) { items_.erase(handle); }

  /// Forgets every object and restarts numbering at 1.
  void clear() {
    items_.clear();
    next_ = 1;
  }

 private:
  std::map<std::int64_t, std::unique_ptr<T>> items_;
  std::int64_t next_ = 1;
};

}  // namespace edgesync
