#!/usr/bin/env python3
"""Every public header compiles, links and runs on its own: for each include/wisp/*.hpp, a program
that includes only that header and uses what it declares (so every definition it needs must come
with it), built warning-free and linked with llhttp. TAP output.
Usage: check_public_link.py --cxx CXX --cc CC --include DIR --llhttp-src DIR --llhttp-include DIR
                            [--json] [--flag F]..."""
import argparse
import concurrent.futures
import os
import shutil
import subprocess
import sys
import tempfile

ap = argparse.ArgumentParser()
ap.add_argument("--cxx", required=True)
ap.add_argument("--cc", required=True)
ap.add_argument("--include", required=True)
ap.add_argument("--llhttp-src", required=True)
ap.add_argument("--llhttp-include", required=True)
ap.add_argument("--json", action="store_true")
ap.add_argument("--tls", action="store_true", help="OpenSSL is there: app.hpp with WISP_TLS too")
ap.add_argument("--deflate", action="store_true",
                help="zlib is there: websocket.hpp and app.hpp with WISP_DEFLATE too")
ap.add_argument("--redis", action="store_true",
                help="hiredis is there: redis.hpp with WISP_REDIS too")
ap.add_argument("--flag", action="append", default=[])
a = ap.parse_args()

# What each program does with its one header. A header added to include/wisp without a use
# here fails the run, so the list cannot fall behind.
USES = {
    "config.hpp": "return WISP_VERSION_MAJOR == 0 ? 0 : 1;",
    "error.hpp": "return wisp::make_error_code(wisp::errc::closed).message().empty();",
    "options.hpp": "wisp::Options o; return o.limits.max_header_count == 100 ? 0 : 1;",
    "router.hpp": """wisp::BasicRouter<int> r;
        if (r.add("GET", "/u/:id", 7)) return 1;
        std::vector<wisp::RouteParam> params;
        return r.match("GET", "/u/42", params).status == wisp::RouteStatus::found ? 0 : 1;""",
    "route_param.hpp": """wisp::RouteParam p{"id", "42", "42"};
        return p.value == "42" && wisp::RouteStatus{} == wisp::RouteStatus::found ? 0 : 1;""",
    "request.hpp": """wisp::Request req("GET", "/x?a=1", {{"Host", "h"}});
        wisp::Responder later = req.defer();   // reaches the engine's Deferred
        const bool ok = req.query("a") == std::string_view("1") && req.url() == "http://h/x?a=1";
        return ok && later.send(wisp::text("late")) ? 0 : 1;""",
    "headers.hpp": """wisp::Headers h{{"Content-Type", "text/plain"}};
        h.add("Vary", "a").add("vary", "b");
        return h.get("content-type") == std::string_view("text/plain") && h.size() == 3 &&
            wisp::iequals("ETag", "etag") ? 0 : 1;""",
    "response.hpp": """wisp::Response r = wisp::redirect("/there", 303);
        wisp::Responder none;   // an empty Responder: send() is the engine's, and refuses
        return r.status == 303 && r.headers.get("Location") == std::string_view("/there") &&
            wisp::reason_phrase(404) == std::string_view("Not Found") &&
            !none.send(wisp::text("x")) ? 0 : 1;""",
    "websocket.hpp": """auto send = &wisp::Peer::send_text;   // Peer's members are the engine's
        auto url = &wisp::Peer::url;
        return send != nullptr && url != nullptr && wisp::is_utf8("ok") ? 0 : 1;""",
    "event_stream.hpp": """wisp::Request req("GET", "/events");
        wisp::EventStream s(req);
        bool closed = false;
        s.on_closed([&closed] { closed = true; });
        s.push("hello");
        s.close();
        return closed ? 0 : 1;""",
    "static_files.hpp": """wisp::Request req("GET", "/missing.txt");
        return wisp::serve_file(req, "/nonexistent-wisp-root").status == 404 ? 0 : 1;""",
    "app.hpp": """wisp::App app;
        app.get("/", [](wisp::Request&) { return wisp::text("hi"); });
        return app.fetch(wisp::Request("GET", "/")).body == "hi" ? 0 : 1;""",
    "wisp.hpp": """wisp::App app;
        app.get("/", [](wisp::Request&) { return "hi"; });
        return app.fetch(wisp::Request("GET", "/")).status == 200 ? 0 : 1;""",
    "tls.hpp": """wisp::TlsOptions o{"cert.pem", "key.pem"};   // plain data, with or without WISP_TLS
        return o.key_file == "key.pem" && o.require_client_cert && o.handshake_timeout.count() == 10000
                   ? 0 : 1;""",
    "handle.hpp": """wisp::PeerHandle none;   // an empty handle answers closed, out of line
        wisp::StreamHandle gone;
        return !none && !none.is_open() && none.send("x") == wisp::SendResult::closed &&
            !gone.is_open() && gone.push("x") == wisp::SendResult::closed ? 0 : 1;""",
    "send_result.hpp": """return wisp::SendResult::sent == wisp::SendResult{} ? 0 : 1;""",
    "timer.hpp": """wisp::Timer t;   // an empty timer: cancel() and active() are the engine's
        t.cancel();
        return t.active() ? 1 : 0;""",
    "redis_options.hpp": """wisp::RedisOptions o;   // plain data, with or without WISP_REDIS
        return o.channel_prefix == "wisp:" && o.max_pending_bytes == 8u * 1024 * 1024 &&
            !wisp::RedisStats{}.connected ? 0 : 1;""",
    "redis.hpp": """wisp::RedisBridge r("redis://127.0.0.1:6379");   // checked now, connected by run()
    #if WISP_REDIS
        return !r.error() && r.instance().size() == 16 && r.stats().published == 0 ? 0 : 1;
    #else
        return r.error() == wisp::make_error_code(wisp::errc::redis_unavailable) ? 0 : 1;
    #endif""",
    "json.hpp": """#if WISP_JSON
        return wisp::json_text(wisp::Json{{"a", 1}}) == "{\\"a\\":1}" ? 0 : 1;
    #else
        return 0;   // without WISP_JSON the header is empty
    #endif""",
}

