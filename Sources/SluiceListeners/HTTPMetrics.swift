import Hummingbird
import Metrics
import Prometheus

/// Request counts and durations of every HTTP listener in this process, recorded by
/// Hummingbird's `MetricsMiddleware` through swift-metrics into one Prometheus registry, which
/// each server's `/metrics` appends to its own. (swift-metrics has one backend per process: the
/// demo's director and engines, which share a process, report their HTTP requests together.)
public enum HTTPMetrics {
    public static let contentType = "text/plain; version=0.0.4; charset=utf-8"

    /// The process's registry of HTTP metrics; made, and swift-metrics pointed at it, on first use.
    public static let registry: PrometheusCollectorRegistry = {
        let registry = PrometheusCollectorRegistry()
        var factory = PrometheusMetricsFactory(registry: registry)
        // swift-metrics labels are dotted ("http.server.request.duration"); Prometheus names are not.
        factory.nameAndLabelSanitizer = { name, labels in
            (sanitized(name), labels.map { (sanitized($0.0), $0.1) })
        }
        factory.defaultDurationHistogramBuckets = [
            .milliseconds(1), .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100),
            .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(5), .seconds(30), .seconds(300),
        ]
        MetricsSystem.bootstrap(factory)
        return registry
    }()

    /// Hummingbird's request metrics, for a router of any context.
    public static func middleware<Context: RequestContext>() -> MetricsMiddleware<Context> {
        _ = registry
        return MetricsMiddleware()
    }

    static func sanitized(_ name: String) -> String {
        String(name.map { $0.isLetter || $0.isNumber || $0 == "_" ? $0 : "_" })
    }
}

/// Sluice's metric families by full name and help text (swift-prometheus asks for a descriptor).
extension PrometheusCollectorRegistry {
    private static func descriptor(_ name: String, _ help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(metricName: name, unitName: "", helpText: help)
    }

    public func counter(name: String, labels: [(String, String)] = [], help: String) -> Prometheus.Counter {
        makeCounter(descriptor: Self.descriptor(name, help), labels: labels)
    }

    public func gauge(name: String, labels: [(String, String)] = [], help: String) -> Prometheus.Gauge {
        makeGauge(descriptor: Self.descriptor(name, help), labels: labels)
    }

    public func durationHistogram(name: String, labels: [(String, String)] = [], buckets: [Duration], help: String) -> DurationHistogram {
        makeDurationHistogram(descriptor: Self.descriptor(name, help), labels: labels, buckets: buckets)
    }

    public func valueHistogram(name: String, labels: [(String, String)] = [], buckets: [Double], help: String) -> ValueHistogram {
        makeValueHistogram(descriptor: Self.descriptor(name, help), labels: labels, buckets: buckets)
    }
}
