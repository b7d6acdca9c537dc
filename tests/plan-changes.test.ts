import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { planStack } from "../engine/plan";
import { planDocument, writePlan } from "../engine/report";
import { comparePlans, describeChanges, NO_DIGEST_NOTICE } from "../engine/report/changes";
import { writeReports } from "../engine/report/index";
import { shippedPlan, tempDir } from "./support/plan";
import { stackConfig, toRuntime } from "./support/stacks";

type Doc = ReturnType<typeof planDocument>;
type Resource = Doc["resources"][number];

/** plan.json with one resource's inputs edited: what the plan would hold after that input changed. */
function edited(doc: Doc, pick: (r: Resource) => boolean, edit: (inputs: any) => any): Doc {
    const i = doc.resources.findIndex(pick);
    assert.ok(i >= 0, "the plan has the resource to edit");
    const resources = [...doc.resources];
    resources[i] = { ...resources[i], inputs: edit(structuredClone(resources[i].inputs)) };
    return { ...doc, resources };
}

const byType = (type: string, name?: RegExp) => (r: Resource) => r.type === type && (!name || name.test(r.name));

describe("what a plan changes against a baseline", () => {
    // Each expectation is the provider's own: ForceNew / RequiresReplace in its schema, pulumi-kubernetes' forceNew table.
    it("replaces where the provider's schema forces a new resource and updates in place where it does not", async () => {
        const prod = planDocument(await shippedPlan("prod"), undefined);
        const cases: Array<[string, (r: Resource) => boolean, (i: any) => any, "update" | "replace"]> = [
            // terraform-provider-google v7.45.0 node_config.go:3934: machine_type goes through UpdateNodePool.
            ["GKE machineType", byType("gcp:container/nodePool:NodePool"), (i) => ({ ...i, nodeConfig: { ...i.nodeConfig, machineType: "e2-standard-16" } }), "update"],
            // node_config.go: oauth_scopes, service_account, metadata are ForceNew.
            ["GKE oauthScopes", byType("gcp:container/nodePool:NodePool"), (i) => ({ ...i, nodeConfig: { ...i.nodeConfig, oauthScopes: ["x"] } }), "replace"],
            ["GKE datapathProvider", byType("gcp:container/cluster:Cluster"), (i) => ({ ...i, datapathProvider: "LEGACY_DATAPATH" }), "replace"],
            // terraform-provider-aws internal/service/eks/node_group.go: instance_types, disk_size ForceNew; labels not.
            ["EKS instanceTypes", byType("aws:eks/nodeGroup:NodeGroup"), (i) => ({ ...i, instanceTypes: ["m6i.4xlarge"] }), "replace"],
            ["EKS node labels", byType("aws:eks/nodeGroup:NodeGroup"), (i) => ({ ...i, labels: { ...i.labels, extra: "1" } }), "update"],
            // cluster.go: access_config.bootstrap_cluster_creator_admin_permissions ForceNew; removing encryption_config
            // forces new (ForceNewIfChange), while public_access_cidrs updates in place.
            ["EKS bootstrap admin", byType("aws:eks/cluster:Cluster"), (i) => ({ ...i, accessConfig: { ...i.accessConfig, bootstrapClusterCreatorAdminPermissions: !i.accessConfig?.bootstrapClusterCreatorAdminPermissions } }), "replace"],
            ["EKS encryption removed", byType("aws:eks/cluster:Cluster"), (i) => { const { encryptionConfig: _gone, ...rest } = i; return rest; }, "replace"],
            ["EKS API allow-list", byType("aws:eks/cluster:Cluster"), (i) => ({ ...i, vpcConfig: { ...i.vpcConfig, publicAccessCidrs: ["192.0.2.0/24"] } }), "update"],
            // pulumi-kubernetes diff.go: RoleBinding/ClusterRoleBinding .roleRef; a Namespace's labels update in place.
            ["ClusterRoleBinding roleRef", byType("kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding"), (i) => ({ ...i, roleRef: { ...i.roleRef, name: "other" } }), "replace"],
            ["RoleBinding roleRef", byType("kubernetes:rbac.authorization.k8s.io/v1:RoleBinding"), (i) => ({ ...i, roleRef: { ...i.roleRef, name: "other" } }), "replace"],
            ["Namespace labels", byType("kubernetes:core/v1:Namespace"), (i) => ({ ...i, metadata: { ...i.metadata, labels: { x: "y" } } }), "update"],
        ];
        for (const [what, pick, edit, action] of cases) {
            const changes = comparePlans(prod, edited(prod, pick, edit), "main");
            const change = changes.changes.find((c) => c.type === prod.resources.find(pick)!.type);
            assert.equal(change?.action, action, `${what}: ${describeChanges(changes).join("\n")}`);
            if (action === "replace") assert.notEqual(change.replaceRule, "heuristic", `${what} is read off the provider`);
        }
    });

    it("replaces tls certificates on every input but earlyRenewalHours (terraform-provider-tls v4.2.1)", async () => {
        const pki = planDocument(await shippedPlan("pki-prod"), undefined);
        const cert = byType("tls:index/selfSignedCert:SelfSignedCert");
        const longer = comparePlans(edited(pki, cert, (i) => ({ ...i, validityPeriodHours: i.validityPeriodHours + 1 })), pki, "main");
        assert.equal(longer.changes.find((c) => c.type === "tls:index/selfSignedCert:SelfSignedCert")?.action, "replace");
        const renewal = comparePlans(edited(pki, cert, (i) => ({ ...i, earlyRenewalHours: 1 })), pki, "main");
        assert.equal(renewal.changes.find((c) => c.type === "tls:index/selfSignedCert:SelfSignedCert")?.action, "update");
    });

    it("replaces the program's own intermediate certificate on what its dynamic provider's diff replaces on, declared as replaceOnChanges", async () => {
        const pki = planDocument(await shippedPlan("pki-prod"), undefined);
        const type = "pulumi-nodejs:dynamic/pki:IntermediateCertificate";
        const cert = byType(type);
        assert.ok(pki.resources.find(cert)?.replaceOnChanges?.includes("validityPeriodHours"), "the resource declares its replacing inputs");
        const longer = comparePlans(edited(pki, cert, (i) => ({ ...i, validityPeriodHours: i.validityPeriodHours + 1 })), pki, "main");
        const replaced = longer.changes.find((c) => c.type === type);
        assert.equal(replaced?.action, "replace", describeChanges(longer).join("\n"));
        assert.equal(replaced.replaceRule, "the resource's replaceOnChanges option");
        // earlyRenewalHours is the one input its diff updates in place (components/pki/IntermediateCertificate.ts).
        const renewal = comparePlans(edited(pki, cert, (i) => ({ ...i, earlyRenewalHours: 1 })), pki, "main");
        assert.equal(renewal.changes.find((c) => c.type === type)?.action, "update");
    });

    it("replaces on a path under a resource's replaceOnChanges even where its type's rule excepts it (PropertyPath.Contains)", async () => {
        const pki = planDocument(await shippedPlan("pki-prod"), undefined);
        const cert = byType("tls:index/selfSignedCert:SelfSignedCert");
        const optedIn = { ...pki, resources: pki.resources.map((r) => (cert(r) ? { ...r, replaceOnChanges: ["earlyRenewalHours"] } : r)) };
        const renewal = comparePlans(optedIn, edited(optedIn, cert, (i) => ({ ...i, earlyRenewalHours: i.earlyRenewalHours + 1 })), "main");
        const change = renewal.changes.find((c) => c.type === "tls:index/selfSignedCert:SelfSignedCert");
        assert.equal(change?.action, "replace", "terraform-provider-tls updates earlyRenewalHours in place, the option replaces");
        assert.equal(change.replaceRule, "the resource's replaceOnChanges option");
    });

    it("labels a replacement no provider source backs as heuristic, in the terminal lines and changes.json", async () => {
        const dev = planDocument(await shippedPlan("dev"), undefined);
        const changes = comparePlans(edited(dev, byType("aws:ec2/vpc:Vpc"), (i) => ({ ...i, cidrBlock: "10.9.0.0/16" })), dev, "main");
        const vpc = changes.changes.find((c) => c.type === "aws:ec2/vpc:Vpc")!;
        assert.equal(vpc.replaceRule, "heuristic");
        assert.match(describeChanges(changes).join("\n"), /aws:ec2\/vpc:Vpc::\S+ \(replaced because cidrBlock changed; heuristic: no provider source read/);
    });

    it("propagates a replacement to the inputs that read it: a new VPC CIDR replaces the node group (subnet_ids ForceNew)", async () => {
        const before = planDocument(await shippedPlan("dev"), undefined);
        const config = stackConfig("dev");
        config.clusters[0].vpcCidr = "10.42.0.0/16";
        const after = planDocument(await planStack({ stack: "dev", config: toRuntime(config) }), undefined);
        const changes = comparePlans(before, after, "main");
        const group = changes.changes.find((c) => c.type === "aws:eks/nodeGroup:NodeGroup");
        assert.equal(group?.action, "replace", describeChanges(changes).join("\n"));
        assert.ok(group.replaceBecause.includes("subnetIds"));
        assert.ok(group.unknownUntilReplaced.includes("subnetIds"), "subnetIds reads the replaced subnets' ids: unknown until replaced");
        assert.match(describeChanges(changes).join("\n"), /subnetIds \(unknown until replaced\) changed; per hashicorp\/terraform-provider-aws/);
    });

    it("says where ignoreChanges hides a change (desiredSize)", async () => {
        const before = planDocument(await shippedPlan("dev"), undefined);
        const config = stackConfig("dev");
        config.clusters[0].nodes.desiredSize = config.clusters[0].nodes.minSize + 1 <= config.clusters[0].nodes.maxSize ? config.clusters[0].nodes.minSize + 1 : config.clusters[0].nodes.minSize;
        if (config.clusters[0].nodes.desiredSize === stackConfig("dev").clusters[0].nodes.desiredSize) config.clusters[0].nodes.maxSize = ++config.clusters[0].nodes.desiredSize;
        const after = planDocument(await planStack({ stack: "dev", config: toRuntime(config) }), undefined);
        const changes = comparePlans(before, after, "main");
        assert.match(describeChanges(changes).join("\n"), /ignored by ignoreChanges: scalingConfig\.desiredSize/);
    });
});

describe("changed secret values", () => {
    /** staging, its pki-staging read with a longer intermediate validity: a rotation of staging's intermediates. */
    async function rotation(key: string | undefined) {
        const before = planDocument(await shippedPlan("staging"), key);
        const pki = stackConfig("pki-staging");
        pki.intermediateValidityHours = (pki.intermediateValidityHours ?? 8760) - 24;
        const after = planDocument(await planStack({ stack: "staging", referencedConfig: { "pki-staging": toRuntime(pki) } }), key);
        return comparePlans(before, after, "main");
    }
    const caSecrets = (c: Awaited<ReturnType<typeof rotation>>) => c.changes.filter((x) => x.type === "kubernetes:core/v1:Secret" && /mesh-ca-intermediate$/.test(x.urn));

    it("with a shared digest key: a rotated intermediate replaces staging's istio-ca Secrets (pulumi-kubernetes: Secret .stringData)", async () => {
        const changes = await rotation("a key shared by both plans of one workflow run");
        assert.equal(changes.secretsCompared, true);
        const secrets = caSecrets(changes);
        assert.equal(secrets.length, 2, describeChanges(changes).join("\n"));
        for (const s of secrets) {
            assert.equal(s.action, "replace");
            assert.deepEqual(s.replaceBecause, ["stringData"]);
        }
        assert.doesNotMatch(describeChanges(changes).join("\n"), /not compared/);
    });

    it("without a key: no digest in plan.json and the changes say secret values were not compared", async () => {
        const doc = planDocument(await shippedPlan("staging"), undefined);
        assert.equal(doc.secretDigest, null);
        assert.ok(doc.resources.every((r) => !("secretDigests" in r)));
        const changes = await rotation(undefined);
        assert.equal(caSecrets(changes).length, 0);
        assert.ok(describeChanges(changes).includes(`  note: ${NO_DIGEST_NOTICE}`));
        const dir = tempDir("no-digest");
        writeReports(await shippedPlan("staging"), dir, changes);
        for (const file of ["summary.md", "report.html", "changes.json"]) assert.match(fs.readFileSync(path.join(dir, file), "utf8"), /secret values not compared \(no digest key\)/, file);
    });
});

describe("plan artifacts and CSRs", () => {
    it("hold no CSR a CA could sign: plan keys are derivable", async () => {
        // The pki stacks make the intermediates' CSRs (tls CertRequest), the review stack's too.
        for (const stack of ["pki-prod", "pki-review"]) {
            const plan = await shippedPlan(stack);
            assert.ok(plan.graph.resources.some((r) => r.type === "tls:index/certRequest:CertRequest"), `${stack} makes CSRs to look for`);
            const dir = writePlan(plan, tempDir("csr"));
            writeReports(plan, dir);
            const walk = (d: string): string[] => fs.readdirSync(d, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(path.join(d, e.name)) : [path.join(d, e.name)]));
            for (const file of walk(dir)) {
                assert.doesNotMatch(file, /csr\.pem$/, "no CSR file");
                assert.doesNotMatch(fs.readFileSync(file, "utf8"), /BEGIN (NEW )?CERTIFICATE REQUEST/, `${path.relative(dir, file)} holds a CSR`);
            }
        }
    });
});
