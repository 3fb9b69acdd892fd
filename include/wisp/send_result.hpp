// SPDX-License-Identifier: MIT
// wisp/send_result.hpp — SendResult: what a send, a publish or a push did.
#pragma once
#pragma push_macro("WISP_IN_HEADER")
#undef WISP_IN_HEADER
#define WISP_IN_HEADER 1

#include <wisp/config.hpp>
#include <cstdint>

WISP_NAMESPACE_BEGIN

/// What Peer::send and friends did.
enum class SendResult : std::uint8_t {
    sent,      ///< queued; written in this loop turn's gather write
    dropped,   ///< over Limits::max_queued_bytes with BackpressurePolicy::drop; not sent
    closed,    ///< the peer is closed or closing (or this send's backpressure closed it); not sent
    invalid,   ///< an invalid argument (text that is not UTF-8, a close code that may not be sent,
               ///< a control payload over 125 bytes); not sent
};

WISP_NAMESPACE_END
#pragma pop_macro("WISP_IN_HEADER")
