// OpenMP's wait policy for the CLI. libgomp reads OMP_WAIT_POLICY once, when it loads, and by
// default spins between parallel regions; a decode step runs hundreds of short regions, and when
// the cores are shared with other processes a spinning worker takes the time slice its partner
// needs (measured: 0.21 vs 1.63 tok/s at -t 2 on a loaded 2-core VM). So the CLI re-executes
// itself once with OMP_WAIT_POLICY=passive unless the user set the variable.
#pragma once

namespace ds::cli {

// Sets OMP_WAIT_POLICY=passive and re-executes argv if the variable is unset; otherwise returns.
void PreferPassiveOmpWaits(char** argv);

}  // namespace ds::cli
