/**
 * The mTLS mode a server's sidecar enforces on one port, from istio/istio 1.30.3
 * pilot/pkg/security/authn/policy_applier.go `ComposePeerAuthentication`: the narrowest scope wins (workload, i.e.
 * a selector outside the root namespace, over namespace over mesh, i.e. the root namespace without selector); UNSET
 * inherits from the parent; port-level modes apply on a workload policy only; with no policy at all the mode is
 * PERMISSIVE. Among policies of the same scope the oldest wins: a plan has no creation times, so the first registered.
 */

export type MtlsMode = "STRICT" | "PERMISSIVE" | "DISABLE";

export interface PeerAuthenticationObject {
    readonly namespace: string;
    readonly name: string;
    readonly spec: any;
}

const modeOf = (mtls: any): MtlsMode | undefined => (mtls?.mode && mtls.mode !== "UNSET" ? mtls.mode : undefined);

export function effectiveMtlsMode(policies: readonly PeerAuthenticationObject[], workload: { namespace: string; labels: Readonly<Record<string, string>> }, port: number, rootNamespace: string): MtlsMode {
    const hasSelector = (p: PeerAuthenticationObject) => Object.keys(p.spec?.selector?.matchLabels ?? {}).length > 0;
    const mesh = policies.find((p) => !hasSelector(p) && p.namespace === rootNamespace);
    const namespace = policies.find((p) => !hasSelector(p) && p.namespace !== rootNamespace && p.namespace === workload.namespace);
    const own = policies.find((p) => hasSelector(p) && p.namespace !== rootNamespace && p.namespace === workload.namespace &&
        Object.entries(p.spec.selector.matchLabels).every(([k, v]) => workload.labels[k] === v));
    let mode: MtlsMode = "PERMISSIVE";
    for (const p of [mesh, namespace, own]) mode = modeOf(p?.spec?.mtls) ?? mode;
    const portLevel = own?.spec?.portLevelMtls?.[String(port)];
    return portLevel ? modeOf(portLevel) ?? mode : mode;
}
