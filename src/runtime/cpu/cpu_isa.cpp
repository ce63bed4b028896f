#include "runtime/cpu/cpu_isa.h"

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstring>

#include <cpuid.h>
#include <oneapi/dnnl/dnnl.h>

namespace ds::cpu {
namespace {

// F16C (CPUID leaf 1, ECX bit 29): clang's __builtin_cpu_supports does not know "f16c".
bool HasF16c() {
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
  return __get_cpuid(1, &eax, &ebx, &ecx, &edx) && (ecx & bit_F16C) != 0;
}

CpuIsa FromEnv(CpuIsa detected) {
  const char* env = std::getenv("DS_CPU_ISA");
  if (env == nullptr) return detected;
  if (!std::strcmp(env, "scalar")) return CpuIsa::kScalar;
  if (!std::strcmp(env, "avx2")) return std::min(detected, CpuIsa::kAvx2);
  return detected;  // "avx512", "native" or anything else: the best available
}

// DS_CPU_ISA below the CPU's best caps oneDNN's kernels too (AVX2, or SSE4.1 for "scalar", its
// lowest), as on a CPU without AVX-512: no AVX-512 GEMMs and no bf16 matmul, unless the user set
// ONEDNN_MAX_CPU_ISA (or its older name DNNL_MAX_CPU_ISA). oneDNN takes this only before its first
// kernel; a later call fails and leaves it at its own choice.
void CapOneDnn(CpuIsa isa) {
  if (isa == DetectedCpuIsa() || std::getenv("ONEDNN_MAX_CPU_ISA") != nullptr || std::getenv("DNNL_MAX_CPU_ISA") != nullptr) {
    return;
  }
  dnnl_set_max_cpu_isa(isa == CpuIsa::kAvx2 ? dnnl_cpu_isa_avx2 : dnnl_cpu_isa_sse41);
}

std::atomic<int>& Active() {
  static std::atomic<int> active{[] {
    const CpuIsa isa = FromEnv(DetectedCpuIsa());
    CapOneDnn(isa);
    return static_cast<int>(isa);
  }()};
  return active;
}

}  // namespace

std::string_view CpuIsaName(CpuIsa isa) {
  switch (isa) {
    case CpuIsa::kScalar: return "scalar";
    case CpuIsa::kAvx2: return "avx2";
    case CpuIsa::kAvx512: return "avx512";
  }
  return "?";
}

CpuIsa DetectedCpuIsa() {
  static const CpuIsa isa = [] {
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq")) {
      return CpuIsa::kAvx512;
    }
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && HasF16c()) {
      return CpuIsa::kAvx2;  // the *_avx2.cpp files are compiled with -mavx2 -mfma -mf16c
    }
    return CpuIsa::kScalar;
  }();
  return isa;
}

CpuIsa ActiveCpuIsa() { return static_cast<CpuIsa>(Active().load(std::memory_order_relaxed)); }

void SetCpuIsa(CpuIsa isa) { Active().store(static_cast<int>(std::min(isa, DetectedCpuIsa()))); }

std::vector<CpuIsa> SupportedCpuIsas() {
  std::vector<CpuIsa> out;
  for (int i = 0; i <= static_cast<int>(DetectedCpuIsa()); ++i) out.push_back(static_cast<CpuIsa>(i));
  return out;
}

bool CpuHasAvx512Bf16() {
  static const bool has = DetectedCpuIsa() == CpuIsa::kAvx512 && __builtin_cpu_supports("avx512bf16");
  return has;
}

bool CpuHasAvx512Vnni() {
  static const bool has = DetectedCpuIsa() == CpuIsa::kAvx512 && __builtin_cpu_supports("avx512vnni");
  return has;
}

}  // namespace ds::cpu
