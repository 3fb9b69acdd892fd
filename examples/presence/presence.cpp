// presence — who is online, on a page: the peer registry and timers. GET / serves the page;
// /_ws?name=N joins the room. Every second an app timer publishes the roster to topic
// "presence", built from the peer registry (and at once when someone joins, leaves or renames);
// each peer's own timer marks it "away" after 10 s without a word from it.
// Build: meson setup build && ninja -C build examples/presence
// Run:   build/examples/presence --port 3000   ->  open http://127.0.0.1:3000/ in two tabs
#include "wisp.hpp"

#include "presence_page.hpp"   // presence_page: index.html, embedded by tools/embed.py

#include <cctype>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <string>

namespace {

using steady = std::chrono::steady_clock;

/// Names are shown on a page: letters, digits, space, '-' and '_' only, 1 to 24 of them.
std::string clean_name(std::string_view raw, std::string_view fallback) {
    std::string out;
    for (char c : raw)
        if (out.size() < 24 &&
            (std::isalnum(static_cast<unsigned char>(c)) || c == ' ' || c == '-' || c == '_'))
            out += c;
    return out.empty() ? std::string(fallback) : out;
}

struct Presence {
    struct Member {
        std::string name;
        steady::time_point since, last;
    };
    wisp::App* app = nullptr;
    std::mutex m;                            // hooks run on every I/O thread
    std::map<std::string, Member> members;   // by peer id

    void open(wisp::Peer& p) {
        const std::string id(p.id());
        {
            std::lock_guard<std::mutex> lock(m);
            members[id] = {clean_name(p.request().query("name").value_or(""), "guest-" + id),
                           steady::now(), steady::now()};
        }
        p.subscribe("presence");
        p.send("{\"you\":\"" + id + "\"}");
        publish_roster();
    }
    void message(wisp::Peer& p, const wisp::Message& msg) {   // any word: "here"; "name:X" renames
        {
            std::lock_guard<std::mutex> lock(m);
            Member& me = members[std::string(p.id())];
            me.last = steady::now();
            if (msg.text().rfind("name:", 0) == 0)
                me.name = clean_name(msg.text().substr(5), me.name);
        }
        publish_roster();
    }
    void close(wisp::Peer& p) {
        {
            std::lock_guard<std::mutex> lock(m);
            members.erase(std::string(p.id()));
        }
        publish_roster();
    }

    /// {"count":N,"online":[{"id":..,"name":..,"away":..,"for":seconds},...]}, from the registry.
    void publish_roster() {
        std::string json =
            "{\"count\":" + std::to_string(app->peer_count("/_ws")) + ",\"online\":[";
        const auto now = steady::now();
        bool first = true;
        for (const wisp::PeerHandle& h : app->peers("/_ws")) {   // the registry: who is open now
            std::lock_guard<std::mutex> lock(m);
            auto it = members.find(std::string(h.id()));
            if (it == members.end()) continue;   // opening or closing right now
            const auto secs = [&](steady::time_point t) {
                return std::to_string(
                    std::chrono::duration_cast<std::chrono::seconds>(now - t).count());
            };
            json += std::string(first ? "" : ",") + "{\"id\":\"" + it->first + "\",\"name\":\"" +
                    it->second.name + "\",\"away\":" +
                    (now - it->second.last > std::chrono::seconds(10) ? "true" : "false") +
                    ",\"for\":" + secs(it->second.since) + "}";
            first = false;
        }
        app->publish("presence", json + "]}");
    }
};

}   // namespace

int main(int argc, char** argv) {
    std::string host = "127.0.0.1";
    unsigned long port = 3000, threads = 1;
    for (int i = 1; i < argc; i += 2) {
        char* end = nullptr;
        const char* value = i + 1 < argc ? argv[i + 1] : nullptr;
        bool ok = value != nullptr;
        if (ok && !std::strcmp(argv[i], "--host")) host = value;
        else if (ok && !std::strcmp(argv[i], "--port"))
            ok = (port = std::strtoul(value, &end, 10)) <= 65535 && *value && !*end;
        else if (ok && !std::strcmp(argv[i], "--threads"))
            ok = (threads = std::strtoul(value, &end, 10)) >= 1 && threads <= 1024 && *value &&
                 !*end;
        else ok = false;
        if (!ok) {
            std::fprintf(stderr,
                         "usage: presence [--host H] [--port 0-65535] [--threads 1-1024]\n");
            return 2;
        }
    }
    wisp::App app;
    Presence presence;
    presence.app = &app;
    app.get("/", [](wisp::Request&) { return wisp::html(std::string(presence_page)); });
    app.ws("/_ws", presence);
    app.every(std::chrono::seconds(1), [&presence] { presence.publish_roster(); });
    app.stop_on_signals();
    if (auto ec = app.listen(host, static_cast<std::uint16_t>(port))) {
        std::fprintf(stderr, "presence: cannot listen on %s:%lu: %s\n", host.c_str(), port,
                     ec.message().c_str());
        return 1;
    }
    std::printf("listening on http://%s:%u\n", host.c_str(), unsigned(app.port()));
    std::fflush(stdout);
    return app.run(static_cast<unsigned>(threads)) ? 1 : 0;
}
