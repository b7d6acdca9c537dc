import * as k8s from "@pulumi/kubernetes";
import { PolicyResource, ResourceValidationPolicy, StackValidationPolicy, validateResourceOfType } from "@pulumi/policy";
import {
    chartName, Cluster, clusters, EXEMPT_RESOURCES, hasSelector, IstioObject, isIstioKind, isRelease, JsonSchema, kubernetesClusters, meshClusters,
    namespaceOf, ObjectMeta, PRODUCTION_STACKS, rootNamespaceOf, skipExempt, stackOf, validateIstio,
} from "./istio";

/**
 * Mesh mTLS: what `pulumi preview --policy-pack policy/mesh-mtls` refuses before a weaker mesh is applied. Plain
 * modules, so tests and the offline plan load exactly what the CLI runs.
 */

const ROOT_NAMESPACE: JsonSchema = {
    type: "string", minLength: 1, default: "istio-system",
    description: "The mesh root namespace of clusters without an istiod Helm release in the stack; with one, its meshConfig.rootNamespace (or global.istioNamespace) decides.",
};

const EXEMPT_CLUSTERS: JsonSchema = {
    type: "array", items: { type: "string" }, default: [],
    description: "Names of Kubernetes provider resources (clusters) this policy skips.",
};

const EXEMPT_NAMESPACES: JsonSchema = {
    type: "array", items: { type: "string" },
    // The control plane and the CA cannot depend on the mesh they run; system namespaces are not Istio's.
    // monitoring: Prometheus opts in per pod (only when it federates through the mesh), not per namespace.
    default: ["kube-system", "kube-public", "kube-node-lease", "istio-system", "cert-manager", "monitoring"],
    description: "Kubernetes namespaces outside the mesh.",
};

const PORT_LIST = (ports: number[]): JsonSchema => ({ type: "array", items: { type: "integer", minimum: 1, maximum: 65535 }, default: ports });

// ---------------------------------------------------------------------------------------------------------------
// Peer authentication

function modeProblem(mode: string): string {
    switch (mode) {
        case "UNSET": return "UNSET inherits the namespace or mesh-wide mode, and PERMISSIVE where none is set";
        case "PERMISSIVE": return "PERMISSIVE also accepts plaintext";
        case "DISABLE": return "DISABLE turns mTLS off";
        default: return "it is not an Istio mTLS mode";
    }
}

export const peerAuthenticationStrict: ResourceValidationPolicy = {
    name: "peer-authentication-strict",
    description: "Every PeerAuthentication mode, top-level and per port, is STRICT (UNSET only where configured); port-level modes come with a workload selector.",
    enforcementLevel: "mandatory",
    configSchema: {
        properties: {
            allowUnset: { type: "boolean", default: false, description: "Accept UNSET modes, which inherit the namespace or mesh-wide mode." },
            exemptResources: EXEMPT_RESOURCES,
        },
    },
    validateResource: validateIstio("PeerAuthentication", (pa, args, report) => {
        const { allowUnset } = args.getConfig<{ allowUnset: boolean }>();
        const check = (path: string, mode: unknown) => {
            const effective = typeof mode === "string" && mode !== "" ? mode : "UNSET";
            if (effective === "STRICT" || (effective === "UNSET" && allowUnset)) return;
            report(`${path} is ${effective}${mode === undefined ? " (not set)" : ""}: ${modeProblem(effective)}; set it to STRICT`);
        };
        check("spec.mtls.mode", pa.spec?.mtls?.mode);
        const ports = Object.entries<{ mode?: string } | undefined>(pa.spec?.portLevelMtls ?? {});
        for (const [port, setting] of ports) check(`spec.portLevelMtls["${port}"].mode`, setting?.mode);
        if (ports.length > 0 && !hasSelector(pa.spec)) {
            report("spec.portLevelMtls is set without spec.selector: Istio refuses port-level modes on namespace- and mesh-wide policies; add a workload selector or drop portLevelMtls");
        }
    }),
};

export const meshWideStrict: StackValidationPolicy = {
    name: "mesh-wide-strict-mtls",
    description: "Every cluster that runs Istio has a mesh-wide PeerAuthentication (root namespace, no selector) in STRICT mode.",
    enforcementLevel: "mandatory",
    configSchema: { properties: { rootNamespace: ROOT_NAMESPACE, exemptClusters: EXEMPT_CLUSTERS } },
    validateStack: (args, report) => {
        const { rootNamespace, exemptClusters } = args.getConfig<{ rootNamespace: string; exemptClusters: string[] }>();
        for (const cluster of meshClusters(args.resources)) {
            const { provider } = cluster;
            if (exemptClusters.includes(provider.name)) continue;
            const root = rootNamespaceOf(cluster) ?? rootNamespace;
            const meshWide = cluster.resources.filter((r) => isIstioKind(r.type, "PeerAuthentication")
                && namespaceOf(r.props, provider) === root && !hasSelector(r.props.spec));
            if (meshWide.length === 0) {
                report(`cluster ${provider.name} runs Istio without a mesh-wide PeerAuthentication, so its workloads accept plaintext (Istio's default is PERMISSIVE): add a PeerAuthentication in namespace ${root} with no selector and spec.mtls.mode STRICT`, provider.urn);
            }
            for (const pa of meshWide) {
                const mode: string = pa.props.spec?.mtls?.mode || "UNSET";
                if (mode !== "STRICT") report(`the mesh-wide PeerAuthentication ${pa.name} on cluster ${provider.name} has mode ${mode}: ${modeProblem(mode)}; set spec.mtls.mode to STRICT`, pa.urn);
            }
        }
    },
};

