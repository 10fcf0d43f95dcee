import SluiceCore
import Testing

/// Quotas decided as values: who holds what, which limit a new stream would cross.
@Suite(.timeLimit(.minutes(1))) struct QuotaTests {
    let now = Timestamp(millisecondsSinceEpoch: 1_700_000_000_000)

    func stream(_ id: UInt32, user: String?, key: String?, rate: Int64 = 4_000_000, kind: LiveStream.Kind = .play) -> LiveStream {
        var stream = LiveStream(
            id: id, kind: kind, object: "movie", engine: "engine-a", clientAddress: "10.0.0.1", hops: [],
            reservation: Reservation(engine: "engine-a", links: ["l"], bitsPerSecond: rate), admittedAt: now, leaseExpiry: now + .seconds(60))
        stream.user = user
        stream.keyID = key
        return stream
    }

    let alice = Principal(name: "alice", role: .viewer, groups: ["students"], keyID: "k1")

    @Test func theDefaultUserQuotaCountsStreamsAndRate() {
        let policy = QuotaPolicy(user: Quota(maxStreams: 3, maxBitsPerSecond: 10_000_000))
        let two = [stream(1, user: "alice", key: "k1"), stream(2, user: "alice", key: "k2")]
        #expect(policy.refusal(for: alice, userQuota: nil, keyQuota: nil, adding: 2_000_000, streams: two, groupsOf: { _ in [] }) == nil)
        let byRate = policy.refusal(for: alice, userQuota: nil, keyQuota: nil, adding: 4_000_000, streams: two, groupsOf: { _ in [] })
        #expect(byRate?.code == .quotaExceeded && byRate?.message.contains("user 'alice'") == true && byRate?.message.contains("10 Mbit/s") == true)
        let three = two + [stream(3, user: "alice", key: "k1", rate: 1)]
        let byCount = policy.refusal(for: alice, userQuota: nil, keyQuota: nil, adding: 1, streams: three, groupsOf: { _ in [] })
        #expect(byCount?.message.contains("3 of 3 streams") == true)
        // Someone else's streams and copies do not count against alice.
        let others = [stream(4, user: "bob", key: "k9"), stream(5, user: nil, key: nil), stream(6, user: "alice", key: "k1", kind: .copy)]
        #expect(policy.refusal(for: alice, userQuota: nil, keyQuota: nil, adding: 1, streams: two + others, groupsOf: { _ in [] }) == nil)
    }

    @Test func aUsersOwnQuotaReplacesTheDefaultAndAdminsAreHeldOnlyByTheirOwn() {
        let policy = QuotaPolicy(user: Quota(maxStreams: 1))
        let one = [stream(1, user: "alice", key: "k1")]
        #expect(policy.refusal(for: alice, userQuota: Quota(maxStreams: 5), keyQuota: nil, adding: 1, streams: one, groupsOf: { _ in [] }) == nil)
        #expect(policy.refusal(for: alice, userQuota: Quota(maxStreams: 0), keyQuota: nil, adding: 1, streams: [], groupsOf: { _ in [] }) != nil)
        let admin = Principal(name: "root", role: .admin, keyID: "k7")
        let many = (1...50).map { stream(UInt32($0), user: "root", key: "k7") }
        #expect(policy.refusal(for: admin, userQuota: nil, keyQuota: nil, adding: 1, streams: many, groupsOf: { _ in [] }) == nil)
        #expect(policy.refusal(for: admin, userQuota: Quota(maxStreams: 50), keyQuota: nil, adding: 1, streams: many, groupsOf: { _ in [] }) != nil)
        #expect(policy.refusal(for: .configurationAdmin, userQuota: nil, keyQuota: nil, adding: 1, streams: many, groupsOf: { _ in [] }) == nil)
    }

    @Test func aKeyQuotaHoldsOneKeyAndAGroupQuotaAllItsMembers() {
        let policy = QuotaPolicy(user: .unlimited, key: Quota(maxStreams: 2), groups: ["students": Quota(maxStreams: 4)])
        let keyFull = [stream(1, user: "alice", key: "k1"), stream(2, user: "alice", key: "k1")]
        let refusal = policy.refusal(for: alice, userQuota: nil, keyQuota: nil, adding: 1, streams: keyFull, groupsOf: { _ in ["students"] })
        #expect(refusal?.message.contains("key k1") == true)
        let otherKey = Principal(name: "alice", role: .viewer, groups: ["students"], keyID: "k2")
        #expect(policy.refusal(for: otherKey, userQuota: nil, keyQuota: nil, adding: 1, streams: keyFull, groupsOf: { _ in ["students"] }) == nil)
        // Bob and carol are students too: four streams between them fill the group.
        let group = [stream(3, user: "bob", key: "kb"), stream(4, user: "carol", key: "kc"), stream(5, user: "bob", key: "kb2"), stream(6, user: "carol", key: "kc2")]
        let members: (String) -> [String] = { ["bob", "carol", "alice"].contains($0) ? ["students"] : [] }
        let full = policy.refusal(for: otherKey, userQuota: nil, keyQuota: nil, adding: 1, streams: group, groupsOf: members)
        #expect(full?.message.contains("group 'students'") == true)
        #expect(policy.refusal(for: otherKey, userQuota: nil, keyQuota: nil, adding: 1, streams: group, groupsOf: { _ in [] }) == nil)
    }

    @Test func theControllersLedgerAlwaysEqualsAPassOverItsStreams() throws {
        // Random admissions by three users' keys and random ends: the ledger kept as streams come
        // and go says what counting them would.
        let topology = try Topology(
            nodes: [Node(name: "e", kind: .engine), Node(name: "x", kind: .edge)],
            links: [Link(name: "e-x", from: "e", to: "x", capacityBitsPerSecond: 1_000_000_000)])
        var controller = AdmissionController(topology: topology, clientNetworks: ClientNetworks(entries: [], defaultEdge: "x"), policy: AdmissionPolicy())
        let capacity = EngineCapacity(maxStreams: 1000, bufferBytes: 1 << 40, ingestBitsPerSecond: 1 << 40, diskBytes: 1 << 50)
        controller.engineRegistered(EngineRecord(name: "e", url: "http://e", capacity: capacity, isUp: true, lastHeartbeat: now), objects: [
            MediaObject(name: "movie", sizeBytes: 1000, durationMilliseconds: 60_000, averageBitsPerSecond: 1_000_000, sha256: String(repeating: "a", count: 64)),
        ], now: now)
        var generator = SystemRandomNumberGenerator()
        var ticket: UInt64 = 0
        for _ in 0..<400 {
            if Bool.random(using: &generator) || controller.streams.isEmpty {
                ticket += 1
                var request = AdmissionRequest(ticket: ticket, kind: .play(object: "movie"), clientAddress: "10.0.0.1", deadline: now + .seconds(5))
                let user = ["ann", "ben", "cy"].randomElement(using: &generator)
                request.user = user
                request.keyID = user.map { $0 + "-k" + String(Int.random(in: 1...2, using: &generator)) }
                _ = controller.requestReceived(request, now: now)
            } else if let id = controller.streams.keys.randomElement(using: &generator) {
                _ = controller.streamEnded(id: id, now: now)
            }
            var byUser: [String: Holding] = [:]
            var byKey: [String: Holding] = [:]
            for stream in controller.streams.values {
                guard let claim = QuotaClaim(stream) else { continue }
                if let user = claim.user { byUser[user, default: Holding()].add(claim) }
                if let key = claim.keyID { byKey[key, default: Holding()].add(claim) }
            }
            #expect(controller.holdings.byUser == byUser && controller.holdings.byKey == byKey)
        }
    }

    @Test func holdingsNeverExceedTheQuotaWhateverTheOrderOfRequests() {
        // Admit greedily in a random order, as the director does: the user's total never passes the quota.
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<200 {
            let quota = Quota(maxStreams: Int.random(in: 0...6, using: &generator), maxBitsPerSecond: Int64.random(in: 0...20, using: &generator) * 1_000_000)
            let policy = QuotaPolicy(user: quota)
            var live: [LiveStream] = []
            for id in 1...30 {
                let rate = Int64.random(in: 1...5, using: &generator) * 1_000_000
                if policy.refusal(for: alice, userQuota: nil, keyQuota: nil, adding: rate, streams: live, groupsOf: { _ in [] }) == nil {
                    live.append(stream(UInt32(id), user: "alice", key: "k1", rate: rate))
                }
            }
            #expect(live.count <= quota.maxStreams ?? .max)
            #expect(live.map(\.reservation.bitsPerSecond).reduce(0, +) <= quota.maxBitsPerSecond ?? .max)
        }
    }
}

extension QuotaPolicy {
    /// The decision with holdings counted from `streams` one by one: what the director's ledger
    /// and queue pass must agree with.
    func refusal(
        for principal: Principal, userQuota: Quota?, keyQuota: Quota?, adding bitsPerSecond: Int64,
        streams: some Sequence<LiveStream>, groupsOf: (String) -> [String]
    ) -> AdmissionRefusal? {
        let claims = streams.compactMap(QuotaClaim.init)
        return refusal(for: principal, userQuota: userQuota, keyQuota: keyQuota, adding: bitsPerSecond) { holder in
            var holding = Holding()
            for claim in claims {
                let counts = switch holder {
                case .user(let name): claim.user == name
                case .key(let key): claim.keyID == key
                case .group(let group): claim.user.map { groupsOf($0).contains(group) } ?? false
                }
                if counts { holding.add(claim) }
            }
            return holding
        }
    }
}
