import SluiceCore
import SluiceGrant

/// The one play decision every front door calls, and the upload decision beside it.
extension Director: PlayAdmission {
    public func admitPlay(_ request: PlayRequest) async -> Result<PlayTicket, AdmissionRefusal> {
        let result = await decidePlay(request)
        let refusal: AdmissionRefusal? = if case .failure(let refusal) = result { refusal } else { nil }
        metrics.admission(transport: request.transport, refusal: refusal)
        switch result {
        case .success(let ticket): playTransports[ticket.stream.id] = request.transport
        case .failure(let refusal): refusalObserved(request, refusal)
        }
        return result
    }

    private func decidePlay(_ request: PlayRequest) async -> Result<PlayTicket, AdmissionRefusal> {
        let stream: LiveStream
        switch await admit(
            .play(object: request.object), clientAddress: request.clientAddress, maxWait: request.maxWait,
            preferredStreamID: request.preferredStreamID, by: request.principal, hangUp: request.hangUp) {
        case .failure(let refusal): return .failure(refusal)
        case .success(let admitted): stream = admitted
        }
        guard let signer else {
            await end(streamID: stream.id, bytesSent: 0, reason: .failed)
            return .failure(AdmissionRefusal(.engineUnavailable, "this director has no grant secret to sign grants with"))
        }
        guard let engine = controller.directory.engines[stream.engine], let object = controller.directory.objects[request.object] else {
            await end(streamID: stream.id, bytesSent: 0, reason: .failed)
            return .failure(AdmissionRefusal(.engineUnavailable, "engine '\(stream.engine)' vanished", engine: stream.engine))
        }
        let profile: IOProfile?
        let header: String
        switch request.profile {
        case .licensed(let license, let requested):
            let decision = self.license(license, requested: requested, by: request.principal, for: stream)
            (profile, header) = (decision.profile, decision.header)
        case .kept(let kept):
            (profile, header) = (kept, LicensePolicy.Decision(profile: kept).header)
        }
        return .success(PlayTicket(
            stream: stream, engine: engine, object: object, grant: signer.sign(StreamGrant(playing: stream, profile: profile)),
            profile: profile, profileHeader: header))
    }

    /// Admits a write of `sizeBytes` against an engine's disk and write bandwidth; the ticket
    /// carries the engine's upload URL with its signed grant.
    public func admitUpload(
        _ upload: ClusterMessages.UploadRequest, clientAddress: String, by principal: Principal
    ) async -> Result<ClusterMessages.UploadTicket, AdmissionRefusal> {
        let stream: LiveStream
        switch await admit(
            .ingest(object: upload.name, sizeBytes: upload.sizeBytes), clientAddress: clientAddress, maxWait: nil, by: principal,
            visibility: upload.visibility) {
        case .failure(let refusal): return .failure(refusal)
        case .success(let admitted): stream = admitted
        }
        guard let signer, let engine = controller.directory.engines[stream.engine] else {
            await end(streamID: stream.id, bytesSent: 0, reason: .failed)
            return .failure(AdmissionRefusal(.engineUnavailable, "engine '\(stream.engine)' vanished", engine: stream.engine))
        }
        let grant = StreamGrant(
            streamID: stream.id, action: .ingest, object: upload.name, engine: stream.engine,
            bitsPerSecond: stream.bitsPerSecond, clientAddress: stream.clientAddress, expiresAt: stream.leaseExpiry,
            sizeBytes: upload.sizeBytes, sha256: upload.sha256.lowercased())
        return .success(ClusterMessages.UploadTicket(
            streamID: stream.id, engine: stream.engine, uploadURL: "\(engine.url)/objects/\(upload.name)?grant=\(signer.sign(grant))"))
    }
}
