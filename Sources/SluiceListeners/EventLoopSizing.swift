import Foundation
import NIOCore

/// Event-loop threads for the CPUs this process may run on: `taskset -c 0 sluice engine` gets
/// one loop, not one per core of the machine fighting for that CPU (and the pacer's timers
/// waiting out each other's scheduler slices). Called before anything touches the loops.
public enum EventLoopSizing {
    public static func fitToAffinity() {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix("Cpus_allowed_list:") }),
              let allowed = cpuCount(line.dropFirst("Cpus_allowed_list:".count).trimmingCharacters(in: .whitespaces))
        else { return }
        NIOSingletons.groupLoopCountSuggestion = allowed
    }

    /// CPUs in a kernel CPU list such as "0-3,6" (nil if it is not one).
    public static func cpuCount(_ list: String) -> Int? {
        var count = 0
        for part in list.split(separator: ",") {
            let bounds = part.split(separator: "-").map { Int($0) }
            switch bounds.count {
            case 1: guard bounds[0] != nil else { return nil }; count += 1
            case 2:
                guard let low = bounds[0], let high = bounds[1], high >= low else { return nil }
                count += high - low + 1
            default: return nil
            }
        }
        return count > 0 ? count : nil
    }
}
