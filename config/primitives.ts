import { z } from "zod";
import { closest } from "./closest";
import { opaqueValues, secretValues } from "./redaction";
import { AWS_REGIONS, GCP_REGIONS } from "./regions";

/** Value types shared by the mesh and pki schemas. */

/** The project's config namespace, which is the project's name: keys in stack files read `istio-production:<key>`. */
export const CONFIG_NAMESPACE = "istio-production";

// Cluster names end up in GKE cluster names (≤ 40 characters, starting with a letter), AWS resource names and
// Kubernetes labels, so they are the strictest of the three.
export const clusterName = z
    .string()
    .max(40, "must be at most 40 characters (GKE's limit)")
    .regex(/^[a-z]([-a-z0-9]*[a-z0-9])?$/, "must be a DNS-1123 label starting with a letter (a-z, 0-9, '-')");

/** A region of the given cloud; the other cloud's spelling, and near misses, are named as such. */
const region = (cloud: "aws" | "gcp") => z.string().superRefine((r, ctx) => {
    const [own, other] = cloud === "aws" ? [AWS_REGIONS, GCP_REGIONS] : [GCP_REGIONS, AWS_REGIONS];
    if (own.includes(r)) return;
    const [name, otherName] = cloud === "aws" ? ["an AWS", "a GCP"] : ["a GCP", "an AWS"];
    const meant = closest(r, own);
    ctx.addIssue({ code: "custom", message: other.includes(r) ? `is ${otherName} region, not ${name} region` : `is not ${name} region`,
        params: { hint: meant ? `did you mean ${meant}?` : `${cloud} regions read like ${cloud === "aws" ? "eu-west-1" : "europe-west4"} (config/regions.ts lists them)` } });
});
export const awsRegion = region("aws");
export const gcpRegion = region("gcp");

/** A Kubernetes object name (DNS subdomain), e.g. of a Secret. */
export const kubernetesName = z.string().max(253, "must be at most 253 characters")
    .regex(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/, "must be a Kubernetes object name (a-z, 0-9, '-', '.')");

export const dnsLabel = z
    .string()
    .max(63, "must be at most 63 characters")
    .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, "must be a DNS-1123 label (a-z, 0-9, '-')");

export const dnsName = z.string().max(253).regex(/^(\*\.)?([a-z0-9]([-a-z0-9]*[a-z0-9])?\.)+[a-z]{2,63}$/, "must be a lowercase DNS name such as shop.example.com");

// SPIFFE trust domain names: lowercase letters, digits, '.', '-', '_' (SPIFFE-ID spec §2.1), and no scheme or path.
export const trustDomain = z
    .string()
    .max(255, "must be at most 255 characters")
    .regex(/^[a-z0-9._-]+$/, "must be a SPIFFE trust domain name (lowercase a-z, 0-9, '.', '-', '_'; no scheme, no path)")
    .refine((s) => !/^\.|\.$|\.\./.test(s), "must not start or end with '.' or contain empty labels");

export const ipv4Cidr = z.string().superRefine((s, ctx) => {
    const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(s);
    const octets = m ? m.slice(1, 5).map(Number) : [];
    const prefix = m ? Number(m[5]) : -1;
    if (!m || octets.some((o) => o > 255) || prefix > 32) {
        ctx.addIssue({ code: "custom", message: "must be an IPv4 CIDR such as 203.0.113.0/24" });
        return;
    }
    const address = octets.reduce((acc, o) => acc * 256 + o, 0);
    const hostBits = 2 ** (32 - prefix);
    if (address % hostBits !== 0) {
        ctx.addIssue({ code: "custom", message: "has host bits set", params: { hint: `did you mean ${networkOf(octets, prefix)}?` } });
    }
    if (prefix === 0) {
        ctx.addIssue({ code: "custom", message: "must not be 0.0.0.0/0: operator access is an allow-list" });
    }
});

function networkOf(octets: number[], prefix: number): string {
    const address = octets.reduce((acc, o) => acc * 256 + o, 0);
    const hostBits = 2 ** (32 - prefix);
    const network = address - (address % hostBits);
    return `${[24, 16, 8, 0].map((s) => Math.floor(network / 2 ** s) % 256).join(".")}/${prefix}`;
}

// `<org>/<project>/<stack>`: a fully qualified name, so a mesh stack never resolves another organisation's stack.
// The stacks a mesh stack reads (the pki stack, the stack it takes over from) run this program: another project's
// stack has none of the outputs read from it.
export const stackName = z
    .string()
    .regex(/^[A-Za-z0-9][-A-Za-z0-9_.]*\/[A-Za-z0-9][-A-Za-z0-9_.]*\/[A-Za-z0-9][-A-Za-z0-9_.]*$/, "must be a fully qualified stack name <org>/<project>/<stack>")
    .superRefine((name, ctx) => {
        const [org, project, stack] = name.split("/");
        if (stack !== undefined && project !== CONFIG_NAMESPACE) {
            ctx.addIssue({ code: "custom", message: `names a stack of project ${project}, not of this project`, params: { hint: `did you mean ${org}/${CONFIG_NAMESPACE}/${stack}?` } });
        }
    });


export const certificatePem = z.string().regex(/^-----BEGIN CERTIFICATE-----[\s\S]+-----END CERTIFICATE-----\s*$/, "must be one PEM certificate")
    .register(opaqueValues, { holds: "a certificate" });

export const certificateRequestPem = z.string().regex(/^-----BEGIN CERTIFICATE REQUEST-----[\s\S]+-----END CERTIFICATE REQUEST-----\s*$/, "must be one PEM certificate request");

export const privateKeyPem = z.string()
    .regex(/^-----BEGIN ([A-Z]+ )?PRIVATE KEY-----[\s\S]+-----END ([A-Z]+ )?PRIVATE KEY-----\s*$/, "must be one PEM private key")
    .register(secretValues, { holds: "private key material" });

/**
 * What the offline plan hands the program in place of a `secure:` value, which only the stack's secrets provider can
 * decrypt: the ciphertext is never read past its envelope, and the gate judges what it can without the value.
 */
export const OFFLINE_SECRET_PLACEHOLDER = "[secret: encrypted with the stack's secrets provider, not read by the offline plan]";
