// SPDX-License-Identifier: MIT
// Tests for wisp/detail/ws_deflate.hpp: permessage-deflate negotiation (RFC 7692 §5, §7.1) as a
// table of offers and the response each must get, in both modes and several window sizes.
#include <wisp/detail/ws_deflate.hpp>

#include <doctest/doctest.h>

#include <string>
#include <string_view>
#include <vector>

namespace {

namespace d = wisp::detail;

const d::DeflateConfig shared15{false, 15};
const d::DeflateConfig shared10{false, 10};
const d::DeflateConfig dedicated15{true, 15};
const d::DeflateConfig dedicated10{true, 10};

/// The response to these Sec-WebSocket-Extensions fields, or "declined".
std::string answer_fields(d::DeflateConfig config, std::vector<std::string_view> fields) {
    d::DeflateNegotiator n(config);
    for (std::string_view f : fields) n.feed(f);
    if (!n.accepted()) return "declined";
    const std::string text = d::format_deflate_response(n.params());
    CHECK(d::deflate_response(n.params()) == text);   // the shared table agrees
    return text;
}
std::string answer(d::DeflateConfig config, std::string_view field) {
    return answer_fields(config, std::vector<std::string_view>{field});
}

const std::string both =
    "permessage-deflate; server_no_context_takeover; client_no_context_takeover";

struct Row {
    const char* offer;
    const char* shared15;      // the answer of a shared route, 15-bit window
    const char* dedicated15;   // of a dedicated route, 15-bit window
    const char* dedicated10;   // of a dedicated route, 10-bit window
};

}   // namespace

TEST_CASE("ws_deflate: a table of single offers and the answer of each mode") {
    const Row rows[] = {
        // What browsers send (Chromium, Firefox): client_max_window_bits without a value.
        {"permessage-deflate; client_max_window_bits", "B", "permessage-deflate",
         "permessage-deflate; server_max_window_bits=10; client_max_window_bits=10"},
        {"permessage-deflate", "B", "permessage-deflate",
         "permessage-deflate; server_max_window_bits=10"},
        // §7.1.1: an offered no_context_takeover is echoed; shared mode adds both always.
        {"permessage-deflate; server_no_context_takeover", "B",
         "permessage-deflate; server_no_context_takeover",
         "permessage-deflate; server_no_context_takeover; server_max_window_bits=10"},
        {"permessage-deflate; client_no_context_takeover", "B",
         "permessage-deflate; client_no_context_takeover",
         "permessage-deflate; client_no_context_takeover; server_max_window_bits=10"},
        {"permessage-deflate;server_no_context_takeover;client_no_context_takeover", "B", "B",
         "B; server_max_window_bits=10"},
        // §7.1.2.2: an offered server window is answered with it or less.
        {"permessage-deflate; server_max_window_bits=12", "B; server_max_window_bits=12",
         "permessage-deflate; server_max_window_bits=12",
         "permessage-deflate; server_max_window_bits=10"},
        {"permessage-deflate; server_max_window_bits=9", "B; server_max_window_bits=9",
         "permessage-deflate; server_max_window_bits=9",
         "permessage-deflate; server_max_window_bits=9"},
        {"permessage-deflate; server_max_window_bits=15", "B; server_max_window_bits=15",
         "permessage-deflate; server_max_window_bits=15",
         "permessage-deflate; server_max_window_bits=10"},
        // zlib makes no 8-bit window: declined.
        {"permessage-deflate; server_max_window_bits=8", "declined", "declined", "declined"},
        // §7.1.2.1: a client window value is an upper bound; a dedicated route may lower it.
        {"permessage-deflate; client_max_window_bits=12", "B", "permessage-deflate",
         "permessage-deflate; server_max_window_bits=10; client_max_window_bits=10"},
        {"permessage-deflate; client_max_window_bits=8", "B", "permessage-deflate",
         "permessage-deflate; server_max_window_bits=10"},
        {"permessage-deflate; client_max_window_bits; client_no_context_takeover", "B",
         "permessage-deflate; client_no_context_takeover",
         "permessage-deflate; client_no_context_takeover; server_max_window_bits=10"},
        // Quoted values (RFC 6455 §9.1: a token once unescaped), spaces around ';' and '='.
        {"permessage-deflate ; server_max_window_bits = \"11\"", "B; server_max_window_bits=11",
         "permessage-deflate; server_max_window_bits=11",
         "permessage-deflate; server_max_window_bits=10"},
        {"permessage-deflate; client_max_window_bits=\"1\\2\"", "B", "permessage-deflate",
         "permessage-deflate; server_max_window_bits=10; client_max_window_bits=10"},
        {"PerMessage-Deflate", "B", "permessage-deflate",
         "permessage-deflate; server_max_window_bits=10"},
        // Invalid: declined (§7).
        {"permessage-deflate; server_max_window_bits", "declined", "declined", "declined"},
        {"permessage-deflate; server_max_window_bits=16", "declined", "declined", "declined"},
        {"permessage-deflate; server_max_window_bits=7", "declined", "declined", "declined"},
        {"permessage-deflate; server_max_window_bits=010", "declined", "declined", "declined"},
        {"permessage-deflate; server_max_window_bits=1O", "declined", "declined", "declined"},
        {"permessage-deflate; client_max_window_bits=16", "declined", "declined", "declined"},
        {"permessage-deflate; client_max_window_bits=\"\"", "declined", "declined", "declined"},
        {"permessage-deflate; server_no_context_takeover=1", "declined", "declined", "declined"},
        {"permessage-deflate; client_no_context_takeover=\"x\"", "declined", "declined",
         "declined"},
        {"permessage-deflate; server_no_context_takeover; server_no_context_takeover", "declined",
         "declined", "declined"},
        {"permessage-deflate; client_max_window_bits; client_max_window_bits=10", "declined",
         "declined", "declined"},
        {"permessage-deflate; unknown_parameter", "declined", "declined", "declined"},
        {"permessage-deflate; x=\"unterminated", "declined", "declined", "declined"},
        {"permessage-deflate;", "declined", "declined", "declined"},
        {"permessage-deflate; =10", "declined", "declined", "declined"},
        {"permessage-deflate server_no_context_takeover", "declined", "declined", "declined"},
        {"\"permessage-deflate\"", "declined", "declined", "declined"},
        {"x-webkit-deflate-frame", "declined", "declined", "declined"},
        {"", "declined", "declined", "declined"},
    };
    for (const Row& r : rows) {
        CAPTURE(r.offer);
        auto expand = [&](std::string s) {
            // "B" stands for the answer with both no_context_takeover parameters.
            if (s.rfind("B", 0) == 0) s = both + s.substr(1);
            return s;
        };
        CHECK(answer(shared15, r.offer) == expand(r.shared15));
        CHECK(answer(dedicated15, r.offer) == expand(r.dedicated15));
        CHECK(answer(dedicated10, r.offer) == expand(r.dedicated10));
    }
}

