import { EmulatedState, ProviderEmulator, ProviderInputError, ResourceRequest } from "./types";
import { stableId } from "./stableId";
import { awsZoneCount } from "../../config/regions";
import { clusterCaData, publicIp } from "./addresses";
import { activateManagedCa, managedCaCsr, ManagedCaCurve } from "./managedCa";
import { splitCertificatesPem } from "./tls/der";

/** The account the offline engine pretends to be in when a stack pins none. */
export const OFFLINE_AWS_ACCOUNT = "123456789012";

type Outputs = (req: ResourceRequest, ctx: { region: string; account: string }) => Record<string, any> | Promise<Record<string, any>>;

/**
 * Outputs the AWS provider computes, for the resources this program creates; everything else gets an id and an ARN.
 * Shapes follow the provider's schema; values are deterministic per URN so plans are stable.
 */
const computed: Record<string, Outputs> = {
    "aws:ec2/vpc:Vpc": (r, c) => ({ id: `vpc-${stableId(r.urn, 17)}`, defaultSecurityGroupId: `sg-${stableId(`${r.urn}/default`, 17)}`, mainRouteTableId: `rtb-${stableId(`${r.urn}/main`, 17)}`, ownerId: c.account }),
    "aws:ec2/subnet:Subnet": (r) => ({ id: `subnet-${stableId(r.urn, 17)}` }),
    "aws:ec2/internetGateway:InternetGateway": (r) => ({ id: `igw-${stableId(r.urn, 17)}` }),
    "aws:ec2/routeTable:RouteTable": (r) => ({ id: `rtb-${stableId(r.urn, 17)}` }),
    "aws:ec2/eip:Eip": (r) => ({ id: `eipalloc-${stableId(r.urn, 17)}`, allocationId: `eipalloc-${stableId(r.urn, 17)}`, publicIp: publicIp("3", r.urn), publicDns: `ec2-${publicIp("3", r.urn).replace(/\./g, "-")}.compute-1.amazonaws.com` }),
    "aws:ec2/natGateway:NatGateway": (r) => ({ id: `nat-${stableId(r.urn, 17)}` }),
    "aws:ec2/securityGroup:SecurityGroup": (r) => ({ id: `sg-${stableId(r.urn, 17)}` }),
    "aws:ec2/launchTemplate:LaunchTemplate": (r) => ({ id: `lt-${stableId(r.urn, 17)}`, latestVersion: 1, defaultVersion: 1 }),
    "aws:kms/key:Key": (r) => ({ id: uuid(r.urn), keyId: uuid(r.urn) }),
    "aws:iam/role:Role": (r) => ({ id: r.inputs.name ?? `${r.name}-${stableId(r.urn, 7)}`, name: r.inputs.name ?? `${r.name}-${stableId(r.urn, 7)}`, uniqueId: `AROA${stableId(r.urn, 17).toUpperCase()}` }),
    "aws:eks/cluster:Cluster": async (r, c) => ({
        id: r.inputs.name ?? r.name,
        endpoint: `https://${stableId(r.urn, 32).toUpperCase()}.gr7.${c.region}.eks.amazonaws.com`,
        certificateAuthority: { data: await clusterCaData(r.urn) },
        vpcConfig: { ...r.inputs.vpcConfig, clusterSecurityGroupId: `sg-${stableId(`${r.urn}/cluster`, 17)}`, vpcId: `vpc-${stableId(`${r.urn}/vpc`, 17)}` },
        identities: [{ oidcs: [{ issuer: `https://oidc.eks.${c.region}.amazonaws.com/id/${stableId(r.urn, 32).toUpperCase()}` }] }],
        platformVersion: "eks.1",
        status: "ACTIVE",
    }),
    "aws:eks/nodeGroup:NodeGroup": () => ({ status: "ACTIVE" }),
    // CreateCertificateAuthority: the key is made in the service's HSM; a subordinate waits for its certificate with
    // its CSR readable (GetCertificateAuthorityCsr), which terraform-provider-aws exposes as certificateSigningRequest.
    "aws:acmpca/certificateAuthority:CertificateAuthority": (r, c) => {
        const arn = `arn:aws:acm-pca:${c.region}:${c.account}:certificate-authority/${uuid(r.urn)}`;
        const curve = pcaCurve(r);
        curveOfArn.set(arn, curve);
        const config = r.inputs.certificateAuthorityConfiguration ?? {};
        const type = r.inputs.type ?? "SUBORDINATE";
        if (type !== "SUBORDINATE") throw new ProviderInputError(r.type, r.name, `the offline engine emulates subordinate CAs only, got type ${type}`);
        const subject = config.subject ?? {};
        if (!subject.commonName) throw new ProviderInputError(r.type, r.name, "certificateAuthorityConfiguration.subject.commonName is required for a CA's CSR");
        return {
            id: arn, arn,
            certificateSigningRequest: managedCaCsr(arn, curve, { organization: subject.organization, commonName: subject.commonName }),
            status: "PENDING_CERTIFICATE",
            type,
            usageMode: r.inputs.usageMode ?? "GENERAL_PURPOSE",
            keyStorageSecurityStandard: r.inputs.keyStorageSecurityStandard ?? "FIPS_140_2_LEVEL_3_OR_HIGHER",
        };
    },
    // ImportCertificateAuthorityCertificate: refused unless the certificate carries the CA's key and chains.
    "aws:acmpca/certificateAuthorityCertificate:CertificateAuthorityCertificate": (r) => {
        const chain = splitCertificatesPem(r.inputs.certificateChain ?? "");
        const problem = activateManagedCa(r.inputs.certificateAuthorityArn, curveOfArn.get(r.inputs.certificateAuthorityArn) ?? "P256", r.inputs.certificate, chain);
        if (problem) throw new ProviderInputError(r.type, r.name, `ImportCertificateAuthorityCertificate: ${problem}`);
        return { id: r.inputs.certificateAuthorityArn };
    },
};

