import * as ec2 from "@pulumi/aws/ec2";
import * as eks from "@pulumi/aws/eks";
import { PolicyResource, ResourceValidationPolicy, StackValidationPolicy } from "@pulumi/policy";
import { peek, peekList, UNKNOWN } from "./preview";
import { chartName, EXEMPT_RESOURCES, isOpenCidr, validateOfType } from "./support";

/** EKS control planes and the launch templates of their nodes. */

export const eksEndpointRestricted: ResourceValidationPolicy = {
    name: "eks-endpoint-access-restricted",
    description: "EKS API endpoints are private, or public only to listed CIDRs (never 0.0.0.0/0 or ::/0).",
    enforcementLevel: "mandatory",
    configSchema: { properties: { exemptResources: EXEMPT_RESOURCES } },
    validateResource: validateOfType(eks.Cluster, (cluster, _args, report) => {
        const vpc = cluster.vpcConfig;
        if (vpc?.endpointPublicAccess === false) return;
        const defaulted = vpc?.endpointPublicAccess === undefined ? " (endpointPublicAccess defaults to true)" : "";
        // Entries computed from resources not yet created (peers' egress addresses) are unknown at a first preview;
        // the literal ones (operators' CIDRs) are what a configuration mistake can open, and they are known.
        // (The bridged provider's Check turns a list unknown as a whole into one unknown entry.)
        const listed = peekList(cluster, "vpcConfig", "publicAccessCidrs");
        const cidrs = listed === UNKNOWN ? [UNKNOWN] : listed ?? [];
        const open = cidrs.filter(isOpenCidr);
        if (cidrs.length === 0) {
            report(`vpcConfig.publicAccessCidrs is unset, so the public API endpoint${defaulted} accepts any address: list the operator and peer CIDRs in vpcConfig.publicAccessCidrs, or set vpcConfig.endpointPublicAccess false`);
        } else if (open.length > 0) {
            report(`vpcConfig.publicAccessCidrs contains ${open.join(", ")}, which opens the API endpoint${defaulted} to the internet: list only the operator and peer CIDRs, or set vpcConfig.endpointPublicAccess false`);
        }
    }),
};

export const eksSecretsEncryption: ResourceValidationPolicy = {
    name: "eks-secrets-encryption",
    description: "EKS clusters envelope-encrypt Kubernetes Secrets with a customer-managed KMS key (encryptionConfig with resources [\"secrets\"] and a key ARN).",
    enforcementLevel: "mandatory",
    configSchema: { properties: { exemptResources: EXEMPT_RESOURCES } },
    validateResource: validateOfType(eks.Cluster, (cluster, _args, report) => {
        // One object in @pulumi/aws 7, a list in earlier majors.
        const configs = ([] as any[]).concat(cluster.encryptionConfig ?? []);
        if (configs.length === 0) {
            report("encryptionConfig is unset, so Secrets are not envelope-encrypted with a key you control: set encryptionConfig with resources [\"secrets\"] and provider.keyArn of a customer-managed aws.kms.Key");
            return;
        }
        configs.forEach((c, i) => {
            const where = Array.isArray(cluster.encryptionConfig) ? `encryptionConfig[${i}]` : "encryptionConfig";
            if (!(c?.resources ?? []).includes("secrets")) report(`${where}.resources is ${JSON.stringify(c?.resources ?? [])}: add "secrets"`);
            // The ARN of a key this deployment creates is unknown at a first preview: a key is named, which is the point.
            const keyArn = peek(c, "provider", "keyArn");
            if (keyArn === UNKNOWN) return;
            if (typeof keyArn !== "string" || !/^arn:aws[a-z-]*:kms:/.test(keyArn)) report(`${where}.provider.keyArn is ${keyArn === undefined ? "unset" : JSON.stringify(keyArn)}: set it to the ARN of a customer-managed aws.kms.Key`);
        });
    }),
};

export const eksControlPlaneLogging: ResourceValidationPolicy = {
    name: "eks-control-plane-logging",
    description: "EKS clusters send the API, audit and authenticator control-plane logs (at least) to CloudWatch.",
    enforcementLevel: "mandatory",
    configSchema: {
        properties: {
            requiredLogTypes: {
                type: "array", uniqueItems: true, default: ["api", "audit", "authenticator"],
                items: { type: "string", enum: ["api", "audit", "authenticator", "controllerManager", "scheduler"] },
            },
            exemptResources: EXEMPT_RESOURCES,
        },
    },
    validateResource: validateOfType(eks.Cluster, (cluster, args, report) => {
        const { requiredLogTypes } = args.getConfig<{ requiredLogTypes: string[] }>();
        const enabled = cluster.enabledClusterLogTypes ?? [];
        const missing = requiredLogTypes.filter((t) => !enabled.includes(t));
        if (missing.length > 0) report(`enabledClusterLogTypes lacks ${missing.join(", ")}, so who did what to the cluster is not recorded: add them to enabledClusterLogTypes`);
    }),
};

