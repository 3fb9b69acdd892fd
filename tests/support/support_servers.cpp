// SPDX-License-Identifier: MIT
// The integration tests' support servers in one binary: each (deflate_server, pubsub_server,
// sse_server, tls_server, redis_room_server) is a wisp program of its own, compiled together
// so that a test build pays for wisp once, not five times. The binary runs the server its name says (tests/meson.build
// makes each name a link to it), or the one named by its first argument:
//   pubsub_server --port 0          support_servers pubsub_server --port 0
#include <cstdio>
#include <cstring>
#include <string_view>

namespace wisp_test {
namespace pubsub_server {
int run(int argc, char** argv);
}
namespace sse_server {
int run(int argc, char** argv);
}
#if defined(WISP_DEFLATE)
namespace deflate_server {
int run(int argc, char** argv);
}
#endif
#if defined(WISP_TLS)
namespace tls_server {
int run(int argc, char** argv);
}
#endif
#if defined(WISP_REDIS)
namespace redis_room_server {
int run(int argc, char** argv);
}
#endif
}   // namespace wisp_test

namespace {

using Run = int (*)(int, char**);

struct Server {
    std::string_view name;
    Run run;
};

constexpr Server servers[] = {
    {"pubsub_server", wisp_test::pubsub_server::run},
    {"sse_server", wisp_test::sse_server::run},
#if defined(WISP_DEFLATE)
    {"deflate_server", wisp_test::deflate_server::run},
#endif
#if defined(WISP_TLS)
    {"tls_server", wisp_test::tls_server::run},
#endif
#if defined(WISP_REDIS)
    {"redis_room_server", wisp_test::redis_room_server::run},
#endif
};

// The file name without its directory and without ".exe".
std::string_view program_name(const char* path) {
    std::string_view s(path);
    const auto slash = s.find_last_of("/\\");
    if (slash != std::string_view::npos) s.remove_prefix(slash + 1);
    if (s.size() > 4 && s.substr(s.size() - 4) == ".exe") s.remove_suffix(4);
    return s;
}

Run find(std::string_view name) {
    for (const Server& s : servers)
        if (s.name == name) return s.run;
    return nullptr;
}

}   // namespace

int main(int argc, char** argv) {
    if (argc > 0) {
        if (Run run = find(program_name(argv[0]))) return run(argc, argv);
    }
    if (argc > 1) {
        if (Run run = find(argv[1])) return run(argc - 1, argv + 1);   // argv[1] becomes argv[0]
    }
    std::fprintf(stderr, "usage: support_servers NAME [ARGS...], NAME one of:");
    for (const Server& s : servers)
        std::fprintf(stderr, " %.*s", int(s.name.size()), s.name.data());
    std::fprintf(stderr, "\n(or run it through a link with that name)\n");
    return 2;
}
