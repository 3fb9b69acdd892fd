// SPDX-License-Identifier: MIT
// The client's half of permessage-deflate (RFC 7692 §7.2) for tests, written straight on zlib
// and sharing nothing with wisp's codec: compresses what a test client sends, inflates what the
// server sent, and builds decompression bombs cheaply.
#pragma once

#ifdef WISP_DEFLATE
#include <zlib.h>

#include <memory>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

namespace support {

/// zlib refused what a correct peer does: the test cannot go on (no exceptions: the suite also
/// builds with -fno-exceptions).
[[noreturn]] inline void zlib_peer_failed(const char* what) {
    std::fprintf(stderr, "zlib_peer: %s\n", what);
    std::abort();
}

/// A raw-DEFLATE compressor (a client's), with or without context takeover.
class PeerDeflater {
public:
    explicit PeerDeflater(int window_bits = 15, int level = 6) {
        if (deflateInit2(&z_, level, Z_DEFLATED, -window_bits, 8, Z_DEFAULT_STRATEGY) != Z_OK)
            zlib_peer_failed("deflateInit2");
    }
    ~PeerDeflater() { deflateEnd(&z_); }
    PeerDeflater(const PeerDeflater&) = delete;
    PeerDeflater& operator=(const PeerDeflater&) = delete;

    /// One message: sync flush, the 00 00 FF FF tail removed (§7.2.1). `finish`: end with a
    /// final block instead (BFINAL, §7.2.3.4), which a peer may do too.
    std::string message(std::string_view in, bool keep_context = true, bool finish = false) {
        std::string out(deflateBound(&z_, static_cast<uLong>(in.size())) + 64, '\0');
        z_.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
        z_.avail_in = static_cast<uInt>(in.size());
        z_.next_out = reinterpret_cast<Bytef*>(&out[0]);
        z_.avail_out = static_cast<uInt>(out.size());
        const int r = ::deflate(&z_, finish ? Z_FINISH : Z_SYNC_FLUSH);
        if (r != Z_OK && r != Z_STREAM_END) zlib_peer_failed("deflate");
        out.resize(out.size() - z_.avail_out);
        if (!finish) {
            const std::string tail("\0\0\xff\xff", 4);
            if (out.size() < 4 || out.compare(out.size() - 4, 4, tail) != 0)
                zlib_peer_failed("no sync-flush tail");
            out.resize(out.size() - 4);
        }
        if (!keep_context || finish) deflateReset(&z_);
        return out;
    }
    /// Primes the window as if `data` had just been sent (for a peer that restarts a stream).
    void set_dictionary(std::string_view data) {
        deflateSetDictionary(&z_, reinterpret_cast<const Bytef*>(data.data()),
                             static_cast<uInt>(data.size()));
    }

private:
    z_stream z_{};
};

/// A raw-DEFLATE decompressor (a client's), with or without context takeover.
class PeerInflater {
public:
    explicit PeerInflater(int window_bits = 15) {
        if (inflateInit2(&z_, -window_bits) != Z_OK) zlib_peer_failed("inflateInit2");
    }
    ~PeerInflater() { inflateEnd(&z_); }
    PeerInflater(const PeerInflater&) = delete;
    PeerInflater& operator=(const PeerInflater&) = delete;

    /// Inflates one message (§7.2.2: the payload, then 00 00 FF FF); aborts on bad data.
    std::string message(std::string_view payload, bool keep_context = true) {
        std::string in(payload);
        in.append("\0\0\xff\xff", 4);
        std::string out;
        z_.next_in = reinterpret_cast<Bytef*>(&in[0]);
        z_.avail_in = static_cast<uInt>(in.size());
        char buf[16384];
        for (;;) {
            z_.next_out = reinterpret_cast<Bytef*>(buf);
            z_.avail_out = sizeof buf;
            const int r = ::inflate(&z_, Z_SYNC_FLUSH);
            if (r != Z_OK && r != Z_BUF_ERROR && r != Z_STREAM_END)
                zlib_peer_failed("inflate: bad data");
            out.append(buf, sizeof buf - z_.avail_out);
            if (r == Z_STREAM_END || (z_.avail_in == 0 && z_.avail_out != 0)) break;
        }
        if (!keep_context) inflateReset(&z_);
        return out;
    }

private:
    z_stream z_{};
};

inline std::string peer_deflate(std::string_view in, int window_bits = 15) {
    return PeerDeflater(window_bits).message(in, false);
}
inline std::string peer_inflate(std::string_view payload, int window_bits = 15) {
    return PeerInflater(window_bits).message(payload, false);
}

/// A permessage-deflate payload that inflates to `mib` MiB of zeros: one compressed MiB
/// (about 1 KiB: DEFLATE's best ratio is near 1032:1) repeated, each copy referring only to
/// its own output, so the whole costs `mib` KiB to send and little to build. Each copy but the
/// last keeps the empty stored block that ends a sync flush (only the message's last one is
/// left off the wire, §7.2.1).
inline std::string zero_bomb(std::size_t mib) {
    const std::string one = peer_deflate(std::string(1u << 20, '\0'));
    const std::string tail("\0\0\xff\xff", 4);
    std::string out;
    out.reserve((one.size() + 4) * mib);
    for (std::size_t i = 0; i < mib; ++i) out += i + 1 < mib ? one + tail : one;
    return out;
}

}   // namespace support
#endif
