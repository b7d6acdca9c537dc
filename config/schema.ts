import { z } from "zod";
import { Capabilities, capabilitiesFor, clusterCountRange, Stage, STAGES } from "./stages";
import { DEFAULT_CHART_VERSIONS } from "./versions";
import { stageGateSchema } from "./stageGate";
import { checkServiceGraph, edgeAuthSchema, serviceSchema } from "./services";
import { checkTraffic, trafficSchema } from "./traffic";
import { checkObservability, observabilitySchema } from "./observability";
import { awsRegion, certificatePem, clusterName, dnsLabel, dnsName, gcpRegion, ipv4Cidr, privateKeyPem, stackName, trustDomain, OFFLINE_SECRET_PLACEHOLDER } from "./primitives";
import { checkDeployRules, GKE_RANGE_DEFAULTS } from "./deployRules";

/**
 * The one schema of a stack's configuration. Every key a stack file may set under `istio-production:` is declared
 * here, with its default; anything else is refused. Cross-field rules run even when some fields are wrong, so a
 * stack file with several mistakes gets all of them in one error.
 */

/** Where a cluster's intermediate CA key lives; the hardware-backed ones each exist on one cloud only. */
export const CA_BACKENDS = ["secret", "aws-private-ca", "google-cas"] as const;
export type CaBackend = (typeof CA_BACKENDS)[number];
const CA_BACKEND_CLOUD: Readonly<Record<string, "aws" | "gcp">> = { "aws-private-ca": "aws", "google-cas": "gcp" };

const gcpProject = z
    .string()
    .regex(/^[a-z][-a-z0-9]{4,28}[a-z0-9]$/, "must be a GCP project ID (6-30 characters, a-z, 0-9, '-')");

const count = (what: string) => z.number().int(`${what} must be a whole number`).min(0, `${what} must be ≥ 0`);

const awsNodes = z
    .strictObject({
        /** EC2 instance type of the managed node group. */
        instanceType: z.string().regex(/^[a-z][a-z0-9-]*\.[a-z0-9]+$/, "must be an EC2 instance type such as m6i.large"),
        minSize: count("minSize"),
        maxSize: count("maxSize").min(1, "maxSize must be ≥ 1"),
        desiredSize: count("desiredSize"),
    })
    .superRefine((n, ctx) => {
        if (!(n.minSize <= n.desiredSize && n.desiredSize <= n.maxSize)) {
            ctx.addIssue({ code: "custom", message: "must satisfy minSize ≤ desiredSize ≤ maxSize" });
        }
    });

const gcpNodes = z
    .strictObject({
        /** Compute Engine machine type of the node pool. */
        machineType: z.string().regex(/^[a-z][a-z0-9]*-[a-z0-9-]+$/, "must be a machine type such as e2-standard-4"),
        /** Per zone, as GKE counts regional node pools. */
        minNodeCount: count("minNodeCount"),
        maxNodeCount: count("maxNodeCount").min(1, "maxNodeCount must be ≥ 1"),
    })
    .superRefine((n, ctx) => {
        if (n.minNodeCount > n.maxNodeCount) {
            ctx.addIssue({ code: "custom", message: "must satisfy minNodeCount ≤ maxNodeCount" });
        }
    });

const clusterCommon = {
    name: clusterName,
    /** The Istio network name of the cluster (`topology.istio.io/network`); one per cluster. */
    network: dnsLabel,
    /** SPIFFE trust domain of the cluster's workload identities. */
    trustDomain,
    /**
     * Where the cluster's intermediate CA key lives (stage 2+). `secret`: a Kubernetes Secret in istio-system, read
     * by a cert-manager CA Issuer. `aws-private-ca` (EKS only): an AWS Private CA subordinate whose key never leaves
     * AWS's HSMs, behind cert-manager's aws-privateca-issuer. `google-cas` (GKE only): a Certificate Authority Service
     * subordinate (HSM-backed key), behind cert-manager's google-cas-issuer. See docs/pki/ca-backends.md.
     * @default "secret"
     */
    caBackend: z.enum(CA_BACKENDS, "must be \"secret\", \"aws-private-ca\" or \"google-cas\"").default("secret"),
};

