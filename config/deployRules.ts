import { z } from "zod";
import { longestVpcPrefix } from "../components/cloud/aws/subnets";
import { CLUSTER_SERVICE_ACCOUNT_IDS } from "../components/cloud/gcp/names";
import { coversInternet, overlaps, publicAddresses, Range, rangeOf } from "./cidrs";
import { CONFIG_NAMESPACE } from "./primitives";
import { AWS_REGIONS, awsZoneCount } from "./regions";
import { Capabilities } from "./stages";

/**
 * Rules between fields that each look right alone but fail a real deploy, or deploy something weaker than asked:
 * the provider would refuse them halfway through an update, or the mesh would silently lose a boundary. They read the
 * raw input defensively, like every cross-field rule, so they run even when other fields are wrong.
 */

type Raw = Record<string, unknown>;

/** The defaults of a GKE cluster's ranges, shared with the schema so the overlap rule sees what GKE will get. */
export const GKE_RANGE_DEFAULTS = {
    subnetCidr: "10.10.0.0/20",
    podsCidr: "10.20.0.0/14",
    servicesCidr: "10.24.0.0/20",
    masterCidr: "172.16.0.0/28",
} as const;

const AWS_DEFAULT_VPC = "10.0.0.0/16";
// Amazon VPC: "The allowed block size is between a /16 netmask (65,536 IP addresses) and /28 netmask" (VPC CIDR blocks).
const LARGEST_VPC_PREFIX = 16;

/** The environment the platform-baseline pack holds to production rules (its `productionStacks` default). */
export const PRODUCTION_ENVIRONMENT = "prod";

export function checkDeployRules(cfg: Raw, clusters: readonly Raw[], caps: Capabilities | undefined, ctx: z.RefinementCtx): void {
    checkClusterRanges(clusters, cfg.highAvailability === true, ctx);
    checkServiceAccountIds(clusters, ctx);
    checkOperatorCidrs(cfg.operatorCidrs, ctx);
    checkServiceClouds(cfg.services, clusters, ctx);
    checkProduction(cfg, ctx);
    if (caps && !caps.endUserAuthentication && cfg.edgeAuth !== undefined) {
        ctx.addIssue({ code: "custom", path: ["edgeAuth"], input: "(set)",
            message: "end-user authentication is applied from stage 3; at this stage nothing would check tokens: remove edgeAuth, or raise the stage to 3" });
    }
}

/** Each cluster's own ranges fit what the cloud accepts and do not collide. */
function checkClusterRanges(clusters: readonly Raw[], highAvailability: boolean, ctx: z.RefinementCtx): void {
    clusters.forEach((c, i) => {
        if (c?.cloud === "aws") {
            const cidr = c.vpcCidr ?? AWS_DEFAULT_VPC;
            const range = rangeOf(cidr);
            const zones = typeof c.availabilityZones === "number" ? c.availabilityZones : highAvailability ? 3 : 2;
            const prefix = Number(String(cidr).split("/")[1]);
            checkZones(c, i, zones, ctx);
            if (!range) return;
            if (prefix < LARGEST_VPC_PREFIX) {
                ctx.addIssue({ code: "custom", path: ["clusters", i, "vpcCidr"], input: cidr, message: `is larger than AWS allows for a VPC: use a /${LARGEST_VPC_PREFIX} to /${longestVpcPrefix(zones)}` });
            } else if (prefix > longestVpcPrefix(zones)) {
                ctx.addIssue({ code: "custom", path: ["clusters", i, "vpcCidr"], input: cidr,
                    message: `is too small for ${zones} availability zones (a private and a public subnet in each, none smaller than AWS's /28): use a /${longestVpcPrefix(zones)} or larger` });
            }
        }
        if (c?.cloud === "gcp") {
            // GKE refuses a cluster whose node subnet, pod and service ranges and control-plane range overlap.
            const keys = ["subnetCidr", "podsCidr", "servicesCidr", "masterCidr"] as const;
            const ranges = keys.map((k) => ({ key: k, cidr: c[k] ?? GKE_RANGE_DEFAULTS[k], range: rangeOf(c[k] ?? GKE_RANGE_DEFAULTS[k]) }));
            ranges.forEach((r, j) => {
                const clash = ranges.slice(0, j).find((o) => r.range && o.range && overlaps(r.range, o.range));
                if (clash) {
                    ctx.addIssue({ code: "custom", path: ["clusters", i, r.key], input: r.cidr,
                        message: `overlaps ${clash.key} (${clash.cidr}): GKE needs the node subnet, pod, service and control-plane ranges apart; pick a range outside it` });
                }
            });
        }
    });
}

/** A cluster spreads over no more zones than its region gives an account. */
function checkZones(c: Raw, i: number, zones: number, ctx: z.RefinementCtx): void {
    if (typeof c.region !== "string" || !AWS_REGIONS.includes(c.region)) return;
    const has = awsZoneCount(c.region);
    if (zones <= has) return;
    if (typeof c.availabilityZones === "number") {
        ctx.addIssue({ code: "custom", path: ["clusters", i, "availabilityZones"], input: c.availabilityZones,
            message: `is more than the ${has} availability zones ${c.region} gives an account: use at most ${has}, or a region with more zones` });
    } else {
        ctx.addIssue({ code: "custom", path: ["clusters", i, "region"], input: c.region,
            message: `gives an account ${has} availability zones, and highAvailability spreads the cluster over ${zones}: pick a region with ${zones} or more` });
    }
}

