import * as coreV1 from "@pulumi/kubernetes/core/v1";
import * as pulumi from "@pulumi/pulumi";
import { EdgeAuthConfig, ServiceConfig } from "../../config";
import { customResource } from "../kubernetes/customResource";
import { MeshedCluster } from "../mesh/MeshedCluster";
import {
    defaultDeny, eastWestAllowPolicy, ingressAllowPolicy, PolicyDocument, requestAuthentication, serviceAllowPolicies, TrustDomainOf,
} from "./policies";

export interface MeshAuthorizationArgs {
    /** The cluster's mesh: policies are created through its provider once its istiod's webhook serves. */
    readonly mesh: MeshedCluster;
    /** The declared services: their namespaces, and who may call each. */
    readonly services: readonly ServiceConfig[];
    /** The clouds of the stack, for the identities of services that run everywhere. */
    readonly clouds: readonly ("aws" | "gcp")[];
    /** The trust domain of each cloud's clusters, for the callers' SPIFFE principals. */
    readonly trustDomainOf: TrustDomainOf;
    /** The ingress gateway's hosts, and whether ACME HTTP-01 challenges must reach it. @default - no ingress policy */
    readonly ingress?: { readonly hosts: readonly string[]; readonly acmeChallenges: boolean };
    /** End-user JWT authentication at the edge. @default - none */
    readonly edgeAuth?: EdgeAuthConfig;
    /** Allow the east-west gateway's passthrough traffic (stage 4); false leaves it to the default deny. */
    readonly eastWest: boolean;
}

/**
 * Authorization by identity on one cluster (stage 3): the mesh namespaces with sidecar injection, the mesh-wide
 * default deny, an ALLOW policy per declared service naming its callers' SPIFFE principals, the gateways' own
 * policies, and end-user JWT authentication at the edge.
 */
export class MeshAuthorization extends pulumi.ComponentResource {
    /** Mesh namespaces by name, for other components that create objects in them. */
    readonly namespaces: Record<string, coreV1.Namespace> = {};
    /** The cluster's mesh with these namespaces added, for the layers above. */
    readonly mesh: MeshedCluster;

    constructor(name: string, args: MeshAuthorizationArgs, opts: pulumi.ComponentResourceOptions = {}) {
        super("istio-production:identity:MeshAuthorization", name, {}, opts);
        const { cluster, istiod } = args.mesh;
        const child = { parent: this, provider: cluster.provider };
        for (const ns of [...new Set(args.services.map((s) => s.namespace))].sort()) {
            this.namespaces[ns] = new coreV1.Namespace(`${name}-ns-${ns}`, { metadata: { name: ns, labels: { "istio-injection": "enabled" } } }, { ...child, dependsOn: [istiod] });
        }
        const apply = (doc: PolicyDocument, kind = "AuthorizationPolicy") =>
            customResource(`${name}-${doc.namespace}-${doc.name}`, "security.istio.io/v1", kind, { name: doc.name, namespace: doc.namespace }, { spec: doc.spec },
                { ...child, dependsOn: [istiod, ...(this.namespaces[doc.namespace] ? [this.namespaces[doc.namespace]] : [])] });
        // Gateways first: the default deny would otherwise cut edge and cross-cluster traffic for a moment.
        const gateways = [
            ...(args.ingress ? [apply(ingressAllowPolicy({ hosts: args.ingress.hosts, edgeAuth: args.edgeAuth, acmeChallenges: args.ingress.acmeChallenges }))] : []),
            ...(args.edgeAuth ? [apply(requestAuthentication(args.edgeAuth), "RequestAuthentication")] : []),
            ...(args.eastWest ? [apply(eastWestAllowPolicy())] : []),
        ];
        const services = serviceAllowPolicies(args.services, args.clouds, args.trustDomainOf).map((doc) => apply(doc));
        const deny = defaultDeny();
        customResource(`${name}-${deny.namespace}-${deny.name}`, "security.istio.io/v1", "AuthorizationPolicy", { name: deny.name, namespace: deny.namespace }, { spec: deny.spec },
            { ...child, dependsOn: [istiod, ...gateways, ...services] });
        this.mesh = { cluster, istiod, namespaces: { ...args.mesh.namespaces, ...this.namespaces } };
        this.registerOutputs({ namespaces: this.namespaces, mesh: this.mesh });
    }
}
