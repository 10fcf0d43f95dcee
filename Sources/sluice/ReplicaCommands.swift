import ArgumentParser
import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import SluiceClient
import SluiceCore

/// Where an operator command sends its request, and with which key.
struct ReplicateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replicate",
        abstract: "Copy an object to another engine (engine to engine, at the reserved copy rate).",
        discussion: """
            The director reserves the copy rate on the links between the engines and the disk on the \
            target, orders the target to fetch the object from a holder, and lists the new replica \
            once the target has verified its SHA-256. Operator copies are static: the director never \
            drops them by itself (see drop-replica).
              sluice replicate sample --to engine-b --key demo-key
            """)

    @Argument(help: "Object name.")
    var object: String
    @Option(help: "Engine to copy to.")
    var to: String
    @Option(help: "Engine to copy from (default: the least loaded holder).")
    var from: String?
    @Option(help: "Give up waiting for the replica after this many seconds (the copy itself goes on).")
    var timeout: Double = 600
    @OptionGroup var options: DirectorOptions

    func run() async throws {
        let (status, body) = try await options.call(.POST, "/v1/objects/\(object)/replicas", body: ClusterMessages.ReplicateRequest(to: to, from: from))
        guard status == 202, let job = try? JSONDecoder().decode(CopyJob.self, from: body) else {
            throw ClientError("copy refused: " + DirectorOptions.explain(status, body))
        }
        announce("copying '\(object)' from \(job.source) to \(job.target) (copy \(job.id))")
        let deadline = Date().addingTimeInterval(timeout)
        var lastState = ""
        while Date() < deadline {
            let (status, body) = try await options.call(.GET, "/v1/objects/\(object)")
            if status == 200, let view = try? JSONDecoder().decode(ClusterMessages.ObjectStatus.self, from: body) {
                let states = view.replicas.filter { $0.engine == to }.map(\.state)
                if states.contains("static") || states.contains("dynamic") {
                    announce("replica of '\(object)' on \(to) verified and listed")
                    return
                }
                if !states.contains("copying") { throw ClientError("the copy to \(to) failed; the director's log says why") }
                let state = "copying"
                if state != lastState { announce("  \(state)...") }
                lastState = state
            }
            try await Task.sleep(for: .milliseconds(250))
        }
        throw ClientError("no replica on \(to) after \(Int(timeout)) s; the copy may still be running")
    }
}

struct DropReplicaCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "drop-replica",
        abstract: "Unlist an object's replica on an engine and delete it there.",
        discussion: "Refused for the last replica of an object and while streams are playing that replica (drain first).")

    @Argument(help: "Object name.")
    var object: String
    @Option(help: "Engine whose replica goes.")
    var on: String
    @OptionGroup var options: DirectorOptions

    func run() async throws {
        let (status, body) = try await options.call(.DELETE, "/v1/objects/\(object)/replicas/\(on)")
        guard status == 200 else { throw ClientError("not dropped: " + DirectorOptions.explain(status, body)) }
        announce("replica of '\(object)' on \(on) dropped")
    }
}

struct DrainCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "drain",
        abstract: "Stop sending new streams to an engine; streams already on it play to their end.",
        discussion: """
            sluice drain engine-a --key demo-key          # no new streams on engine-a
            sluice drain engine-a --cancel --key demo-key # take streams again
            With --wait the command returns when the engine carries no stream.
            """)

    @Argument(help: "Engine name.")
    var engine: String
    @Flag(help: "Stop draining: the engine takes new streams again.")
    var cancel = false
    @Flag(help: "Wait until no stream is left on the engine.")
    var wait = false
    @OptionGroup var options: DirectorOptions

    func run() async throws {
        struct Drain: Decodable { var engine: String; var draining: Bool; var liveStreams: Int }
        let path = "/v1/engines/\(engine)/drain" + (cancel ? "?cancel=1" : "")
        var (status, body) = try await options.call(.POST, path, body: [String: String]())
        guard status == 200, var drain = try? JSONDecoder().decode(Drain.self, from: body) else {
            throw ClientError(DirectorOptions.explain(status, body))
        }
        announce(drain.draining ? "\(engine) is draining: \(drain.liveStreams) streams left" : "\(engine) takes new streams again")
        guard wait, drain.draining else { return }
        while drain.liveStreams > 0 {
            try await Task.sleep(for: .seconds(1))
            (status, body) = try await options.call(.POST, path, body: [String: String]())
            guard status == 200, let next = try? JSONDecoder().decode(Drain.self, from: body) else { throw ClientError(DirectorOptions.explain(status, body)) }
            if next.liveStreams != drain.liveStreams { announce("  \(next.liveStreams) streams left") }
            drain = next
        }
        announce("\(engine) carries no stream")
    }
}

struct DeleteCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "delete",
        abstract: "Delete an object: every replica is unlisted and removed from its engine, and the name is free again.",
        discussion: """
            Its owner or an admin may delete it. While streams play it the deletion is refused, \
            unless --force, which ends them (their usage records say 'deleted'); usage records stay.
              sluice delete lecture --key $OWNER_KEY
            """)

    @Argument(help: "Object name.")
    var object: String
    @Flag(help: "End the streams playing it instead of refusing.")
    var force = false
    @OptionGroup var options: DirectorOptions

    func run() async throws {
        struct Deleted: Decodable { var engines: [String]; var streamsEnded: Int }
        let (status, body) = try await options.call(.DELETE, "/v1/objects/\(object)" + (force ? "?force=1" : ""))
        guard status == 200, let deleted = try? JSONDecoder().decode(Deleted.self, from: body) else {
            throw ClientError("not deleted: " + DirectorOptions.explain(status, body))
        }
        let ended = deleted.streamsEnded > 0 ? "; \(deleted.streamsEnded) streams ended" : ""
        announce("'\(object)' deleted from \(deleted.engines.joined(separator: ", "))\(ended)")
    }
}

struct ReloadCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reload",
        abstract: "Have the director re-read its configuration file (as SIGHUP does) and say what it applied.",
        discussion: """
            Applied at once: director.apiKeys, director.quotas, director.usageWebhook (a new URL), \
            director.logLevel, licensing and replication. Anything else that changed is listed as needing a restart. \
            A file with problems is refused whole; the running settings stay.
            """)

    @OptionGroup var options: DirectorOptions

    func run() async throws {
        struct Report: Decodable { var applied: [String]; var needsRestart: [String] }
        let (status, body) = try await options.call(.POST, "/v1/reload", body: [String: String]())
        guard status == 200, let report = try? JSONDecoder().decode(Report.self, from: body) else {
            throw ClientError("not reloaded: " + DirectorOptions.explain(status, body))
        }
        announce("applied: \(report.applied.isEmpty ? "nothing changed" : report.applied.joined(separator: ", "))")
        if !report.needsRestart.isEmpty { announce("needs a restart: \(report.needsRestart.joined(separator: ", "))") }
    }
}
