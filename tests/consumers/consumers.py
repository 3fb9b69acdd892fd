#!/usr/bin/env python3
"""Every way another build consumes wisp works (issue 25): wisp is configured apart (tests,
examples and benchmarks off, the features of the build under test) and `meson install`ed into a
temporary prefix, then tests/consumers/app.cpp is built and run through each path. The program
answers a route in-process and over a socket, and prints the features it was compiled with,
which must be the installed package's.
 1. pkg-config + plain c++: PKG_CONFIG_PATH=<prefix>/<libdir>/pkgconfig, `pkg-config wisp`.
 2. CMake: find_package(wisp CONFIG REQUIRED), target_link_libraries(app wisp::wisp),
    CMAKE_PREFIX_PATH=<prefix>; the compile-once engine library is not built for it.
 3. A meson parent with wisp as a subproject (subprojects/wisp -> the source tree, and a
    wisp.wrap that provides `wisp`), `dependency('wisp')`: wisp's tests, examples and benchmarks
    are not configured, the parent's flags have neither -Werror nor wisp's warning level, and
    the warning in the parent's own code stays a warning.
 4. The installed single header: #include <wisp.hpp>, -I<prefix>/include, the installed llhttp.
Compile-once mode (README "Compile time"), on the three-file program of tests/headers/once with
its includes spelled <wisp/wisp.hpp>: it builds, the engine is in one object only (nm: App::run
defined there, main.o calls it, no Asio in main.o or routes.o), and it serves as compile_once.py
checks:
 5. CMake: target_link_libraries(app wisp::wisp_once), the engine compiled by the consumer's
    build into the package's wisp_once_engine library.
 6. pkg-config: the README's compile-once commands for pkg-config ("Install and use from another
    build"), verbatim, with c++ and pkg-config on PATH as this script was given them.
TAP output. Usage: consumers.py --root SOURCE_ROOT --cxx CXX --cc CC --meson MESON
  [--cmake CMAKE] [--pkg-config PKG_CONFIG] [--tls] [--deflate] [--redis] [--llhttp-src DIR]
  [--llhttp-include DIR] [--keep]"""
import argparse
import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
import probelib  # noqa: E402

ap = argparse.ArgumentParser()
ap.add_argument("--root", required=True)
ap.add_argument("--cxx", required=True)
ap.add_argument("--cc", required=True)
ap.add_argument("--meson", required=True, help="the meson command (a path)")
ap.add_argument("--cmake", default="")
ap.add_argument("--pkg-config", default="")
ap.add_argument("--tls", action="store_true", help="the build under test has WISP_TLS")
ap.add_argument("--deflate", action="store_true", help="the build under test has WISP_DEFLATE")
ap.add_argument("--redis", action="store_true", help="the build under test has WISP_REDIS")
ap.add_argument("--llhttp-src", default="")
ap.add_argument("--llhttp-include", default="")
ap.add_argument("--keep", action="store_true", help="keep the temporary directory")
a = ap.parse_args()

APP = os.path.join(a.root, "tests", "consumers", "app.cpp")
CMAKE_LISTS = """cmake_minimum_required(VERSION 3.16)
project(wisp_consumer CXX)
find_package(wisp 0.1 CONFIG REQUIRED)
add_executable(app app.cpp)
target_link_libraries(app PRIVATE wisp::wisp)
"""
CMAKE_ONCE_LISTS = """cmake_minimum_required(VERSION 3.16)
project(wisp_once_consumer CXX)
find_package(wisp 0.1 CONFIG REQUIRED)
add_executable(app main.cpp routes.cpp)
target_link_libraries(app PRIVATE wisp::wisp_once)
"""
PARENT_MESON = """project('wisp_consumer', 'cpp', default_options: ['cpp_std=c++17'])
executable('app', 'app.cpp', cpp_args: '-DCONSUMER_PARENT_WARNING',
  dependencies: dependency('wisp'))
"""
PARENT_WRAP = """[wrap-file]
directory = wisp

[provide]
dependency_names = wisp, wisp-single
"""


def expected(tls, deflate, redis):
    return (f"fetch=200:hello fetch socket=ok tls={int(tls)} deflate={int(deflate)} "
            f"redis={int(redis)}")


def run(cmd, cwd=None, env=None):
    """Runs cmd; returns (ok, output) with the command line first."""
    r = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    out = "$ " + " ".join(shlex.quote(c) for c in cmd) + "\n" + r.stdout + r.stderr
    return r.returncode == 0, out


def run_app(path, tls, deflate, redis):
    ok, out = run([path])
    want = expected(tls, deflate, redis)
    return ok and want in out, out + f"\nexpected: {want}"


def which(cmd):
    return shutil.which(cmd) or cmd


tmp = tempfile.mkdtemp(prefix="wisp-consumers-")
prefix = os.path.join(tmp, "prefix")
env = dict(os.environ, CXX=a.cxx, CC=a.cc)
print("1..6", flush=True)