// ---------------------------------------------------------------------------------------------------------------
// Destination rules

interface ClientTls {
    readonly mode?: string;
    readonly caCertificates?: string;
    readonly credentialName?: string;
    readonly insecureSkipVerify?: boolean;
}

/** Every TLS setting of a DestinationRule, with the path a user would edit. */
function clientTlsSettings(spec: any): { path: string; tls: ClientTls }[] {
    const found: { path: string; tls: ClientTls }[] = [];
    const fromPolicy = (policy: any, base: string) => {
        if (policy?.tls) found.push({ path: `${base}.tls`, tls: policy.tls });
        (policy?.portLevelSettings ?? []).forEach((setting: any, i: number) => {
            const port = setting?.port?.number ? ` (port ${setting.port.number})` : "";
            if (setting?.tls) found.push({ path: `${base}.portLevelSettings[${i}]${port}.tls`, tls: setting.tls });
        });
    };
    fromPolicy(spec?.trafficPolicy, "spec.trafficPolicy");
    (spec?.subsets ?? []).forEach((subset: any, i: number) =>
        fromPolicy(subset?.trafficPolicy, `spec.subsets[${i}]${subset?.name ? ` (${subset.name})` : ""}.trafficPolicy`));
    return found;
}

/** Hosts inside the mesh: `*`, short names (resolved in the rule's namespace) and names under a mesh suffix. */
export function isMeshHost(host: string, meshHostSuffixes: readonly string[]): boolean {
    if (host === "*") return true;
    const name = host.replace(/^\*\./, "");
    return !name.includes(".") || meshHostSuffixes.some((suffix) => name.endsWith(suffix) || `.${name}` === suffix);
}

export const destinationRuleTls: ResourceValidationPolicy = {
    name: "destination-rule-tls",
    description: "DestinationRules never turn TLS off (DISABLE) or leave the server unverified (SIMPLE/MUTUAL without caCertificates) for mesh hosts, at top level, per port or per subset; none sets insecureSkipVerify.",
    enforcementLevel: "mandatory",
    configSchema: {
        properties: {
            meshHostSuffixes: {
                type: "array", items: { type: "string", pattern: "^\\.[a-z0-9.-]+$" }, default: [".local", ".svc"],
                description: "DNS suffixes of in-mesh hosts; `*` and short names are always in the mesh.",
            },
            exemptResources: EXEMPT_RESOURCES,
        },
    },
    validateResource: validateIstio("DestinationRule", (dr, args, report) => {
        const { meshHostSuffixes } = args.getConfig<{ meshHostSuffixes: string[] }>();
        const host: string = dr.spec?.host ?? "";
        const inMesh = isMeshHost(host, meshHostSuffixes);
        const workloadSelected = Object.keys(dr.spec?.workloadSelector?.matchLabels ?? {}).length > 0;
        for (const { path, tls } of clientTlsSettings(dr.spec)) {
            if (tls.insecureSkipVerify === true) {
                report(`${path}.insecureSkipVerify is true for host ${host}: the proxy accepts any server certificate; remove it and set caCertificates${inMesh ? " (or mode ISTIO_MUTUAL for this mesh host)" : ""}`);
            }
            if (!inMesh) continue;
            // A tls block without a mode is DISABLE, the enum's zero value.
            const mode = tls.mode ?? "DISABLE";
            if (mode === "DISABLE") {
                report(`${path}.mode is DISABLE${tls.mode === undefined ? " (a tls block without mode)" : ""} for mesh host ${host}: the proxy sends plaintext, which STRICT peers refuse and the network can read; set mode ISTIO_MUTUAL or remove the tls block`);
            } else if ((mode === "SIMPLE" || mode === "MUTUAL") && !tls.caCertificates && !(tls.credentialName && workloadSelected)) {
                report(`${path}.mode is ${mode} for mesh host ${host} without caCertificates: the server certificate is not verified against the mesh CA; set mode ISTIO_MUTUAL, or set caCertificates`);
            }
        }
    }),
};

// ---------------------------------------------------------------------------------------------------------------
// Sidecar injection

const INJECT = "sidecar.istio.io/inject";
const NAMESPACE_INJECTION = "istio-injection";
const REVISION = "istio.io/rev";
const DATAPLANE_MODE = "istio.io/dataplane-mode";

/** What on a pod's metadata takes it out of the mesh; Istio honours the inject annotation and label alike. */
function optOuts(meta: ObjectMeta | undefined): string[] {
    const found: string[] = [];
    if (String(meta?.annotations?.[INJECT]) === "false") found.push(`annotation ${INJECT}: "false"`);
    if (String(meta?.labels?.[INJECT]) === "false") found.push(`label ${INJECT}: "false"`);
    if (meta?.labels?.[DATAPLANE_MODE] === "none") found.push(`label ${DATAPLANE_MODE}: none`);
    return found;
}

