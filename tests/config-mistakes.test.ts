import assert from "node:assert/strict";
import * as fs from "node:fs";
import { configWarnings, parseStackConfig } from "../config/load";
import { builtCapabilities, MeshConfig } from "../config/schema";
import { acmeDnsServiceAccountId, nodeServiceAccountId } from "../components/cloud/gcp/names";
import { planStackFile, shippedStackFile } from "./support/plan";
import { stackConfig, toRuntime } from "./support/stacks";

/**
 * Realistic mistakes in copies of the shipped stack files, as a platform team makes them: each is refused by
 * `npm run plan` with exit 2, nothing written, and one message naming the key, the value and the fix.
 */

interface Mistake {
    readonly what: string;
    readonly stack: string;
    /** The edit, as text: [what the shipped file says, what the user wrote instead]. */
    readonly edits: ReadonlyArray<readonly [string | RegExp, string]>;
    readonly key: string;
    readonly message: RegExp;
    /** What the message shows of the value. */
    readonly shows?: string;
    /** Keys that depend on the wrong one, and are not judged while it is wrong. */
    readonly notJudged?: readonly string[];
}

function edited(stack: string, edits: Mistake["edits"]): string {
    return edits.reduce((text, [from, to]) => {
        const next = text.replace(from, to);
        assert.notEqual(next, text, `the edit ${String(from)} does not apply to Pulumi.${stack}.yaml`);
        return next;
    }, shippedStackFile(stack));
}

const EDGE_AUTH = "  istio-production:edgeAuth:\n    issuer: https://login.acme.example/\n    jwksUri: https://login.acme.example/.well-known/jwks.json\n";

// Node service account ids are at most 30 characters: a longer cluster name is cut and hashed, and a cluster may be
// named exactly like that shortened form.
const LONG_GKE = "prod-gcp-uscentral1-mesh-blue";
const LOOKALIKE = nodeServiceAccountId(LONG_GKE).replace(/-nodes$/, "");

// Two GKE clusters of one project, one named like the other's cut and hashed ACME DNS-01 account.
const LONG_DNS_GKE = "staging-gcp-euw4-secondary";
const DNS_LOOKALIKE = acmeDnsServiceAccountId(LONG_DNS_GKE).replace(/-acme-dns$/, "");
const gkeCluster = (name: string, region: string, ranges: string) => `    - name: ${name}\n      cloud: gcp\n      region: ${region}\n      project: acme-mesh-staging\n` +
    `      network: net-${name}\n      trustDomain: staging.mesh.acme.example\n${ranges}      nodes:\n        machineType: e2-standard-4\n        minNodeCount: 1\n        maxNodeCount: 3\n`;

