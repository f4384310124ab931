// The `forge` binary: everything it does lives in the libraries; this only hands over argv.
#include "cli/registry.h"

int main(int argc, char** argv) { return forge::cli::runMain(argc, argv); }