export const eksAuthenticationMode: ResourceValidationPolicy = {
    name: "eks-authentication-mode",
    description: "EKS clusters authenticate through access entries only (accessConfig.authenticationMode API), not the aws-auth ConfigMap.",
    enforcementLevel: "mandatory",
    configSchema: {
        properties: {
            allowApiAndConfigMap: { type: "boolean", default: false, description: "Also accept API_AND_CONFIG_MAP, for clusters migrating off aws-auth." },
            exemptResources: EXEMPT_RESOURCES,
        },
    },
    validateResource: validateOfType(eks.Cluster, (cluster, args, report) => {
        const { allowApiAndConfigMap } = args.getConfig<{ allowApiAndConfigMap: boolean }>();
        const mode = cluster.accessConfig?.authenticationMode;
        const allowed = allowApiAndConfigMap ? ["API", "API_AND_CONFIG_MAP"] : ["API"];
        if (mode === undefined || !allowed.includes(mode)) {
            report(`accessConfig.authenticationMode is ${mode ?? "unset (the EKS API then uses CONFIG_MAP)"}: the aws-auth ConfigMap grants cluster access outside IAM's audit trail, editable by anyone who can edit kube-system; set accessConfig.authenticationMode to ${allowed.join(" or ")} and grant access with aws.eks.AccessEntry`);
        }
    }),
};

export const eksVersionAllowed: ResourceValidationPolicy = {
    name: "eks-version-allowed",
    description: "EKS clusters pin a Kubernetes version from the allow-list (versions in standard support).",
    enforcementLevel: "mandatory",
    configSchema: {
        properties: {
            allowedVersions: { type: "array", minItems: 1, items: { type: "string", pattern: "^1\\.\\d+$" }, default: ["1.34", "1.35", "1.36"] },
            exemptResources: EXEMPT_RESOURCES,
        },
    },
    validateResource: validateOfType(eks.Cluster, (cluster, args, report) => {
        const { allowedVersions } = args.getConfig<{ allowedVersions: string[] }>();
        if (cluster.version === undefined) {
            report(`version is unset, so EKS picks its default at creation and the cluster's version is never reviewed: set version to one of ${allowedVersions.join(", ")}`);
        } else if (!allowedVersions.includes(cluster.version)) {
            report(`version ${cluster.version} is not in the allow-list ${allowedVersions.join(", ")}: upgrade to an allowed version, or extend allowedVersions once it is supported`);
        }
    }),
};

export const launchTemplateImdsv2: ResourceValidationPolicy = {
    name: "ec2-launch-template-imdsv2",
    description: "Launch templates (of EKS nodes and any other instance) require IMDSv2 (metadataOptions.httpTokens \"required\") with a response hop limit of at most maxHopLimit.",
    enforcementLevel: "mandatory",
    configSchema: {
        properties: {
            maxHopLimit: { type: "integer", minimum: 1, maximum: 64, default: 2, description: "1 keeps pods off the node's metadata; 2 lets pods through one extra hop." },
            exemptResources: EXEMPT_RESOURCES,
        },
    },
    validateResource: validateOfType(ec2.LaunchTemplate, (template, args, report) => {
        const { maxHopLimit } = args.getConfig<{ maxHopLimit: number }>();
        const metadata = template.metadataOptions;
        if (metadata?.httpEndpoint === "disabled") return;
        if (metadata?.httpTokens !== "required") {
            report(`metadataOptions.httpTokens is ${metadata?.httpTokens ?? "unset"}, so IMDSv1 answers unauthenticated requests and a server-side request forgery in any pod can read the node role's credentials: set metadataOptions.httpTokens "required"`);
        }
        const hops = metadata?.httpPutResponseHopLimit;
        if (hops !== undefined && hops > maxHopLimit) {
            report(`metadataOptions.httpPutResponseHopLimit is ${hops}, so metadata tokens reach callers more than ${maxHopLimit} network hops away: set it to ${maxHopLimit} or less`);
        }
    }),
};

