import ArgumentParser
import Foundation
import SluiceClient
import SluiceConfig

struct InitCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "init",
        abstract: "Write a commented starter configuration with a fresh grant secret and API key.",
        discussion: """
            The file describes the demo's cluster (a director and two engines on loopback, one \
            switch, one edge); edit the topology, engines and limits to match your network, then:
              sluice init --out sluice.yaml
              sluice director --config sluice.yaml
              sluice engine --config sluice.yaml --name engine-a
            Relative data directories resolve against the file's folder.
            """)

    @Option(help: "Where to write it (- for standard output).")
    var out: String = "sluice.yaml"
    @Option(help: "Data directory of the director and engines (default: $SLUICE_HOME, else ~/.local/share/sluice).")
    var dataDir: String?
    @Flag(help: "Overwrite --out when it exists.")
    var force = false

    func run() throws {
        let yaml = StarterConfiguration.yaml(
            dataDirectory: dataDir ?? StarterConfiguration.defaultDataDirectory, apiKey: Self.random(bytes: 24), grantSecret: Self.random(bytes: 32))
        // What it writes must load: checked before anything is written.
        _ = try Configuration.parse(yaml: yaml)
        let file = try OutputFile.open(out, force: force)
        defer { file.close() }
        try file.write(Array(yaml.utf8))
        guard file.kind != .standardOutput else { return }
        chmod(out, 0o600)  // it holds the grant secret and an admin key
        announce("wrote \(out) (mode 0600: it holds the grant secret and an admin key); start with: sluice director --config \(out)")
    }

    /// URL-safe random text from the system's generator.
    static func random(bytes count: Int) -> String {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<count).map { _ in UInt8.random(in: 0...255, using: &generator) }
        return Data(bytes).base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }
}
