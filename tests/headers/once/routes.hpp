#pragma once
#include "wisp.hpp"
void add_routes(wisp::App& app);