export const awsClusterSchema = z.strictObject({
    ...clusterCommon,
    cloud: z.literal("aws"),
    region: awsRegion,
    /** Guards against deploying into the wrong account: the AWS provider refuses any other account. */
    accountId: z.string().regex(/^\d{12}$/, "must be a 12-digit AWS account ID").optional(),
    /** EKS Kubernetes version, pinned. @default "1.34" */
    kubernetesVersion: z.string().regex(/^1\.\d{2}$/, "must be an EKS version such as 1.34").default("1.34"),
    /** @default "10.0.0.0/16" */
    vpcCidr: ipv4Cidr.default("10.0.0.0/16"),
    /** Availability zones for subnets and nodes. @default - 3 with highAvailability, else 2 */
    availabilityZones: z.number().int().min(2, "must be at least 2 (EKS needs subnets in two zones)").max(6).optional(),
    /** `public`: the API endpoint is public but limited to operatorCidrs and the peers' egress addresses. @default "public" */
    endpointAccess: z.enum(["public", "private"], "must be \"public\" or \"private\"").default("public"),
    nodes: awsNodes,
});

export const gcpClusterSchema = z.strictObject({
    ...clusterCommon,
    cloud: z.literal("gcp"),
    region: gcpRegion,
    project: gcpProject,
    /** @default "REGULAR" */
    releaseChannel: z.enum(["RAPID", "REGULAR", "STABLE"], "must be RAPID, REGULAR or STABLE").default("REGULAR"),
    /** Node subnet. @default "10.10.0.0/20" */
    subnetCidr: ipv4Cidr.default(GKE_RANGE_DEFAULTS.subnetCidr),
    /** Secondary range for pods. @default "10.20.0.0/14" */
    podsCidr: ipv4Cidr.default(GKE_RANGE_DEFAULTS.podsCidr),
    /** Secondary range for services. @default "10.24.0.0/20" */
    servicesCidr: ipv4Cidr.default(GKE_RANGE_DEFAULTS.servicesCidr),
    /** The control plane's private range; GKE requires a /28. @default "172.16.0.0/28" */
    masterCidr: ipv4Cidr.refine((c) => c.endsWith("/28"), "must be a /28 (GKE's requirement)").default(GKE_RANGE_DEFAULTS.masterCidr),
    /** Reserved Cloud NAT egress addresses. @default - 2 with highAvailability, else 1 */
    natAddresses: z.number().int().min(1).max(8).optional(),
    nodes: gcpNodes,
});

const clusterSchema = z.discriminatedUnion("cloud", [awsClusterSchema, gcpClusterSchema], {
    error: (iss) => (iss.code === "invalid_union" ? "cloud must be \"aws\" or \"gcp\"" : undefined),
});

const exactVersion = (prefix: "v" | "") =>
    z
        .string()
        .regex(
            prefix ? /^v\d+\.\d+\.\d+$/ : /^\d+\.\d+\.\d+$/,
            prefix ? "must be an exact version with a 'v' prefix, such as v1.21.1" : "must be an exact version without a 'v' prefix, such as 1.30.3",
        );

const chartsSchema = z
    .strictObject({
        istio: exactVersion("").default(DEFAULT_CHART_VERSIONS.istio),
        certManager: exactVersion("v").default(DEFAULT_CHART_VERSIONS.certManager),
        istioCsr: exactVersion("v").default(DEFAULT_CHART_VERSIONS.istioCsr),
        approverPolicy: exactVersion("v").default(DEFAULT_CHART_VERSIONS.approverPolicy),
        awsPrivateCaIssuer: exactVersion("v").default(DEFAULT_CHART_VERSIONS.awsPrivateCaIssuer),
        googleCasIssuer: exactVersion("v").default(DEFAULT_CHART_VERSIONS.googleCasIssuer),
        awsLoadBalancerController: exactVersion("").default(DEFAULT_CHART_VERSIONS.awsLoadBalancerController),
        prometheus: exactVersion("").default(DEFAULT_CHART_VERSIONS.prometheus),
        kiali: exactVersion("").default(DEFAULT_CHART_VERSIONS.kiali),
    })
    .default({ ...DEFAULT_CHART_VERSIONS });

