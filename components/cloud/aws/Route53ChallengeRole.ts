import { getPartitionOutput } from "@pulumi/aws/getPartition";
import * as iam from "@pulumi/aws/iam";
import * as pulumi from "@pulumi/pulumi";

/**
 * What cert-manager needs to solve ACME DNS-01 in one Route 53 zone: confirm its change, and upsert and delete TXT
 * records named `_acme-challenge.*` in that zone only (cert-manager v1.21.1 pkg/issuer/acme/dns/route53/route53.go:
 * `ChangeResourceRecordSets` UPSERT/DELETE of a TXT set, then `GetChange` until INSYNC; with `hostedZoneID` set it
 * never lists zones). The record-name and type conditions are Route 53's own condition keys.
 */
export function route53ChallengePolicy(partition: string, hostedZoneId: string): string {
    return JSON.stringify({
        Version: "2012-10-17",
        Statement: [
            { Effect: "Allow", Action: "route53:GetChange", Resource: `arn:${partition}:route53:::change/*` },
            {
                Effect: "Allow",
                Action: "route53:ChangeResourceRecordSets",
                Resource: `arn:${partition}:route53:::hostedzone/${hostedZoneId}`,
                Condition: {
                    "ForAllValues:StringLike": { "route53:ChangeResourceRecordSetsNormalizedRecordNames": ["_acme-challenge.*"] },
                    "ForAllValues:StringEquals": { "route53:ChangeResourceRecordSetsRecordTypes": ["TXT"] },
                },
            },
        ],
    });
}

/** The cert-manager ServiceAccount of another cluster, as its OIDC issuer names it. */
export interface WebIdentity {
    /** The cluster's service account token issuer, `https://...`. */
    readonly issuerUrl: string;
    /** The ServiceAccount's namespace and name, the token's `sub`. */
    readonly namespace: string;
    readonly serviceAccount: string;
}

/** The role's trust policy for a service account token of another cluster, by STS AssumeRoleWithWebIdentity. */
export function webIdentityTrust(providerArn: string, w: WebIdentity): string {
    const issuer = w.issuerUrl.replace(/^https:\/\//, "");
    return JSON.stringify({
        Version: "2012-10-17",
        Statement: [{
            Effect: "Allow",
            Principal: { Federated: providerArn },
            Action: "sts:AssumeRoleWithWebIdentity",
            // cert-manager requests tokens with audience sts.amazonaws.com by default (pkg/issuer/acme/dns/dns.go).
            Condition: { StringEquals: { [`${issuer}:sub`]: `system:serviceaccount:${w.namespace}:${w.serviceAccount}`, [`${issuer}:aud`]: "sts.amazonaws.com" } },
        }],
    });
}

export interface Route53ChallengeRoleArgs {
    /** The Route 53 hosted zone of the ingress hosts: the only zone the role may write to. */
    readonly hostedZoneId: string;
    /**
     * Who assumes the role: EKS Pod Identity (the association is the cluster's), or another cluster's service account
     * (an IAM OIDC provider for its issuer is created here).
     */
    readonly trust: { readonly podIdentity: true } | { readonly webIdentity: WebIdentity };
    /** Tags on the role and the OIDC provider. @default - none */
    readonly tags?: Record<string, string>;
}

/**
 * An IAM role that may write ACME challenges to one Route 53 zone, for cert-manager on one cluster. Its resources use
 * the AWS provider of `opts.provider` (the zone's account), which is why `opts` is required.
 */
export class Route53ChallengeRole extends pulumi.ComponentResource {
    /** The role cert-manager assumes: name its ARN in the solver. */
    readonly role: iam.Role;
    /** The role with its permissions: a challenge fails until they exist. */
    readonly ready: pulumi.Resource[];

    constructor(name: string, args: Route53ChallengeRoleArgs, opts: pulumi.ComponentResourceOptions) {
        super("istio-production:aws:Route53ChallengeRole", name, {}, opts);
        const child = { parent: this };
        const partition = getPartitionOutput({}, child).partition;
        const { trust } = args;
        let assume: pulumi.Output<string>;
        let provider: iam.OpenIdConnectProvider | undefined;
        if ("webIdentity" in trust) {
            provider = new iam.OpenIdConnectProvider(`${name}-issuer`, {
                url: trust.webIdentity.issuerUrl, clientIdLists: ["sts.amazonaws.com"], tags: args.tags,
            }, child);
            assume = provider.arn.apply((arn) => webIdentityTrust(arn, trust.webIdentity));
        } else {
            assume = pulumi.output(JSON.stringify({
                Version: "2012-10-17",
                Statement: [{ Effect: "Allow", Principal: { Service: "pods.eks.amazonaws.com" }, Action: ["sts:AssumeRole", "sts:TagSession"] }],
            }));
        }
        this.role = new iam.Role(`${name}`, { assumeRolePolicy: assume, tags: args.tags }, child);
        const policy = new iam.RolePolicy(`${name}`, { role: this.role.id, policy: partition.apply((p) => route53ChallengePolicy(p, args.hostedZoneId)) }, { parent: this.role });
        this.ready = [this.role, policy, ...(provider ? [provider] : [])];
        this.registerOutputs({ role: this.role, roleArn: this.role.arn, ready: this.ready });
    }
}
