import Foundation

/// The configuration `sluice init` writes and servers use when started without `--config`:
/// the demo's cluster (a director, two engines, one switch, one edge, on loopback).
public enum StarterConfiguration {
    /// The demo's key and secret: fine on loopback, public knowledge everywhere else.
    public static let demoKey = "demo-key"
    public static let demoSecret = "change-me-demo-secret-0123456789"

    /// Where the built-in configuration keeps data: `$SLUICE_HOME`, else
    /// `$XDG_DATA_HOME/sluice`, else `~/.local/share/sluice`.
    public static var defaultDataDirectory: String {
        let environment = ProcessInfo.processInfo.environment
        if let home = environment["SLUICE_HOME"], !home.isEmpty { return home }
        if let data = environment["XDG_DATA_HOME"], !data.isEmpty { return data + "/sluice" }
        return NSHomeDirectory() + "/.local/share/sluice"
    }

    /// The starter file's text with its data directory, API key and grant secret filled in.
    public static func yaml(dataDirectory: String, apiKey: String, grantSecret: String) -> String {
        template.replacingOccurrences(of: "{{DATA}}", with: dataDirectory)
            .replacingOccurrences(of: "{{KEY}}", with: apiKey)
            .replacingOccurrences(of: "{{SECRET}}", with: grantSecret)
    }

    /// The demo configuration, compiled in, with data under `defaultDataDirectory`.
    public static func builtIn() throws -> Configuration {
        try Configuration.parse(yaml: yaml(dataDirectory: defaultDataDirectory, apiKey: demoKey, grantSecret: demoSecret))
    }