/** Where a mesh stack gets its root bundle and its clusters' intermediates. */
const pkiSourceSchema = z.discriminatedUnion(
    "source",
    [
        /** Read from the environment's pki stack (`<org>/<project>/pki-<environment>`) with a StackReference (shared backend). */
        z.strictObject({ source: z.literal("stack"), stack: stackName }),
        /** Air gap: the pki stack's export command printed `pulumi config set --secret` lines for this stack. */
        z.strictObject({ source: z.literal("config") }),
    ],
    { error: (iss) => (iss.code === "invalid_union" ? "source must be \"stack\" or \"config\"" : undefined) },
);

/** The public DNS zone that holds the ingress hosts, where cert-manager writes ACME DNS-01 challenges. */
const dnsZoneSchema = z.discriminatedUnion("provider", [
    /** Route 53: EKS clusters write with their cert-manager's Pod Identity, GKE clusters by web identity federation. */
    z.strictObject({ provider: z.literal("route53"), hostedZoneId: z.string().regex(/^Z[A-Z0-9]{1,32}$/, "must be a Route 53 hosted zone ID such as Z0123456789ABCDEFGHIJ") }),
    /** Cloud DNS: GKE clusters write with their cert-manager's Workload Identity; EKS clusters cannot (refused). */
    z.strictObject({
        provider: z.literal("cloudDns"),
        project: gcpProject,
        managedZone: z.string().regex(/^[a-z][-a-z0-9]{0,62}$/, "must be a Cloud DNS managed zone name such as acme-example"),
    }),
], { error: (iss) => (iss.code === "invalid_union" ? "provider must be \"route53\" or \"cloudDns\"" : undefined) });

/** The ingress gateway's TLS: names it serves and who issues the certificate. */
const ingressSchema = z.strictObject({
    hosts: z.array(dnsName).min(1, "must list at least one host"),
    /** `acme`: public names from an ACME CA. `private`: the cluster's intermediate. @default "acme" */
    issuer: z.enum(["acme", "private"], "must be \"acme\" or \"private\"").default("acme"),
    /** ACME account e-mail (expiry notices). Required with `issuer: acme`. */
    acmeEmail: z.email("must be an e-mail address").optional(),
    /** @default "https://acme-v02.api.letsencrypt.org/directory" */
    acmeServer: z.url({ protocol: /^https$/, error: "must be an https URL" }).default("https://acme-v02.api.letsencrypt.org/directory"),
    /**
     * How the ACME CA validates the hosts. `dns01`: a TXT record in `dnsZone`, written by every cluster's cert-manager
     * with its cloud identity. `http01`: through the ingress gateway, for one cluster and no wildcard host only.
     * @default "dns01"
     */
    acmeChallenge: z.enum(["dns01", "http01"], "must be \"dns01\" or \"http01\"").default("dns01"),
    /** With `acmeChallenge: dns01`: the zone that holds the hosts. */
    dnsZone: dnsZoneSchema.optional(),
});

/** Workload identities and images. */
export const meshSettingsSchema = z.strictObject({
    /** Longest workload certificate istio-csr issues (and approver-policy allows). @default 60 */
    workloadCertificateTtlMinutes: z.number().int().min(10, "must be at least 10").max(60, "must be at most 60 (one hour)").default(60),
    /** Key algorithm of proxies, istiod and istio-csr serving certificates. @default "ECDSA" (P-256) */
    keyAlgorithm: z.enum(["ECDSA", "RSA"], "must be \"ECDSA\" or \"RSA\"").default("ECDSA"),
    /** Image registry of Istio, e.g. a vendor's FIPS builds. @default "docker.io/istio" */
    istioHub: z.string().regex(/^[a-z0-9.-]+(:\d+)?(\/[a-z0-9._-]+)*$/, "must be an image registry path such as docker.io/istio").default("docker.io/istio"),
    /** Istio image tag. @default - the Istio chart version */
    istioTag: z.string().regex(/^[\w][\w.-]{0,127}$/, "must be an image tag").optional(),
    /** During a trust-domain migration only (docs/trust-domain-migration.md): old trust domains treated as this one. @default [] */
    trustDomainAliases: z.array(trustDomain).default([]),
    /**
     * `REGISTRY_ONLY`: workloads reach only services the mesh knows (add ServiceEntries for external APIs).
     * `ALLOW_ANY`: anything, as Istio does by default. @default "REGISTRY_ONLY"
     */
    outboundTrafficPolicy: z.enum(["REGISTRY_ONLY", "ALLOW_ANY"], "must be REGISTRY_ONLY or ALLOW_ANY").default("REGISTRY_ONLY"),
}).default({ workloadCertificateTtlMinutes: 60, keyAlgorithm: "ECDSA", istioHub: "docker.io/istio", trustDomainAliases: [], outboundTrafficPolicy: "REGISTRY_ONLY" });