# wisp alone, configured as the build under test is (its features and llhttp), installed.
wisp_options = ["-Djson=disabled", "-Dtls=" + ("enabled" if a.tls else "disabled"),
                "-Ddeflate=" + ("enabled" if a.deflate else "disabled"),
                "-Dredis=" + ("enabled" if a.redis else "disabled")]
if a.llhttp_src:
    wisp_options.append("-Dllhttp_source_dir=" + a.llhttp_src)
if a.llhttp_include:
    wisp_options.append("-Dllhttp_include_dir=" + a.llhttp_include)
setup = [a.meson, "setup", os.path.join(tmp, "wisp-build"), a.root, "--prefix", prefix,
         "-Dtests=false", "-Dexamples=false", "-Dbench=false"] + wisp_options
ok, install_log = run(setup, env=env)
if ok:
    ok, out = run([a.meson, "install", "-C", os.path.join(tmp, "wisp-build")], env=env)
    install_log += out
installed = ok
pc_dir = include = llhttp_lib_dir = None
for base, _dirs, files in os.walk(prefix):
    if "wisp.pc" in files:
        pc_dir = base
    if "libwisp_llhttp.a" in files or "wisp_llhttp.lib" in files:
        llhttp_lib_dir = base
include = os.path.join(prefix, "include")


def case(n, name, fn):
    if not installed:
        return probelib.report(n, False, name, "meson install of wisp failed:\n" + install_log,
                               limit=6000)
    try:
        ok, detail = fn()
    except Exception as e:   # a missing tool, say: this case fails, the others still run
        ok, detail = False, f"{type(e).__name__}: {e}"
    return probelib.report(n, ok, name, detail, limit=6000)


def with_pkg_config():
    if not a.pkg_config:
        return False, "pkg-config not found (Debian pkg-config)"
    if not pc_dir:
        return False, "no wisp.pc under " + prefix
    d = os.path.join(tmp, "pkg-config")
    os.makedirs(d)
    pc_env = dict(os.environ, PKG_CONFIG_PATH=pc_dir)
    r = subprocess.run([a.pkg_config, "--cflags", "--libs", "wisp"], env=pc_env,
                       capture_output=True, text=True)
    if r.returncode != 0:
        return False, r.stderr
    flags = shlex.split(r.stdout)
    ok, out = run([a.cxx, "-std=c++17", APP, "-o", os.path.join(d, "app")] + flags, cwd=d)
    if not ok:
        return False, out
    ok, run_out = run_app(os.path.join(d, "app"), a.tls, a.deflate, a.redis)
    return ok, out + run_out


def cmake_build(name, lists, sources):
    """Configures and builds the CMake project `lists` with sources copied by `sources(dir)`
    against the installed package; returns (ok, output, build directory)."""
    if not a.cmake:
        return False, "cmake not found (Debian cmake)", None
    d = os.path.join(tmp, name)
    os.makedirs(d)
    sources(d)
    with open(os.path.join(d, "CMakeLists.txt"), "w", encoding="utf-8") as f:
        f.write(lists)
    b = os.path.join(d, "build")
    ok, out = run([a.cmake, "-S", d, "-B", b, "-DCMAKE_PREFIX_PATH=" + prefix,
                   "-DCMAKE_CXX_COMPILER=" + which(a.cxx), "-DCMAKE_BUILD_TYPE=Debug"])
    if ok:
        ok, more = run([a.cmake, "--build", b, "--verbose"])
        out += more
    return ok, out, b


def with_cmake():
    ok, out, b = cmake_build("cmake", CMAKE_LISTS, lambda d: shutil.copy(APP, d))
    if not ok:
        return False, out
    ok, run_out = run_app(os.path.join(b, "app"), a.tls, a.deflate, a.redis)
    if os.path.exists(os.path.join(b, "libwisp_once_engine.a")):   # EXCLUDE_FROM_ALL
        ok, run_out = False, run_out + "\nwisp_once_engine was built; nothing links wisp::wisp_once"
    return ok, out + run_out


def copy_once_program(d):
    probelib.copy_once_program(a.root, d, include="#include <wisp/wisp.hpp>")


def with_cmake_once():
    ok, out, b = cmake_build("cmake-once", CMAKE_ONCE_LISTS, copy_once_program)
    if not ok:
        return False, out
    objects = os.path.join(b, "CMakeFiles", "app.dir")
    ok, detail = probelib.engine_once([os.path.join(b, "libwisp_once_engine.a")],
                                      os.path.join(objects, "main.cpp.o"),
                                      [os.path.join(objects, "routes.cpp.o")])
    if not ok:
        return False, out + detail
    return probelib.serves_once_program(os.path.join(b, "app"), "cmake")


