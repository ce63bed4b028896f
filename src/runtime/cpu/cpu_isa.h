// Run-time choice of the CPU instruction set the kernels use. The best one the CPU supports is
// picked once; DS_CPU_ISA=scalar|avx2|avx512 (or SetCpuIsa) caps it, so the fallbacks can be
// tested and benchmarked on a machine that has AVX-512. DS_CPU_ISA also caps oneDNN (at AVX2, or
// SSE4.1 for scalar) unless ONEDNN_MAX_CPU_ISA is set; SetCpuIsa caps only our kernels.
#pragma once

#include <string_view>
#include <vector>

namespace ds::cpu {

enum class CpuIsa : int { kScalar = 0, kAvx2 = 1, kAvx512 = 2 };

std::string_view CpuIsaName(CpuIsa isa);
// The best variant this CPU can run (AVX-512 means F/BW/VL/DQ; AVX2 means AVX2+FMA+F16C).
CpuIsa DetectedCpuIsa();
// The variant kernels use now: the detected one, capped by DS_CPU_ISA and SetCpuIsa.
CpuIsa ActiveCpuIsa();
// Caps the variant (values above DetectedCpuIsa() are clamped). Not meant to race with running kernels.
void SetCpuIsa(CpuIsa isa);
// Every variant this CPU can run, lowest first (what the kernel tests iterate over).
std::vector<CpuIsa> SupportedCpuIsas();
// True when the CPU has AVX512_BF16 (vdpbf16ps), used by oneDNN's bf16 matmul.
bool CpuHasAvx512Bf16();
// True when the CPU has AVX512_VNNI (vpdpbusd), used by the 8-bit-activation decode kernels.
bool CpuHasAvx512Vnni();

// Sets the ISA for a scope and restores the previous one (tests, benchmarks).
class ScopedCpuIsa {
 public:
  explicit ScopedCpuIsa(CpuIsa isa) : saved_(ActiveCpuIsa()) { SetCpuIsa(isa); }
  ~ScopedCpuIsa() { SetCpuIsa(saved_); }
  ScopedCpuIsa(const ScopedCpuIsa&) = delete;
  ScopedCpuIsa& operator=(const ScopedCpuIsa&) = delete;

 private:
  CpuIsa saved_;
};

}  // namespace ds::cpu