/** Stage 4+: how clusters join one mesh. */
const multiClusterSchema = z.strictObject({
    /** Bump to rotate every remote-secret token: new tokens are created, remote secrets repointed, old tokens deleted. @default 1 */
    remoteSecretEpoch: z.number().int().min(1, "must be ≥ 1").default(1),
    /** Also expose istiod (15012) and its webhook (15017) on the east-west gateway, for primary-remote setups. @default false */
    exposeIstiod: z.boolean().default(false),
    /** Deploy an echo service per cluster and a Job that calls every other cluster through the mesh; `pulumi up` fails if mTLS or discovery is broken. @default false */
    verification: z.boolean().default(false),
}).default({ remoteSecretEpoch: 1, exposeIstiod: false, verification: false });

export const meshConfigSchema = z
    .strictObject({
        role: z.literal("mesh").default("mesh"),
        /** The environment this stack deploys (dev, staging, prod, ...). */
        environment: dnsLabel,
        stage: z.number("must be a whole number, 1 to 5").int("must be a whole number, 1 to 5").refine((n): n is Stage => (STAGES as readonly number[]).includes(n), "must be 1, 2, 3, 4 or 5"),
        /** Istio mesh ID, the same on every cluster of the mesh. */
        meshId: dnsLabel,
        clusters: z.array(clusterSchema).min(1, "must list at least one cluster"),
        charts: chartsSchema,
        pki: pkiSourceSchema.optional(),
        /** `pki.source: config` only: the environment's root certificates, in bundle order (printed by `npm run pki:export`). */
        trustBundle: z.array(certificatePem).min(1, "must list at least one root certificate").optional(),
        /** `pki.source: config` only, set with `--secret`: per cluster, its intermediate certificate and key. */
        intermediates: z.union([
            // No key for a cluster whose key lives in its managed CA (caBackend aws-private-ca | google-cas): the pki
            // stack signed that CA's CSR, and the certificate is all it hands off.
            z.record(clusterName, z.strictObject({ certPem: certificatePem, keyPem: privateKeyPem.optional() })),
            // The offline plan's stand-in for the encrypted value: judged at `pulumi preview`, which decrypts it.
            z.literal(OFFLINE_SECRET_PLACEHOLDER),
        ]).optional(),
        /** CIDRs allowed to reach cluster API servers and operator endpoints. */
        operatorCidrs: z.array(ipv4Cidr).min(1, "must list at least one CIDR"),
        /** TLS for the ingress gateway; without it the gateway serves no host. */
        ingress: ingressSchema.optional(),
        mesh: meshSettingsSchema,
        multiCluster: multiClusterSchema,
        /** The declared service graph: authorization is generated from it from stage 3. @default - no services */
        services: z.array(serviceSchema).default([]),
        /** Stage 4: releases, resilience, rate limits and fault injection for the declared services. */
        traffic: trafficSchema,
        /** Stage 4: metrics, alerts, Kiali, access logs and tracing. */
        observability: observabilitySchema,
        /** End-user JWT authentication at the ingress gateway (stage 3). */
        edgeAuth: edgeAuthSchema.optional(),
        /** Where the previous stage is read from, and one-update overrides of the one-stage-at-a-time rule. */
        stageGate: stageGateSchema,
        /** Replicas, PodDisruptionBudgets and zone spread for every control-plane component. */
        highAvailability: z.boolean().default(false),
        /** `protect` on clusters, KMS keys and CA material. */
        protectResources: z.boolean().default(false),
    })
    .superRefine(meshCrossFieldRules, { when: () => true });

