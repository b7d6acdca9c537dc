import assert from "node:assert/strict";
import { plain } from "../engine/values";
import { SERVICE_ACCOUNT_ID, shortName } from "../components/cloud/gcp/names";
import { ConfigError, parseStackConfig } from "../config";
import { find } from "./support/plan";
import { stackConfig, toRuntime } from "./support/stacks";
import { gkeOnlyStaging, longClusterName as clusterName } from "./support/variants";

/**
 * GCP names derived from cluster names (at most 40 characters, config/primitives.ts) must fit GCP's limits and stay
 * unique per project. Limits, from hashicorp/terraform-provider-google (which @pulumi/gcp wraps): service account
 * IDs are RFC 1035 labels of 6-30 characters (google/services/resourcemanager/resource_google_service_account.go,
 * `verify.ValidateRFC1035Name(6, 30)`); Compute Engine resource names are RFC 1035 labels of at most 63
 * (google/verify/validation.go `ValidateGCEName`); Cloud KMS key ring and key names match `[a-zA-Z0-9_-]{1,63}`.
 */

const RFC1035 = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const validAccountId = (id: string) => RFC1035.test(id) && id.length >= SERVICE_ACCOUNT_ID.minLength && id.length <= SERVICE_ACCOUNT_ID.maxLength;


describe("GCP names at the length limits", () => {
    it("keeps a name that fits as it was, so existing service accounts are not replaced", () => {
        assert.equal(shortName("prod-gcp-usc1", "nodes", 30), "prod-gcp-usc1-nodes");
        assert.equal(shortName("a", "nodes", 30), "a-nodes");
        assert.equal(shortName("abcdefghijklmnopqrstuvwx", "nodes", 30), "abcdefghijklmnopqrstuvwx-nodes", "exactly 30");
    });

    it("gives clusters that share their first characters distinct, valid service account IDs, at every length up to 40", () => {
        for (let length = 3; length <= 40; length++) {
            const a = clusterName(length, "a");
            const b = clusterName(length, "b");
            assert.equal(a.length, length);
            for (const suffix of ["nodes", "acme-dns"]) {
                const [ia, ib] = [shortName(a, suffix, 30), shortName(b, suffix, 30)];
                assert.ok(validAccountId(ia) && validAccountId(ib), `${ia} / ${ib}`);
                assert.notEqual(ia, ib, `${a} and ${b}`);
                assert.ok(ia.endsWith(`-${suffix}`));
            }
        }
        // The cut the program used to make: the first 24 characters, equal for both.
        const [a, b] = [clusterName(40, "a"), clusterName(40, "b")];
        assert.equal(`${a.slice(0, 24).replace(/-$/, "")}-nodes`, `${b.slice(0, 24).replace(/-$/, "")}-nodes`, "the defect: both clusters got the same ID");
    });

    it("never ends the cut on a hyphen, and refuses a suffix that leaves no room", () => {
        // 17 characters of base fit beside the hash and "-nodes"; the 17th is a hyphen here.
        assert.match(shortName("abcdefgh-ijklmno-pqrst-uvwxyz-ab", "nodes", 30), /^abcdefgh-ijklmno-[0-9a-f]{6}-nodes$/);
        assert.equal(shortName("abcdefgh-ijklmno-pqrst-uvwxyz-ab", "nodes", 30).length, 29);
        assert.throws(() => shortName("cluster-name-too-long-for-it", "a-suffix-of-twenty-four", 30), /no room for a name of at most 30 characters ending in -a-suffix-of-twenty-four/);
    });

    it("plans two GKE clusters with 40-character names in one project: every name unique and within its limit", async () => {
        const plan = await gkeOnlyStaging();
        const gcpResources = plan.graph.resources.filter((r) => r.custom && r.type.startsWith("gcp:"));
        const accounts = gcpResources.filter((r) => r.type === "gcp:serviceaccount/account:Account").map((r) => plain(r.inputs).accountId);
        assert.ok(accounts.length >= 2);
        assert.equal(new Set(accounts).size, accounts.length, accounts.join(", "));
        for (const id of accounts) assert.ok(validAccountId(id), id);
        const byType = new Map<string, string[]>();
        for (const r of gcpResources) {
            const name = plain(r.inputs).name;
            if (typeof name !== "string") continue;
            const kms = r.type.startsWith("gcp:kms/");
            assert.ok(kms ? /^[a-zA-Z0-9_-]{1,63}$/.test(name) : RFC1035.test(name) && name.length <= 63, `${r.type} ${name} (${name.length})`);
            byType.set(r.type, [...byType.get(r.type) ?? [], name]);
        }
        for (const [type, list] of byType) assert.equal(new Set(list).size, list.length, `${type}: ${list.join(", ")}`);
    });

    it("the config gate sees the node service account id the program registers, and refuses a cluster of the project that would get it too", async () => {
        const name = clusterName(40, "a");
        const planned: string = plain(find(await gkeOnlyStaging(), "gcp:serviceaccount/account:Account", `${name}-nodes`).inputs).accountId;
        assert.notEqual(planned, `${name}-nodes`, "a 40-character name is cut and hashed");
        const config = stackConfig("prod");
        const gke = config.clusters[1];
        // Identical names never get here (cluster names are unique in a stack); a name that fits whole and reads like
        // another's shortened one still can.
        config.clusters = [config.clusters[0], { ...gke, name }, { ...gke, name: planned.replace(/-nodes$/, ""), network: "net-lookalike" }];
        assert.throws(() => parseStackConfig(toRuntime(config)), (e: ConfigError) => {
            assert.deepEqual(e.issues.map((i) => i.key), ["istio-production:clusters[2].name"], e.message);
            assert.match(e.issues[0].message, new RegExp(`^would get the node service account "${planned}" that clusters\\[1\\]\\.name gets in project acme-mesh-prod`));
            return true;
        });
        config.clusters[2].project = "acme-mesh-prod-2";
        assert.doesNotThrow(() => parseStackConfig(toRuntime(config)), "ids are unique per project");
    });
});
