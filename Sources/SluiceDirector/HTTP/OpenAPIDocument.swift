/// The director's HTTP API as OpenAPI 3.1, served at `/openapi.yaml`. Tests check it against
/// the routes the director registers and against a running director's answers.
enum OpenAPIDocument {
    static let yaml = #"""
openapi: 3.1.0
info:
  title: Sluice director API
  version: "1"
  description: |
    The director's HTTP API: the play front door, uploads, the operator's views and
    commands, and the engines' control plane. Clients authenticate with an API key from
    the configuration (operators: the admin role) or a user's key `sk_ID_SECRET`
    (`Authorization: Bearer KEY`, `X-API-Key: KEY` or `?key=KEY`); roles are viewer <
    uploader < admin. Engines use the cluster token derived from `grantSecret`. Every error answer is a
    `Problem`. Served by the director at `/openapi.yaml`.
servers:
  - url: http://127.0.0.1:8080
security:
  - apiKey: []
  - apiKeyHeader: []
  - apiKeyQuery: []
tags:
  - name: play
  - name: operator
  - name: engine
    description: Called by engines with the cluster token.
paths:
  /metrics:
    get:
      tags: [operator]
      summary: Prometheus text exposition (the director.metricsToken as a bearer token, or an admin key)
      responses:
        "200": { description: Metrics, content: { text/plain: { schema: { type: string } } } }
        "401": { $ref: "#/components/responses/Unauthorized" }
        "403": { $ref: "#/components/responses/Forbidden" }
  /readyz:
    get:
      summary: Readiness - admitting, with its store answering (503 and a Problem otherwise)
      security: []
      responses:
        "200": { description: Ready, content: { text/plain: { schema: { type: string } } } }
        "503": { description: Not ready, content: { application/json: { schema: { $ref: "#/components/schemas/Problem" } } } }
  /healthz:
    get:
      summary: Liveness
      security: []
      responses:
        "200": { description: "`ok`", content: { text/plain: { schema: { type: string } } } }
  /openapi.yaml:
    get:
      summary: This document
      security: []
      responses:
        "200": { description: The OpenAPI document, content: { application/yaml: { schema: { type: string } } } }
  /play/{object}:
    get:
      tags: [play]
      summary: Admit a play request and redirect to the engine
      description: |
        Authenticates, locates the object, reserves the path from an engine to the client's
        edge (every link) and the engine's resources, then answers 302 to the engine with a
        signed, expiring grant. Waits in the queue up to `maxWait` when nothing is free.
      parameters:
        - { $ref: "#/components/parameters/object" }
        - { name: maxWait, in: query, description: Seconds to wait at most (capped by the director's maxWait), schema: { type: number, minimum: 0 } }
        - { name: license, in: query, description: "A license (SL1...) whose I/O profile the stream is read with (or the X-Sluice-License header)", schema: { type: string, maxLength: 4096 } }
        - { name: profile, in: query, description: Which of the license's profiles to use (default the one suited to the rate), schema: { type: string } }
        - { name: X-Sluice-License, in: header, required: false, schema: { type: string, maxLength: 4096 } }
      responses:
        "302":
          description: Admitted
          headers:
            Location: { description: "Engine URL with the grant", schema: { type: string } }
            X-Sluice-Stream-ID: { schema: { type: integer } }
            X-Sluice-Reserved-Rate: { description: bit/s reserved, schema: { type: integer } }
            X-Sluice-Profile: { description: "The I/O profile the engine reads the stream with: NAME/vVERSION, or traditional (and why a license was refused)", schema: { type: string } }
        "307": { description: Handed to another director with room in its queue (several directors), headers: { Location: { schema: { type: string } } } }
        "400": { $ref: "#/components/responses/BadRequest" }
        "401": { $ref: "#/components/responses/Unauthorized" }
        "403": { $ref: "#/components/responses/Forbidden" }
        "404": { $ref: "#/components/responses/NotFound" }
        "429": { $ref: "#/components/responses/QuotaExceeded" }
        "503": { $ref: "#/components/responses/Unavailable" }
  /v1/uploads:
    post:
      tags: [play]
      summary: Admit an upload
      requestBody:
        required: true
        content: { application/json: { schema: { $ref: "#/components/schemas/UploadRequest" } } }
      responses:
        "201": { description: Admitted; PUT the bytes to uploadURL, content: { application/json: { schema: { $ref: "#/components/schemas/UploadTicket" } } } }
        "400": { $ref: "#/components/responses/BadRequest" }
        "401": { $ref: "#/components/responses/Unauthorized" }
        "403": { $ref: "#/components/responses/Forbidden" }
        "409": { $ref: "#/components/responses/Conflict" }
        "429": { $ref: "#/components/responses/QuotaExceeded" }
        "503": { $ref: "#/components/responses/Unavailable" }
  /v1/objects:
    get:
      tags: [operator]
      summary: The objects the caller may play, with each one's replicas and access rule
      responses:
        "200":
          description: Objects
          content:
            application/json:
              schema:
                type: array
                items:
                  type: object
                  properties:
                    object: { $ref: "#/components/schemas/MediaObject" }
                    replicas: { type: array, items: { type: string } }
                    access: { $ref: "#/components/schemas/ObjectAccess" }
        "401": { $ref: "#/components/responses/Unauthorized" }
        "403": { $ref: "#/components/responses/Forbidden" }
  /v1/objects/{object}:
    get:
      tags: [operator]
      summary: One object, its replicas (static, dynamic, copying) and its demand
      parameters: [{ $ref: "#/components/parameters/object" }]
      responses:
        "200": { description: The object, content: { application/json: { schema: { $ref: "#/components/schemas/ObjectStatus" } } } }
        "401": { $ref: "#/components/responses/Unauthorized" }
        "403": { $ref: "#/components/responses/Forbidden" }
        "404": { $ref: "#/components/responses/NotFound" }
    delete:
      tags: [operator]
      summary: Delete an object (its owner or an admin) - every replica unlisted and removed from its engine, the name free again
      parameters:
        - { $ref: "#/components/parameters/object" }
        - { name: force, in: query, description: "1 ends the streams playing it (usage records say 'deleted'); without it they refuse the deletion", schema: { type: string, enum: ["1", "true"] } }
      responses:
        "200":
          description: Deleted
          content:
            application/json:
              schema:
                type: object
                properties:
                  deleted: { type: string }
                  engines: { type: array, items: { type: string } }
                  streamsEnded: { type: integer }
        "401": { $ref: "#/components/responses/Unauthorized" }
        "403": { $ref: "#/components/responses/Forbidden" }
        "404": { $ref: "#/components/responses/NotFound" }
        "409": { description: Streams play it (without force) or a copy of it is in flight, content: { application/json: { schema: { $ref: "#/components/schemas/Problem" } } } }
  /v1/objects/{object}/access:
    put:
      tags: [play]
      summary: Set who may play the object (its owner or an admin; sluice access)
      description: |
        public: everyone; private: the owner (and admins); granted: the owner and the users
        and groups listed. An object the caller may not play answers 404, as a missing one does.
      parameters: [{ $ref: "#/components/parameters/object" }]
      requestBody:
        required: true
        content: { application/json: { schema: { $ref: "#/components/schemas/AccessChange" } } }
      responses:
        "200": { description: The new rule, content: { application/json: { schema: { $ref: "#/components/schemas/ObjectAccess" } } } }
        "400": { $ref: "#/components/responses/BadRequest" }
        "401": { $ref: "#/components/responses/Unauthorized" }
        "403": { $ref: "#/components/responses/Forbidden" }
        "404": { $ref: "#/components/responses/NotFound" }
  /v1/objects/{object}/replicas:
    post:
      tags: [operator]
      summary: Copy the object to an engine (sluice replicate)
      description: The copy is reserved at the copy rate on its route and on the target; the replica is listed once the target verified its SHA-256.
      parameters: [{ $ref: "#/components/parameters/object" }]
      requestBody:
        required: true
        content: { application/json: { schema: { $ref: "#/components/schemas/ReplicateRequest" } } }
      responses:
        "202": { description: Copy ordered, content: { application/json: { schema: { $ref: "#/components/schemas/CopyJob" } } } }
        "400": { $ref: "#/components/responses/BadRequest" }
        "401": { $ref: "#/components/responses/Unauthorized" }
        "403": { $ref: "#/components/responses/Forbidden" }
        "404": { $ref: "#/components/responses/NotFound" }
        "409": { $ref: "#/components/responses/Conflict" }
        "503": { $ref: "#/components/responses/Unavailable" }
  /v1/objects/{object}/replicas/{engine}:
    delete:
      tags: [operator]
      summary: Unlist a replica and delete it on its engine (sluice drop-replica)
      parameters: [{ $ref: "#/components/parameters/object" }, { $ref: "#/components/parameters/engine" }]
      responses:
        "200": { description: Dropped, content: { application/json: { schema: { type: object } } } }
        "401": { $ref: "#/components/responses/Unauthorized" }
        "403": { $ref: "#/components/responses/Forbidden" }
        "404": { $ref: "#/components/responses/NotFound" }
        "409": { $ref: "#/components/responses/Conflict" }
  /v1/engines:
    get:
      tags: [operator]
      summary: Engines with their usage and load
      responses:
        "200": { description: Engines, content: { application/json: { schema: { type: array, items: { type: object } } } } }
        "401": { $ref: "#/components/responses/Unauthorized" }
        "403": { $ref: "#/components/responses/Forbidden" }
  /v1/engines/{engine}/drain:
    post:
      tags: [operator]
      summary: Stop (or with cancel=1, resume) new streams on an engine (sluice drain)
      parameters:
        - { $ref: "#/components/parameters/engine" }
        - { name: cancel, in: query, schema: { type: string, enum: ["1", "true"] } }
      responses:
        "200":
          description: Draining state and the streams the engine still carries
          content: { application/json: { schema: { type: object, properties: { engine: { type: string }, draining: { type: boolean }, liveStreams: { type: integer } } } } }
        "401": { $ref: "#/components/responses/Unauthorized" }
        "403": { $ref: "#/components/responses/Forbidden" }
        "404": { $ref: "#/components/responses/NotFound" }
  /v1/queue:
    get:
      tags: [viewer]
      summary: The caller's requests waiting for capacity, with their place in the queue (an admin's - every one)
      responses:
        "200":
          description: Waiting requests
          content:
            application/json:
              schema:
                type: object
                properties:
                  length: { type: integer }
                  waiting: { type: array, items: { type: object, properties: { position: { type: integer }, object: { type: string }, waitedMilliseconds: { type: integer }, blockedBy: { type: string } } } }
        "401": { $ref: "#/components/responses/Unauthorized" }
  /v1/links:
    get:
      tags: [operator]
      summary: Links with capacity and reserved bit/s
      responses:
        "200":
          description: Links
          content:
            application/json:
              schema:
                type: array
                items: { type: object, properties: { name: { type: string }, from: { type: string }, to: { type: string }, capacityBitsPerSecond: { type: integer }, reservedBitsPerSecond: { type: integer } } }
        "401": { $ref: "#/components/responses/Unauthorized" }
        "403": { $ref: "#/components/responses/Forbidden" }
  /v1/streams:
    get:
      tags: [operator]
      summary: Live streams (this director's) with path, labels, rate, lease expiry
      responses:
        "200": { description: Streams, content: { application/json: { schema: { type: array, items: { $ref: "#/components/schemas/LiveStream" } } } } }
        "401": { $ref: "#/components/responses/Unauthorized" }
        "403": { $ref: "#/components/responses/Forbidden" }
  /v1/streams/{id}:
    get:
      tags: [play]
      summary: What became of a stream (a viewer's own, any for an admin) - live, or ended with its latest usage record
      parameters: [{ $ref: "#/components/parameters/id" }]
      responses:
        "200":
          description: The stream's state
          content:
            application/json:
              schema:
                type: object
                required: [state]
                properties:
                  state: { type: string, enum: [live, ended] }
                  stream: { $ref: "#/components/schemas/LiveStream" }
                  usage: { $ref: "#/components/schemas/UsageRecord" }
        "400": { $ref: "#/components/responses/BadRequest" }
        "401": { $ref: "#/components/responses/Unauthorized" }
        "404": { $ref: "#/components/responses/NotFound" }
    delete:
      tags: [operator]
      summary: Tear a stream down; its engine stops within a second
      parameters: [{ $ref: "#/components/parameters/id" }]
      responses:
        "200": { description: The ended stream, content: { application/json: { schema: { $ref: "#/components/schemas/LiveStream" } } } }
        "400": { $ref: "#/components/responses/BadRequest" }
        "401": { $ref: "#/components/responses/Unauthorized" }
        "403": { $ref: "#/components/responses/Forbidden" }
        "404": { $ref: "#/components/responses/NotFound" }
  /v1/usage:
    get:
      tags: [operator]
      summary: Usage records (one per finished stream, upload or copy)
      parameters:
        - { name: since, in: query, description: "Records that ended at or after this time: RFC 3339 (2026-12-02T10:00:00Z) or milliseconds since the epoch", schema: { type: string } }
        - { name: limit, in: query, schema: { type: integer, maximum: 100000 } }
        - { name: format, in: query, schema: { type: string, enum: [json, jsonl, csv] } }
      responses:
        "200":
          description: Records
          content:
            application/json: { schema: { type: array, items: { $ref: "#/components/schemas/UsageRecord" } } }
            application/x-ndjson: { schema: { type: string } }
            text/csv: { schema: { type: string } }
        "400": { $ref: "#/components/responses/BadRequest" }
        "401": { $ref: "#/components/responses/Unauthorized" }
        "403": { $ref: "#/components/responses/Forbidden" }
  /v1/reload:
    post:
      tags: [operator]
      summary: Re-read the configuration file, as SIGHUP does (sluice reload)
      description: |
        Applied at once: director.apiKeys, director.quotas, director.usageWebhook (a new URL),
        director.logLevel, licensing, replication. Everything else changed is listed as needing a restart.
      responses:
        "200":
          description: What was applied and what needs a restart
          content:
            application/json:
              schema:
                type: object
                properties:
                  applied: { type: array, items: { type: string } }
                  needsRestart: { type: array, items: { type: string } }
        "401": { $ref: "#/components/responses/Unauthorized" }
        "403": { $ref: "#/components/responses/Forbidden" }
        "422": { description: The file has problems; nothing was applied, content: { application/json: { schema: { $ref: "#/components/schemas/Problem" } } } }
  /v1/tokens:
    post:
      tags: [play]
      summary: Exchange an API key for a bearer token (JWT, HS256, 15 minutes)
      description: The token is accepted wherever a key is; revoking the key or its user voids it.
      responses:
        "201":
          description: Issued
          content: { application/json: { schema: { type: object, properties: { token: { type: string }, tokenType: { type: string }, expiresAt: { type: integer, description: ms since the epoch } } } } }
        "401": { $ref: "#/components/responses/Unauthorized" }
        "403": { $ref: "#/components/responses/Forbidden" }
        "503": { $ref: "#/components/responses/Unavailable" }
  /v1/users:
    get:
      tags: [operator]
      summary: Users (admin)
      responses:
        "200": { description: Users, content: { application/json: { schema: { type: array, items: { $ref: "#/components/schemas/User" } } } } }
        "401": { $ref: "#/components/responses/Unauthorized" }
        "403": { $ref: "#/components/responses/Forbidden" }
    post:
      tags: [operator]
      summary: Add a user (sluice user add)
      requestBody:
        required: true
        content: { application/json: { schema: { type: object, required: [name, role], properties: { name: { type: string }, role: { type: string, enum: [viewer, uploader, admin] }, groups: { type: array, items: { type: string } }, maxStreams: { type: integer, minimum: 0 }, maxBitsPerSecond: { type: integer, minimum: 0 } } } } }
      responses:
        "201": { description: Added, content: { application/json: { schema: { $ref: "#/components/schemas/User" } } } }
        "400": { $ref: "#/components/responses/BadRequest" }
        "401": { $ref: "#/components/responses/Unauthorized" }
        "403": { $ref: "#/components/responses/Forbidden" }
        "409": { $ref: "#/components/responses/Conflict" }
  /v1/users/{user}:
    delete:
      tags: [operator]
      summary: Revoke a user and their keys; their streams end within a second (sluice user revoke)
      parameters: [{ $ref: "#/components/parameters/user" }]
      responses:
        "200": { description: Revoked, content: { application/json: { schema: { type: object, properties: { user: { type: string }, streamsEnded: { type: integer } } } } } }
        "401": { $ref: "#/components/responses/Unauthorized" }
        "403": { $ref: "#/components/responses/Forbidden" }
        "404": { $ref: "#/components/responses/NotFound" }
  /v1/users/{user}/keys:
    post:
      tags: [operator]
      summary: Create an API key for a user; the key is in this answer only (sluice key create)
      parameters: [{ $ref: "#/components/parameters/user" }]
      requestBody:
        required: false
        content: { application/json: { schema: { $ref: "#/components/schemas/Quota" } } }
      responses:
        "400": { $ref: "#/components/responses/BadRequest" }
        "201": { description: Created, content: { application/json: { schema: { type: object, properties: { id: { type: string }, user: { type: string }, key: { type: string, description: "sk_ID_SECRET" } } } } } }
        "401": { $ref: "#/components/responses/Unauthorized" }
        "403": { $ref: "#/components/responses/Forbidden" }
        "404": { $ref: "#/components/responses/NotFound" }
  /v1/users/{user}/quota:
    put:
      tags: [operator]
      summary: Set the user's own quota, replacing the configuration's default (sluice user limit)
      parameters: [{ $ref: "#/components/parameters/user" }]
      requestBody: { required: true, content: { application/json: { schema: { $ref: "#/components/schemas/Quota" } } } }
      responses:
        "200": { description: Set, content: { application/json: { schema: { $ref: "#/components/schemas/User" } } } }
        "400": { $ref: "#/components/responses/BadRequest" }
        "401": { $ref: "#/components/responses/Unauthorized" }
        "403": { $ref: "#/components/responses/Forbidden" }
        "404": { $ref: "#/components/responses/NotFound" }
    delete:
      tags: [operator]
      summary: Return the user to the configuration's default quota (sluice user limit --default)
      parameters: [{ $ref: "#/components/parameters/user" }]
      responses:
        "200": { description: Cleared, content: { application/json: { schema: { $ref: "#/components/schemas/User" } } } }
        "401": { $ref: "#/components/responses/Unauthorized" }
        "403": { $ref: "#/components/responses/Forbidden" }
        "404": { $ref: "#/components/responses/NotFound" }
  /v1/keys/{key}/quota:
    put:
      tags: [operator]
      summary: Set the key's own quota (sluice key limit)
      parameters: [{ name: key, in: path, required: true, schema: { type: string } }]
      requestBody: { required: true, content: { application/json: { schema: { $ref: "#/components/schemas/Quota" } } } }
      responses:
        "200": { description: Set, content: { application/json: { schema: { type: object, properties: { id: { type: string }, user: { type: string }, quota: { $ref: "#/components/schemas/Quota" } } } } } }
        "400": { $ref: "#/components/responses/BadRequest" }
        "401": { $ref: "#/components/responses/Unauthorized" }
        "403": { $ref: "#/components/responses/Forbidden" }
        "404": { $ref: "#/components/responses/NotFound" }
    delete:
      tags: [operator]
      summary: Return the key to the configuration's default quota
      parameters: [{ name: key, in: path, required: true, schema: { type: string } }]
      responses:
        "200": { description: Cleared, content: { application/json: { schema: { type: object, properties: { id: { type: string }, user: { type: string } } } } } }
        "401": { $ref: "#/components/responses/Unauthorized" }
        "403": { $ref: "#/components/responses/Forbidden" }
        "404": { $ref: "#/components/responses/NotFound" }
  /v1/keys/{key}:
    delete:
      tags: [operator]
      summary: Revoke a key; the streams it opened end within a second (sluice key revoke)
      parameters: [{ name: key, in: path, required: true, schema: { type: string } }]
      responses:
        "200": { description: Revoked, content: { application/json: { schema: { type: object, properties: { id: { type: string }, user: { type: string }, streamsEnded: { type: integer } } } } } }
        "401": { $ref: "#/components/responses/Unauthorized" }
        "403": { $ref: "#/components/responses/Forbidden" }
        "404": { $ref: "#/components/responses/NotFound" }
  /v1/engines/register:
    post:
      tags: [engine]
      summary: An engine registers its URL, limits and objects
      security: [{ engineToken: [] }]
      requestBody: { required: true, content: { application/json: { schema: { type: object } } } }
      responses:
        "200": { description: Registered, content: { application/json: { schema: { type: object } } } }
        "400": { $ref: "#/components/responses/BadRequest" }
        "401": { $ref: "#/components/responses/Unauthorized" }
  /v1/engines/{engine}/heartbeat:
    post:
      tags: [engine]
      summary: An engine is alive
      security: [{ engineToken: [] }]
      parameters: [{ $ref: "#/components/parameters/engine" }]
      responses:
        "200": { description: Noted, content: { application/json: { schema: { type: object } } } }
        "401": { $ref: "#/components/responses/Unauthorized" }
        "404": { $ref: "#/components/responses/NotFound" }
  /v1/streams/renewals:
    post:
      tags: [engine]
      summary: Renew up to 5,000 streams' leases; answers which are gone
      security: [{ engineToken: [] }]
      requestBody: { required: true, content: { application/json: { schema: { type: object } } } }
      responses:
        "200": { description: The streams that are gone, content: { application/json: { schema: { type: object, properties: { gone: { type: array, items: { type: integer } } } } } } }
        "400": { $ref: "#/components/responses/BadRequest" }
        "401": { $ref: "#/components/responses/Unauthorized" }
        "413": { $ref: "#/components/responses/BadRequest" }
  /v1/streams/{id}/renew:
    post:
      tags: [engine]
      summary: Renew one stream's lease
      security: [{ engineToken: [] }]
      parameters: [{ $ref: "#/components/parameters/id" }]
      requestBody: { required: true, content: { application/json: { schema: { type: object } } } }
      responses:
        "200": { description: The new lease expiry, content: { application/json: { schema: { type: object } } } }
        "400": { $ref: "#/components/responses/BadRequest" }
        "401": { $ref: "#/components/responses/Unauthorized" }
        "410": { $ref: "#/components/responses/Gone" }
  /v1/streams/{id}/end:
    post:
      tags: [engine]
      summary: A stream ended on its engine (bytes, reason, delivered quality)
      security: [{ engineToken: [] }]
      parameters: [{ $ref: "#/components/parameters/id" }]
      requestBody: { required: true, content: { application/json: { schema: { type: object } } } }
      responses:
        "200": { description: Ended, content: { application/json: { schema: { type: object } } } }
        "400": { $ref: "#/components/responses/BadRequest" }
        "401": { $ref: "#/components/responses/Unauthorized" }
        "410": { $ref: "#/components/responses/Gone" }
  /v1/uploads/{id}/complete:
    post:
      tags: [engine]
      summary: An engine stored and verified an upload; the object is listed
      security: [{ engineToken: [] }]
      parameters: [{ $ref: "#/components/parameters/id" }]
      requestBody: { required: true, content: { application/json: { schema: { type: object } } } }
      responses:
        "200": { description: Listed, content: { application/json: { schema: { $ref: "#/components/schemas/MediaObject" } } } }
        "400": { $ref: "#/components/responses/BadRequest" }
        "401": { $ref: "#/components/responses/Unauthorized" }
        "410": { $ref: "#/components/responses/Gone" }
  /v1/copies/{id}/complete:
    post:
      tags: [engine]
      summary: A copy's target verified it; the replica is listed
      security: [{ engineToken: [] }]
      parameters: [{ $ref: "#/components/parameters/id" }]
      requestBody: { required: true, content: { application/json: { schema: { type: object } } } }
      responses:
        "200": { description: Listed, content: { application/json: { schema: { $ref: "#/components/schemas/MediaObject" } } } }
        "400": { $ref: "#/components/responses/BadRequest" }
        "401": { $ref: "#/components/responses/Unauthorized" }
        "410": { $ref: "#/components/responses/Gone" }
  /v1/copies/{id}/failed:
    post:
      tags: [engine]
      summary: A copy could not be made; its reservation is released
      security: [{ engineToken: [] }]
      parameters: [{ $ref: "#/components/parameters/id" }]
      requestBody: { required: true, content: { application/json: { schema: { type: object } } } }
      responses:
        "200": { description: Noted, content: { application/json: { schema: { type: object } } } }
        "400": { $ref: "#/components/responses/BadRequest" }
        "401": { $ref: "#/components/responses/Unauthorized" }
  /v1/engines/{engine}/replicas/{object}/corrupt:
    post:
      tags: [engine]
      summary: The engine's scrubber found its replica corrupt and quarantined it; the replica is unlisted and copied again from a good one
      security: [{ engineToken: [] }]
      parameters: [{ $ref: "#/components/parameters/engine" }, { $ref: "#/components/parameters/object" }]
      requestBody: { required: true, content: { application/json: { schema: { type: object, properties: { reason: { type: string } } } } } }
      responses:
        "200": { description: "Noted (unlisted: false when that replica was not listed)", content: { application/json: { schema: { type: object, properties: { unlisted: { type: boolean } } } } } }
        "400": { $ref: "#/components/responses/BadRequest" }
        "401": { $ref: "#/components/responses/Unauthorized" }
components:
  securitySchemes:
    apiKey: { type: http, scheme: bearer, description: An API key from director.apiKeys }
    apiKeyHeader: { type: apiKey, in: header, name: X-API-Key }
    apiKeyQuery: { type: apiKey, in: query, name: key }
    engineToken: { type: http, scheme: bearer, description: "hex SHA-256 of 'sluice-engine-v1:' + grantSecret" }
  parameters:
    object: { name: object, in: path, required: true, schema: { type: string, pattern: "^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$" } }
    engine: { name: engine, in: path, required: true, schema: { type: string } }
    user: { name: user, in: path, required: true, schema: { type: string } }
    id: { name: id, in: path, required: true, schema: { type: integer, minimum: 1, maximum: 4294967295 } }
  responses:
    BadRequest: { description: Malformed request, content: { application/json: { schema: { $ref: "#/components/schemas/Problem" } } } }
    Unauthorized: { description: Missing or wrong credentials, content: { application/json: { schema: { $ref: "#/components/schemas/Problem" } } } }
    Forbidden: { description: "The key's role is below what the operation needs (viewer < uploader < admin)", content: { application/json: { schema: { $ref: "#/components/schemas/Problem" } } } }
    NotFound: { description: Unknown object, engine or stream, content: { application/json: { schema: { $ref: "#/components/schemas/Problem" } } } }
    Conflict: { description: Exists already, or in use, content: { application/json: { schema: { $ref: "#/components/schemas/Problem" } } } }
    Gone: { description: The stream, upload or copy is no longer live, content: { application/json: { schema: { $ref: "#/components/schemas/Problem" } } } }
    QuotaExceeded:
      description: "The caller's user, key or group holds as many streams or as much reserved bandwidth as its quota allows (error quota_exceeded; the message names the quota)"
      headers: { Retry-After: { schema: { type: integer } } }
      content: { application/json: { schema: { $ref: "#/components/schemas/Problem" } } }
    Unavailable:
      description: Nothing freed within the wait (names the full link or engine)
      headers: { Retry-After: { schema: { type: integer } } }
      content: { application/json: { schema: { $ref: "#/components/schemas/Problem" } } }
  schemas:
    Problem:
      type: object
      required: [error, message]
      properties:
        error: { type: string, description: "stable code: path_full, engine_full, queue_full, wait_expired, unknown_object, no_replica, ..." }
        message: { type: string }
        link: { type: string }
        engine: { type: string }
        requestedBitsPerSecond: { type: integer }
        availableBitsPerSecond: { type: integer }
    User:
      type: object
      properties:
        name: { type: string }
        role: { type: string, enum: [viewer, uploader, admin] }
        groups: { type: array, items: { type: string } }
        createdAt: { type: object }
        revokedAt: { type: object }
        quota: { $ref: "#/components/schemas/Quota" }
        holding: { description: "What the user holds now (in GET /v1/users)", type: object, properties: { streams: { type: integer }, bitsPerSecond: { type: integer } } }
    Quota:
      type: object
      description: A limit on live streams and reserved bandwidth; an absent field does not limit
      properties:
        maxStreams: { type: integer, minimum: 0 }
        maxBitsPerSecond: { type: integer, minimum: 0 }
    MediaObject:
      type: object
      properties:
        name: { type: string }
        sizeBytes: { type: integer }
        durationMilliseconds: { type: integer }
        averageBitsPerSecond: { type: integer }
        sha256: { type: string }
    UploadRequest:
      type: object
      required: [name, sizeBytes, sha256]
      properties:
        name: { type: string }
        sizeBytes: { type: integer, minimum: 1 }
        sha256: { type: string, pattern: "^[0-9a-fA-F]{64}$" }
        visibility: { type: string, enum: [public, private, granted], description: "default: private for a user's upload, public for an operator's" }
    ObjectAccess:
      type: object
      properties:
        object: { type: string }
        owner: { type: string }
        visibility: { type: string, enum: [public, private, granted] }
        users: { type: array, items: { type: string } }
        groups: { type: array, items: { type: string } }
    AccessChange:
      type: object
      required: [visibility]
      properties:
        visibility: { type: string, enum: [public, private, granted] }
        users: { type: array, items: { type: string }, maxItems: 256 }
        groups: { type: array, items: { type: string }, maxItems: 256 }
    UploadTicket:
      type: object
      properties: { streamID: { type: integer }, engine: { type: string }, uploadURL: { type: string } }
    ReplicateRequest:
      type: object
      required: [to]
      properties: { to: { type: string }, from: { type: string } }
    CopyJob:
      type: object
      properties:
        id: { type: integer }
        object: { type: string }
        source: { type: string }
        target: { type: string }
        kind: { type: string, enum: [static, dynamic] }
    ObjectStatus:
      type: object
      properties:
        object: { $ref: "#/components/schemas/MediaObject" }
        replicas:
          type: array
          items:
            type: object
            properties:
              state: { type: string, enum: [static, dynamic, copying] }
              engine: { type: string }
              engineUp: { type: boolean }
              draining: { type: boolean }
              streams: { type: integer }
              load: { type: number }
        demand: { type: object, properties: { admitted: { type: integer }, queued: { type: integer }, refused: { type: integer } } }
        demandWindowSeconds: { type: number }
        access: { $ref: "#/components/schemas/ObjectAccess" }
        copyBlocked: { type: string, description: "Why the object, in demand, gets no copy (as of the latest replication plan)" }
    LiveStream:
      type: object
      properties:
        id: { type: integer }
        kind: { type: string, enum: [play, ingest, copy] }
        object: { type: string }
        engine: { type: string }
        clientAddress: { type: string }
        hops: { type: array, items: { type: object, properties: { link: { type: string }, node: { type: string }, label: { type: integer } } } }
        bytesSent: { type: integer }
        isClaimed: { type: boolean }
    UsageRecord:
      type: object
      properties:
        streamID: { type: integer }
        kind: { type: string, enum: [play, ingest, copy] }
        object: { type: string }
        engine: { type: string }
        clientAddress: { type: string }
        bytes: { type: integer }
        reservedBitsPerSecond: { type: integer }
        user: { type: string, description: The user whose key asked for it (absent for operator keys) }
        endReason: { type: string, enum: [completed, client_gone, lease_expired, unclaimed, torn_down, player_stopped, failed, engine_failed, revoked, paused_too_long, director_restart, deleted] }
"""#
}