    static let template = #"""
# A small Sluice cluster on one machine: a director, two engines behind one switch,
# and a local edge that every loopback client attaches to.
#
#   engine-a --a-core (100 Mbit/s)--\
#                                    core --core-edge (150 Mbit/s)--> edge-local --> viewers
#   engine-b --b-core (100 Mbit/s)--/
#
# Relative paths are resolved against this file's folder. `sluice init` writes this file with a
# fresh grant secret and API key; `sluice demo` and servers started without --config use it
# as it is, with data under the data home ($SLUICE_HOME, else ~/.local/share/sluice).

director:
  listen: 127.0.0.1:8080
  rtspListen: 127.0.0.1:8554   # RTSP front door: rtsp://127.0.0.1:8554/OBJECT
  rtspSessionTimeout: 60s      # a player silent this long (no RTSP, no RTCP) is torn down
  dataDirectory: {{DATA}}/director
  apiKeys: [{{KEY}}]          # clients send "Authorization: Bearer KEY" or ?key=KEY
  maxWait: 10s                 # longest a request waits for capacity before 503
  leaseSlack: 30s              # lease = expected duration x 1.1 + this
  heartbeatTimeout: 6s         # an engine silent this long is down
  claimTimeout: 15s            # an admitted stream nobody starts within this is released
  rateHeadroom: 0.05           # reserved rate = object bitrate x 1.05; keep >= 0.05: it pays for packet headers
  maxQueueLength: 1000
  ingestRate: 200Mbit          # write bandwidth reserved for one upload
  rtspPauseTimeout: 5m         # a paused RTSP session keeps its reservation this long
  # logLevel: debug            # trace ... critical; a reload (SIGHUP) applies it; --log-level wins at start
  # metricsToken: CHANGE-ME-16-characters-or-more   # Prometheus's bearer token for /metrics here and on the engines (deploy/prometheus)
  quotas:                      # what one user, one key, one group may hold at once
    user: { maxStreams: 10, maxRate: 100Mbit }    # each user (admins excepted) without a quota of their own
    key: { maxStreams: unlimited, maxRate: unlimited }
    # groups: { students: { maxStreams: 20, maxRate: 60Mbit } }

# TLS: with this section the director's API and every engine speak HTTPS, rtspsListen serves
# RTSPS, and the parts verify each other against ca (`sluice demo --tls` shows it working).
# tls:
#   certificate: tls/server.pem    # chain, leaf first; names every host clients and parts use
#   key: tls/server-key.pem
#   ca: tls/ca.pem                 # trusted for director <-> engine calls, besides the system's roots
#   mutual: false                  # true: the parts also present their certificates to each other

# Every listener (director HTTP and RTSP, engines) bounds what one client can hold.
limits:
  requestHeadTimeout: 10s      # a request head must arrive within this of its first byte (408)
  requestBodyTimeout: 30s      # longest silence inside a body (a stalled upload is cut)
  idleTimeout: 75s             # a kept-alive connection with no request is closed
  sendTimeout: 60s             # a client that reads nothing of a response this long is cut
  maxConnectionsPerClient: 128 # per address and listener

# Hot objects are copied to lightly loaded engines, and the copies dropped when demand falls.
replication:
  window: 30s                # demand (admitted, queued, refused requests) is counted over this
  overloadRequests: 2        # this many queued or refused within the window -> copy ...
  uplinkThreshold: 0.8       # ... or this many requests while every holder's path to the viewers is 80 % reserved
  targetLoadLimit: 0.75      # engines at or above this load take no copy
  copyRate: 50Mbit           # copy rate, reserved on the links the copy crosses (less if they have less free, never below the object's rate)
  maxConcurrentCopies: 2
  abandonBelowRequests: 1    # a dynamic copy goes after fewer requests than this per window ...
  coolDown: 120s             # ... for this long
  minimumReplicas: 1

# Licenses switch a stream's storage reads to a streaming I/O profile (audio, sd-video and
# uhd-video ship). List the license servers to trust (sluice license keygen prints the key):
# licensing:
#   trustedKeys: ["BASE64-OF-THE-ED25519-PUBLIC-KEY"]
#   profiles:                  # more profiles, or replacements of the shipped ones by name
#     - { name: hd-video, version: 1, readBytes: 512KiB, readAheadBlocks: 4, buffers: 4, pageCache: drop-behind, burstPackets: 16 }

directorURL: http://127.0.0.1:8080
grantSecret: {{SECRET}}   # signs grants; shared by director and engines

topology:
  nodes:
    - { name: engine-a, kind: engine }
    - { name: engine-b, kind: engine }
    - { name: core, kind: switch }
    - { name: edge-local, kind: edge }
  links:
    - { name: a-core, from: engine-a, to: core, capacity: 100Mbit }
    - { name: b-core, from: engine-b, to: core, capacity: 100Mbit }
    - { name: core-edge, from: core, to: edge-local, capacity: 150Mbit }

clientNetworks:
  - { cidr: 127.0.0.0/8, edge: edge-local }
  - { cidr: "::1/128", edge: edge-local }
defaultEdge: edge-local

engines:
  - name: engine-a
    listen: 127.0.0.1:8081
    dataDirectory: {{DATA}}/engine-a
    maxStreams: 200
    bufferMemory: 512MiB
    disk: 20GiB
    ingestRate: 1Gbit
    burst: 64KiB               # the pacer may send this much at once
    reconnectGrace: 2s         # an HTTP player that reconnects (seeks) within this keeps its stream
    # hlsIdleTime: 12s         # an HLS session with no request this long ends (default: 3 target durations)
    rtpPort: 0                 # UDP port for RTP (RTCP is the next one); 0 picks a free pair
    dscp: 34                   # DSCP of media packets (34 = AF41)
    rtpBurstWindow: 8ms        # a stream's RTP datagrams due this close together leave in one UDP_SEGMENT send; 0 = one per send
    scrubRate: 100Mbit         # stored objects are re-verified in the background at most this fast; off = only at start
    scrubInterval: 6h          # one pass over every object this often
  - name: engine-b
    listen: 127.0.0.1:8082
    dataDirectory: {{DATA}}/engine-b
    maxStreams: 200
    bufferMemory: 512MiB
    disk: 20GiB
    ingestRate: 1Gbit
    burst: 64KiB
"""#
}
