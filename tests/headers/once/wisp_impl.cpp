// The one file that compiles wisp's engine (README "Compile time").
#define WISP_IMPLEMENTATION
#include "wisp.hpp"