export const eksNodeGroupLaunchTemplate: StackValidationPolicy = {
    name: "eks-node-group-launch-template",
    description: "Every EKS managed node group launches from a launch template of this stack, so ec2-launch-template-imdsv2 governs its nodes' metadata options.",
    enforcementLevel: "mandatory",
    configSchema: { properties: { exemptResources: EXEMPT_RESOURCES } },
    validateStack: (args, report) => {
        const { exemptResources } = args.getConfig<{ exemptResources: string[] }>();
        const templates = args.resources.filter((r) => r.isType(ec2.LaunchTemplate));
        for (const group of args.resources.filter((r) => r.isType(eks.NodeGroup))) {
            if (exemptResources.includes(group.name)) continue;
            // The template's id is unknown until it exists; that an id or a name is given is known.
            const ref = { id: peek(group.props, "launchTemplate", "id"), name: peek(group.props, "launchTemplate", "name") };
            if (!ref.id && !ref.name) {
                report(`node group ${group.name} has no launchTemplate, so its nodes get metadata options this stack cannot pin to IMDSv2: set launchTemplate to an aws.ec2.LaunchTemplate with metadataOptions.httpTokens "required"`, group.urn);
                continue;
            }
            const managed = [...(group.propertyDependencies.launchTemplate ?? []), ...group.dependencies].some((d) => d.isType(ec2.LaunchTemplate))
                || templates.some((t) => typeof ref.name === "string" && peek(t.props, "name") === ref.name);
            if (!managed) {
                const named = [ref.name, ref.id].find((x) => typeof x === "string") ?? "a template created in this deployment";
                report(`node group ${group.name} launches from ${named}, a launch template outside this stack whose metadata options no policy sees: manage it in this stack with metadataOptions.httpTokens "required", or exempt the node group`, group.urn);
            }
        }
    },
};

const RELEASE = "kubernetes:helm.sh/v3:Release";
/** The cluster a Kubernetes resource is applied to: its provider, a default one included. */
const clusterOf = (r: PolicyResource) => r.provider?.urn ?? "default";

/** Everything `r` waits for on create and outlives on delete: its dependencies and providers, transitively. */
function waitsFor(r: PolicyResource, byUrn: ReadonlyMap<string, PolicyResource>): Set<string> {
    const seen = new Set<string>();
    const pending = [r];
    while (pending.length > 0) {
        const next = pending.pop()!;
        for (const dep of [...next.dependencies, ...(next.provider ? [byUrn.get(next.provider.urn)].filter((p): p is PolicyResource => p !== undefined) : [])]) {
            if (seen.has(dep.urn)) continue;
            seen.add(dep.urn);
            pending.push(dep);
        }
    }
    return seen;
}

export const eksReleasesAfterLoadBalancerController: StackValidationPolicy = {
    name: "eks-releases-after-load-balancer-controller",
    description: "On a cluster with the AWS Load Balancer Controller and its Service webhook, every other Helm release and Service depends on the controller's release: created after it, deleted before it.",
    enforcementLevel: "mandatory",
    configSchema: { properties: { exemptResources: EXEMPT_RESOURCES } },
    validateStack: (args, report) => {
        const { exemptResources } = args.getConfig<{ exemptResources: string[] }>();
        const byUrn = new Map(args.resources.map((r) => [r.urn, r]));
        // kubernetes-sigs/aws-load-balancer-controller v2.14.0 helm/.../templates/webhook.yaml: mservice.elbv2.k8s.aws
        // on every Service CREATE, failurePolicy Fail unless configured otherwise.
        const controllers = args.resources.filter((r) => r.type === RELEASE && chartName(r.props.chart) === "aws-load-balancer-controller"
            && r.props.values?.enableServiceMutatorWebhook !== false && r.props.values?.serviceMutatorWebhookConfig?.failurePolicy !== "Ignore");
        for (const controller of controllers) {
            const cluster = clusterOf(controller);
            const creators = args.resources.filter((r) => r !== controller && clusterOf(r) === cluster && !exemptResources.includes(r.name)
                && ((r.type === RELEASE) || r.type === "kubernetes:core/v1:Service"));
            for (const r of creators.filter((x) => !waitsFor(x, byUrn).has(controller.urn))) {
                const what = r.type === RELEASE ? `Helm release ${r.name}` : `Service ${r.name}`;
                report(`${what} does not depend on ${controller.name}, the AWS Load Balancer Controller of its cluster: on the first pulumi up it races the controller, whose webhook (failurePolicy Fail) refuses every Service until it serves; on destroy the controller may go first, leaving LoadBalancer Services with a finalizer nobody clears and NLBs holding Elastic IPs and subnets; add dependsOn on the controller's release (directly or through what it already depends on)`, r.urn);
            }
        }
    },
};

export const eksPolicies = [
    eksEndpointRestricted, eksSecretsEncryption, eksControlPlaneLogging, eksAuthenticationMode, eksVersionAllowed,
    launchTemplateImdsv2, eksNodeGroupLaunchTemplate, eksReleasesAfterLoadBalancerController,
];