/** Workload kinds and where their pods' metadata lives. */
const WORKLOADS: readonly { cls: any; path: readonly string[] }[] = [
    { cls: k8s.core.v1.Pod, path: ["metadata"] },
    { cls: k8s.apps.v1.Deployment, path: ["spec", "template", "metadata"] },
    { cls: k8s.apps.v1.StatefulSet, path: ["spec", "template", "metadata"] },
    { cls: k8s.apps.v1.DaemonSet, path: ["spec", "template", "metadata"] },
    { cls: k8s.apps.v1.ReplicaSet, path: ["spec", "template", "metadata"] },
    { cls: k8s.batch.v1.Job, path: ["spec", "template", "metadata"] },
    { cls: k8s.batch.v1.CronJob, path: ["spec", "jobTemplate", "spec", "template", "metadata"] },
];

export const injectionNotDisabled: ResourceValidationPolicy = {
    name: "sidecar-injection-not-disabled",
    description: "Mesh workloads never opt out of the mesh: no `sidecar.istio.io/inject: \"false\"` annotation or label on pods and workload templates, no `istio-injection: disabled` or `istio.io/dataplane-mode: none` namespace.",
    enforcementLevel: "mandatory",
    configSchema: { properties: { exemptNamespaces: EXEMPT_NAMESPACES, exemptResources: EXEMPT_RESOURCES } },
    validateResource: [
        validateResourceOfType(k8s.core.v1.Namespace, (ns, args, report) => {
            skipExempt(args);
            const { exemptNamespaces } = args.getConfig<{ exemptNamespaces: string[] }>();
            const name = ns.metadata?.name;
            if (name && exemptNamespaces.includes(name)) return;
            const labels = ns.metadata?.labels ?? {};
            for (const [key, off] of [[NAMESPACE_INJECTION, "disabled"], [DATAPLANE_MODE, "none"]]) {
                if (labels[key] === off) report(`metadata.labels["${key}"] is ${off}: pods in namespace ${name ?? args.name} run outside the mesh (no mTLS, no authorization); remove the label, or list the namespace in exemptNamespaces`);
            }
        }),
        ...WORKLOADS.map(({ cls, path }) => validateResourceOfType(cls, (workload: any, args, report) => {
            skipExempt(args);
            const { exemptNamespaces } = args.getConfig<{ exemptNamespaces: string[] }>();
            if (exemptNamespaces.includes(namespaceOf(workload, args.provider))) return;
            const meta = path.reduce((v: any, key) => v?.[key], workload) as ObjectMeta | undefined;
            for (const found of optOuts(meta)) {
                report(`${path.join(".")} carries ${found}: this workload runs outside the mesh (no mTLS, no authorization); remove it, or exempt the resource through exemptResources`);
            }
        })),
    ],
};

export const namespaceInjectionLabel: ResourceValidationPolicy = {
    name: "namespace-injection-label",
    description: "Every mesh namespace carries exactly one of `istio-injection: enabled`, `istio.io/rev` or `istio.io/dataplane-mode: ambient`.",
    enforcementLevel: "advisory",
    configSchema: { properties: { exemptNamespaces: EXEMPT_NAMESPACES, exemptResources: EXEMPT_RESOURCES } },
    validateResource: validateResourceOfType(k8s.core.v1.Namespace, (ns, args, report) => {
        skipExempt(args);
        const { exemptNamespaces } = args.getConfig<{ exemptNamespaces: string[] }>();
        const name = ns.metadata?.name;
        if (name && exemptNamespaces.includes(name)) return;
        const labels = ns.metadata?.labels ?? {};
        // `disabled` is sidecar-injection-not-disabled's finding.
        if (labels[NAMESPACE_INJECTION] === "disabled") return;
        const modes = [
            labels[NAMESPACE_INJECTION] === "enabled" ? `${NAMESPACE_INJECTION}: enabled` : undefined,
            labels[REVISION] ? `${REVISION}: ${labels[REVISION]}` : undefined,
            labels[DATAPLANE_MODE] === "ambient" ? `${DATAPLANE_MODE}: ambient` : undefined,
        ].filter((m): m is string => m !== undefined);
        if (modes.length === 0) report(`namespace ${name ?? args.name} has no injection label, so its pods start without a proxy: label it ${NAMESPACE_INJECTION}: enabled (or ${REVISION}: <revision>, or ${DATAPLANE_MODE}: ambient), or list it in exemptNamespaces`);
        if (modes.length > 1) report(`namespace ${name ?? args.name} carries ${modes.join(" and ")}: Istio honours only one of them (IST0123); keep one`);
    }),
};

// ---------------------------------------------------------------------------------------------------------------
// Gateways

interface Server {
    readonly port?: { readonly number?: number; readonly protocol?: string; readonly name?: string };
    readonly hosts?: readonly string[];
    readonly tls?: { readonly mode?: string; readonly minProtocolVersion?: string; readonly httpsRedirect?: boolean };
}

function serversOf(gw: IstioObject): readonly Server[] {
    return gw.spec?.servers ?? [];
}

