// SPDX-License-Identifier: MIT
// The other vendored copy (see coexist_main.cpp): generated from the single header with version
// 0.99.0 and namespace wisp::v0_99.
#include "wisp_other_version.hpp"
#include "coexist_serve.hpp"

#include <string>
#include <type_traits>

static_assert(std::is_same_v<wisp::App, wisp::v0_99::App>, "the copy lives in wisp::v0_99");

std::string other_version_serve() { return serve_version_once(); }
