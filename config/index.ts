export { CONFIG_NAMESPACE, ConfigError, ConfigIssue, loadStackConfig, parseStackConfig, StackConfig } from "./load";
export { builtCapabilities, CA_BACKENDS, CaBackend, ClusterConfig, AwsClusterConfig, GcpClusterConfig, IngressConfig, MeshConfig, MeshSettings, MultiClusterConfig } from "./schema";
export { defaultRootId, KeySpec, PkiClusterConfig, PkiConfig } from "./pkiSchema";
export { Capabilities, Capability, capabilitiesFor, describeCapabilities, Stage } from "./stages";
export { DEFAULT_CHART_VERSIONS, ChartVersions } from "./versions";
export { EdgeAuthConfig, ServiceConfig } from "./services";
export { FaultConfig, RateLimitConfig, ReleaseConfig, ResolvedResilience, resolveResilience, TrafficConfig } from "./traffic";
export { ObservabilityConfig } from "./observability";