function serverRef(s: Server, i: number): string {
    return `spec.servers[${i}] (port ${s.port?.number ?? "unset"})`;
}

/** `ns/host` binds a host to a namespace; the host part is what the gateway exposes. */
function hostPart(host: string): string {
    return host.includes("/") ? host.slice(host.indexOf("/") + 1) : host;
}

/** True when `host` is `pattern` or lies inside the wildcard `pattern` (`*.svc.cluster.local` inside `*.local`). */
export function hostWithin(host: string, pattern: string): boolean {
    if (host === pattern) return true;
    return pattern.startsWith("*.") && host !== "*" && host.endsWith(pattern.slice(1));
}

export const eastWestGateway: ResourceValidationPolicy = {
    name: "east-west-gateway-auto-passthrough",
    description: "East-west gateways (a server on an east-west port or in AUTO_PASSTHROUGH) only route mTLS by SNI, in AUTO_PASSTHROUGH, for mesh-internal hosts.",
    enforcementLevel: "mandatory",
    configSchema: {
        properties: {
            eastWestPorts: PORT_LIST([15443]),
            allowedHosts: {
                type: "array", items: { type: "string", minLength: 1 }, default: ["*.local"],
                description: "Hosts an east-west server may expose; hosts inside a wildcard are allowed too.",
            },
            exemptResources: EXEMPT_RESOURCES,
        },
    },
    validateResource: validateIstio("Gateway", (gw, args, report) => {
        const { eastWestPorts, allowedHosts } = args.getConfig<{ eastWestPorts: number[]; allowedHosts: string[] }>();
        const servers = serversOf(gw);
        const eastWest = servers.some((s) => eastWestPorts.includes(Number(s.port?.number)) || s.tls?.mode === "AUTO_PASSTHROUGH");
        if (!eastWest) return;
        servers.forEach((s, i) => {
            if (s.tls?.mode !== "AUTO_PASSTHROUGH") {
                report(`${serverRef(s, i)} of an east-west gateway has tls.mode ${s.tls?.mode ?? "unset"}: an east-west gateway only passes mesh mTLS through by SNI; set tls.mode AUTO_PASSTHROUGH, or move this server to another Gateway`);
            }
            const outside = (s.hosts ?? []).filter((h) => !allowedHosts.some((p) => hostWithin(hostPart(h), p)));
            if (outside.length > 0) report(`${serverRef(s, i)} of an east-west gateway exposes ${outside.join(", ")} to other networks: only ${allowedHosts.join(", ")} may cross; narrow hosts`);
        });
    }),
};

const TLS_VERSIONS = ["TLSV1_0", "TLSV1_1", "TLSV1_2", "TLSV1_3"];
const PLAINTEXT_PROTOCOLS = ["HTTP", "HTTP2", "GRPC", "TCP"];

export const gatewayTls: ResourceValidationPolicy = {
    name: "gateway-tls",
    description: "Gateway servers on TLS ports (443 by default) and every HTTPS server terminate TLS with an explicit minProtocolVersion of at least TLS 1.2; PASSTHROUGH only where configured.",
    enforcementLevel: "mandatory",
    configSchema: {
        properties: {
            tlsPorts: PORT_LIST([443]),
            minProtocolVersion: { type: "string", enum: ["TLSV1_2", "TLSV1_3"], default: "TLSV1_2" },
            allowPassthrough: { type: "boolean", default: false, description: "Accept PASSTHROUGH servers, whose backends terminate TLS themselves." },
            exemptResources: EXEMPT_RESOURCES,
        },
    },
    validateResource: validateIstio("Gateway", (gw, args, report) => {
        const { tlsPorts, minProtocolVersion, allowPassthrough } = args.getConfig<{ tlsPorts: number[]; minProtocolVersion: string; allowPassthrough: boolean }>();
        serversOf(gw).forEach((s, i) => {
            const protocol = String(s.port?.protocol ?? "").toUpperCase();
            if (!tlsPorts.includes(Number(s.port?.number)) && protocol !== "HTTPS") return;
            const where = serverRef(s, i);
            if (PLAINTEXT_PROTOCOLS.includes(protocol)) {
                report(`${where} serves plaintext ${protocol} on a TLS port: set port.protocol HTTPS with tls (mode SIMPLE or MUTUAL, credentialName, minProtocolVersion ${minProtocolVersion})`);
                return;
            }
            if (!s.tls) {
                report(`${where} has no tls block: add tls with mode SIMPLE or MUTUAL, a credentialName and minProtocolVersion ${minProtocolVersion}`);
                return;
            }
            // PASSTHROUGH is the enum's zero value: a tls block without a mode passes TLS through.
            const mode = s.tls.mode ?? "PASSTHROUGH";
            if (mode === "PASSTHROUGH" || mode === "AUTO_PASSTHROUGH") {
                if (!allowPassthrough) report(`${where} passes TLS through (${mode}${s.tls.mode === undefined ? ", a tls block without mode" : ""}), so the gateway enforces neither certificate nor TLS version: terminate TLS with mode SIMPLE or MUTUAL, or allow passthrough through this policy's allowPassthrough config`);
                return;
            }
            const version = s.tls.minProtocolVersion;
            if (!version || !TLS_VERSIONS.includes(version) || TLS_VERSIONS.indexOf(version) < TLS_VERSIONS.indexOf(minProtocolVersion)) {
                const why = !version || version === "TLS_AUTO" ? ", which leaves the floor to the proxy's defaults" : "";
                report(`${where} tls.minProtocolVersion is ${version ?? "unset"}${why}: set it to ${minProtocolVersion} or higher`);
            }
        });
    }),
};

