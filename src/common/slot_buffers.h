// Scratch buffers addressed by slot number, shared by the kernels' context and the models'
// per-sequence workspaces.
#pragma once

#include <cstddef>
#include <vector>

namespace ds {

// Slot `slot` of `slots` with room for at least `n` elements, contents kept. A slot that must grow
// is reallocated at exactly `n` (not geometrically), so it never holds more than its largest
// request: the size the models' memory plans count.
template <typename T>
T* GrowSlot(std::vector<std::vector<T>>& slots, int slot, size_t n) {
  if (static_cast<size_t>(slot) >= slots.size()) slots.resize(slot + 1);
  std::vector<T>& buf = slots[slot];
  if (buf.size() < n) {
    buf.reserve(n);
    buf.resize(n);
  }
  return buf.data();
}

// Bytes held by all of `slots`.
template <typename T>
size_t SlotBytes(const std::vector<std::vector<T>>& slots) {
  size_t b = 0;
  for (const auto& v : slots) b += v.capacity() * sizeof(T);
  return b;
}

}  // namespace ds
