import * as coreV1 from "@pulumi/kubernetes/core/v1";
import { PolicyResource, ResourceValidationPolicy, StackValidationPolicy } from "@pulumi/policy";
import { Cluster, EXEMPT_CLUSTERS, EXEMPT_RESOURCES, isRelease, IstioObject, kubernetesClusters, PORT_LIST, validateIstio } from "./istio";

/** mesh-mtls rules on Gateways: east-west passthrough, TLS on ingress servers, and isolation of gateway credentials. */

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
        if (r.isType(coreV1.Secret) && inNs(r)) {
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

export const gatewayPolicies = [eastWestGateway, gatewayTls, gatewayHttpsRedirect, gatewayNamespaceIsolation];
