// SPDX-License-Identifier: MIT
// wisp/detail/stream_state.hpp — one event stream's state, shared by its handles and its
// connection.
#pragma once

#include <wisp/config.hpp>
#include <wisp/request.hpp>
#include <wisp/websocket.hpp>
#include <wisp/detail/topics.hpp>
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

WISP_NAMESPACE_BEGIN
namespace detail {

class Connection;

/// Shared by every EventStream copy and, once started, by the Connection. Everything but
/// `closed` is touched on the connection's I/O thread only (or, before the stream starts, on
/// the handler's thread, which is that thread). Member functions are defined in
/// event_stream_impl.hpp, where Connection is complete.
class StreamState : public std::enable_shared_from_this<StreamState> {
public:
    StreamState(Connection* conn, const Request& req);
    ~StreamState();
    StreamState(const StreamState&) = delete;
    StreamState& operator=(const StreamState&) = delete;

    /// Queues formatted event bytes (not yet chunk-framed). I/O thread.
    SendResult write_event_bytes(std::string_view bytes);
    /// Writes now when called on the I/O thread, else posts the write there.
    static SendResult push(const std::shared_ptr<StreamState>& self, std::string bytes);
    bool on_io_thread() const;
    /// Whether one more event may be queued on the started stream; applies the backpressure
    /// policy when not. I/O thread.
    SendResult admit();
    /// Ends the stream from our side. I/O thread.
    void end();

    // ---- from the Connection ----
    /// The head was written: move what was pushed before into the connection.
    void started(bool head_only);
    void on_transport_closed();   ///< the connection is gone: on_closed, once
    void on_drained();
    void on_heartbeat();
    std::uint64_t deadline() const noexcept;
    bool subscribe(std::string_view topic, bool named);
    bool unsubscribe(std::string_view topic);
    void deliver(const Publication& p, bool named);
    std::vector<std::string> topics;

    Connection* conn;                ///< null for App::fetch (events collect in `pending`)
    std::atomic<bool> closed{false};
    bool is_started = false;
    bool chunked = true;             ///< HTTP/1.1: chunked; HTTP/1.0: close-delimited
    Headers headers;
    std::string last_event_id;
    bool has_last_event_id = false;
    std::string pending;             ///< formatted events pushed before the head went out
    std::function<void()> closed_fn;
    std::function<void()> drain_fn;
    std::uint64_t last_write_tick = 0;

private:
    void fire_closed();
};

}  // namespace detail
WISP_NAMESPACE_END
