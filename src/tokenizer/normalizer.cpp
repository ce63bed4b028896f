#include "tokenizer/normalizer.h"

#include <unicode/bytestream.h>
#include <unicode/normalizer2.h>
#include <unicode/stringpiece.h>

namespace ds {
namespace {

const icu::Normalizer2* Instance(NormalizerKind kind, UErrorCode* err) {
  switch (kind) {
    case NormalizerKind::kNFC: return icu::Normalizer2::getNFCInstance(*err);
    case NormalizerKind::kNFD: return icu::Normalizer2::getNFDInstance(*err);
    case NormalizerKind::kNFKC: return icu::Normalizer2::getNFKCInstance(*err);
    case NormalizerKind::kNFKD: return icu::Normalizer2::getNFKDInstance(*err);
  }
  return nullptr;
}

bool IsAscii(std::string_view s) {
  for (char c : s)
    if (static_cast<unsigned char>(c) >= 0x80) return false;
  return true;
}

}  // namespace

StatusOr<bool> Normalize(const std::vector<NormalizerKind>& kinds, std::string_view text,
                         std::string* out) {
  if (kinds.empty() || IsAscii(text)) return false;  // ASCII is invariant under all four forms
  std::string current(text);
  bool changed = false;
  for (NormalizerKind kind : kinds) {
    UErrorCode err = U_ZERO_ERROR;
    const icu::Normalizer2* n = Instance(kind, &err);
    if (U_FAILURE(err) || n == nullptr) {
      return absl::InternalError(StrCat("ICU normalizer unavailable: ", u_errorName(err)));
    }
    const icu::StringPiece sp(current.data(), static_cast<int32_t>(current.size()));
    if (n->isNormalizedUTF8(sp, err) && U_SUCCESS(err)) continue;
    err = U_ZERO_ERROR;
    std::string next;
    icu::StringByteSink<std::string> sink(&next, static_cast<int32_t>(current.size()));
    n->normalizeUTF8(0, sp, sink, nullptr, err);
    if (U_FAILURE(err)) {
      return absl::InternalError(StrCat("ICU normalisation failed: ", u_errorName(err)));
    }
    current.swap(next);
    changed = true;
  }
  if (changed) out->swap(current);
  return changed;
}

}  // namespace ds
