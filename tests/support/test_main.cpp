// SPDX-License-Identifier: MIT
// doctest main with a TAP reporter, so the build's test runner counts test cases, not binaries.
//   wisp_tests                      doctest's console output
//   wisp_tests --reporters=tap      one `ok N - name` / `not ok N - name` line per test case
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <cstdio>
#include <mutex>
#include <string>
#include <vector>

namespace {

std::string one_line(const std::string& s) {
    std::string out;
    for (char c : s) out += (c == '\n' || c == '\r') ? ' ' : c;
    return out;
}

struct TapReporter : doctest::IReporter {
    explicit TapReporter(const doctest::ContextOptions& in) : opt(in) {}

    // A count query (main's first pass) only records how many test cases will run.
    void report_query(const doctest::QueryData& q) override {
        if (opt.count && q.run_stats)
            planned = static_cast<int>(q.run_stats->numTestCasesPassingFilters);
    }
    void test_run_start() override {}
    void test_run_end(const doctest::TestRunStats&) override {
        if (planned < 0) std::printf("1..%d\n", number);   // no plan was printed first
        std::fflush(stdout);
    }
    void test_case_start(const doctest::TestCaseData& in) override {
        tc = &in;
        diagnostics.clear();
    }
    void test_case_reenter(const doctest::TestCaseData&) override {}
    void test_case_end(const doctest::CurrentTestCaseStats& st) override {
        ++number;
        const bool ok = st.testCaseSuccess;
        std::printf("%s %d - %s\n", ok ? "ok" : "not ok", number, one_line(tc->m_name).c_str());
        if (!ok) std::fputs(diagnostics.c_str(), stdout);
        std::fflush(stdout);
    }
    void test_case_exception(const doctest::TestCaseException& e) override {
        std::lock_guard<std::mutex> lock(mutex);
        diagnostics += "# exception: " + one_line(e.error_string.c_str()) + "\n";
    }
    void subcase_start(const doctest::SubcaseSignature& s) override {
        std::lock_guard<std::mutex> lock(mutex);
        subcase = s.m_name.c_str();
    }
    void subcase_end() override {}
    void log_assert(const doctest::AssertData& a) override {
        if (!a.m_failed) return;
        std::lock_guard<std::mutex> lock(mutex);
        diagnostics += "# " + std::string(a.m_file) + ":" + std::to_string(a.m_line) + ": " +
                       a.m_expr + " (" + one_line(a.m_decomp.c_str()) + ")" +
                       (subcase.empty() ? "" : " in subcase " + subcase) + "\n";
        if (a.m_exception.size())
            diagnostics += "# threw: " + one_line(a.m_exception.c_str()) + "\n";
    }
    void log_message(const doctest::MessageData& m) override {
        std::lock_guard<std::mutex> lock(mutex);
        diagnostics += "# " + std::string(m.m_file) + ":" + std::to_string(m.m_line) + ": " +
                       one_line(m.m_string.c_str()) + "\n";
    }
    void test_case_skipped(const doctest::TestCaseData& in) override { (void)in; }

    const doctest::ContextOptions& opt;
    const doctest::TestCaseData* tc = nullptr;
    std::string diagnostics, subcase;
    std::mutex mutex;
    int number = 0;
    static inline int planned = -1;   ///< from the count pass, when main printed the plan first
};

bool wants_tap(int argc, char** argv) {
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        if (a.find("reporters=tap") != std::string::npos || a == "-r=tap") return true;
        if (a.find("count") != std::string::npos || a.find("list") != std::string::npos)
            return false;
    }
    return false;
}

}   // namespace

DOCTEST_REGISTER_REPORTER("tap", 1, TapReporter);

int main(int argc, char** argv) {
    // With the TAP reporter the plan comes first, counted by a query pass over the same
    // filters: a binary that dies part-way (a crash Wine reports as a clean exit, say) then
    // shows as too few tests instead of passing with a short stream and no plan.
    if (wants_tap(argc, argv)) {
        std::vector<char*> args(argv, argv + argc);
        char count_flag[] = "--count";
        args.push_back(count_flag);
        doctest::Context count;
        count.applyCommandLine(static_cast<int>(args.size()), args.data());
        count.run();
        if (TapReporter::planned >= 0) {
            std::printf("1..%d\n", TapReporter::planned);
            std::fflush(stdout);
        }
    }
    doctest::Context ctx;
    ctx.applyCommandLine(argc, argv);
    return ctx.run();
}
