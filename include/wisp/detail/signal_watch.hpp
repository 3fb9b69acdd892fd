// SPDX-License-Identifier: MIT
// wisp/detail/signal_watch.hpp — SignalWatch: one or two signals (SIGINT and SIGTERM, or SIGHUP)
// delivered to loop 0 as one notification per wait. One backend per build, like the Reactor's:
// with the epoll Reactor a self-pipe written by a sigaction handler (signalfd would need the
// signals blocked in every thread of the program), Asio's signal_set otherwise.
// Owns: the handler's installation (the previous handlers come back when the last watch of a
// signal goes), the pipe, the wait.
// Must not know: what a signal means to the app (stop, reload TLS).
#pragma once
#pragma push_macro("WISP_IN_HEADER")
#undef WISP_IN_HEADER
#define WISP_IN_HEADER 1

#include <wisp/config.hpp>
#include <wisp/detail/reactor.hpp>
#include <functional>
#include <system_error>
#include <utility>

#ifdef WISP_EPOLL_REACTOR
#include <atomic>
#include <cerrno>
#include <csignal>
#include <fcntl.h>
#include <mutex>
#include <unistd.h>
#else
#include <wisp/detail/asio.hpp>
#endif

WISP_NAMESPACE_BEGIN
namespace detail {

#ifdef WISP_EPOLL_REACTOR
/// The process's side: which pipes each signal is written to, and the handlers wisp replaced.
/// The handler reads only the atomics; the rest is under the mutex. A slot let go of is not
/// given back (nor its pipe closed) while a handler that may have read it still runs.
struct SignalTable {
    static constexpr int slots = 16;   ///< watched (signal, pipe) pairs at a time
    static constexpr int max_signal = 65;
    std::atomic<int> signo[slots] = {};
    std::atomic<int> fd[slots] = {};
    std::atomic<int> running{0};   ///< handlers between their first and last look at the slots
    std::mutex m;
    int users[max_signal] = {};
    struct sigaction previous[max_signal];

    static SignalTable& get() {
        static SignalTable t;
        return t;
    }
    static void on_signal(int sig) {
        const int saved = errno;   // the interrupted code may be reading it
        SignalTable& t = get();
        t.running.fetch_add(1);   // seq_cst, like remove()'s stores: one or the other is first
        const unsigned char byte = static_cast<unsigned char>(sig);
        for (int i = 0; i < slots; ++i)
            if (t.signo[i].load() == sig) {
                const int fd = t.fd[i].load();
                if (fd >= 0) (void)!::write(fd, &byte, 1);   // full: that one is dropped
            }
        t.running.fetch_sub(1);
        errno = saved;
    }
    /// Routes `sig` to `fd`: false when every slot is taken or the handler cannot be installed.
    bool add(int sig, int write_fd) {
        if (sig <= 0 || sig >= max_signal) return false;
        std::lock_guard<std::mutex> lock(m);
        int slot = -1;
        for (int i = 0; i < slots && slot < 0; ++i)
            if (signo[i].load() == 0) slot = i;
        if (slot < 0) return false;
        if (users[sig] == 0) {
            struct sigaction sa {};
            sa.sa_handler = &SignalTable::on_signal;
            sigemptyset(&sa.sa_mask);
            sa.sa_flags = SA_RESTART;
            if (::sigaction(sig, &sa, &previous[sig]) != 0) return false;
        }
        ++users[sig];
        fd[slot].store(write_fd, std::memory_order_release);
        signo[slot].store(sig, std::memory_order_release);
        return true;
    }
    void remove(int sig, int write_fd) {
        std::lock_guard<std::mutex> lock(m);
        for (int i = 0; i < slots; ++i)
            if (signo[i].load() == sig && fd[i].load() == write_fd) {
                fd[i].store(-1);
                signo[i].store(0);
                if (--users[sig] == 0) ::sigaction(sig, &previous[sig], nullptr);
                // A handler on another thread that read the slot before the stores above may
                // still write to write_fd: the caller closes it (and the number may be reused)
                // only once none runs. Handlers are a few non-blocking writes long; one that
                // interrupted this thread has finished before this line.
                while (running.load() != 0) {}
                return;
            }
    }
};

/// Signals for loop 0, through a pipe its Reactor watches while a wait is pending; signals
/// that come while none is are kept in the pipe for the next one.
class SignalWatch {
public:
    SignalWatch(Reactor& r, int a, int b = 0) : watch_(r), sigs_{a, b} {
        int p[2];
        if (::pipe2(p, O_NONBLOCK | O_CLOEXEC) != 0) return;
        rd_ = p[0];
        wr_ = p[1];
        for (int& s : sigs_)
            if (s != 0 && !SignalTable::get().add(s, wr_)) s = 0;
    }
    SignalWatch(const SignalWatch&) = delete;
    SignalWatch& operator=(const SignalWatch&) = delete;
    ~SignalWatch() {
        cancel();
        for (int s : sigs_)
            if (s != 0) SignalTable::get().remove(s, wr_);
        if (rd_ >= 0) ::close(rd_);
        if (wr_ >= 0) ::close(wr_);
    }

    /// Calls `fn(signal)` once, at the next of the signals (or at one that came before).
    template <class F>
    void wait(F fn) {
        fn_ = std::move(fn);
        if (rd_ >= 0 && !watch_.started()) watch_.start(rd_, [this] { on_ready(); });
    }
    /// The pending wait is dropped; the signals stay caught until the watch goes.
    void cancel() noexcept {
        watch_.stop();
        fn_ = nullptr;
    }

private:
    void on_ready() {
        unsigned char sig = 0;
        ssize_t n;
        while ((n = ::read(rd_, &sig, 1)) < 0 && errno == EINTR) {}
        if (n != 1) return;
        // One signal per wait (the rest stay in the pipe); the waiter may wait again.
        watch_.stop();
        auto fn = std::exchange(fn_, nullptr);
        if (fn) fn(static_cast<int>(sig));
    }

    ReactorWatch watch_;
    int sigs_[2];
    int rd_ = -1, wr_ = -1;
    std::function<void(int)> fn_;
};
#else
/// Signals for loop 0, through Asio's signal_set.
class SignalWatch {
public:
    SignalWatch(Reactor& r, int a) : set_(r.io(), a) {}
    SignalWatch(Reactor& r, int a, int b) : set_(r.io(), a, b) {}

    /// Calls `fn(signal)` once, at the next of the signals (or at one that came before).
    template <class F>
    void wait(F fn) {
        set_.async_wait([f = std::move(fn)](const std::error_code& ec, int sig) mutable {
            if (!ec) f(sig);
        });
    }
    /// The pending wait is dropped; the signals stay caught until the watch goes.
    void cancel() noexcept {
        std::error_code ec;
        set_.cancel(ec);
    }

private:
    signal_set set_;
};
#endif

}   // namespace detail
WISP_NAMESPACE_END
#pragma pop_macro("WISP_IN_HEADER")