type MeshInput = Partial<Record<keyof z.input<typeof meshConfigSchema>, unknown>>;

/** Rules between fields. They read the raw input defensively: they run even when other fields failed. */
function meshCrossFieldRules(raw: unknown, ctx: z.RefinementCtx): void {
    const cfg = (raw ?? {}) as MeshInput;
    const clusters = Array.isArray(cfg.clusters) ? (cfg.clusters as Array<Record<string, unknown>>) : [];
    const stage = (STAGES as readonly unknown[]).includes(cfg.stage) ? (cfg.stage as Stage) : undefined;

    for (const field of ["name", "network"] as const) {
        const seen = new Map<unknown, number>();
        clusters.forEach((c, i) => {
            const v = c?.[field];
            if (typeof v !== "string") return;
            if (seen.has(v)) {
                ctx.addIssue({ code: "custom", path: ["clusters", i, field], input: v,
                    message: `must be unique; clusters[${seen.get(v)}] already uses it` });
            } else {
                seen.set(v, i);
            }
        });
    }

    if (stage === undefined) return;
    const caps = capabilitiesFor(stage);
    const { min, max } = clusterCountRange(stage);
    if (Array.isArray(cfg.clusters) && (clusters.length < min || clusters.length > max)) {
        const want = max === Infinity ? `at least ${min}` : `exactly ${min}`;
        ctx.addIssue({ code: "custom", path: ["clusters"], input: `${clusters.length} clusters`,
            message: `stage ${stage} runs ${want} cluster${min === 1 && max === 1 ? "" : "s"} (multi-cluster starts at stage 4)` });
    }
    const clouds = new Set(clusters.map((c) => c?.cloud).filter((c) => c === "aws" || c === "gcp"));
    if (caps.multiCloud && clusters.length > 0 && clouds.size < 2) {
        ctx.addIssue({ code: "custom", path: ["clusters"], input: [...clouds].join(","),
            message: "stage 5 needs clusters on both clouds (aws and gcp)" });
    }
    if (!caps.multiCloud && clouds.size > 1) {
        ctx.addIssue({ code: "custom", path: ["clusters"], input: [...clouds].join(","),
            message: `stage ${stage} runs on one cloud; clusters on both clouds need stage 5` });
    }
    checkTrustDomains(clusters, caps.trustDomainPerCloud, ctx);
    if (cfg.highAvailability === true) {
        clusters.forEach((c, i) => {
            if (c?.cloud === "aws" && typeof c.availabilityZones === "number" && c.availabilityZones < 3) {
                ctx.addIssue({ code: "custom", path: ["clusters", i, "availabilityZones"], input: c.availabilityZones,
                    message: "highAvailability needs at least 3 availability zones" });
            }
        });
    }
    checkPkiSource(cfg, clusters, ctx);
    checkCaBackends(cfg, clusters, ctx);
    checkDeployRules(cfg, clusters, caps, ctx);
    checkServiceGraph(cfg.services, ctx);
    checkTraffic(cfg.traffic, cfg.services, ctx);
    checkObservability(cfg.observability, { clusters, enabled: caps.observability, environment: cfg.environment, edgeAuth: cfg.edgeAuth }, ctx);
    // An alias for another cloud's trust domain would make aws/ns/x/sa/y and gcp/ns/x/sa/y the same principal.
    const aliases = (cfg.mesh as { trustDomainAliases?: unknown } | undefined)?.trustDomainAliases;
    const domains = new Set(clusters.map((c) => c?.trustDomain));
    (Array.isArray(aliases) ? aliases : []).forEach((a, i) => {
        if (domains.has(a)) ctx.addIssue({ code: "custom", path: ["mesh", "trustDomainAliases", i], input: a, message: "is the trust domain of a cluster of this mesh: aliasing it erases the boundary between trust domains; aliases are for migrating away from an old trust domain only" });
    });
    if (cfg.edgeAuth !== undefined && cfg.ingress === undefined) {
        ctx.addIssue({ code: "custom", path: ["edgeAuth"], input: "(set)", message: "needs ingress: end users reach the mesh through the ingress gateway" });
    }
    const ingress = cfg.ingress as { issuer?: unknown; acmeEmail?: unknown } | undefined;
    if (ingress && (ingress.issuer ?? "acme") === "acme" && ingress.acmeEmail === undefined) {
        ctx.addIssue({ code: "custom", path: ["ingress", "acmeEmail"], input: undefined, message: "is required with issuer: acme (the ACME account's contact)" });
    }
    checkAcmeChallenge(cfg.ingress, clusters, ctx);
    if (ingress?.issuer === "private" && !caps.enterpriseMeshCa) {
        ctx.addIssue({ code: "custom", path: ["ingress", "issuer"], input: "private", message: `the private CA (the cluster's intermediate) exists from stage 2; stage ${stage} can only use acme` });
    }
    if (caps.enterpriseMeshCa && cfg.pki === undefined) {
        ctx.addIssue({ code: "custom", path: ["pki"], input: undefined,
            message: `stage ${stage} anchors identities in the offline root: set where the PKI comes from ({source: stack, stack: <org>/istio-production/pki-${String(cfg.environment)}} or {source: config})` });
    }
}