/** The CA's key algorithm as the HSM holds it; only the EC keys the mesh uses are emulated. */
const PCA_CURVES: Record<string, ManagedCaCurve> = { EC_prime256v1: "P256", EC_secp384r1: "P384" };
/** The curve of each CA created in this process, by ARN: an import names the CA only by its ARN. */
const curveOfArn = new Map<string, ManagedCaCurve>();

function pcaCurve(r: ResourceRequest): ManagedCaCurve {
    const algorithm = r.inputs.certificateAuthorityConfiguration?.keyAlgorithm;
    const curve = PCA_CURVES[algorithm];
    if (!curve) throw new ProviderInputError(r.type, r.name, `keyAlgorithm ${JSON.stringify(algorithm)}: the offline engine emulates ${Object.keys(PCA_CURVES).join(", ")}`);
    return curve;
}

export const awsEmulator: ProviderEmulator = {
    pkg: "aws",
    async create(req: ResourceRequest): Promise<EmulatedState> {
        const region = regionOf(req.provider);
        const account = req.provider?.allowedAccountIds?.[0] ?? OFFLINE_AWS_ACCOUNT;
        if (region === undefined) {
            // The provider refuses to configure without a region ("missing region"); a default provider takes it
            // from `aws:region` in the stack config.
            throw new ProviderInputError(req.type, req.name, "its AWS provider has no region: set aws:region in the stack config (the default provider), region on the aws.Provider, or AWS_REGION");
        }
        const [, module, resource] = /^aws:([^/]+)\/([^:]+):/.exec(req.type) ?? [];
        const baseId = `${resource ?? "res"}-${stableId(req.urn, 17)}`;
        const arn = `arn:aws:${module}:${region}:${account}:${resource}/${baseId}`;
        const extra = (await computed[req.type]?.(req, { region, account })) ?? {};
        const id = extra.id ?? baseId;
        return { id, knownAtPreview: autoNamed.has(req.type) && req.inputs.name === undefined ? ["name"] : [], outputs: { arn: arn.replace(baseId, id), tagsAll: { ...(req.provider?.defaultTags?.tags ?? {}), ...(req.inputs.tags ?? {}) }, ...extra } };
    },
    invoke(token: string, _inputs: Record<string, any>, provider?: Record<string, any>) {
        const region = regionOf(provider);
        if (region === undefined) throw new Error(`${token}: the AWS provider has no region: set aws:region in the stack config, region on the aws.Provider, or AWS_REGION`);
        switch (token) {
            case "aws:index/getCallerIdentity:getCallerIdentity":
                return { accountId: OFFLINE_AWS_ACCOUNT, arn: `arn:aws:iam::${OFFLINE_AWS_ACCOUNT}:role/offline-plan`, userId: "AROAOFFLINEPLAN", id: OFFLINE_AWS_ACCOUNT };
            case "aws:index/getPartition:getPartition":
                return { partition: "aws", dnsSuffix: "amazonaws.com", reverseDnsPrefix: "com.amazonaws", id: "aws" };
            case "aws:index/getRegion:getRegion":
                return { name: region, region, id: region };
            case "aws:index/getAvailabilityZones:getAvailabilityZones": {
                // The zones the gate admits, so a count that passes offline is one the region gives.
                const names = "abcdef".slice(0, awsZoneCount(region)).split("").map((z) => `${region}${z}`);
                return { id: region, names, zoneIds: names.map((_, i) => `${region.replace(/-/g, "").slice(0, 4)}-az${i + 1}`), groupNames: [region], region };
            }
            default:
                throw new Error(`the offline engine does not emulate the provider function ${token}`);
        }
    },
};

/** Types whose `name` the provider's Check auto-names when the program gives none. */
const autoNamed = new Set(["aws:iam/role:Role", "aws:iam/policy:Policy", "aws:kms/alias:Alias"]);

/**
 * The region the provider uses: its `region` setting, else the environment the AWS SDK reads
 * (hashicorp/aws-sdk-go-base, which terraform-provider-aws configures with: AWS_REGION, then AWS_DEFAULT_REGION).
 */
function regionOf(provider: Record<string, any> | undefined): string | undefined {
    return provider?.region || process.env.AWS_REGION || process.env.AWS_DEFAULT_REGION || undefined;
}

function uuid(seed: string): string {
    const h = stableId(seed, 32);
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}
