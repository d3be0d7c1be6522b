// SPDX-License-Identifier: Apache-2.0
// trailhound executable entry point.
#include "cli/cli.hpp"

int main(int argc, char** argv) { return trailhound::cli::run(argc, argv); }