/**
 * ACME challenges only where they can succeed. HTTP-01: the CA fetches the token from whichever cluster the host's
 * DNS answers with, while each cluster places its own order, and ACME CAs refuse it for wildcard names (RFC 8555
 * §8.3; Let's Encrypt). DNS-01: every cluster's cert-manager needs write access to the zone with its own identity:
 * cert-manager v1.21.1's Cloud DNS solver takes only a key file or ambient Google credentials
 * (pkg/issuer/acme/dns/clouddns/clouddns.go `NewDNSProvider`), which EKS has not; its Route 53 solver takes a
 * Kubernetes service account token for AssumeRoleWithWebIdentity (pkg/issuer/acme/dns/dns.go), which GKE has, with
 * the role in the account of the stack's EKS clusters.
 */
function checkAcmeChallenge(raw: unknown, clusters: Array<Record<string, unknown>>, ctx: z.RefinementCtx): void {
    const ingress = raw as { issuer?: unknown; acmeChallenge?: unknown; dnsZone?: { provider?: unknown }; hosts?: unknown } | undefined;
    // An issuer or challenge that is no valid choice is refused on its own; what depends on the choice is not judged.
    if (!ingress || ![undefined, "acme", "private"].includes(ingress.issuer as string) || ![undefined, "dns01", "http01"].includes(ingress.acmeChallenge as string)) return;
    const acme = (ingress.issuer ?? "acme") === "acme";
    const challenge = ingress.acmeChallenge ?? "dns01";
    if (!acme || challenge !== "dns01") {
        if (ingress.dnsZone !== undefined) ctx.addIssue({ code: "custom", path: ["ingress", "dnsZone"], input: "(set)", message: "is only read with issuer: acme and acmeChallenge: dns01" });
    }
    if (!acme) return;
    if (challenge === "http01") {
        if (clusters.length > 1) {
            ctx.addIssue({ code: "custom", path: ["ingress", "acmeChallenge"], input: "http01",
                message: `${clusters.length} clusters serve these hosts: each places its own order and the ACME CA fetches the token from whichever cluster DNS answers with; use dns01` });
        }
        (Array.isArray(ingress.hosts) ? ingress.hosts : []).forEach((h, i) => {
            if (typeof h === "string" && h.startsWith("*.")) {
                ctx.addIssue({ code: "custom", path: ["ingress", "hosts", i], input: h, message: "is a wildcard name, which ACME CAs validate only by DNS-01; use acmeChallenge: dns01" });
            }
        });
        return;
    }
    const zone = ingress.dnsZone?.provider;
    if (zone === undefined) {
        ctx.addIssue({ code: "custom", path: ["ingress", "dnsZone"], input: undefined, message: "is required with acmeChallenge: dns01 (the default): the Route 53 or Cloud DNS zone that holds the hosts" });
        return;
    }
    const onCloud = (cloud: string) => clusters.filter((c) => c?.cloud === cloud).map((c) => String(c.name));
    if (zone === "cloudDns" && onCloud("aws").length > 0) {
        ctx.addIssue({ code: "custom", path: ["ingress", "dnsZone", "provider"], input: "cloudDns",
            message: `EKS clusters ${onCloud("aws").join(", ")} cannot write to Cloud DNS: cert-manager's Cloud DNS solver takes a key file or ambient Google credentials only; keep the zone in Route 53 (EKS through Pod Identity, GKE through web identity federation)` });
    }
    if (zone === "route53" && onCloud("gcp").length > 0 && onCloud("aws").length === 0) {
        ctx.addIssue({ code: "custom", path: ["ingress", "dnsZone", "provider"], input: "route53",
            message: `GKE clusters ${onCloud("gcp").join(", ")} assume a role in the account of the stack's EKS clusters, and the stack has none; use a Cloud DNS zone` });
    }
}

