import Foundation
import SluiceCore
#if canImport(Glibc)
import Glibc
#endif

/// A plain TCP exchange for sending bytes no HTTP client would send.
enum RawTCP {
    /// Sends `bytes` to `url`'s host and port, optionally closes early, and returns what came
    /// back within `timeout` seconds ("" if the server just closed).
    static func exchange(url: String, bytes: [UInt8], readReply: Bool = true, timeout: Int = 5) throws -> String {
        let fd = try connect(url)
        defer { close(fd) }
        var tv = timeval(tv_sec: timeout, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        var offset = 0
        while offset < bytes.count {
            let sent = bytes[offset...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if sent <= 0 { break }  // the server may close on us mid-send: that is an answer too
            offset += sent
        }
        guard readReply else { return "" }
        var reply: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = recv(fd, &buffer, buffer.count, 0)
            if count <= 0 { break }
            reply += buffer[0..<count]
            if reply.count > 1 << 20 { break }
        }
        return String(decoding: reply, as: UTF8.self)
    }

    /// Sends `bytes` one at a time, `interval` apart, and returns whatever the server answers
    /// (it should cut the connection off long before the request completes).
    static func trickle(url: String, bytes: [UInt8], interval: Duration) throws -> String {
        let fd = try connect(url)
        defer { close(fd) }
        var reply: [UInt8] = []
        for byte in bytes {
            var one = byte
            if send(fd, &one, 1, Int32(MSG_NOSIGNAL)) <= 0 { break }
            // Poll for an answer for one interval before the next byte.
            var pollfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            if poll(&pollfd, 1, Int32(interval.wholeMilliseconds)) > 0 {
                var buffer = [UInt8](repeating: 0, count: 4096)
                let count = recv(fd, &buffer, buffer.count, 0)
                if count > 0 { reply += buffer[0..<count] }
                break
            }
        }
        return String(decoding: reply, as: UTF8.self)
    }

    /// A connected TCP socket to `url`'s port on 127.0.0.1, from `source` (another loopback
    /// address plays another host).
    /// `receiveBuffer`: SO_RCVBUF set before connecting, so the window the server sees is small.
    static func connect(_ url: String, from source: String? = nil, receiveBuffer: Int32? = nil) throws -> Int32 {
        guard let components = URLComponents(string: url), let port = components.port else { throw ClusterError("bad URL \(url)") }
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw ClusterError("socket() failed") }
        if var size = receiveBuffer {
            setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        }
        if let source {
            var local = sockaddr_in()
            local.sin_family = sa_family_t(AF_INET)
            local.sin_addr.s_addr = inet_addr(source)
            let bound = withUnsafePointer(to: &local) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            guard bound == 0 else {
                close(fd)
                throw ClusterError("cannot bind to \(source)")
            }
        }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else {
            close(fd)
            throw ClusterError("connect to \(url) failed")
        }
        return fd
    }
}
