@testable import SluiceEngine
import Testing

@Suite struct DirectorSetTests {
    @Test func triesTheCurrentDirectorFirstThenConfiguredThenAnnounced() {
        let set = DirectorSet(urls: ["http://a/", "http://b", "http://a"])
        #expect(set.current == "http://a")
        #expect(set.candidates == ["http://a", "http://b"])
        #expect(set.announced(["http://c", "http://b"]))
        #expect(!set.announced(["http://c", "http://b"]), "the same list is no change")
        #expect(set.candidates == ["http://a", "http://b", "http://c"])

        // b answered after a failed: b is tried first from now on, a stays a candidate.
        #expect(set.answered("http://b") == "http://a")
        #expect(set.answered("http://b") == nil)
        #expect(set.candidates == ["http://b", "http://a", "http://c"])

        // An announced director that answered stays first even when the store stops listing it.
        #expect(set.answered("http://c") == "http://b")
        set.announced([])
        #expect(set.candidates == ["http://c", "http://a", "http://b"])
    }
}