/** Handed-off PKI material comes from exactly one place: the pki stack's outputs or this stack's config. */
function checkPkiSource(cfg: MeshInput, clusters: Array<Record<string, unknown>>, ctx: z.RefinementCtx): void {
    const source = (cfg.pki as { source?: unknown } | undefined)?.source;
    if (source === "config") {
        if (cfg.trustBundle === undefined) {
            ctx.addIssue({ code: "custom", path: ["trustBundle"], input: undefined, message: "pki.source is config: set the root certificates (npm run pki:export prints the command)" });
        }
        const given = typeof cfg.intermediates === "object" && cfg.intermediates !== null ? Object.keys(cfg.intermediates) : [];
        for (const [i, c] of clusters.entries()) {
            if (typeof c?.name === "string" && !given.includes(c.name) && cfg.intermediates !== OFFLINE_SECRET_PLACEHOLDER) {
                ctx.addIssue({ code: "custom", path: ["intermediates", c.name], input: undefined,
                    message: `pki.source is config: clusters[${i}] needs its intermediate (npm run pki:export prints the command)` });
            }
        }
    } else {
        // Checked before anything is read: a StackReference copies every output of the stack it reads, keys included.
        const stack = (cfg.pki as { stack?: unknown } | undefined)?.stack;
        const own = `pki-${String(cfg.environment)}`;
        // The whole name: a stack named pki-<environment> in another project is not this environment's pki stack
        // either; that the project is another one, the name's own check says (stackName).
        const name = typeof stack === "string" ? stack.split("/")[2] : undefined;
        if (source === "stack" && typeof stack === "string" && typeof cfg.environment === "string" && name !== own) {
            ctx.addIssue({ code: "custom", path: ["pki", "stack"], input: stack,
                message: `must be this environment's pki stack, <org>/istio-production/${own}: a mesh stack reads no other environment's key material` });
        }
        for (const key of ["trustBundle", "intermediates"] as const) {
            if (cfg[key] !== undefined) ctx.addIssue({ code: "custom", path: [key], input: "(set)", message: "is only read when pki.source is config" });
        }
    }
}

/**
 * A hardware-backed backend only on its own cloud: aws-privateca-issuer v1.9.0 reaches AWS Private CA with the AWS
 * SDK's default credentials (Pod Identity on EKS), google-cas-issuer v0.12.0 reaches CAS with Google's application
 * default credentials (Workload Identity on GKE); neither has a federation path from the other cloud that this
 * program sets up, and each managed CA is billed and audited in the cloud account of its cluster.
 */