const mistakes: Mistake[] = [
    { what: "the same trust domain on both clouds at stage 5", stack: "prod",
        edits: [["trustDomain: gcp.prod.mesh.acme.example", "trustDomain: aws.prod.mesh.acme.example"]],
        key: "istio-production:clusters[1].trustDomain", message: /also the trust domain of the aws clusters .* each cloud has its own/, shows: '"aws.prod.mesh.acme.example"' },
    { what: "a service limited to a cloud the stack does not have", stack: "staging",
        edits: [["      protocol: grpc\n", "      protocol: grpc\n      clouds: [gcp]\n"]],
        key: "istio-production:services[3].clouds", message: /names no cloud of this stack \(aws\).*every call to it would be denied/, shows: '["gcp"]' },
    { what: "a service in the mesh's root namespace", stack: "staging",
        edits: [["      namespace: payments", "      namespace: istio-system"]],
        key: "istio-production:services[3].namespace", message: /root namespace.*every namespace.*namespace of its own/, shows: '"istio-system"' },
    { what: "a service in a namespace the mesh owns", stack: "staging",
        edits: [["      namespace: payments", "      namespace: istio-ingress"]],
        key: "istio-production:services[3].namespace", message: /a namespace this program creates for the mesh itself.*create it twice.*namespace of its own/, shows: '"istio-ingress"' },
    { what: "end-user authentication at a stage that does not apply it", stack: "dev",
        edits: [[/$/, EDGE_AUTH]],
        key: "istio-production:edgeAuth", message: /applied from stage 3.*remove edgeAuth, or raise the stage to 3/ },
    { what: "operator CIDRs that together cover the internet", stack: "dev",
        edits: [["    - 203.0.113.0/24", "    - 0.0.0.0/1\n    - 128.0.0.0/1"]],
        key: "istio-production:operatorCidrs", message: /every address on the internet.*operators' own ranges/, shows: '["0.0.0.0/1","128.0.0.0/1"]' },
    { what: "a split of the internet around private space", stack: "dev",
        edits: [["    - 203.0.113.0/24", "    - 0.0.0.0/5\n    - 8.0.0.0/7\n    - 11.0.0.0/8\n    - 12.0.0.0/6\n    - 16.0.0.0/4\n    - 32.0.0.0/3\n    - 64.0.0.0/2\n    - 128.0.0.0/1"]],
        key: "istio-production:operatorCidrs", message: /every address on the internet/ },
    { what: "an operator range over most of the internet", stack: "staging",
        edits: [["    - 203.0.113.0/24", "    - 203.0.113.0/24\n    - 0.0.0.0/1\n    - 128.0.0.0/3"]],
        key: "istio-production:operatorCidrs[1]", message: /admits 2,092,957,696 internet addresses, wider than a \/8.*operators' own ranges/, shows: '"0.0.0.0/1"' },
    { what: "operator ranges that together admit more than a /8", stack: "dev",
        edits: [["    - 203.0.113.0/24", "    - 203.0.113.0/24\n    - 11.0.0.0/8\n    - 12.0.0.0/8"]],
        key: "istio-production:operatorCidrs", message: /together admit 33,554,432 internet addresses, more than the 16,777,216 of a \/8 an allow-list may/ },
    { what: "a wildcard host with the HTTP-01 challenge", stack: "staging",
        edits: [["hosts: [shop.staging.acme.example]", "hosts: [\"*.staging.acme.example\"]"], [/    dnsZone:\n.*\n.*\n/, "    acmeChallenge: http01\n"]],
        key: "istio-production:ingress.hosts[0]", message: /wildcard name, which ACME CAs validate only by DNS-01; use acmeChallenge: dns01/, shows: '"*.staging.acme.example"' },
    { what: "a GKE pod range over the node subnet's default", stack: "prod",
        edits: [["      project: acme-mesh-prod\n", "      project: acme-mesh-prod\n      podsCidr: 10.10.0.0/16\n"]],
        key: "istio-production:clusters[1].podsCidr", message: /overlaps subnetCidr \(10\.10\.0\.0\/20\)/, shows: '"10.10.0.0/16"' },
    { what: "a GKE service range inside the pod range", stack: "prod",
        edits: [["      project: acme-mesh-prod\n", "      project: acme-mesh-prod\n      podsCidr: 10.64.0.0/14\n      servicesCidr: 10.65.0.0/20\n"]],
        key: "istio-production:clusters[1].servicesCidr", message: /overlaps podsCidr \(10\.64\.0\.0\/14\)/ },
    { what: "a GCP region on an EKS cluster", stack: "dev",
        edits: [["region: eu-west-1", "region: europe-west1"]],
        key: "istio-production:clusters[0].region", message: /is a GCP region, not an AWS region/, shows: '"europe-west1"' },
    { what: "an AWS region on a GKE cluster", stack: "prod",
        edits: [["region: us-central1", "region: us-east-1"]],
        key: "istio-production:clusters[1].region", message: /is an AWS region, not a GCP region; did you mean us-east1\?/ },
    { what: "a region that does not exist", stack: "staging",
        edits: [["region: eu-central-1", "region: eu-centrel-1"]],
        key: "istio-production:clusters[1].region", message: /is not an AWS region; did you mean eu-central-1\?/ },
    { what: "a JWT issuer over http", stack: "staging",
        edits: [["issuer: https://login.acme.example/", "issuer: http://login.acme.example/"]],
        key: "istio-production:edgeAuth.issuer", message: /must be an https URL/, shows: '"http://login.acme.example/"' },
    { what: "a JWKS URI over http", stack: "prod",
        edits: [["jwksUri: https://", "jwksUri: http://"]],
        key: "istio-production:edgeAuth.jwksUri", message: /must be an https URL/ },
    { what: "a misspelled config namespace", stack: "dev",
        edits: [["istio-production:meshId: mesh-dev", "istio-prodcution:meshId: mesh-dev"]],
        key: "istio-prodcution:meshId", message: /unknown config namespace "istio-prodcution".*did you mean istio-production:meshId\?/, shows: "a string of 8 characters" },
    { what: "a GKE cluster named like another's cut and hashed node service account", stack: "prod",
        edits: [
            [/prod-gcp-usc1/g, LONG_GKE],
            [/( {4}- name: prod-gcp-uscentral1-mesh-blue\n(?: {6}.*\n| {8}.*\n)+)/, "$1$1"],
            [/(- name: prod-gcp-uscentral1-mesh-blue\n(?:.*\n){5}.*\n)((?:.*\n)*?)( {4}- name: )prod-gcp-uscentral1-mesh-blue\n(.*\n.*\n.*\n)( {6}network: )net-prod-gcp-uscentral1-mesh-blue/, `$1$2$3${LOOKALIKE}\n$4$5net-lookalike`],
        ],
        key: "istio-production:clusters[2].name", message: new RegExp(`would get the node service account "${LOOKALIKE}-nodes" that clusters\\[1\\]\\.name gets in project acme-mesh-prod`) },
    { what: "a GKE cluster named like another's cut and hashed ACME DNS-01 service account", stack: "staging",
        edits: [
            [/ {4}- name: staging-aws-euw1\n(?:.*\n)*?(?= {2}istio-production:ingress:)/, gkeCluster(DNS_LOOKALIKE, "europe-west4", "") +
                gkeCluster(LONG_DNS_GKE, "europe-west1", "      subnetCidr: 10.11.0.0/20\n      podsCidr: 10.28.0.0/14\n      servicesCidr: 10.32.0.0/20\n      masterCidr: 172.16.0.16/28\n")],
            ["      provider: route53\n      hostedZoneId: Z05STAGINGACMEEXAMPLE\n", "      provider: cloudDns\n      project: acme-mesh-staging\n      managedZone: staging-acme-example\n"],
            ["hubCluster: staging-aws-euw1", `hubCluster: ${DNS_LOOKALIKE}`],
        ],
        key: "istio-production:clusters[1].name", message: new RegExp(`would get the ACME DNS-01 service account "${DNS_LOOKALIKE}-acme-dns" that clusters\\[0\\]\\.name gets in project acme-mesh-staging`) },
    { what: "highAvailability off in prod", stack: "prod",
        edits: [["istio-production:highAvailability: true", "istio-production:highAvailability: false"]],
        key: "istio-production:highAvailability", message: /must be true in environment prod.*pulumi config set istio-production:highAvailability true/, shows: "false" },
    { what: "protectResources left out in prod", stack: "prod",
        edits: [["  istio-production:protectResources: true\n", ""]],
        key: "istio-production:protectResources", message: /must be true in environment prod.*protect/, shows: "false" },
    { what: "a VPC too small for its zones", stack: "staging",
        edits: [["      region: eu-west-1\n", "      region: eu-west-1\n      vpcCidr: 10.0.0.0/24\n"]],
        key: "istio-production:clusters[0].vpcCidr", message: /too small for 3 availability zones.*use a \/23 or larger/, shows: '"10.0.0.0/24"' },
    { what: "more availability zones than the region gives", stack: "dev",
        edits: [["      region: eu-west-1\n", "      region: eu-west-1\n      availabilityZones: 4\n"]],
        key: "istio-production:clusters[0].availabilityZones", message: /is more than the 3 availability zones eu-west-1 gives an account: use at most 3/, shows: "4" },
    { what: "highAvailability in a region with two zones", stack: "staging",
        edits: [["region: eu-central-1", "region: us-west-1"]],
        key: "istio-production:clusters[1].region", message: /gives an account 2 availability zones, and highAvailability spreads the cluster over 3: pick a region with 3 or more/, shows: '"us-west-1"' },
    { what: "a stage between stages", stack: "dev",
        edits: [["istio-production:stage: 2", "istio-production:stage: 2.5"]],
        key: "istio-production:stage", message: /must be a whole number, 1 to 5/, shows: "2.5" },
    { what: "a setting spelt with the wrong case", stack: "dev",
        edits: [["istio-production:meshId: mesh-dev", "istio-production:meshID: mesh-dev"]],
        key: "istio-production:meshID", message: /unknown key: this project has no such setting; did you mean meshId\?/, shows: "a string of 8 characters" },
    { what: "a nested setting spelt with the wrong case", stack: "dev",
        edits: [["instanceType:", "instancetype:"]],
        key: "istio-production:clusters[0].nodes.instancetype", message: /unknown key: this object has no such setting; did you mean instanceType\?/ },
    { what: "a region in capitals", stack: "staging",
        edits: [["region: eu-central-1", "region: EU-CENTRAL-1"]],
        key: "istio-production:clusters[1].region", message: /is not an AWS region; did you mean eu-central-1\?/, shows: '"EU-CENTRAL-1"' },
    { what: "an issuer in capitals, without a second error on what depends on it", stack: "staging",
        edits: [["issuer: acme", "issuer: ACME"]],
        key: "istio-production:ingress.issuer", message: /must be "acme" or "private"/, shows: '"ACME"', notJudged: ["istio-production:ingress.dnsZone"] },
    { what: "a cluster name with a look-alike letter", stack: "staging",
        edits: [["- name: staging-aws-euc1", "- name: staging-aws-\u0435uc1"]],
        key: "istio-production:clusters[1].name", message: /must be a DNS-1123 label/, shows: '"staging-aws-\\u0435uc1"' },
    { what: "a VPC larger than AWS allows", stack: "dev",
        edits: [["      region: eu-west-1\n", "      region: eu-west-1\n      vpcCidr: 10.0.0.0/8\n"]],
        key: "istio-production:clusters[0].vpcCidr", message: /larger than AWS allows/ },
    { what: "a pki stack of another project", stack: "dev",
        edits: [["environment:\n  - istio-production/pki-dev-handoff\n", ""], ["\nconfig:\n", "\nconfig:\n  istio-production:pki:\n    source: stack\n    stack: acme/pki/pki-dev\n"]],
        key: "istio-production:pki.stack", message: /names a stack of project pki, not of this project; did you mean acme\/istio-production\/pki-dev\?/, shows: '"acme/pki/pki-dev"' },
    { what: "a root common name over X.509's limit", stack: "pki-prod",
        edits: [["organization: ACME Corp", "organization: ACME Corporation International Holdings Limited"]],
        key: "istio-production:environment", message: /"ACME Corporation International Holdings Limited prod-root-1 Root CA" 67 characters, over X\.509's 64: shorten the root id \(set roots: \[<shorter id>\]\) or the environment name or organization/, shows: '"prod"' },
    { what: "a listed root whose common name is over X.509's limit", stack: "pki-staging",
        edits: [["istio-production:environment: staging\n", "istio-production:environment: staging\n  istio-production:roots: [staging-root-2026-enterprise-rotation-phase-two-b]\n"]],
        key: "istio-production:roots[0]", message: /"ACME Corp staging-root-2026-enterprise-rotation-phase-two-b Root CA" 67 characters, over X\.509's 64: shorten the root id or organization/ },
];

describe("config gate: realistic mistakes in stack files", () => {
    for (const m of mistakes) {
        it(`refuses ${m.what}, naming the key, the value and the fix`, async () => {
            const { code, stderr, wrotePlan } = await planStackFile(m.stack, edited(m.stack, m.edits));
            assert.equal(code, 2, stderr);
            assert.equal(wrotePlan, false, "nothing is written for bad input");
            const line = stderr.split("\n").find((l) => l.startsWith(`  - ${m.key}: `));
            assert.ok(line, `no problem reported for ${m.key}:\n${stderr}`);
            assert.match(line, m.message);
            if (m.shows) assert.ok(line.endsWith(`(got ${m.shows})`), `${line}\nshould show ${m.shows}`);
            for (const key of m.notJudged ?? []) assert.ok(!stderr.includes(`  - ${key}: `), `${key} is judged while ${m.key} is wrong:\n${stderr}`);
        });
    }

    it("lists every mistake of one stack file in one error", async () => {
        const all = edited("prod", [
            ["trustDomain: gcp.prod.mesh.acme.example", "trustDomain: aws.prod.mesh.acme.example"],
            ["region: us-central1", "region: us-centrall"],
            ["istio-production:highAvailability: true", "istio-production:highAvailability: false"],
            ["      project: acme-mesh-prod\n", "      project: acme-mesh-prod\n      podsCidr: 10.10.0.0/16\n"],
            ["issuer: https://login.acme.example/", "issuer: login.acme.example"],
            ["istio-production:meshId: mesh-prod", "istio-prodution:meshId: mesh-prod"],
        ]);
        const { code, stderr } = await planStackFile("prod", all);
        assert.equal(code, 2, stderr);
        assert.match(stderr, /^invalid stack configuration, 8 problems:/);
        for (const key of ["clusters[1].trustDomain", "clusters[1].region", "highAvailability", "clusters[1].podsCidr", "edgeAuth.issuer", "observability.kialiAuth.issuerUri", "meshId"]) {
            assert.ok(stderr.includes(`  - istio-production:${key}: `), `${key} missing from:\n${stderr}`);
        }
        assert.ok(stderr.includes("  - istio-prodution:meshId: "), stderr);
    });

    it("keeps provider and engine namespaces: their keys are for the providers", () => {
        const raw = { ...toRuntime(stackConfig("dev")), "aws:region": "eu-west-1", "gcp:project": "acme-mesh-dev", "kubernetes:context": "dev", "tls:proxy": "{}", "pulumi:tags": "{}" };
        assert.doesNotThrow(() => parseStackConfig(raw));
    });
});

describe("config gate: what only the pki stack's outputs reveal", () => {
    it("a cluster the pki stack does not issue is bad input naming the cluster, not a failed program", async () => {
        const { code, stderr, wrotePlan } = await planStackFile("dev", edited("dev", [["name: dev-aws-1", "name: dev-aws-2"], ["net-dev-aws-1", "net-dev-aws-2"]]));
        assert.equal(code, 2, stderr);
        assert.equal(wrotePlan, false);
        // dev imports pki-dev's hand-off (ESC), which holds no intermediate for the renamed cluster.
        assert.match(stderr, /^invalid stack configuration, 1 problem:\n {2}- istio-production:intermediates\.dev-aws-2: pki\.source is config: clusters\[0\] needs its intermediate/m);
        assert.doesNotMatch(stderr, /error serializing|program failed|at /);
    });

    it("a trust domain the cluster's intermediate is not constrained to names the cluster, before anything uses the intermediate", async () => {
        const { code, stderr, wrotePlan } = await planStackFile("dev", edited("dev", [["trustDomain: dev.mesh.acme.example", "trustDomain: dev.mesh.acme.com"]]));
        assert.equal(code, 2, stderr);
        assert.equal(wrotePlan, false);
        assert.match(stderr, /^invalid stack configuration, 1 problem:\n {2}- istio-production:intermediates\.dev-aws-1: does not fit cluster "dev-aws-1": .*dev\.mesh\.acme\.com.* \(got \[secret\]\)/m);
    });
});

describe("config gate: what it deploys but says out loud", () => {
    it("stage 3 with no declared service warns that everything will be denied, and the plan claims no end-user authentication", async () => {
        const { code, stderr, planFile } = await planStackFile("dev", edited("dev", [["istio-production:stage: 2", "istio-production:stage: 3"]]));
        assert.equal(code, 0, stderr);
        assert.match(stderr, /warning: .*istio-production:services is empty at stage 3: authorization denies every call/);
        const plan = JSON.parse(fs.readFileSync(planFile, "utf8"));
        const outputs = plan.resources.find((r: { type: string }) => r.type === "pulumi:pulumi:Stack").outputs;
        assert.ok(outputs.enabled.some((e: string) => e.startsWith("authorization:")), JSON.stringify(outputs.enabled));
        assert.ok(!outputs.enabled.some((e: string) => e.startsWith("endUserAuthentication:")), "no edgeAuth: end-user authentication is not built");
    });

    it("declared services, or a stage without authorization, need no warning; edgeAuth makes end-user authentication real", () => {
        const staging = parseStackConfig(toRuntime(stackConfig("staging"))) as MeshConfig;
        assert.deepEqual(configWarnings(staging), []);
        assert.equal(builtCapabilities(staging).endUserAuthentication, true);
        assert.deepEqual(configWarnings(parseStackConfig(toRuntime(stackConfig("dev")))), []);
    });
});