export const gatewayHttpsRedirect: ResourceValidationPolicy = {
    name: "gateway-http-redirects-to-https",
    description: "Plain HTTP Gateway servers only redirect to HTTPS (tls.httpsRedirect).",
    enforcementLevel: "advisory",
    configSchema: { properties: { exemptResources: EXEMPT_RESOURCES } },
    validateResource: validateIstio("Gateway", (gw, _args, report) => {
        serversOf(gw).forEach((s, i) => {
            if (String(s.port?.protocol ?? "").toUpperCase() === "HTTP" && s.tls?.httpsRedirect !== true) {
                report(`${serverRef(s, i)} serves plain HTTP: set tls.httpsRedirect true so clients are sent to HTTPS`);
            }
        });
    }),
};

/** What in namespace `ns` a gateway's service account must not be able to read (it reads every Secret there). */
function keysInNamespace(cluster: Cluster, ns: string): string[] {
    const inNs = (r: PolicyResource) => (r.props.metadata?.namespace ?? r.props.namespace ?? cluster.provider.props.namespace ?? "default") === ns;
    const found: string[] = [];
    for (const r of cluster.resources) {
        if (isRelease(r, "istiod") && inNs(r)) found.push(`istiod (release ${r.name}), whose namespace holds istiod's CA key or serving key`);
        if (isRelease(r, "cert-manager-istio-csr") && (r.props.values?.app?.certmanager?.namespace ?? "istio-system") === ns) {
            found.push(`istio-csr's certificates (release ${r.name} issues istiod's serving certificate there)`);
        }
        if (/^kubernetes:cert-manager\.io\/v[0-9a-z]+:Issuer$/.test(r.type) && r.props.spec?.ca?.secretName && inNs(r)) {
            found.push(`the CA key of Issuer ${r.props.metadata?.name ?? r.name} (Secret ${r.props.spec.ca.secretName})`);
        }
        if (r.isType(k8s.core.v1.Secret) && inNs(r)) {
            const name: string | undefined = r.props.metadata?.name;
            if (name === "cacerts" || name === "istio-ca-secret") found.push(`Istio's CA key (Secret ${name})`);
            if (r.props.metadata?.labels?.["istio/multiCluster"] === "true") found.push(`remote secret ${name ?? r.name}, a token for another cluster's API server`);
        }
    }
    return found;
}

/** Grants of read on Secrets to `account` made by the stack (Role or ClusterRole, through any binding). */
function secretReadGrants(cluster: Cluster, account: { namespace: string; name: string }): string[] {
    const rbac = (kind: string) => cluster.resources.filter((r) => r.type === `kubernetes:rbac.authorization.k8s.io/v1:${kind}`);
    const roles = [...rbac("Role"), ...rbac("ClusterRole")];
    return [...rbac("RoleBinding"), ...rbac("ClusterRoleBinding")].filter((b) => (b.props.subjects ?? [])
        .some((s: any) => s.kind === "ServiceAccount" && s.name === account.name && (s.namespace ?? b.props.metadata?.namespace) === account.namespace))
        .filter((b) => roles.some((role) => role.props.metadata?.name === b.props.roleRef?.name && (role.props.rules ?? []).some((rule: any) =>
            (rule.resources ?? []).some((x: string) => x === "secrets" || x === "*") && (rule.verbs ?? []).some((v: string) => ["get", "list", "watch", "*"].includes(v)))))
        .map((b) => b.name);
}

