import assert from "node:assert/strict";
import * as path from "node:path";
import * as aws from "@pulumi/aws";
import * as gcp from "@pulumi/gcp";
import * as k8s from "@pulumi/kubernetes";
import type { ResourceValidationPolicy } from "@pulumi/policy";
import * as rules from "../policy/platform-baseline/rules";
import { loadPack } from "../engine/policy";
import { node, packContract, packFlagsGraph, stackViolations, violations } from "./support/policy";

/** A cluster as the project's EksCluster component builds it. */
const goodEks = {
    name: "prod-aws-use1", version: "1.34", roleArn: "arn:aws:iam::210987654321:role/cluster",
    vpcConfig: { subnetIds: ["subnet-a", "subnet-b"], endpointPrivateAccess: true, endpointPublicAccess: true, publicAccessCidrs: ["198.51.100.0/24", "203.0.113.7/32"] },
    encryptionConfig: { provider: { keyArn: "arn:aws:kms:us-east-1:210987654321:key/0f1e2d3c" }, resources: ["secrets"] },
    enabledClusterLogTypes: ["api", "audit", "authenticator"],
    accessConfig: { authenticationMode: "API", bootstrapClusterCreatorAdminPermissions: true },
};

const hardenedNodes = {
    serviceAccount: "prod-gcp-usc1-nodes@acme-mesh-prod.iam.gserviceaccount.com",
    shieldedInstanceConfig: { enableSecureBoot: true, enableIntegrityMonitoring: true },
    workloadMetadataConfig: { mode: "GKE_METADATA" },
};

/** A cluster as the project's GkeCluster component builds it. */
const goodGke = {
    name: "prod-gcp-usc1", location: "us-central1", removeDefaultNodePool: true, initialNodeCount: 1,
    ipAllocationPolicy: { clusterSecondaryRangeName: "pods", servicesSecondaryRangeName: "services" },
    privateClusterConfig: { enablePrivateNodes: true, enablePrivateEndpoint: false, masterIpv4CidrBlock: "172.16.0.0/28" },
    masterAuthorizedNetworksConfig: { cidrBlocks: [{ cidrBlock: "198.51.100.0/24", displayName: "operators" }] },
    releaseChannel: { channel: "REGULAR" },
    workloadIdentityConfig: { workloadPool: "acme-mesh-prod.svc.id.goog" },
    databaseEncryption: { state: "ENCRYPTED", keyName: "projects/acme-mesh-prod/locations/us-central1/keyRings/k/cryptoKeys/secrets" },
    datapathProvider: "ADVANCED_DATAPATH", enableShieldedNodes: true, enableLegacyAbac: false,
    masterAuth: { clientCertificateConfig: { issueClientCertificate: false } },
    binaryAuthorization: { evaluationMode: "PROJECT_SINGLETON_POLICY_ENFORCE" },
    deletionProtection: true,
    nodeConfig: hardenedNodes,
};

const goodPool = {
    cluster: "projects/acme-mesh-prod/locations/us-central1/clusters/prod-gcp-usc1", location: "us-central1",
    management: { autoRepair: true, autoUpgrade: true },
    nodeConfig: { ...hardenedNodes, machineType: "e2-standard-8", imageType: "COS_CONTAINERD", metadata: { "disable-legacy-endpoints": "true" } },
};

/** Apply `change` to a deep copy of `base` and return the copy. */
function variant<T>(base: T, change: (copy: any) => void): T {
    const copy = structuredClone(base);
    change(copy);
    return copy;
}

async function passesThenFails(policy: ResourceValidationPolicy, cls: any, good: object, bad: object, expected: RegExp, config: Record<string, unknown> = {}, stack = "prod") {
    assert.deepEqual(await violations(policy, cls, good, config, stack), [], `${policy.name} on the good resource`);
    const found = await violations(policy, cls, bad, config, stack);
    assert.equal(found.length, 1, `${policy.name}: ${found.join("\n")}`);
    assert.match(found[0], expected);
}