TEST_CASE("ws_deflate: several offers in one field: the first acceptable one wins") {
    // The first is declined (8 bits), the second taken.
    CHECK(answer(dedicated15,
                 "permessage-deflate; server_max_window_bits=8, "
                 "permessage-deflate; server_max_window_bits=12") ==
          "permessage-deflate; server_max_window_bits=12");
    // An invalid first offer (unknown parameter) is skipped; then a plain one.
    CHECK(answer(dedicated15, "permessage-deflate; foo=1, permessage-deflate") ==
          "permessage-deflate");
    // Preference order holds when both are acceptable.
    CHECK(
        answer(dedicated15, "permessage-deflate; server_max_window_bits=11, permessage-deflate") ==
        "permessage-deflate; server_max_window_bits=11");
    // Other extensions before and between are ignored, their parameters too, quoted commas
    // included.
    CHECK(answer(shared15, "x-foo; a=\"1,2\"; b, permessage-deflate; server_max_window_bits=13") ==
          both + "; server_max_window_bits=13");
    // A broken element does not hide the offers after it.
    CHECK(answer(shared15, "permessage-deflate; x=\"a,b\" junk, permessage-deflate") == both);
    CHECK(answer(shared15, ";;, , permessage-deflate") == both);
    // Empty elements are allowed (RFC 9110 §5.6.1).
    CHECK(answer(shared15, ", ,permessage-deflate,") == both);
}

TEST_CASE("ws_deflate: several fields are one list, in order") {
    CHECK(answer_fields(dedicated15, {"x-foo", "permessage-deflate; server_max_window_bits=8",
                                      "permessage-deflate; server_max_window_bits=14"}) ==
          "permessage-deflate; server_max_window_bits=14");
    CHECK(answer_fields(dedicated15,
                        {"permessage-deflate; client_no_context_takeover", "permessage-deflate"}) ==
          "permessage-deflate; client_no_context_takeover");
    CHECK(answer_fields(dedicated15, {"x-foo", "x-bar"}) == "declined");
}

TEST_CASE("ws_deflate: a shared route with a smaller window says so; the agreed parameters") {
    CHECK(answer(shared10, "permessage-deflate; client_max_window_bits") ==
          both + "; server_max_window_bits=10");
    CHECK(answer(shared10, "permessage-deflate; server_max_window_bits=12") ==
          both + "; server_max_window_bits=10");
    CHECK(answer(shared10, "permessage-deflate; server_max_window_bits=9") ==
          both + "; server_max_window_bits=9");

    d::DeflateNegotiator n(dedicated10);
    n.feed("permessage-deflate; client_max_window_bits=12; server_no_context_takeover");
    REQUIRE(n.accepted());
    CHECK(n.params().server_no_context_takeover);
    CHECK_FALSE(n.params().client_no_context_takeover);
    CHECK(n.params().server_max_window_bits == 10);
    CHECK(n.params().client_max_window_bits == 10);

    d::DeflateNegotiator m(shared15);
    m.feed("permessage-deflate; client_max_window_bits=9");
    REQUIRE(m.accepted());
    // Not said (shared mode keeps no inflate window), but known: the client stays within 9.
    CHECK(m.params().client_max_window_bits == 9);
    CHECK_FALSE(m.params().say_client_max_window_bits);
}

TEST_CASE("ws_deflate: the response table covers every combination and matches formatting") {
    for (int snct = 0; snct < 2; ++snct)
        for (int cnct = 0; cnct < 2; ++cnct)
            for (int s = 8; s <= 15; ++s)
                for (int c = 7; c <= 15; ++c) {
                    d::DeflateParams p;
                    p.server_no_context_takeover = snct != 0;
                    p.client_no_context_takeover = cnct != 0;
                    p.say_server_max_window_bits = s != 8;
                    p.server_max_window_bits = static_cast<std::uint8_t>(s == 8 ? 15 : s);
                    p.say_client_max_window_bits = c != 7;
                    p.client_max_window_bits = static_cast<std::uint8_t>(c == 7 ? 15 : c);
                    const std::string text = d::format_deflate_response(p);
                    CHECK(d::deflate_response(p) == text);
                    CHECK(text.size() <= d::max_deflate_response_bytes);
                }
}
