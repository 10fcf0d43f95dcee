import SluiceCore
import Testing

/// `?maxWait=` from a client: these used to trap the director (Double -> Int64 overflow).
@Suite(.timeLimit(.minutes(1))) struct RequestedWaitTests {
    @Test func onlySaneWaitsAreTaken() {
        #expect(Duration.requestedWait("2.5") == .milliseconds(2500))
        #expect(Duration.requestedWait("0") == .zero)
        #expect(Duration.requestedWait("1e300") == .seconds(86_400), "capped at a day")
        for bad in ["nan", "-1", "inf", "-inf", "x", "", String(repeating: "9", count: 40)] {
            #expect(Duration.requestedWait(bad) == nil, "\(bad)")
        }
        #expect(Duration.requestedWait(nil) == nil)
    }
}
