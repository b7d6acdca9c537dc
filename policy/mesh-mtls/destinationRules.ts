import { ResourceValidationPolicy } from "@pulumi/policy";
import { EXEMPT_RESOURCES, validateIstio } from "./istio";

/** mesh-mtls rules on DestinationRules: TLS to mesh hosts stays Istio mTLS or verified TLS. */

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

export const destinationRulePolicies = [destinationRuleTls];