export const gatewayNamespaceIsolation: StackValidationPolicy = {
    name: "gateway-namespace-isolation",
    description: "Gateway releases (Istio's gateway chart, whose service account reads every Secret of its namespace) share no namespace with istiod, istio-csr's certificates, CA keys or remote-secret tokens; east-west gateways read no Secret at all.",
    enforcementLevel: "mandatory",
    configSchema: { properties: { eastWestPorts: PORT_LIST([15443]), exemptClusters: EXEMPT_CLUSTERS, exemptResources: EXEMPT_RESOURCES } },
    validateStack: (args, report) => {
        const { eastWestPorts, exemptClusters, exemptResources } = args.getConfig<{ eastWestPorts: number[]; exemptClusters: string[]; exemptResources: string[] }>();
        for (const cluster of kubernetesClusters(args.resources)) {
            if (exemptClusters.includes(cluster.provider.name)) continue;
            for (const gw of cluster.resources.filter((r) => isRelease(r, "gateway") && !exemptResources.includes(r.name))) {
                const values = gw.props.values ?? {};
                const ns: string = gw.props.namespace ?? cluster.provider.props.namespace ?? "default";
                // istio/istio 1.30.3 manifests/charts/gateway/templates/role.yaml: read on every Secret of the release namespace.
                const reads = values.rbac?.enabled !== false;
                const keys = keysInNamespace(cluster, ns);
                if (reads && keys.length > 0) {
                    report(`gateway release ${gw.name} on cluster ${cluster.provider.name} runs in namespace ${ns} with ${keys.join("; ")}: the chart lets the gateway's service account read every Secret of its namespace, and istiod serves it any of them by credentialName; install gateways in a namespace of their own (istio.io "Installing Gateways")`, gw.urn);
                }
                const eastWest = values.labels?.["topology.istio.io/network"] !== undefined || values.networkGateway
                    || (values.service?.ports ?? []).some((p: any) => eastWestPorts.includes(Number(p?.port)));
                if (!eastWest) continue;
                const account = { namespace: ns, name: values.serviceAccount?.name || values.name || gw.props.name || gw.name };
                if (reads) report(`east-west gateway release ${gw.name} on cluster ${cluster.provider.name} leaves values.rbac.enabled on, so its service account reads every Secret of namespace ${ns}; it passes mTLS through and serves no credential: set values.rbac.enabled to false`, gw.urn);
                for (const binding of secretReadGrants(cluster, account)) {
                    report(`binding ${binding} lets east-west gateway ${account.namespace}/${account.name} read Secrets, which it never needs: remove it`, gw.urn);
                }
            }
        }
    },
};

// ---------------------------------------------------------------------------------------------------------------
// istiod and istio-csr

const ISTIO_CSR_CHART = "cert-manager-istio-csr";

/** The Service the istio-csr chart puts in front of its gRPC server, and the names its serving certificate covers. */
function istioCsrEndpoint(release: PolicyResource, provider: PolicyResource) {
    const values = release.props.values ?? {};
    const service: string = values.nameOverride || ISTIO_CSR_CHART;
    const namespace: string = release.props.namespace || provider.props.namespace || "default";
    const port: number = values.service?.port ?? 443;
    const dnsNames: string[] = values.app?.tls?.certificateDNSNames ?? [`${ISTIO_CSR_CHART}.cert-manager.svc`];
    return {
        release, dnsNames, address: `${service}.${namespace}.svc:${port}`,
        accepts: (ca: string) => [`${service}.${namespace}.svc:${port}`, `${service}.${namespace}.svc.cluster.local:${port}`].includes(ca),
    };
}

function istiodProblems(istiod: PolicyResource, csrs: readonly PolicyResource[], provider: PolicyResource): string[] {
    const values = istiod.props.values ?? {};
    const problems: string[] = [];
    const caServer = values.env?.ENABLE_CA_SERVER;
    // The chart quotes every env value, so false and "false" render alike.
    if (String(caServer) !== "false") {
        const ignored = values.pilot?.env?.ENABLE_CA_SERVER !== undefined ? " (pilot.env is IstioOperator syntax; the istiod chart ignores it)" : "";
        problems.push(`values.env.ENABLE_CA_SERVER is ${caServer === undefined ? "unset (default true)" : JSON.stringify(caServer)}${ignored}, so istiod runs a second CA beside istio-csr: set values.env.ENABLE_CA_SERVER to "false"`);
    }
    const endpoints = csrs.map((r) => istioCsrEndpoint(r, provider));
    const caAddress: string | undefined = values.global?.caAddress;
    const target = caAddress ? endpoints.find((e) => e.accepts(caAddress)) : undefined;
    if (!caAddress) {
        problems.push(`values.global.caAddress is unset, so sidecars ask istiod for certificates: set it to ${endpoints[0].address}`);
    } else if (!target) {
        problems.push(`values.global.caAddress ${caAddress} does not point at istio-csr: set it to ${endpoints.map((e) => e.address).join(" or ")}`);
    } else {
        const host = caAddress.slice(0, caAddress.lastIndexOf(":"));
        if (!target.dnsNames.includes(host)) {
            problems.push(`istio-csr release ${target.release.name} serves a certificate for ${target.dnsNames.join(", ")}, not ${host}, so sidecars refuse it: add ${host} to its values.app.tls.certificateDNSNames`);
        }
        const csrValues = target.release.props.values ?? {};
        const trustDomain = values.meshConfig?.trustDomain || "cluster.local";
        const csrTrustDomain = csrValues.app?.tls?.trustDomain || "cluster.local";
        if (trustDomain !== csrTrustDomain) {
            problems.push(`values.meshConfig.trustDomain ${trustDomain} differs from istio-csr's app.tls.trustDomain ${csrTrustDomain}, so istio-csr refuses every workload's CSR: set both to the cluster's trust domain`);
        }
        const clusterName = values.global?.multiCluster?.clusterName || "Kubernetes";
        const csrClusterId = csrValues.app?.server?.clusterID || "Kubernetes";
        if (clusterName !== csrClusterId) {
            problems.push(`values.global.multiCluster.clusterName ${clusterName} differs from istio-csr's app.server.clusterID ${csrClusterId}, so istio-csr refuses CSRs claiming this cluster: set both to the cluster's name`);
        }
    }
    const files = istiod.props.valueYamlFiles;
    if (problems.length > 0 && Array.isArray(files) && files.length > 0) problems.push("it also reads valueYamlFiles, which policies cannot see: set the values above inline, in values");
    return problems;
}