describe("policy pack platform-baseline", () => {
    it("loads as pulumi preview loads it: every policy named once, described, leveled, with a valid config schema", () => {
        packContract(loadPack(path.join(__dirname, "..", "policy", "platform-baseline")), rules.platformBaselinePolicies);
    });

    it("the plan reports a world-open EKS endpoint as a mandatory violation, at the cluster", async () => {
        const open = variant(goodEks, (c) => { c.vpcConfig.publicAccessCidrs = ["0.0.0.0/0"]; });
        const found = await packFlagsGraph("platform-baseline", [{ type: "aws:eks/cluster:Cluster", name: "eks", inputs: open, protect: true }]);
        assert.deepEqual(found.map((v) => [v.policy, v.enforcementLevel]), [["eks-endpoint-access-restricted", "mandatory"]]);
        assert.match(found[0].urn, /aws:eks\/cluster:Cluster::eks$/);
    });

    describe("EKS", () => {
        it("eks-endpoint-access-restricted: private, or public to listed CIDRs only", async () => {
            const p = rules.eksEndpointRestricted;
            await passesThenFails(p, aws.eks.Cluster, goodEks, variant(goodEks, (c) => { c.vpcConfig.publicAccessCidrs.push("::/0"); }), /publicAccessCidrs contains ::\/0/);
            await passesThenFails(p, aws.eks.Cluster, variant(goodEks, (c) => { c.vpcConfig = { subnetIds: ["a"], endpointPublicAccess: false }; }),
                variant(goodEks, (c) => { c.vpcConfig = { subnetIds: ["a"] }; }), /publicAccessCidrs is unset, so the public API endpoint \(endpointPublicAccess defaults to true\)/);
        });

        it("eks-secrets-encryption: secrets with a customer-managed key", async () => {
            const p = rules.eksSecretsEncryption;
            await passesThenFails(p, aws.eks.Cluster, goodEks, variant(goodEks, (c) => { delete c.encryptionConfig; }), /encryptionConfig is unset/);
            const found = await violations(p, aws.eks.Cluster, variant(goodEks, (c) => { c.encryptionConfig = { provider: {}, resources: [] }; }));
            assert.equal(found.length, 2, found.join("\n"));
            assert.match(found[0], /encryptionConfig\.resources is \[\]: add "secrets"/);
            assert.match(found[1], /encryptionConfig\.provider\.keyArn is unset/);
        });

        it("eks-control-plane-logging: api, audit, authenticator (configurable)", async () => {
            const p = rules.eksControlPlaneLogging;
            await passesThenFails(p, aws.eks.Cluster, goodEks, variant(goodEks, (c) => { c.enabledClusterLogTypes = ["api"]; }), /lacks audit, authenticator/);
            assert.equal((await violations(p, aws.eks.Cluster, goodEks, { requiredLogTypes: ["api", "audit", "authenticator", "scheduler"] })).length, 1);
        });

        it("eks-authentication-mode: API; API_AND_CONFIG_MAP only when configured", async () => {
            const p = rules.eksAuthenticationMode;
            const mixed = variant(goodEks, (c) => { c.accessConfig.authenticationMode = "API_AND_CONFIG_MAP"; });
            await passesThenFails(p, aws.eks.Cluster, goodEks, mixed, /API_AND_CONFIG_MAP: the aws-auth ConfigMap/);
            assert.deepEqual(await violations(p, aws.eks.Cluster, mixed, { allowApiAndConfigMap: true }), []);
            assert.match((await violations(p, aws.eks.Cluster, variant(goodEks, (c) => { delete c.accessConfig; })))[0], /unset \(the EKS API then uses CONFIG_MAP\)/);
        });

        it("eks-version-allowed: pinned and in the allow-list", async () => {
            const p = rules.eksVersionAllowed;
            await passesThenFails(p, aws.eks.Cluster, goodEks, variant(goodEks, (c) => { c.version = "1.29"; }), /version 1\.29 is not in the allow-list/);
            assert.match((await violations(p, aws.eks.Cluster, variant(goodEks, (c) => { delete c.version; })))[0], /version is unset/);
            assert.deepEqual(await violations(p, aws.eks.Cluster, variant(goodEks, (c) => { c.version = "1.29"; }), { allowedVersions: ["1.29"] }), []);
        });

        it("ec2-launch-template-imdsv2: tokens required, hop limit at most 2 (configurable)", async () => {
            const p = rules.launchTemplateImdsv2;
            const template = { metadataOptions: { httpEndpoint: "enabled", httpTokens: "required", httpPutResponseHopLimit: 1 } };
            await passesThenFails(p, aws.ec2.LaunchTemplate, template, variant(template, (t) => { t.metadataOptions.httpTokens = "optional"; }), /httpTokens is optional, so IMDSv1 answers/);
            await passesThenFails(p, aws.ec2.LaunchTemplate, template, variant(template, (t) => { t.metadataOptions.httpPutResponseHopLimit = 3; }), /HopLimit is 3/);
            assert.equal((await violations(p, aws.ec2.LaunchTemplate, variant(template, (t) => { t.metadataOptions.httpPutResponseHopLimit = 2; }), { maxHopLimit: 1 })).length, 1);
            assert.match((await violations(p, aws.ec2.LaunchTemplate, {}))[0], /httpTokens is unset/);
            assert.deepEqual(await violations(p, aws.ec2.LaunchTemplate, { metadataOptions: { httpEndpoint: "disabled" } }), [], "no metadata service at all");
        });

        it("eks-node-group-launch-template: every node group launches from a template of this stack", async () => {
            const p = rules.eksNodeGroupLaunchTemplate;
            const template = node(aws.ec2.LaunchTemplate, "nodes", { name: "nodes-lt" });
            const linked = node(aws.eks.NodeGroup, "ng", { launchTemplate: { id: "lt-1", version: "1" } }, { deps: { launchTemplate: [template] } });
            assert.deepEqual(await stackViolations(p, [template, linked]), []);
            assert.deepEqual(await stackViolations(p, [template, node(aws.eks.NodeGroup, "ng", { launchTemplate: { name: "nodes-lt", version: "1" } })]), [], "by name");
            assert.match((await stackViolations(p, [node(aws.eks.NodeGroup, "ng", {})]))[0], /node group ng has no launchTemplate/);
            assert.match((await stackViolations(p, [node(aws.eks.NodeGroup, "ng", { launchTemplate: { id: "lt-elsewhere", version: "3" } })]))[0], /lt-elsewhere, a launch template outside this stack/);
            assert.deepEqual(await stackViolations(p, [node(aws.eks.NodeGroup, "ng", {})], { exemptResources: ["ng"] }), []);
        });
    });

    describe("the AWS Load Balancer Controller", () => {
        const RELEASE = "kubernetes:helm.sh/v3:Release";
        const SERVICE = "kubernetes:core/v1:Service";
        /** A cluster's controller, a release and a Service ordered after it, and one that is not; `provider` absent: none named. */
        const cluster = (provider?: ReturnType<typeof node>, values: Record<string, unknown> = {}) => {
            const lbc = node(RELEASE, "lbc", { chart: "aws-load-balancer-controller", values: { clusterName: "a", ...values } }, { provider });
            const ns = node("kubernetes:core/v1:Namespace", "istio-system", {}, { provider, deps: { "": [lbc] } });
            return {
                lbc, ordered: [ns, node(RELEASE, "istiod", { chart: "istiod" }, { provider, deps: { "": [ns] } }), node(SERVICE, "echo", {}, { provider, deps: { "": [lbc] } })],
                racing: [node(RELEASE, "cert-manager", { chart: "oci://quay.io/jetstack/charts/cert-manager" }, { provider }), node(SERVICE, "stub", {}, { provider })],
            };
        };
        const p = rules.eksReleasesAfterLoadBalancerController;

        it("eks-releases-after-load-balancer-controller: releases and Services ordered after it pass, others fail, on explicit and default providers", async () => {
            for (const provider of [node("pulumi:providers:kubernetes", "eks-a", {}), node("pulumi:providers:kubernetes", "default_4_34_2", {}), undefined]) {
                const c = cluster(provider);
                assert.deepEqual(await stackViolations(p, [...(provider ? [provider] : []), c.lbc, ...c.ordered]), [], provider?.name ?? "no provider");
                const found = await stackViolations(p, [...(provider ? [provider] : []), c.lbc, ...c.ordered, ...c.racing]);
                assert.equal(found.length, 2, found.join("\n"));
                assert.match(found[0], /^Helm release cert-manager does not depend on lbc, the AWS Load Balancer Controller of its cluster: on the first pulumi up it races the controller/);
                assert.match(found[1], /^Service stub does not depend on lbc/);
            }
        });

        it("eks-releases-after-load-balancer-controller: through the provider counts; other clusters, a webhook that is off and exemptions do not", async () => {
            const eks = node("pulumi:providers:kubernetes", "eks-a", {});
            const c = cluster(eks);
            const after = node("pulumi:providers:kubernetes", "eks-a-after", {}, { deps: { "": [c.lbc] } });
            assert.deepEqual(await stackViolations(p, [eks, after, c.lbc, node(RELEASE, "istiod", { chart: "istiod" }, { provider: after })]), [], "a provider that depends on the controller");
            const gke = node("pulumi:providers:kubernetes", "gke-b", {});
            assert.deepEqual(await stackViolations(p, [eks, gke, c.lbc, node(RELEASE, "istiod", { chart: "istiod" }, { provider: gke })]), [], "another cluster");
            for (const values of [{ enableServiceMutatorWebhook: false }, { serviceMutatorWebhookConfig: { failurePolicy: "Ignore" } }]) {
                const off = cluster(eks, values);
                assert.deepEqual(await stackViolations(p, [eks, off.lbc, ...off.racing]), [], JSON.stringify(values));
            }
            assert.deepEqual(await stackViolations(p, [eks, c.lbc, ...c.racing], { exemptResources: ["cert-manager", "stub"] }), []);
        });
    });

    describe("GKE clusters", () => {
        const cases: [ResourceValidationPolicy, string, (c: any) => void, RegExp][] = [
            [rules.gkePrivateNodes, "public nodes", (c) => { c.privateClusterConfig.enablePrivateNodes = false; }, /enablePrivateNodes is not true, so nodes get public IP addresses/],
            [rules.gkeControlPlaneAccess, "0.0.0.0/0 authorized", (c) => { c.masterAuthorizedNetworksConfig.cidrBlocks.push({ cidrBlock: "0.0.0.0/0" }); }, /cidrBlocks contains 0\.0\.0\.0\/0/],
            [rules.gkeControlPlaneAccess, "no authorized networks", (c) => { delete c.masterAuthorizedNetworksConfig; }, /masterAuthorizedNetworksConfig is unset/],
            [rules.gkeControlPlaneAccess, "all Google Cloud addresses", (c) => { c.masterAuthorizedNetworksConfig.gcpPublicCidrsAccessEnabled = true; }, /every Google Cloud public address/],
            [rules.gkeWorkloadIdentity, "no Workload Identity", (c) => { delete c.workloadIdentityConfig; }, /workloadPool is unset/],
            [rules.gkeShieldedNodes, "shielded nodes off", (c) => { c.enableShieldedNodes = false; }, /enableShieldedNodes is false/],
            [rules.gkeReleaseChannel, "no release channel", (c) => { c.releaseChannel.channel = "UNSPECIFIED"; }, /UNSPECIFIED, so nobody upgrades the cluster/],
            [rules.gkeReleaseChannel, "RAPID channel", (c) => { c.releaseChannel.channel = "RAPID"; }, /RAPID, which is not allowed here: set releaseChannel\.channel to REGULAR or STABLE/],
            [rules.gkeSecretsEncryption, "no application-layer encryption", (c) => { c.databaseEncryption = { state: "DECRYPTED" }; }, /databaseEncryption is DECRYPTED without keyName/],
            [rules.gkeNoLegacyAuth, "legacy ABAC", (c) => { c.enableLegacyAbac = true; }, /enableLegacyAbac is true/],
            [rules.gkeNoLegacyAuth, "client certificate", (c) => { c.masterAuth.clientCertificateConfig.issueClientCertificate = true; }, /issueClientCertificate is true/],
            [rules.gkeNetworkPolicy, "no network policy enforcement", (c) => { delete c.datapathProvider; }, /NetworkPolicies are stored but not enforced/],
            [rules.gkeNetworkPolicy, "Calico without its addon", (c) => { delete c.datapathProvider; c.networkPolicy = { enabled: true }; c.addonsConfig = { networkPolicyConfig: { disabled: true } }; }, /networkPolicyConfig\.disabled is true, so no enforcer runs/],
            [rules.gkeDeletionProtection, "deletion protection off", (c) => { c.deletionProtection = false; }, /deletionProtection is false in a production stack/],
            [rules.gkeBinaryAuthorization, "no Binary Authorization", (c) => { delete c.binaryAuthorization; }, /binaryAuthorization\.evaluationMode is unset/],
            [rules.gkeLoggingMonitoring, "logging off", (c) => { c.loggingService = "none"; }, /loggingService is none/],
            [rules.gkeLoggingMonitoring, "monitoring without system components", (c) => { c.monitoringConfig = { enableComponents: ["APISERVER"] }; }, /monitoringConfig\.enableComponents lacks SYSTEM_COMPONENTS/],
            [rules.gkeVpcNative, "routes-based", (c) => { c.networkingMode = "ROUTES"; }, /networkingMode is ROUTES/],
            [rules.gkeRemoveDefaultNodePool, "default pool kept", (c) => { c.removeDefaultNodePool = false; }, /removeDefaultNodePool is not true/],
            [rules.gkeRegionalInProduction, "zonal", (c) => { c.location = "us-central1-a"; }, /location us-central1-a is a zone.*\(us-central1\)/],
        ];
        for (const [policy, label, change, expected] of cases) {
            it(`${policy.name} (${policy.enforcementLevel}): the hardened cluster passes; ${label} fails`, async () => {
                await passesThenFails(policy, gcp.container.Cluster, goodGke, variant(goodGke, change), expected);
            });
        }

        it("configuration: private endpoint on demand, other channels, locations and versions, production stacks", async () => {
            assert.match((await violations(rules.gkeControlPlaneAccess, gcp.container.Cluster, goodGke, { requirePrivateEndpoint: true }))[0], /enablePrivateEndpoint is not true/);
            assert.deepEqual(await violations(rules.gkeReleaseChannel, gcp.container.Cluster, variant(goodGke, (c) => { c.releaseChannel.channel = "RAPID"; }), { allowedChannels: ["RAPID"] }), []);
            const pinned = variant(goodGke, (c) => { c.minMasterVersion = "1.33.5-gke.100"; });
            assert.deepEqual(await violations(rules.gkeLocationAndVersion, gcp.container.Cluster, pinned), [], "empty allow-lists allow any");
            assert.equal((await violations(rules.gkeLocationAndVersion, gcp.container.Cluster, pinned, { allowedLocations: ["europe-west1"], allowedVersionPrefixes: ["1.34"] })).length, 2);
            const unprotected = variant(goodGke, (c) => { c.deletionProtection = false; });
            assert.deepEqual(await violations(rules.gkeDeletionProtection, gcp.container.Cluster, unprotected, {}, "staging"), []);
            assert.deepEqual(await violations(rules.gkeRegionalInProduction, gcp.container.Cluster, variant(goodGke, (c) => { c.location = "us-central1-a"; }), {}, "dev"), []);
        });

        it("Autopilot clusters are not asked for settings Google manages", async () => {
            const autopilot = { name: "ap", location: "us-central1", enableAutopilot: true };
            for (const p of [rules.gkeWorkloadIdentity, rules.gkeNetworkPolicy, rules.gkeRemoveDefaultNodePool, rules.gkeNodeSecureBoot, rules.gkeNodeServiceAccount]) {
                assert.deepEqual(await violations(p, gcp.container.Cluster, autopilot), [], p.name);
            }
        });
    });

    describe("GKE nodes", () => {
        const cases: [ResourceValidationPolicy, string, (p: any) => void, RegExp][] = [
            [rules.gkePrivateNodes, "public pool", (p) => { p.networkConfig = { enablePrivateNodes: false }; }, /networkConfig\.enablePrivateNodes is false/],
            [rules.gkeNodeImage, "Ubuntu image", (p) => { p.nodeConfig.imageType = "UBUNTU_CONTAINERD"; }, /nodeConfig\.imageType is UBUNTU_CONTAINERD/],
            [rules.gkeNodeAutoUpgradeRepair, "auto-upgrade off", (p) => { p.management.autoUpgrade = false; }, /management\.autoUpgrade is false/],
            [rules.gkeNodeAutoUpgradeRepair, "auto-repair off", (p) => { p.management.autoRepair = false; }, /management\.autoRepair is false/],
            [rules.gkeNodeServiceAccount, "default service account (unset)", (p) => { delete p.nodeConfig.serviceAccount; }, /serviceAccount is unset \(the Compute Engine default/],
            [rules.gkeNodeServiceAccount, "Compute Engine default account", (p) => { p.nodeConfig.serviceAccount = "123456789-compute@developer.gserviceaccount.com"; }, /-compute@developer/],
            [rules.gkeNodeSecureBoot, "no secure boot", (p) => { delete p.nodeConfig.shieldedInstanceConfig; }, /enableSecureBoot is unset \(default false\)/],
            [rules.gkeNodeMetadataServer, "GCE_METADATA", (p) => { p.nodeConfig.workloadMetadataConfig.mode = "GCE_METADATA"; }, /workloadMetadataConfig\.mode is GCE_METADATA/],
            [rules.gkeNodeMetadataServer, "legacy metadata endpoints", (p) => { p.nodeConfig.metadata["disable-legacy-endpoints"] = "false"; }, /disable-legacy-endpoints"\] is "false"/],
        ];
        for (const [policy, label, change, expected] of cases) {
            it(`${policy.name}: the hardened pool passes; ${label} fails`, async () => {
                await passesThenFails(policy, gcp.container.NodePool, goodPool, variant(goodPool, change), expected);
            });
        }

        it("also reads the default pool (until removed) and pools inlined in the cluster", async () => {
            const kept = variant(goodGke, (c) => { c.removeDefaultNodePool = false; c.nodeConfig.workloadMetadataConfig.mode = "GCE_METADATA"; });
            assert.match((await violations(rules.gkeNodeMetadataServer, gcp.container.Cluster, kept))[0], /^nodeConfig\.workloadMetadataConfig\.mode is GCE_METADATA/);
            const inline = variant(goodGke, (c) => { c.nodePools = [{ name: "extra", management: { autoRepair: false }, nodeConfig: hardenedNodes }]; });
            assert.match((await violations(rules.gkeNodeAutoUpgradeRepair, gcp.container.Cluster, inline))[0], /^nodePools\[0\]\.management\.autoRepair is false/);
            assert.match((await violations(rules.gkeNodeImage, gcp.container.Cluster, variant(inline, (c) => { c.nodePools[0].nodeConfig = { ...hardenedNodes, imageType: "UBUNTU_CONTAINERD" }; })))[0], /nodePools\[0\] \(extra\)\.nodeConfig\.imageType/);
            assert.equal((await violations(rules.gkeNodeServiceAccount, gcp.container.NodePool, goodPool, { allowedServiceAccounts: ["other@p.iam.gserviceaccount.com"] })).length, 1);
        });
    });

    describe("KMS", () => {
        it("kms-key-rotation: AWS symmetric keys rotate; asymmetric keys are out of scope", async () => {
            const p = rules.kmsKeyRotation;
            await passesThenFails(p, aws.kms.Key, { enableKeyRotation: true, description: "x" }, { description: "x" }, /enableKeyRotation is unset \(default false\)/);
            assert.match((await violations(p, aws.kms.Key, { enableKeyRotation: true, rotationPeriodInDays: 730 }))[0], /rotationPeriodInDays is 730: set it to 365 or less/);
            assert.deepEqual(await violations(p, aws.kms.Key, { customerMasterKeySpec: "ECC_NIST_P256", keyUsage: "SIGN_VERIFY" }), []);
        });

        it("kms-key-rotation: Cloud KMS keys rotate at least every maxRotationDays", async () => {
            const p = rules.kmsKeyRotation;
            await passesThenFails(p, gcp.kms.CryptoKey, { keyRing: "r", purpose: "ENCRYPT_DECRYPT", rotationPeriod: "7776000s" }, { keyRing: "r" }, /rotationPeriod is unset, so the key never rotates: set rotationPeriod to "31536000s"/);
            assert.deepEqual(await violations(p, gcp.kms.CryptoKey, { keyRing: "r", rotationPeriod: "7776000s" }, { maxRotationDays: 90 }), [], "90 days is 7776000s");
            assert.equal((await violations(p, gcp.kms.CryptoKey, { keyRing: "r", rotationPeriod: "63072000s" })).length, 1);
            assert.deepEqual(await violations(p, gcp.kms.CryptoKey, { keyRing: "r", purpose: "ASYMMETRIC_SIGN" }), []);
        });

        it("aws-kms-key-policy-lockout-check and aws-kms-key-description (advisory)", async () => {
            await passesThenFails(rules.awsKmsKeyPolicyLockout, aws.kms.Key, {}, { bypassPolicyLockoutSafetyCheck: true }, /bypassPolicyLockoutSafetyCheck is true/);
            assert.equal(rules.awsKmsKeyDescription.enforcementLevel, "advisory");
            await passesThenFails(rules.awsKmsKeyDescription, aws.kms.Key, { description: "EKS secrets of prod-aws-use1" }, { description: " " }, /description is empty/);
        });
    });

    describe("production", () => {
        it("protect-in-production: clusters and keys carry protect in prod, not elsewhere", async () => {
            const p = rules.protectInProduction;
            for (const cls of [aws.eks.Cluster, gcp.container.Cluster, aws.kms.Key, gcp.kms.CryptoKey]) {
                assert.deepEqual(await violations(p, cls, {}, {}, { stack: "prod", protect: true }), [], cls.name);
                assert.match((await violations(p, cls, {}, {}, { stack: "prod", protect: false }))[0], /not protected in production stack prod.*set the resource option protect: true/, cls.name);
                assert.deepEqual(await violations(p, cls, {}, {}, { stack: "dev", protect: false }), [], cls.name);
            }
            assert.deepEqual(await violations(p, k8s.core.v1.Namespace, {}, {}, { stack: "prod" }), [], "other kinds");
            assert.deepEqual(await violations(p, aws.kms.Key, {}, { exemptResources: ["scratch"] }, { stack: "prod", name: "scratch" }), []);
        });

        const release = (chart: string, values: Record<string, any>) => ({ chart, version: "1.0.0", namespace: "x", values });
        const ha = (chart: string, values: Record<string, any>, stack = "prod") => violations(rules.productionHighAvailability, k8s.helm.v3.Release, release(chart, values), {}, stack);

        it("production-high-availability: istiod counts the autoscaler's minimum, and ignores pilot.*", async () => {
            assert.deepEqual(await ha("istiod", { autoscaleMin: 2 }), []);
            assert.deepEqual(await ha("istiod", { autoscaleEnabled: false, replicaCount: 3 }), []);
            assert.match((await ha("istiod", { replicaCount: 2 }))[0], /values\.autoscaleMin is unset \(1\) \(autoscaleEnabled is on, so the autoscaler's minimum decides\)/);
            assert.match((await ha("istiod", { pilot: { replicaCount: 2 } }))[0], /pilot\.replicaCount is IstioOperator syntax, which the istiod chart ignores/);
            assert.match((await ha("istiod", { autoscaleMin: 2, global: { defaultPodDisruptionBudget: { enabled: false } } }))[0], /defaultPodDisruptionBudget\.enabled is false/);
            assert.deepEqual(await ha("istiod", {}, "dev"), [], "dev may run one replica");
        });

        it("production-high-availability: gateways, cert-manager, istio-csr, approver-policy, trust-manager", async () => {
            assert.deepEqual(await ha("gateway", { autoscaling: { minReplicas: 2 }, podDisruptionBudget: { minAvailable: 1 } }), []);
            assert.deepEqual(await ha("gateway", { kind: "DaemonSet", podDisruptionBudget: { minAvailable: 1 } }), []);
            const gateway = await ha("gateway", { autoscaling: { enabled: false }, replicaCount: 1 });
            assert.equal(gateway.length, 2, gateway.join("\n"));
            assert.match(gateway[0], /^gateway in production stack prod: values\.replicaCount is 1, so one node drain or crash stops traffic through this gateway/);
            assert.match(gateway[1], /podDisruptionBudget is empty/);
            const certManager = { replicaCount: 2, podDisruptionBudget: { enabled: true }, webhook: { replicaCount: 2, podDisruptionBudget: { enabled: true } }, cainjector: { replicaCount: 2, podDisruptionBudget: { enabled: true } } };
            assert.deepEqual(await ha("oci://quay.io/jetstack/charts/cert-manager", certManager), []);
            assert.match((await ha("cert-manager", variant(certManager, (v) => { v.webhook.podDisruptionBudget.enabled = false; })))[0], /webhook\.podDisruptionBudget\.enabled is not true/);
            assert.deepEqual(await ha("cert-manager", variant(certManager, (v) => { v.cainjector = { enabled: false }; })), [], "no cainjector, nothing to spread");
            assert.equal((await ha("cert-manager", {})).length, 6);
            for (const chart of ["cert-manager-istio-csr", "cert-manager-approver-policy", "trust-manager"]) {
                assert.deepEqual(await ha(chart, { replicaCount: 2, podDisruptionBudget: { enabled: true } }), [], chart);
                assert.equal((await ha(chart, {})).length, 2, chart);
            }
            assert.deepEqual(await ha("base", {}), [], "charts without workloads");
            assert.equal((await violations(rules.productionHighAvailability, k8s.helm.v3.Release, release("cert-manager-istio-csr", { replicaCount: 2, podDisruptionBudget: { enabled: true } }), { minReplicas: 3 }, "prod")).length, 1);
        });
    });
});
