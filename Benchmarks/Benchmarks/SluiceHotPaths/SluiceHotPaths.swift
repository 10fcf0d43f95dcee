import Benchmark
import SluiceCore
import SluiceMedia

/// 50 engines, each with two uplinks into a mesh of 25 switches and routers, 10 edges:
/// about 200 links, the shape issue 4 names for admission throughput.
func makeAdmissionTopology() -> (Topology, ClientNetworks) {
    var nodes: [Node] = []
    var links: [Link] = []
    for index in 0..<50 { nodes.append(Node(name: "e\(index)", kind: .engine)) }
    for index in 0..<25 { nodes.append(Node(name: "s\(index)", kind: index % 2 == 0 ? .switch : .router)) }
    for index in 0..<10 { nodes.append(Node(name: "x\(index)", kind: .edge)) }
    for index in 0..<50 {
        links.append(Link(name: "e\(index)-a", from: "e\(index)", to: "s\(index % 25)", capacityBitsPerSecond: 10_000_000_000))
        links.append(Link(name: "e\(index)-b", from: "e\(index)", to: "s\((index + 7) % 25)", capacityBitsPerSecond: 10_000_000_000))
    }
    for index in 0..<25 {
        links.append(Link(name: "s\(index)-n", from: "s\(index)", to: "s\((index + 1) % 25)", capacityBitsPerSecond: 40_000_000_000))
        links.append(Link(name: "s\(index)-m", from: "s\(index)", to: "s\((index + 5) % 25)", capacityBitsPerSecond: 40_000_000_000))
        links.append(Link(name: "s\(index)-x", from: "s\(index)", to: "x\(index % 10)", capacityBitsPerSecond: 40_000_000_000))
        links.append(Link(name: "s\(index)-y", from: "s\(index)", to: "x\((index + 3) % 10)", capacityBitsPerSecond: 40_000_000_000))
    }
    let topology = (try? Topology(nodes: nodes, links: links)) ?? { preconditionFailure("benchmark topology is invalid") }()
    let networks = ClientNetworks(
        entries: (0..<10).compactMap { index in CIDRBlock("10.\(index).0.0/16").map { .init(block: $0, edge: "x\(index)") } },
        defaultEdge: "x0")
    return (topology, networks)
}

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(metrics: [.wallClock, .throughput, .mallocCountTotal], maxDuration: .seconds(3))

    // A thousand admissions per measured run: the set-up (and the controller's teardown, which
    // `stopMeasurement` keeps out) would otherwise dwarf one admission.
    Benchmark(
        "Admission: path + reservation + lease, then release (50 engines, 200 links)",
        configuration: .init(metrics: [.wallClock, .throughput, .mallocCountTotal], scalingFactor: .kilo, maxDuration: .seconds(3))
    ) { benchmark in
        let (topology, networks) = makeAdmissionTopology()
        var controller = AdmissionController(topology: topology, clientNetworks: networks, policy: AdmissionPolicy())
        let now = Timestamp(millisecondsSinceEpoch: 1_700_000_000_000)
        let capacity = EngineCapacity(maxStreams: 100_000, bufferBytes: 1 << 40, ingestBitsPerSecond: 1 << 40, diskBytes: 1 << 50)
        for index in 0..<50 {
            let object = MediaObject(name: "o\(index)", sizeBytes: 1, durationMilliseconds: 600_000, averageBitsPerSecond: 4_000_000, sha256: "")
            controller.engineRegistered(EngineRecord(name: "e\(index)", url: "", capacity: capacity, isUp: true, lastHeartbeat: now), objects: [object], now: now)
            controller.engineRegistered(EngineRecord(name: "e\((index + 1) % 50)", url: "", capacity: capacity, isUp: true, lastHeartbeat: now), objects: [object], now: now)
        }
        var ticket: UInt64 = 0
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            ticket += 1
            let request = AdmissionRequest(
                ticket: ticket, kind: .play(object: "o\(ticket % 50)"), clientAddress: "10.\(ticket % 10).1.2", deadline: now)
            if case .admitted(let stream) = controller.requestReceived(request, now: now) {
                blackHole(controller.streamEnded(id: stream.id, now: now))
            }
        }
        benchmark.stopMeasurement()
        blackHole(controller)
    }

    let requestBytes = Array("""
        PLAY rtsp://127.0.0.1:8554/movie/ RTSP/1.0\r
        CSeq: 4\r
        User-Agent: Lavf59.27.100\r
        Session: 7f3a9c0d1e2b4a68\r
        Range: npt=5.000-\r
        \r

        """.utf8)
    Benchmark("RTSP: parse one PLAY request") { benchmark in
        for _ in benchmark.scaledIterations {
            var parser = RTSPRequestParser()
            parser.append(requestBytes)
            blackHole(try parser.nextRequest())
        }
    }

    let transportStream = SyntheticTransportStream.make(durationMilliseconds: 10_000, bitsPerSecond: 4_000_000)
    Benchmark("MPEG-TS: scan 10 s at 4 Mbit/s (5 MB)") { benchmark in
        for _ in benchmark.scaledIterations {
            var scanner = TransportStreamScanner()
            try scanner.consume(transportStream)
            blackHole(try scanner.finish())
        }
    }

    Benchmark("RTP: packetize 10 s at 4 Mbit/s into RTP/MP2T datagrams") { benchmark in
        var datagram: [UInt8] = []
        datagram.reserveCapacity(1400)
        for _ in benchmark.scaledIterations {
            var packetizer = MP2TPacketizer(pcrPID: nil, maxBitsPerSecond: 4_200_000)
            var sequence: UInt16 = 0
            for packet in packetizer.packets(in: transportStream[...]) {
                datagram.removeAll(keepingCapacity: true)
                RTPPacket(sequenceNumber: sequence, timestamp: 0, ssrc: 1, payload: transportStream[packet.range]).serialize(into: &datagram)
                sequence &+= 1
                blackHole(datagram)
            }
        }
    }
}
