import Synchronization

/// The directors an engine may report to and the one it reports to now. The configured ones
/// are always candidates; the live directors the shared store lists (announced in register and
/// heartbeat replies) join them, so a cluster can grow without editing every engine's config.
final class DirectorSet: Sendable {
    private struct State {
        var configured: [String]
        var announced: [String] = []
        var current: String
    }

    private let state: Mutex<State>

    /// `urls` must not be empty; the first is used until it fails.
    init(urls: [String]) {
        let urls = Self.normalized(urls)
        precondition(!urls.isEmpty, "an engine needs at least one director URL")
        state = Mutex(State(configured: urls, current: urls[0]))
    }

    var current: String { state.withLock { $0.current } }

    /// Every director to try, in order: the current one, then the configured, then the announced.
    var candidates: [String] {
        state.withLock { state in
            var seen: Set<String> = []
            return ([state.current] + state.configured + state.announced).filter { seen.insert($0).inserted }
        }
    }

    /// `url` answered: it becomes the current director. Returns the one it replaced, if any.
    @discardableResult
    func answered(_ url: String) -> String? {
        state.withLock { state in
            guard state.current != url else { return nil }
            defer { state.current = url }
            return state.current
        }
    }

    /// The live directors as a director last listed them (replacing the previous list); true
    /// when the list changed.
    @discardableResult
    func announced(_ urls: [String]) -> Bool {
        let urls = Self.normalized(urls)
        return state.withLock { state in
            defer { state.announced = urls }
            return state.announced != urls
        }
    }

    static func normalized(_ urls: [String]) -> [String] {
        var seen: Set<String> = []
        return urls.map { $0.hasSuffix("/") ? String($0.dropLast()) : $0 }.filter { !$0.isEmpty && seen.insert($0).inserted }
    }
}
