import SluiceCore
import Testing

/// The player model `sluice bench http --media-bitrate` and qos-proof.sh measure stalls with.
struct StallMeterTests {
    /// 1 Mbit/s media: 125,000 bytes are one second of it.
    let second = 125_000

    @Test func aStreamDeliveredAtTheMediaRateNeverStalls() {
        var meter = StallMeter(bitsPerSecond: 1_000_000, prebufferSeconds: 1)
        for tenth in 0...100 { meter.arrive(bytes: second / 10, at: Double(tenth) / 10) }
        meter.advance(to: 10.0)
        #expect(meter.started)
        #expect(meter.stalledSeconds == 0)
    }

    @Test func aStreamAtHalfTheRateStallsHalfTheTimeAfterItsPrebuffer() {
        var meter = StallMeter(bitsPerSecond: 1_000_000, prebufferSeconds: 1)
        // Half a second of media every second: the prebuffer fills at 2 s.
        for s in 1...20 { meter.arrive(bytes: second / 2, at: Double(s)) }
        meter.advance(to: 20)
        // From 2 s to 20 s it had 9.5 s of media to play (what came before 20 s): 18 - 9.5 stalled.
        #expect(abs(meter.stalledSeconds - 8.5) < 1e-9)
    }

    @Test func silenceAfterTheLastByteCountsAsStallOnlyOnceTheBufferIsEmpty() {
        var meter = StallMeter(bitsPerSecond: 1_000_000, prebufferSeconds: 1)
        meter.arrive(bytes: 3 * second, at: 0)
        meter.advance(to: 2)
        #expect(meter.stalledSeconds == 0)
        meter.advance(to: 5)
        #expect(abs(meter.stalledSeconds - 2) < 1e-9)
    }

    @Test func aPlayerWhosePrebufferNeverFillsNeverStarts() {
        var meter = StallMeter(bitsPerSecond: 1_000_000, prebufferSeconds: 2)
        meter.arrive(bytes: second, at: 0)
        meter.advance(to: 10)
        #expect(!meter.started)
        #expect(meter.stalledSeconds == 0)
    }
}

struct WireFramingTests {
    @Test func anHTTPStreamsFramesFillItsReservationAndNoMore() {
        let reserved: Int64 = 4_200_000
        let payload = WireFraming.tcpPayloadRate(linkBitsPerSecond: reserved)
        let frames = Double(payload) / Double(WireFraming.tcpPayloadBytes) * Double(WireFraming.ethernetFrameBytes)
        #expect(frames <= Double(reserved) && frames > Double(reserved) * 0.9999)
        // 5 % headroom over 4 Mbit/s media still leaves the payload faster than the media.
        #expect(payload > 4_000_000)
        #expect(WireFraming.tcpPacingBytesPerSecond(linkBitsPerSecond: reserved) == payload / 8)
    }
}