headers = sorted(f for f in os.listdir(os.path.join(a.include, "wisp")) if f.endswith(".hpp"))
cases = [(h, []) for h in headers] + ([("json.hpp", ["-DWISP_JSON=1"])] if a.json else [])
cases += [("app.hpp", ["-DWISP_TLS=1"])] if a.tls else []
cases += [(h, ["-DWISP_DEFLATE=1"]) for h in ("websocket.hpp", "app.hpp")] if a.deflate else []
cases += [("redis.hpp", ["-DWISP_REDIS=1"])] if a.redis else []

work = tempfile.mkdtemp(prefix="wisp-public-link-")
objs = []
for c in ("api.c", "http.c", "llhttp.c"):
    out = os.path.join(work, c + ".o")
    subprocess.run([a.cc, "-c", "-O1", "-DLLHTTP_STRICT_MODE=1", f"-I{a.llhttp_include}",
                    os.path.join(a.llhttp_src, c), "-o", out], check=True)
    objs.append(out)


def build_and_run(case):
    header, extra = case
    use = USES.get(header)
    if use is None:
        return False, f"no use of <wisp/{header}> in check_public_link.py's USES"
    src = os.path.join(work, f"{header}{'-'.join(extra)}.cpp")
    exe = src[:-4]
    with open(src, "w", encoding="utf-8") as f:
        f.write(f"#include <wisp/{header}>\n#include <string_view>\n#include <vector>\n"
                f"int main() {{\n    {use}\n}}\n")
    libs = ["-lssl", "-lcrypto"] if "-DWISP_TLS=1" in extra else []
    libs += ["-lz"] if "-DWISP_DEFLATE=1" in extra else []
    libs += ["-lhiredis"] if "-DWISP_REDIS=1" in extra else []
    r = subprocess.run([a.cxx, *a.flag, *extra, f"-I{a.include}", f"-I{a.llhttp_include}", src,
                        *objs, *libs, "-pthread", "-o", exe], capture_output=True, text=True)
    if r.returncode != 0:
        return False, r.stderr
    r = subprocess.run([exe], capture_output=True, text=True, timeout=60)
    return r.returncode == 0, f"exit status {r.returncode}\n{r.stderr}"


with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
    results = list(pool.map(build_and_run, cases))
print(f"1..{len(cases)}")
failed = 0
for i, ((header, extra), (ok, err)) in enumerate(zip(cases, results), 1):
    print(f"{'ok' if ok else 'not ok'} {i} - <wisp/{header}> alone compiles, links and runs"
          f"{' ' + ' '.join(extra) if extra else ''}")
    if not ok:
        failed += 1
        for line in err[:3000].splitlines():
            print("# " + line)
shutil.rmtree(work, ignore_errors=True)
sys.exit(1 if failed else 0)
