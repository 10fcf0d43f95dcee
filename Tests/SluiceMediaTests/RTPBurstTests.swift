import SluiceMedia
import SluiceTestKit
import Testing

@Suite(.timeLimit(.minutes(1))) struct RTPBurstTests {
    struct Datagram: Equatable {
        var size: Int
        var due: Duration
    }

    let full = RTPBurst.segmentBytes
    let burst = RTPBurst(window: .milliseconds(8), maxSegments: 8)

    func length(_ packets: ArraySlice<Datagram>, _ planner: RTPBurst? = nil) -> Int {
        let datagrams = Array(packets)
        return (planner ?? burst).length(count: datagrams.count, size: { datagrams[$0].size }) { datagrams[$0].due.nanoseconds }
    }

    /// A 4 Mbit/s stream sends a 1328-byte datagram about every 2.6 ms.
    func stream(_ count: Int, every step: Duration = .microseconds(2_600)) -> [Datagram] {
        (0..<count).map { Datagram(size: full, due: step * $0) }
    }

    @Test func takesWhatIsDueWithinTheWindow() {
        #expect(full == 1328)
        let packets = stream(10)
        #expect(length(packets[...]) == 4)  // 0, 2.6, 5.2 and 7.8 ms
        #expect(length(packets[4...]) == 4)
        #expect(length([][...]) == 0)
    }

    @Test func neverMoreThanMaxSegments() {
        let packets = stream(100, every: .microseconds(10))
        #expect(length(packets[...]) == 8)
        #expect(length(packets[...], RTPBurst(window: .milliseconds(8), maxSegments: 0)) == 1)
    }

    @Test func onlyTheLastSegmentMayBeShort() {
        var packets = stream(4)
        packets[1].size = 200  // the end of a read: a short payload
        #expect(length(packets[...]) == 2)
        #expect(length(packets[2...]) == 2)
        packets[0].size = 300
        #expect(length(packets[...]) == 1)
    }

    @Test func aDatagramLargerThanTheSegmentTravelsAlone() {
        var packets = stream(3)
        packets[1].size = full + 1
        #expect(length(packets[...]) == 1)
    }

    /// Cutting a long irregular stream into bursts keeps every datagram once, in order, and no
    /// datagram leaves more than the window before it is due.
    @Test func burstsPartitionTheStreamInOrder() {
        var generator = SeededGenerator(seed: 42)
        var due = Duration.zero
        let packets: [Datagram] = (0..<5_000).map { _ in
            due += .microseconds(Int64(Int(generator.next() % 6_000)))
            return Datagram(size: generator.next() % 10 == 0 ? 12 + 188 * Int(1 + generator.next() % 6) : RTPBurst.segmentBytes, due: due)
        }
        var sent: [Datagram] = []
        var index = 0
        while index < packets.count {
            let count = length(packets[index...])
            #expect(count >= 1 && count <= 8)
            let group = packets[index..<(index + count)]
            #expect(group.allSatisfy { $0.due <= group.first!.due + .milliseconds(8) })
            #expect(group.dropLast().allSatisfy { $0.size == RTPBurst.segmentBytes })
            sent += group
            index += count
        }
        #expect(sent == packets)
    }
}