export const istiodCaDisabledWithIstioCsr: StackValidationPolicy = {
    name: "istiod-ca-disabled-with-istio-csr",
    description: "Where istio-csr is the mesh CA, istiod on the same cluster runs no CA (values.env.ENABLE_CA_SERVER \"false\"), points sidecars at istio-csr (values.global.caAddress) and agrees with it on trust domain and cluster ID.",
    enforcementLevel: "mandatory",
    configSchema: { properties: { exemptClusters: EXEMPT_CLUSTERS } },
    validateStack: (args, report) => {
        const { exemptClusters } = args.getConfig<{ exemptClusters: string[] }>();
        for (const { provider, resources } of clusters(args.resources)) {
            if (exemptClusters.includes(provider.name)) continue;
            const csrs = resources.filter((r) => isRelease(r, ISTIO_CSR_CHART));
            if (csrs.length === 0) continue;
            for (const istiod of resources.filter((r) => isRelease(r, "istiod"))) {
                for (const problem of istiodProblems(istiod, csrs, provider)) report(`istiod release ${istiod.name} on cluster ${provider.name}: ${problem}`, istiod.urn);
            }
        }
    },
};

export const istiodOutboundRegistryOnly: ResourceValidationPolicy = {
    name: "istiod-outbound-registry-only",
    description: "istiod releases set meshConfig.outboundTrafficPolicy.mode REGISTRY_ONLY, so sidecars reach only declared hosts.",
    enforcementLevel: "advisory",
    configSchema: { properties: { exemptResources: EXEMPT_RESOURCES } },
    validateResource: validateResourceOfType(k8s.helm.v3.Release, (release, args, report) => {
        if (chartName(release.chart) !== "istiod") args.notApplicable("applies only to istiod releases");
        skipExempt(args);
        const mode = release.values?.meshConfig?.outboundTrafficPolicy?.mode;
        if (mode !== "REGISTRY_ONLY") report(`values.meshConfig.outboundTrafficPolicy.mode is ${mode ?? "unset (default ALLOW_ANY)"}, so sidecars pass traffic to any external host: set it to REGISTRY_ONLY and declare external hosts with ServiceEntries`);
    }),
};

// ---------------------------------------------------------------------------------------------------------------
// Authorization

interface Source {
    readonly principals?: readonly string[];
    readonly namespaces?: readonly string[];
    readonly serviceAccounts?: readonly string[];
    readonly trustDomains?: readonly string[];
}

/** A rule with nothing to match on matches every request. */
function isEmptyRule(rule: any): boolean {
    const empty = (v: unknown) => v === undefined || v === null || (Array.isArray(v) && v.length === 0);
    return empty(rule?.from) && empty(rule?.to) && empty(rule?.when);
}

function principalProblem(principal: string, trustDomains: readonly string[], allowClusterLocal: boolean): string | undefined {
    if (principal.includes("*")) return "a wildcard matches workloads nobody listed; name each principal as <trust-domain>/ns/<namespace>/sa/<service-account>";
    if (principal.startsWith("spiffe://")) return "Istio matches principals without the spiffe:// scheme; write <trust-domain>/ns/<namespace>/sa/<service-account>";
    const m = /^([^/]+)\/ns\/([^/]+)\/sa\/([^/]+)$/.exec(principal);
    if (!m) {
        return principal.startsWith("ns/")
            ? "it names no trust domain; write <trust-domain>/ns/<namespace>/sa/<service-account>"
            : "it is not of the form <trust-domain>/ns/<namespace>/sa/<service-account>";
    }
    const trustDomain = m[1];
    if (trustDomain === "cluster.local") {
        return allowClusterLocal ? undefined : "cluster.local stands for the local trust domain and all its aliases, so it does not say which trust domain (cloud) the caller is in; name the caller's own trust domain";
    }
    if (trustDomains.length > 0 && !trustDomains.includes(trustDomain)) return `trust domain ${trustDomain} is not one of ${trustDomains.join(", ")} (this policy's trustDomains config)`;
    return undefined;
}

