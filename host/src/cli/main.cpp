// SPDX-License-Identifier: Apache-2.0
// trailhound executable entry point.
#include <malloc.h>

#include "cli/cli.hpp"

int main(int argc, char** argv) {
  // Each log file needs a few buffers of a few hundred KB (text, scratch copy, DOM arena) that
  // are freed after it. Above glibc's default mmap threshold every one of them would be a fresh
  // mmap and dozens of page faults; keep them in the heap so they are reused instead.
  mallopt(M_MMAP_THRESHOLD, 64 << 20);
  mallopt(M_TRIM_THRESHOLD, 128 << 20);
  return trailhound::cli::run(argc, argv);
}
