/// The engine's API as OpenAPI 3.1, served at `GET /openapi.yaml`. Viewers reach the delivery
/// routes with the grant the director gave them; the director's control routes need the
/// cluster token, `Authorization: Bearer ` + hex SHA-256 of `"sluice-engine-token:"` +
/// `grantSecret` (`GrantSigner.engineToken`). A test checks every route here is served.
public enum EngineOpenAPIDocument {
    public static let yaml = """
        openapi: 3.1.0
        info:
          title: Sluice stream engine
          version: "1"
          description: |
            Delivery (viewers, with a signed grant from the director) and control (the director,
            with the cluster token). Errors are Problems: {"error": CODE, "message": TEXT}.
        components:
          securitySchemes:
            clusterToken:
              type: http
              scheme: bearer
              description: hex SHA-256 of "sluice-engine-token:" followed by the cluster's grantSecret
          parameters:
            object: { name: object, in: path, required: true, schema: { type: string, pattern: "^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$" } }
            grant: { name: grant, in: query, required: true, description: The signed grant the director's 302 carried, schema: { type: string } }
            id: { name: id, in: path, required: true, schema: { type: integer, minimum: 1, maximum: 4294967295 } }
          schemas:
            Problem:
              type: object
              required: [error, message]
              properties: { error: { type: string }, message: { type: string } }
          responses:
            Problem: { description: Refused, content: { application/json: { schema: { $ref: "#/components/schemas/Problem" } } } }
        security:
          - clusterToken: []
        paths:
          /healthz:
            get:
              summary: Liveness
              security: []
              responses: { "200": { description: "`ok`" } }
          /readyz:
            get:
              summary: Readiness - registered with the director (503 and a Problem before)
              security: []
              responses: { "200": { description: "`ready`" }, "503": { $ref: "#/components/responses/Problem" } }
          /metrics:
            get:
              summary: Prometheus text exposition (the cluster token, or director.metricsToken as a bearer token)
              responses: { "200": { description: Metrics }, "401": { $ref: "#/components/responses/Problem" } }
          /openapi.yaml:
            get:
              summary: This document
              security: []
              responses: { "200": { description: OpenAPI 3.1 } }
          /hls/{object}/index.m3u8:
            get:
              summary: The HLS session's VoD media playlist (segments cut at key frames; every URL carries the grant)
              security: []
              parameters: [{ $ref: "#/components/parameters/object" }, { $ref: "#/components/parameters/grant" }]
              responses:
                "200": { description: application/vnd.apple.mpegurl }
                "403": { $ref: "#/components/responses/Problem" }
                "410": { $ref: "#/components/responses/Problem" }
          /hls/{object}/seg/{segment}:
            get:
              summary: One segment (N.ts), a byte range of the object paced at the session's reserved rate; renews the lease
              security: []
              parameters:
                - { $ref: "#/components/parameters/object" }
                - { $ref: "#/components/parameters/grant" }
                - { name: segment, in: path, required: true, schema: { type: string, pattern: "^[0-9]+\\.ts$" } }
              responses:
                "200": { description: The segment (video/mp2t), paced }
                "403": { $ref: "#/components/responses/Problem" }
                "404": { $ref: "#/components/responses/Problem" }
                "410": { $ref: "#/components/responses/Problem" }
          /stream/{object}:
            get:
              summary: Play over HTTP at the reserved rate; Range seeks
              security: []
              parameters: [{ $ref: "#/components/parameters/object" }, { $ref: "#/components/parameters/grant" }]
              responses:
                "200": { description: The media (video/mp2t), paced }
                "206": { description: A range of it, paced }
                "403": { $ref: "#/components/responses/Problem" }
                "409": { $ref: "#/components/responses/Problem" }
                "410": { $ref: "#/components/responses/Problem" }
            head:
              summary: Size and type without a byte of media, and without claiming the stream
              security: []
              parameters: [{ $ref: "#/components/parameters/object" }, { $ref: "#/components/parameters/grant" }]
              responses: { "200": { description: Headers only }, "403": { $ref: "#/components/responses/Problem" } }
          /objects/{object}:
            put:
              summary: Upload (ingest grant); fsynced, size, SHA-256 and MPEG-TS timing checked before it is listed
              security: []
              parameters: [{ $ref: "#/components/parameters/object" }, { $ref: "#/components/parameters/grant" }]
              requestBody: { required: true, content: { video/mp2t: { schema: { type: string, format: binary } } } }
              responses:
                "201": { description: Stored and verified }
                "403": { $ref: "#/components/responses/Problem" }
                "409": { $ref: "#/components/responses/Problem" }
                "422": { $ref: "#/components/responses/Problem" }
          /v1/rtp/sessions:
            post:
              summary: Create an RTP session for an admitted RTSP stream (the director's SETUP)
              responses: { "201": { description: Server ports and SSRC }, "401": { $ref: "#/components/responses/Problem" } }
          /v1/rtp/sessions/{id}/play:
            post:
              summary: Start or seek (PLAY with npt)
              parameters: [{ $ref: "#/components/parameters/id" }]
              responses: { "200": { description: Playing }, "404": { $ref: "#/components/responses/Problem" } }
          /v1/rtp/sessions/{id}/pause:
            post:
              summary: Pause, keeping the position
              parameters: [{ $ref: "#/components/parameters/id" }]
              responses: { "200": { description: Paused }, "404": { $ref: "#/components/responses/Problem" } }
          /v1/rtp/sessions/{id}:
            delete:
              summary: End the session (RTCP BYE to the player); the bytes it sent
              parameters: [{ $ref: "#/components/parameters/id" }]
              responses: { "200": { description: Ended }, "404": { $ref: "#/components/responses/Problem" } }
          /v1/streams/stop:
            post:
              summary: Stop these streams now (revoked, torn down, deleted); the bytes each had sent
              responses: { "200": { description: Stopped }, "400": { $ref: "#/components/responses/Problem" }, "401": { $ref: "#/components/responses/Problem" } }
          /v1/profiles:
            get:
              summary: The I/O profile each live stream reads with
              responses: { "200": { description: Stream IDs and profiles }, "401": { $ref: "#/components/responses/Problem" } }
          /v1/copies:
            post:
              summary: Fetch a copy of an object from another engine at the reserved copy rate, verify it, report to the director
              responses: { "202": { description: Copy started }, "400": { $ref: "#/components/responses/Problem" }, "401": { $ref: "#/components/responses/Problem" } }
          /v1/objects/{object}:
            delete:
              summary: Delete this engine's replica (the director unlisted it first)
              parameters: [{ $ref: "#/components/parameters/object" }]
              responses: { "200": { description: Deleted }, "404": { $ref: "#/components/responses/Problem" } }

        """
}