/**
 * Service account ids are unique within a project. The program names each cluster's accounts with its own functions,
 * whose hash keeps long names that share a prefix apart; what can still meet is a name that fits whole and reads like
 * another's shortened one (`<cut>-<hash>-<suffix>`). Every id is checked, whether or not the stack makes that account
 * today: a later change (a Cloud DNS zone for DNS-01) must not be what makes two clusters collide.
 */
function checkServiceAccountIds(clusters: readonly Raw[], ctx: z.RefinementCtx): void {
    const seen = new Map<string, number>();
    clusters.forEach((c, i) => {
        if (c?.cloud !== "gcp" || typeof c.name !== "string" || typeof c.project !== "string") return;
        for (const { account, idOf } of CLUSTER_SERVICE_ACCOUNT_IDS) {
            const id = idOf(c.name);
            const first = seen.get(`${c.project}/${id}`);
            if (first === undefined) {
                seen.set(`${c.project}/${id}`, i);
                continue;
            }
            ctx.addIssue({ code: "custom", path: ["clusters", i, "name"], input: c.name,
                message: `would get the ${account} service account "${id}" that clusters[${first}].name gets in project ${c.project} (service account ids are at most 30 characters, longer names are cut and hashed): rename one of them` });
            return;
        }
    });
}

// What an allow-list of operators' ranges (offices, VPNs, CI egress) may admit: no range wider than a /8, the largest
// block IANA ever allocated to one organisation (RFC 1466 era class A), and no more public addresses in all than
// one /8 holds. Wider is an opening to a large part of the internet, whatever its spelling.
const WIDEST_OPERATOR_PREFIX = 8;
const MOST_OPERATOR_ADDRESSES = 2 ** (32 - WIDEST_OPERATOR_PREFIX);
const OPERATOR_FIX = "list the operators' own ranges (office, VPN, CI egress)";

function checkOperatorCidrs(cidrs: unknown, ctx: z.RefinementCtx): void {
    if (!Array.isArray(cidrs)) return;
    const ranges = cidrs.map(rangeOf);
    ranges.forEach((r, j) => {
        const prefix = Number(String(cidrs[j]).split("/")[1]);
        // A single 0.0.0.0/0 is refused by the CIDR itself.
        if (r && prefix > 0 && prefix < WIDEST_OPERATOR_PREFIX && publicAddresses([r]) > 0) {
            ctx.addIssue({ code: "custom", path: ["operatorCidrs", j], input: cidrs[j],
                message: `admits ${publicAddresses([r]).toLocaleString("en")} internet addresses, wider than a /${WIDEST_OPERATOR_PREFIX}, which is no operator's range: ${OPERATOR_FIX}` });
        }
    });
    const valid = ranges.filter((r): r is Range => r !== undefined);
    if (valid.length !== cidrs.length || valid.length < 2) return;
    if (coversInternet(valid)) {
        ctx.addIssue({ code: "custom", path: ["operatorCidrs"], input: cidrs,
            message: `together admit every address on the internet, which is no allow-list: ${OPERATOR_FIX}` });
    } else if (publicAddresses(valid) > MOST_OPERATOR_ADDRESSES) {
        ctx.addIssue({ code: "custom", path: ["operatorCidrs"], input: cidrs,
            message: `together admit ${publicAddresses(valid).toLocaleString("en")} internet addresses, more than the ${MOST_OPERATOR_ADDRESSES.toLocaleString("en")} of a /${WIDEST_OPERATOR_PREFIX} an allow-list may: ${OPERATOR_FIX}` });
    }
}

/** A service limited to clouds the stack does not have would have no identity, and its callers an empty principal list. */
function checkServiceClouds(services: unknown, clusters: readonly Raw[], ctx: z.RefinementCtx): void {
    const clouds = new Set(clusters.map((c) => c?.cloud).filter((c) => c === "aws" || c === "gcp"));
    if (!Array.isArray(services) || clouds.size === 0) return;
    services.forEach((s, i) => {
        const limited = (s as { clouds?: unknown })?.clouds;
        if (Array.isArray(limited) && limited.length > 0 && !limited.some((c) => clouds.has(c))) {
            ctx.addIssue({ code: "custom", path: ["services", i, "clouds"], input: limited,
                message: `names no cloud of this stack (${[...clouds].join(", ")}): the service would have no identity and every call to it would be denied; list a cloud it runs on, or remove clouds` });
        }
    });
}

/** Production is refused at the gate, naming the key, rather than by a policy violation per resource that never names it. */
function checkProduction(cfg: Raw, ctx: z.RefinementCtx): void {
    if (cfg.environment !== PRODUCTION_ENVIRONMENT) return;
    const owed = {
        highAvailability: "replicas, PodDisruptionBudgets and zone spread for the control plane (the platform-baseline pack's production-high-availability)",
        protectResources: "protect on clusters, KMS keys and CA material, so one pulumi up or destroy cannot delete them (the platform-baseline pack's protect-in-production)",
    } as const;
    for (const [key, why] of Object.entries(owed)) {
        if (cfg[key] !== true) {
            ctx.addIssue({ code: "custom", path: [key], input: cfg[key],
                message: `must be true in environment ${PRODUCTION_ENVIRONMENT}, which needs ${why}: pulumi config set ${CONFIG_NAMESPACE}:${key} true` });
        }
    }
}