function checkCaBackends(cfg: MeshInput, clusters: Array<Record<string, unknown>>, ctx: z.RefinementCtx): void {
    clusters.forEach((c, i) => {
        const backend = c?.caBackend;
        if (typeof backend !== "string" || backend === "secret") return;
        const cloud = CA_BACKEND_CLOUD[backend];
        if (cloud !== undefined && c.cloud !== cloud) {
            ctx.addIssue({ code: "custom", path: ["clusters", i, "caBackend"], input: backend,
                message: `${backend} serves ${cloud === "aws" ? "EKS" : "GKE"} clusters only, and clusters[${i}] runs on ${String(c.cloud)}: use ${c.cloud === "aws" ? "aws-private-ca" : "google-cas"} or secret` });
        }
        if ((cfg.ingress as { issuer?: unknown } | undefined)?.issuer === "private") {
            // The private ingress issuer is the intermediate as a CA ClusterIssuer: a managed CA has no key to put there.
            ctx.addIssue({ code: "custom", path: ["clusters", i, "caBackend"], input: backend,
                message: "cannot serve ingress.issuer private, which signs with the intermediate's key in a ClusterIssuer: a managed CA's key never leaves its HSM; use ingress.issuer acme, or caBackend secret outside production" });
        }
    });
    // From config (an air gap or an ESC hand-off), a cluster on the secret backend needs the key the pki stack made.
    const given = cfg.intermediates;
    if ((cfg.pki as { source?: unknown } | undefined)?.source !== "config" || typeof given !== "object" || given === null) return;
    clusters.forEach((c, i) => {
        const entry = typeof c?.name === "string" ? (given as Record<string, { keyPem?: unknown } | undefined>)[c.name] : undefined;
        if (entry && typeof entry === "object" && entry.keyPem === undefined && (c.caBackend ?? "secret") === "secret") {
            ctx.addIssue({ code: "custom", path: ["clusters", i, "caBackend"], input: "secret",
                message: `is handed no key in intermediates.${String(c.name)}: its pki stack signed a managed CA's CSR for it; set caBackend to ${c.cloud === "gcp" ? "google-cas" : "aws-private-ca"}, or have the pki stack make its key again` });
        }
    });
}

/** One trust domain per cloud at stage 5, one for the whole mesh before that: identities never differ by cluster. */
function checkTrustDomains(clusters: Array<Record<string, unknown>>, perCloud: boolean, ctx: z.RefinementCtx): void {
    const first = new Map<string, { td: unknown; index: number }>();
    clusters.forEach((c, i) => {
        if (typeof c?.trustDomain !== "string") return;
        const scope = perCloud ? String(c.cloud) : "mesh";
        const seen = first.get(scope);
        if (!seen) {
            first.set(scope, { td: c.trustDomain, index: i });
        } else if (seen.td !== c.trustDomain) {
            ctx.addIssue({ code: "custom", path: ["clusters", i, "trustDomain"], input: c.trustDomain,
                message: perCloud
                    ? `clusters on ${scope} share one trust domain; clusters[${seen.index}] uses "${seen.td}"`
                    : `all clusters share one trust domain before stage 5; clusters[${seen.index}] uses "${seen.td}"` });
        }
    });
    // At stage 5 the trust domain is the boundary between clouds: one name for both would erase it.
    const [aws, gcp] = [first.get("aws"), first.get("gcp")];
    if (perCloud && aws && gcp && aws.td === gcp.td) {
        ctx.addIssue({ code: "custom", path: ["clusters", gcp.index, "trustDomain"], input: gcp.td,
            message: `is also the trust domain of the aws clusters (clusters[${aws.index}]): at stage 5 each cloud has its own, the boundary authorization checks; use e.g. gcp.<environment>.<your domain> here and aws.<environment>.<your domain> there (docs/trust-domain-migration.md)` });
    }
}

export type MeshConfig = z.output<typeof meshConfigSchema>;
/**
 * The `mesh` settings, as parsed: one object from the stack file to the istiod and istio-csr values and the mesh CA's
 * approval policies.
 */
export type MeshSettings = z.output<typeof meshSettingsSchema>;
/** The `ingress` settings, as parsed: one object from the stack file to the ingress gateway's certificate and server. */
export type IngressConfig = z.output<typeof ingressSchema>;
/** The `multiCluster` settings, as parsed: one object from the stack file to the east-west gateway's values. */
export type MultiClusterConfig = z.output<typeof multiClusterSchema>;
export type ClusterConfig = MeshConfig["clusters"][number];
export type AwsClusterConfig = Extract<ClusterConfig, { cloud: "aws" }>;
export type GcpClusterConfig = Extract<ClusterConfig, { cloud: "gcp" }>;

/**
 * What a stack builds: its stage's capabilities, less those its config leaves nothing to build with (end-user
 * authentication needs `edgeAuth`), so the stack's outputs never claim what is not there.
 */
export function builtCapabilities(config: MeshConfig): Capabilities {
    const caps = capabilitiesFor(config.stage);
    return { ...caps, endUserAuthentication: caps.endUserAuthentication && config.edgeAuth !== undefined };
}
