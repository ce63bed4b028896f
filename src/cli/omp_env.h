// OpenMP's wait policy for the CLI. libgomp reads its environment once, when it loads. By default
// a worker spins about 300,000 times between parallel regions: when the cores are shared with other
// processes a spinning worker takes the time slice its partner needs (measured: 0.21 vs 1.63 tok/s
// at -t 2 on a loaded 2-core VM). Never spinning (passive) costs a futex wake-up per region, and a
// decode step runs hundreds of short regions (V2-Lite-8L BF16 at -t 2 on a quiet machine: about 12
// tok/s passive against 15-19 with a short spin). So the CLI re-executes itself once with a short
// spin (GOMP_SPINCOUNT=10000) followed by sleeping (OMP_WAIT_POLICY=passive), unless the user set
// either variable.
#pragma once

namespace ds::cli {

// Sets OMP_WAIT_POLICY=passive and GOMP_SPINCOUNT=10000 and re-executes argv when neither is set;
// otherwise returns.
void PreferShortOmpSpins(char** argv);

}  // namespace ds::cli