def with_pkg_config_once():
    if not a.pkg_config:
        return False, "pkg-config not found (Debian pkg-config)"
    if not pc_dir:
        return False, "no wisp.pc under " + prefix
    d = os.path.join(tmp, "pkg-config-once")
    tools = os.path.join(tmp, "tools")   # the README says c++ and pkg-config: these are they
    os.makedirs(d)
    os.makedirs(tools)
    os.symlink(which(a.cxx), os.path.join(tools, "c++"))
    os.symlink(which(a.pkg_config), os.path.join(tools, "pkg-config"))
    copy_once_program(d)
    commands = probelib.readme_block(a.root, "Install and use from another build",
                                     containing="WISP_IMPLEMENTATION")
    r = probelib.run_shell(commands, d, env=dict(
        os.environ, PKG_CONFIG_PATH=pc_dir, PATH=tools + os.pathsep + os.environ["PATH"]))
    if r.returncode != 0:
        return False, r.stderr
    ok, detail = probelib.engine_once([os.path.join(d, "wisp_impl.o")],
                                      os.path.join(d, "main.o"), [os.path.join(d, "routes.o")])
    if not ok:
        return False, r.stderr + detail
    return probelib.serves_once_program(os.path.join(d, "app"), "pkg-config")


def with_meson_subproject():
    d = os.path.join(tmp, "meson-parent")
    os.makedirs(os.path.join(d, "subprojects"))
    shutil.copy(APP, d)
    os.symlink(a.root, os.path.join(d, "subprojects", "wisp"))
    with open(os.path.join(d, "subprojects", "wisp.wrap"), "w", encoding="utf-8") as f:
        f.write(PARENT_WRAP)
    with open(os.path.join(d, "meson.build"), "w", encoding="utf-8") as f:
        f.write(PARENT_MESON)
    b = os.path.join(d, "build")
    # The parent's own defaults (warning_level=1, no werror); wisp's features and llhttp as in
    # the build under test, through the subproject's options.
    ok, out = run([a.meson, "setup", b, d] + ["-Dwisp:" + o[2:] for o in wisp_options], env=env)
    if not ok:
        return False, out
    problems = []
    targets = json.loads(subprocess.run([a.meson, "introspect", "--targets", b],
                                        capture_output=True, text=True).stdout)
    for t in targets:
        rel = os.path.relpath(t["defined_in"], os.path.join(d, "subprojects", "wisp"))
        rel = rel.replace(os.sep, "/")
        if rel.split("/")[0] in ("tests", "examples", "bench"):
            problems.append(f"wisp's target {t['name']} is configured ({rel})")
    tests = json.loads(subprocess.run([a.meson, "introspect", "--tests", b],
                                      capture_output=True, text=True).stdout)
    if tests:
        problems.append("tests are defined: " + ", ".join(t["name"] for t in tests))
    ok, more = run([a.meson, "compile", "-C", b, "-v"], env=env)
    out += more
    if not ok:
        return False, out
    if "unused variable" not in more:
        problems.append("the parent's warning (unused variable) was not reported")
    with open(os.path.join(b, "compile_commands.json"), encoding="utf-8") as f:
        commands = json.load(f)
    app_cmd = [c["command"] for c in commands if c["file"].endswith("app.cpp")]
    if not app_cmd:
        problems.append("app.cpp is not in compile_commands.json")
    for c in app_cmd:
        for flag in ("-Werror", "-Wextra", "-Wpedantic"):
            if flag in shlex.split(c):
                problems.append(f"wisp's {flag} leaked into the parent's command: {c}")
    ok, run_out = run_app(os.path.join(b, "app"), a.tls, a.deflate, a.redis)
    out += run_out
    if not ok:
        problems.append("the program did not answer as expected")
    return not problems, "\n".join(problems) + "\n" + out


def with_single_header():
    # wisp's llhttp when it installed one, else the system's library it was built with.
    llhttp = ["-lllhttp"]
    if llhttp_lib_dir:
        llhttp = ["-I" + os.path.join(include, "wisp", "llhttp"), "-L" + llhttp_lib_dir,
                  "-lwisp_llhttp"]
    d = os.path.join(tmp, "single-header")
    os.makedirs(d)
    ok, out = run([a.cxx, "-std=c++17", "-DCONSUMER_SINGLE_HEADER", "-I" + include, APP,
                   "-o", os.path.join(d, "app")] + llhttp + ["-pthread"], cwd=d)
    if not ok:
        return False, out
    ok, run_out = run_app(os.path.join(d, "app"), False, False, False)
    return ok, out + run_out


failed = 0
failed += not case(1, "pkg-config wisp + plain c++: builds, serves, carries the features",
                   with_pkg_config)
failed += not case(2, "CMake find_package(wisp) + wisp::wisp: builds, serves, carries the features",
                   with_cmake)
failed += not case(3, "meson subproject through a wrap, dependency('wisp'): no tests or examples, "
                   "no -Werror or wisp warning flags in the parent", with_meson_subproject)
failed += not case(4, "the installed single header <wisp.hpp> with the installed llhttp",
                   with_single_header)
failed += not case(5, "CMake wisp::wisp_once: compile-once, the engine in wisp_once_engine only, "
                   "serves",
                   with_cmake_once)
failed += not case(6, "pkg-config, the README's compile-once commands: the engine in wisp_impl.o "
                   "only, serves", with_pkg_config_once)
if a.keep:
    print("# kept " + tmp)
else:
    shutil.rmtree(tmp, ignore_errors=True)
sys.exit(1 if failed else 0)
