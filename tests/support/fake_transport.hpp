// SPDX-License-Identifier: MIT
// An in-memory Transport and a one-loop engine around it: the real Connection, SendQueue and
// sessions, driven a byte at a time with no sockets. The test decides what the peer sends,
// how much the transport takes per write, and when input ends.
#pragma once

#include <wisp/app.hpp>
#include <wisp/detail/engine.hpp>   // the internals, also in compile-once mode

#include <algorithm>
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

namespace support {

namespace wd = wisp::detail;

/// What the peer sends and what the server wrote, in memory. Shared by the test and the
/// connection's transport, so it outlives the connection (which may free itself on close).
struct FakeWire {
    std::string input;                   ///< sent by the peer, not read yet
    bool input_ended = false;            ///< the peer sent its FIN
    std::string output;                  ///< written by the server
    std::size_t write_room = SIZE_MAX;   ///< bytes the transport takes in all (then `again`)
    std::size_t reads = 0, writes = 0;   ///< calls, for checking batching
    bool shut = false, closed = false;
    bool wants_write = false;
    wd::TransportOwner* owner = nullptr;   ///< null once the connection is gone

    /// Makes the owner read what is in `input` (as a readiness event of a socket would).
    void deliver() {
        if (owner && !closed) owner->on_readable();
    }
    /// Gives the transport `n` more bytes of room and reports it (as EPOLLOUT would).
    void make_room(std::size_t n) {
        if (write_room != SIZE_MAX) write_room += n;
        if (owner && wants_write && !closed) {
            wants_write = false;
            owner->on_writable();
        }
    }
    /// Takes what the server wrote so far.
    std::string take() {
        std::string out;
        out.swap(output);
        return out;
    }
};

class FakeTransport final : public wd::Transport {
public:
    FakeTransport(wd::Loop& loop, std::shared_ptr<FakeWire> wire)
        : loop_(loop), w_(std::move(wire)) {}
    ~FakeTransport() override { w_->owner = nullptr; }

    bool start(wd::TransportOwner& owner) override {
        w_->owner = &owner;
        owner.hold();   // until after close(), as a socket's place in a ready set
        return true;
    }
    wd::IoResult read(char* p, std::size_t n, std::size_t& got) override {
        ++w_->reads;
        if (w_->input.empty()) return w_->input_ended ? wd::IoResult::eof : wd::IoResult::again;
        got = std::min(n, w_->input.size());
        std::copy(w_->input.data(), w_->input.data() + got, p);
        w_->input.erase(0, got);
        return wd::IoResult::done;
    }
    wd::IoResult write(const wd::Slice* s, std::size_t count, std::size_t& put) override {
        ++w_->writes;
        if (w_->closed) return wd::IoResult::failed;
        if (w_->write_room == 0) return wd::IoResult::again;
        put = 0;
        for (std::size_t i = 0; i < count && w_->write_room != 0; ++i) {
            const std::size_t n = std::min(s[i].size, w_->write_room);
            w_->output.append(s[i].data, n);
            put += n;
            if (w_->write_room != SIZE_MAX) w_->write_room -= n;
            if (n < s[i].size) break;
        }
        return wd::IoResult::done;
    }
    void want_read() override {
        if (may_have_input()) loop_.read_later(*w_->owner);
    }
    void want_write() override { w_->wants_write = true; }
    bool may_have_input() const noexcept override { return !w_->input.empty() || w_->input_ended; }
    bool shutdown_send() override {
        w_->shut = true;
        return !w_->closed;
    }
    void close() override {
        if (w_->closed) return;
        w_->closed = true;
        wd::TransportOwner* o = w_->owner;
        loop_.reactor.post([o] { o->unhold(); });
    }

private:
    wd::Loop& loop_;
    std::shared_ptr<FakeWire> w_;
};

/// One loop and its app core, run by hand on the calling thread (Reactor::poll()).
struct FakeEngine {
    wd::AppCore core;
    std::unique_ptr<wd::Loop> loop;

    explicit FakeEngine(wisp::Options o = {}) {
        core.options = o;
        core.sync_limits();
        loop = std::make_unique<wd::Loop>(core, 0);
        wd::Loop::current() = loop.get();
    }
    ~FakeEngine() {
        loop.reset();
        wd::Loop::current() = nullptr;
    }
    /// A connection over a fake transport, started with an HTTP session; it belongs to the
    /// loop, the returned wire to the test.
    std::shared_ptr<FakeWire> connect() {
        auto wire = std::make_shared<FakeWire>();
        auto* c = new wd::Connection(*loop, std::make_unique<FakeTransport>(*loop, wire));
        c->start(std::make_unique<wd::HttpSession>(*c));
        c->release();   // the loop's list holds it
        run();
        return wire;
    }
    /// Runs everything posted (reads left for later, the end-of-turn flush).
    void run() { loop->reactor.poll(); }
    /// Sends `bytes` one at a time, letting the loop run after each.
    void trickle(FakeWire& w, std::string_view bytes) {
        for (char c : bytes) {
            w.input.push_back(c);
            w.deliver();
            run();
        }
    }
    /// Sends `bytes` at once.
    void send(FakeWire& w, std::string_view bytes) {
        w.input.append(bytes.data(), bytes.size());
        w.deliver();
        run();
    }
};

}   // namespace support