export const authorizationLeastPrivilege: ResourceValidationPolicy = {
    name: "authorization-policy-least-privilege",
    description: "ALLOW policies never allow everything (an empty rule), use no wildcard principals or namespaces, and name principals fully (<trust-domain>/ns/<ns>/sa/<sa>); DENY policies have rules.",
    enforcementLevel: "mandatory",
    configSchema: {
        properties: {
            trustDomains: {
                type: "array", items: { type: "string", minLength: 1 }, default: [],
                description: "Trust domains ALLOW principals may name; empty accepts any trust domain except cluster.local.",
            },
            allowClusterLocal: { type: "boolean", default: false, description: "Accept cluster.local/... principals, which match every trust domain alias." },
            exemptResources: EXEMPT_RESOURCES,
        },
    },
    validateResource: validateIstio("AuthorizationPolicy", (policy, args, report) => {
        const { trustDomains, allowClusterLocal } = args.getConfig<{ trustDomains: string[]; allowClusterLocal: boolean }>();
        const action: string = policy.spec?.action ?? "ALLOW";
        const rules: any[] | undefined = policy.spec?.rules;
        if (action === "DENY" && rules === undefined) {
            report("spec.action is DENY without spec.rules, which never matches (Istio rejects it): add the rules to deny, or use an ALLOW policy without rules to deny everything");
        }
        if (action !== "ALLOW") return;
        (rules ?? []).forEach((rule, i) => {
            if (isEmptyRule(rule)) report(`spec.rules[${i}] is empty and matches every request, so this ALLOW policy allows everything: name the principals and operations to allow (a policy without rules allows nothing)`);
            (rule?.from ?? []).forEach((from: { source?: Source } | undefined, j: number) => {
                const source = from?.source ?? {};
                const where = `spec.rules[${i}].from[${j}].source`;
                for (const p of source.principals ?? []) {
                    const problem = principalProblem(p, trustDomains, allowClusterLocal);
                    if (problem) report(`${where}.principals has "${p}": ${problem}`);
                }
                for (const ns of source.namespaces ?? []) {
                    if (ns.includes("*")) report(`${where}.namespaces has "${ns}", which matches namespaces nobody listed: name the namespaces, or better the principals, to allow`);
                }
                if ((source.serviceAccounts ?? []).length > 0 && (source.trustDomains ?? []).length === 0) {
                    report(`${where}.serviceAccounts matches those accounts in every trust domain the mesh trusts: add trustDomains to the same source, or use fully qualified principals`);
                }
            });
        });
    }),
};

/** No rules: the ALLOW policy matches nothing, so everything it selects is denied. */
function isAllowNothing(spec: any): boolean {
    return (spec?.action ?? "ALLOW") === "ALLOW" && (spec?.rules ?? []).length === 0 && !spec?.provider;
}

export const defaultDenyAuthorization: StackValidationPolicy = {
    name: "default-deny-authorization",
    description: "On every cluster that runs Istio, each namespace the stack creates is covered by an allow-nothing AuthorizationPolicy: its own, or a mesh-wide one in the root namespace.",
    enforcementLevel: "advisory",
    configSchema: { properties: { rootNamespace: ROOT_NAMESPACE, exemptNamespaces: EXEMPT_NAMESPACES, exemptClusters: EXEMPT_CLUSTERS } },
    validateStack: (args, report) => {
        const { rootNamespace, exemptNamespaces, exemptClusters } = args.getConfig<{ rootNamespace: string; exemptNamespaces: string[]; exemptClusters: string[] }>();
        for (const cluster of meshClusters(args.resources)) {
            const { provider } = cluster;
            if (exemptClusters.includes(provider.name)) continue;
            const root = rootNamespaceOf(cluster) ?? rootNamespace;
            const denying = cluster.resources.filter((r) => isIstioKind(r.type, "AuthorizationPolicy") && isAllowNothing(r.props.spec)
                && !hasSelector(r.props.spec) && !r.props.spec?.targetRef && !(r.props.spec?.targetRefs ?? []).length);
            const covered = new Set(denying.map((r) => namespaceOf(r.props, provider)));
            if (covered.has(root)) continue;
            for (const ns of cluster.resources.filter((r) => r.isType(k8s.core.v1.Namespace))) {
                const name: string | undefined = ns.props.metadata?.name;
                if (!name || exemptNamespaces.includes(name) || covered.has(name)) continue;
                report(`namespace ${name} on cluster ${provider.name} has no allow-nothing AuthorizationPolicy, so any authenticated workload may call into it: add an AuthorizationPolicy with an empty spec in ${name} (or in ${root} for the whole mesh) and ALLOW callers by principal`, ns.urn);
            }
        }
    },
};

// ---------------------------------------------------------------------------------------------------------------
// Traffic management

export const noFaultInjectionInProduction: ResourceValidationPolicy = {
    name: "no-fault-injection-in-production",
    description: "VirtualServices in production stacks inject no faults (http[].fault): delays and aborts belong to test environments.",
    enforcementLevel: "mandatory",
    configSchema: { properties: { productionStacks: PRODUCTION_STACKS, exemptResources: EXEMPT_RESOURCES } },
    validateResource: validateIstio("VirtualService", (vs, args, report) => {
        const { productionStacks } = args.getConfig<{ productionStacks: string[] }>();
        const stack = stackOf(args.urn);
        if (!productionStacks.includes(stack)) return;
        (vs.spec?.http ?? []).forEach((route: any, i: number) => {
            const faults = Object.keys(route?.fault ?? {});
            if (faults.length > 0) report(`spec.http[${i}]${route.name ? ` (${route.name})` : ""}.fault injects ${faults.join(" and ")} in production stack ${stack}: remove the fault block; inject faults only in non-production stacks`);
        });
    }),
};

export const meshMtlsPolicies = [
    peerAuthenticationStrict, meshWideStrict, destinationRuleTls, injectionNotDisabled, namespaceInjectionLabel,
    eastWestGateway, gatewayTls, gatewayHttpsRedirect, gatewayNamespaceIsolation, istiodCaDisabledWithIstioCsr, istiodOutboundRegistryOnly,
    authorizationLeastPrivilege, defaultDenyAuthorization, noFaultInjectionInProduction,
];
