import assert from "node:assert/strict";
import { CapturedResource, ProgramGraph } from "../engine/graph";
import { applicablePolicies, authorize, pathMatches, replaceTrustDomainAliases, requestPrincipalMatches, stringMatches } from "../engine/mesh/authorization";
import { expectedSans, istiodMesh } from "../engine/mesh/identity";
import { effectiveMtlsMode } from "../engine/mesh/peerAuthentication";
import { Cell, MeshProof, proofOfPlan, UNKNOWN_CALLERS } from "../engine/mesh/reachability";
import { Plan } from "../engine/plan";
import { meshMismatches, planDocument, summarize } from "../engine/report";
import * as path from "node:path";
import { FIXTURE_POLICY, runCli, shippedPlan, tempDir } from "./support/plan";

/**
 * The mesh proof (engine/mesh/): each step's rule checked against the cases istio/istio 1.30.3 tests it with, then the
 * matrix of the shipped stacks against their declared graphs, then one mutation per defect class on prod's graph.
 */

describe("mesh proof: Istio's rules", () => {
    it("matches strings as pilot/pkg/security/authz/matcher/string_test.go expects", () => {
        // TestStringMatcherWithPrefix: "*" is a presence match (".+"), "x*" a prefix, "*x" a suffix, else exact.
        assert.equal(stringMatches("*", "anything"), true);
        assert.equal(stringMatches("*", ""), false);
        assert.equal(stringMatches("-prefix-*", "-prefix-rest"), true);
        assert.equal(stringMatches("-prefix-*", "x-prefix-"), false);
        assert.equal(stringMatches("*-suffix", "abc-suffix"), true);
        assert.equal(stringMatches("-exact", "-exact"), true);
        assert.equal(stringMatches("-exact", "-exact-not"), false);
    });

    it("evaluates CUSTOM, DENY, then ALLOW as pilot/pkg/security/authz/builder testdata does", () => {
        const p = (name: string, spec: any) => ({ namespace: "foo", name, spec });
        const r = { principal: "cluster.local/ns/foo/sa/a", method: "GET", path: "/x", port: 80 };
        const decide = (policies: any[], req: any = r) => authorize(policies, req).decision;
        // allow-nil-rule / allow-empty-rule: a rule with nothing in it matches everything; a policy without rules nothing.
        assert.equal(decide([p("a", { action: "ALLOW", rules: [{}] })]), "allowed");
        assert.equal(decide([p("a", { action: "ALLOW" })]), "refused");
        assert.equal(decide([]), "allowed");
        // model.go New: `if len(r.From) == 0` / `if len(r.To) == 0`: an empty list is no constraint (proto: "If not set,
        // any source is allowed"), not a list nothing matches.
        assert.equal(decide([p("a", { rules: [{ from: [], to: [] }] })]), "allowed");
        assert.equal(decide([p("a", { rules: [{ from: [], to: [{ operation: { paths: ["/y"] } }] }] })]), "refused");
        // deny-and-allow: DENY is evaluated first.
        const deny = p("d", { action: "DENY", rules: [{ to: [{ operation: { paths: ["/x"] } }] }] });
        assert.match(authorize([p("a", { action: "ALLOW", rules: [{}] }), deny], r).reason, /DENY foo\/d/);
        // namespaces match the /ns/<ns>/ segment (a glob: srcNamespaceGenerator); principals need mTLS.
        assert.equal(decide([p("a", { rules: [{ from: [{ source: { namespaces: ["foo"] } }] }] })]), "allowed");
        assert.equal(decide([p("a", { rules: [{ from: [{ source: { namespaces: ["f*o"] } }] }] })]), "allowed");
        assert.equal(decide([p("a", { rules: [{ from: [{ source: { principals: ["*"] } }] }] })], { ...r, principal: undefined }), "refused");
        // serviceAccountRegex: `<sa>` is in the policy's namespace, `<ns>/<sa>` anywhere.
        assert.equal(decide([p("a", { rules: [{ from: [{ source: { serviceAccounts: ["a"] } }] }] })]), "allowed");
        assert.equal(decide([p("a", { rules: [{ from: [{ source: { serviceAccounts: ["bar/a"] } }] }] })]), "refused");
        // model.go Generate: on TCP an ALLOW rule with HTTP fields is skipped; a DENY one loses them and denies more.
        const tcp = { principal: r.principal, port: 80, tcp: true };
        assert.equal(decide([p("a", { rules: [{ to: [{ operation: { methods: ["GET"] } }] }] })], tcp), "refused");
        assert.equal(decide([p("d", { action: "DENY", rules: [{ to: [{ operation: { methods: ["POST"], ports: ["80"] } }] }] })], tcp), "refused");
    });

    it("leaves to the running mesh what a plan cannot know, instead of guessing either way", () => {
        const p = (name: string, spec: any) => ({ namespace: "foo", name, spec });
        const r = { principal: "cluster.local/ns/foo/sa/a", method: "GET", path: "/x", port: 80 };
        const allowAll = p("a", { rules: [{}] });
        // istio/api 1.30.3 security/v1beta1/authorization_policy.proto: CUSTOM denies only when the external
        // authorizer does; when it allows, DENY and ALLOW still decide.
        const custom = p("c", { action: "CUSTOM", provider: { name: "ext" }, rules: [{}] });
        assert.equal(authorize([custom, allowAll], r).decision, "unknown");
        assert.equal(authorize([custom, p("a", { rules: [{ from: [{ source: { namespaces: ["bar"] } }] }] })], r).decision, "refused");
        // A DENY whose condition or IP block cannot be evaluated may or may not apply.
        const denyWhen = p("d", { action: "DENY", rules: [{ when: [{ key: "request.headers[x-user]", values: ["guest"] }] }] });
        assert.match(authorize([denyWhen, allowAll], r).reason, /DENY foo\/d may match \(when request.headers\[x-user\]/);
        assert.equal(authorize([denyWhen, allowAll], r).decision, "unknown");
        const denyIp = p("d", { action: "DENY", rules: [{ from: [{ source: { notIpBlocks: ["10.0.0.0/8"] } }] }] });
        assert.equal(authorize([denyIp, allowAll], r).decision, "unknown");
        // A `when` on the peer's principal is known (model.go New: source.principal is a principal rule).
        assert.equal(authorize([p("d", { action: "DENY", rules: [{ when: [{ key: "source.principal", values: ["cluster.local/ns/foo/sa/a"] }] }] }), allowAll], r).decision, "refused");
        // A field the model does not know is named, never dropped.
        assert.match(authorize([p("a", { rules: [{ from: [{ source: { principal: ["x"] } }] }] })], r).reason, /unknown field principal/);
    });

    it("rewrites principals with the trust-domain aliases as builder testdata/http/*td-aliases* and trust-domains expect", () => {
        // builder_test.go "trust-domain-one-alias": NewBundle("td1", ["cluster.local"]), simple-policy-td-aliases-in.yaml
        // → simple-policy-td-aliases-out.yaml: each cluster.local principal is matched as td1 and as cluster.local.
        const td1 = { trustDomain: "td1", trustDomainAliases: ["cluster.local"] };
        assert.deepEqual(replaceTrustDomainAliases(["cluster.local/ns/rule[0]/sa/from[0]-principal[0]"], td1),
            ["td1/ns/rule[0]/sa/from[0]-principal[0]", "cluster.local/ns/rule[0]/sa/from[0]-principal[0]"]);
        const policy = { namespace: "foo", name: "httpbin", spec: { rules: [{ from: [{ source: { principals: ["cluster.local/ns/rule[0]/sa/from[0]-principal[0]"] } }], to: [{ operation: { methods: ["rule[0]-to[0]-method[0]"] } }] }] } };
        const req = (principal: string) => ({ principal, method: "rule[0]-to[0]-method[0]", path: "/", port: 80 });
        assert.equal(authorize([policy], req("td1/ns/rule[0]/sa/from[0]-principal[0]"), td1).decision, "allowed");
        assert.equal(authorize([policy], req("td1/ns/rule[0]/sa/from[0]-principal[0]")).decision, "refused");
        // "trust-domain-aliases-in-source-principal": NewBundle("new-td", ["old-td", "some-trustdomain"]),
        // td-aliases-source-principal-in.yaml: `*` and `*/ns/..` stay, `*-td/...` stays for new-td and old-td and
        // becomes an exact some-trustdomain principal (td-aliases-source-principal-out.yaml).
        const bundle = { trustDomain: "new-td", trustDomainAliases: ["old-td", "some-trustdomain"] };
        assert.deepEqual(replaceTrustDomainAliases(["*", "*/ns/foo/sa/all-td", "*-td/ns/foo/sa/prefix-td"], bundle),
            ["*", "*/ns/foo/sa/all-td", "*-td/ns/foo/sa/prefix-td", "some-trustdomain/ns/foo/sa/prefix-td"]);
        const when = { namespace: "foo", name: "httpbin", spec: { rules: [{ when: [{ key: "source.principal", values: ["*-td/ns/foo/sa/prefix-td"] }] }] } };
        assert.equal(authorize([when], { principal: "some-trustdomain/ns/foo/sa/prefix-td", port: 80 }, bundle).decision, "allowed");
        assert.equal(authorize([when], { principal: "some-trustdomain/ns/foo/sa/prefix-td", port: 80 }).decision, "refused");
        // trust-domains-in.yaml → trust-domains-out.yaml: trustDomains are prefixes `spiffe://<td>/`, `bad*` a
        // `spiffe://bad[^/]*/` regex, in notTrustDomains a refusal.
        const tds = { namespace: "foo", name: "httpbin", spec: { rules: [{ from: [{ source: { trustDomains: ["cluster.local", "another.local"] } }, { source: { notTrustDomains: ["bad*", "untrusted"] } }] }] } };
        const only = { namespace: "foo", name: "httpbin", spec: { rules: [{ from: [{ source: { notTrustDomains: ["bad*", "untrusted"] } }] }] } };
        assert.equal(authorize([tds], { principal: "another.local/ns/x/sa/y", port: 80 }).decision, "allowed");
        assert.equal(authorize([only], { principal: "badly/ns/x/sa/y", port: 80 }).decision, "refused");
        assert.equal(authorize([only], { principal: "untrusted/ns/x/sa/y", port: 80 }).decision, "refused");
        assert.equal(authorize([only], { principal: "good/ns/x/sa/y", port: 80 }).decision, "allowed");
        // model.go MigrateTrustDomain → ExpandTrustDomainAliases: a trust domain of the bundle stands for all of them.
        const local = { namespace: "foo", name: "a", spec: { rules: [{ from: [{ source: { trustDomains: ["td1"] } }] }] } };
        assert.equal(authorize([local], { principal: "cluster.local/ns/x/sa/y", port: 80 }, td1).decision, "allowed");
    });

    it("matches paths, methods and request principals as generator.go and matcher/template_test.go do", () => {
        // TestPathTemplateMatcher: {*} is one segment, {**} any number.
        assert.equal(pathMatches("/foo/bar/{*}", "/foo/bar/baz"), true);
        assert.equal(pathMatches("/foo/bar/{*}", "/foo/bar/baz/qux"), false);
        assert.equal(pathMatches("/foo/{**}/bar", "/foo/a/b/bar"), true);
        assert.equal(pathMatches("/{*}/foo/{**}/bar", "/x/foo/a/bar"), true);
        assert.equal(pathMatches("/{*}/foo/{**}/bar", "/x/y/foo/a/bar"), false);
        // requestPrincipalGenerator: the value splits at its last `/`; iss and sub are matched apart.
        assert.equal(requestPrincipalMatches("https://issuer.example/*", "https://issuer.example/alice"), true);
        assert.equal(requestPrincipalMatches("https://issuer.example/*", "https://issuer.example/a/b"), false);
        assert.equal(requestPrincipalMatches("*/alice", "https://other.example/alice"), true);
        assert.equal(requestPrincipalMatches("*", undefined), false);
        assert.equal(requestPrincipalMatches("*", "https://issuer.example/alice"), true);
    });

    it("attaches policies as policyattachment.go ShouldAttachPolicy and builder.go isDryRun", () => {
        const w = { namespace: "foo", labels: { app: "a" } };
        const policies = [
            { namespace: "foo", name: "dry", annotations: { "istio.io/dry-run": "true" }, spec: {} },
            { namespace: "foo", name: "targeted", spec: { targetRefs: [{ kind: "Gateway", group: "gateway.networking.k8s.io", name: "gw" }] } },
            { namespace: "foo", name: "legacy-targeted", spec: { targetRef: { kind: "Gateway", group: "gateway.networking.k8s.io", name: "gw" } } },
            { namespace: "istio-system", name: "root", spec: { selector: { matchLabels: { app: "a" } } } },
            { namespace: "bar", name: "elsewhere", spec: {} },
        ];
        assert.deepEqual(applicablePolicies(policies, w, "istio-system").map((p) => p.name), ["root"]);
    });

    it("falls back to the service accounts for an empty subjectAltNames (cluster_tls.go: SubjectAltNames == nil)", () => {
        const mesh = istiodMesh({ meshConfig: { trustDomain: "td" } });
        const w = { namespace: "foo", serviceAccount: "a" };
        assert.deepEqual(expectedSans(mesh, { subjectAltNames: [] }, w), ["spiffe://td/ns/foo/sa/a"]);
        assert.deepEqual(expectedSans(mesh, { subjectAltNames: ["spiffe://x/ns/foo/sa/a"] }, w), ["spiffe://x/ns/foo/sa/a"]);
    });

    it("composes PeerAuthentication as pilot/pkg/security/authn/policy_applier.go ComposePeerAuthentication", () => {
        const w = { namespace: "foo", labels: { app: "a" } };
        const pa = (namespace: string, spec: any) => ({ namespace, name: "p", spec });
        assert.equal(effectiveMtlsMode([], w, 80, "istio-system"), "PERMISSIVE");
        assert.equal(effectiveMtlsMode([pa("istio-system", { mtls: { mode: "STRICT" } })], w, 80, "istio-system"), "STRICT");
        assert.equal(effectiveMtlsMode([pa("istio-system", { mtls: { mode: "STRICT" } }), pa("foo", { mtls: { mode: "PERMISSIVE" } })], w, 80, "istio-system"), "PERMISSIVE");
        // UNSET inherits; a selector in the root namespace is not a workload policy; port level only on workload policies.
        assert.equal(effectiveMtlsMode([pa("istio-system", { mtls: { mode: "STRICT" } }), pa("foo", { mtls: { mode: "UNSET" } })], w, 80, "istio-system"), "STRICT");
        assert.equal(effectiveMtlsMode([pa("istio-system", { selector: { matchLabels: { app: "a" } }, mtls: { mode: "DISABLE" } })], w, 80, "istio-system"), "PERMISSIVE");
        const own = pa("foo", { selector: { matchLabels: { app: "a" } }, mtls: { mode: "STRICT" }, portLevelMtls: { 80: { mode: "DISABLE" }, 81: { mode: "UNSET" } } });
        assert.equal(effectiveMtlsMode([own], w, 80, "istio-system"), "DISABLE");
        assert.equal(effectiveMtlsMode([own], w, 81, "istio-system"), "STRICT");
    });
});

const proofOf = (plan: Plan, graph: ProgramGraph = plan.graph) => proofOfPlan(plan.project.name, plan.settings.config, graph)!;
/** The cells of a caller (an unknown caller's label is a prefix: one per namespace or impersonated service). */
const cells = (proof: MeshProof, caller: string, callee: string) => proof.cells.filter((c) => (c.caller === caller || c.caller.startsWith(`${caller} (`)) && c.callee === callee);
const crossCloud = (c: Cell) => c.from !== c.to;

/** A copy of the graph where `edit` changes the plain inputs of the Kubernetes objects it selects. */
function mutate(graph: ProgramGraph, select: (r: CapturedResource, inputs: any) => boolean, edit: (inputs: any) => void): ProgramGraph {
    let hits = 0;
    const resources = graph.resources.map((r) => {
        const inputs = structuredClone(r.inputs) as any;
        if (!r.custom || !select(r, inputs)) return r;
        hits++;
        edit(inputs);
        return { ...r, inputs };
    });
    assert.ok(hits > 0, "the mutation selects nothing");
    return { ...graph, resources };
}
const named = (kind: string, name: string) => (r: CapturedResource, i: any) => r.type.endsWith(`:${kind}`) && i.metadata?.name === name;
const istiodOf = (network: string) => (r: CapturedResource, i: any) => r.type === "kubernetes:helm.sh/v3:Release" && String(i.chart).endsWith("istiod") && i.values.global.network === network;

/** A copy of the graph with one more Kubernetes object on every cluster (beside the mesh-wide PeerAuthentication). */
function add(graph: ProgramGraph, kind: string, metadata: Record<string, unknown>, spec: unknown): ProgramGraph {
    const anchors = graph.resources.filter((r) => r.custom && named("PeerAuthentication", "default")(r, r.inputs as any));
    assert.ok(anchors.length > 0);
    const added = anchors.map((r) => ({ ...r, type: `kubernetes:test/v1:${kind}`, urn: `${r.urn}-${kind}-${metadata.name}`, inputs: { metadata, spec } as any }));
    return { ...graph, resources: [...graph.resources, ...added] };
}

describe("mesh proof: shipped stacks", function () {
    this.timeout(120_000);

    for (const stack of ["staging", "prod", "review"]) {
        it(`${stack}: every declared call is allowed on every cluster path, everything else refused`, async () => {
            const plan = await shippedPlan(stack);
            const proof = proofOf(plan);
            assert.equal(proof.enforced, true);
            assert.deepEqual(proof.mismatches, []);
            const declared = proof.cells.filter((c) => c.declared);
            assert.deepEqual(new Set(declared.map((c) => `${c.caller}->${c.callee}`)), new Set(["ingress-gateway->frontend", "frontend->cart", "frontend->catalog", "cart->catalog", "cart->payments"]));
            assert.ok(declared.every((c) => c.verdict === "allowed"));
            // Both directions between the clusters are proven (two clusters: four paths per call).
            assert.equal(cells(proof, "frontend", "cart").length, 4);
            assert.ok(proof.cells.filter((c) => !c.declared).every((c) => c.verdict === "refused"));
            // Without a sidecar only the own cluster's endpoints are reachable, and there STRICT refuses plain text.
            assert.ok(cells(proof, UNKNOWN_CALLERS.plaintext, "cart").every((c) => c.step === (crossCloud(c) ? "routing" : "peer authentication")));
            // A foreign mesh impersonating each declared service; a stray in each declared namespace and in a new one.
            assert.deepEqual(new Set(cells(proof, UNKNOWN_CALLERS.foreign, "cart").map((c) => c.caller)), new Set(["frontend", "cart", "catalog", "payments"].map((s) => `${UNKNOWN_CALLERS.foreign} (as ${s})`)));
            assert.ok(cells(proof, UNKNOWN_CALLERS.foreign, "cart").every((c) => c.step === "trust domain"));
            assert.deepEqual(new Set(cells(proof, UNKNOWN_CALLERS.undeclared, "cart").map((c) => c.caller)), new Set(["shop", "payments", "stray"].map((n) => `${UNKNOWN_CALLERS.undeclared} (${n})`)));
            assert.ok(cells(proof, UNKNOWN_CALLERS.undeclared, "cart").every((c) => c.step === "authorization"));
        });
    }

    it("prod: the matrix is in plan.json and the summary, the plan passes", async () => {
        const plan = await shippedPlan("prod");
        const doc = planDocument(plan) as any;
        assert.ok(doc.mesh.cells.some((c: Cell) => c.caller === "cart" && c.callee === "payments" && c.from === "prod-aws-use1" && c.to === "prod-gcp-usc1" && c.verdict === "allowed"));
        assert.match(summarize(plan), /Mesh reachability \(declared service graph\): 208 caller x callee x cluster paths, 0 differ/);
        assert.deepEqual(meshMismatches(plan), []);
    });

    it("the plan command exits 1 on a matrix that differs, naming each edge (engine/cli.ts)", async () => {
        // tests/fixtures/leaky-mesh: `from: []` opens cart to everyone; only frontend -> cart is declared.
        const { code, stderr } = await runCli(["mesh", "--program", path.join(__dirname, "fixtures", "leaky-mesh"), "--policy-dir", FIXTURE_POLICY, "--out", tempDir("leaky-mesh")]);
        assert.equal(code, 1, stderr);
        assert.doesNotMatch(stderr, /mandatory/i);
        assert.match(stderr, /4 mesh path\(s\) differ from the declared service graph/);
        assert.match(stderr, /unknown: no declared edges \(stray\) -> cart:8080 \(cluster-1 -> cluster-1\): undeclared call allowed: GET \/: ALLOW shop\/allow-cart matches/);
    });

    it("dev declares no services: no proof", async () => {
        assert.equal(proofOfPlan("istio-production", (await shippedPlan("dev")).settings.config, (await shippedPlan("dev")).graph), undefined);
    });
});

describe("mesh proof: mutations of prod", function () {
    this.timeout(120_000);
    let plan: Plan;
    before(async () => { plan = await shippedPlan("prod"); });
    const AWS = "prod-aws-use1";
    const GCP = "prod-gcp-usc1";

    it("a missing SAN refuses the calls into the other cloud at outbound TLS, and fails the plan", () => {
        const graph = mutate(plan.graph, named("DestinationRule", "cart"), (i) => {
            i.spec.trafficPolicy.tls.subjectAltNames = i.spec.trafficPolicy.tls.subjectAltNames.filter((s: string) => !s.includes("gcp."));
        });
        const proof = proofOf(plan, graph);
        const refused = cells(proof, "frontend", "cart").filter((c) => c.verdict === "refused");
        assert.deepEqual(refused.map((c) => [c.to, c.step]), [[GCP, "outbound TLS"], [GCP, "outbound TLS"]]);
        assert.ok(refused.every((c) => c.mismatch === "declared call refused at outbound TLS"));
        const mutated = { ...plan, graph } as Plan;
        assert.ok(meshMismatches(mutated).length > 0);
        assert.match(summarize(mutated), /DIFFERS frontend -> cart:8080 \(declared\)[\s\S]*prod-aws-use1 -> prod-gcp-usc1: refused at outbound TLS/);
    });

    const permissiveShop = (graph: ProgramGraph) => add(graph, "PeerAuthentication", { name: "default", namespace: "shop" }, { mtls: { mode: "PERMISSIVE" } });

    it("a PERMISSIVE namespace lets plain text through peer authentication, to be refused by authorization", () => {
        const proof = proofOf(plan, permissiveShop(plan.graph));
        assert.ok(cells(proof, UNKNOWN_CALLERS.plaintext, "cart").every((c) => c.verdict === "refused" && c.step === (crossCloud(c) ? "routing" : "authorization")));
        assert.ok(cells(proof, UNKNOWN_CALLERS.plaintext, "payments").filter((c) => !crossCloud(c)).every((c) => c.step === "peer authentication"));
    });

    it("an ALLOW with an empty `from` lets every caller in, and the plan names the edge", () => {
        // model.go New `if len(r.From) == 0`: `from: []` is no constraint, as a missing `from` is.
        for (const edit of [(i: any) => { i.spec.rules[0].from = []; }, (i: any) => { delete i.spec.rules[0].from; }]) {
            const proof = proofOf(plan, mutate(plan.graph, named("AuthorizationPolicy", "allow-cart"), edit));
            for (const caller of ["catalog", "payments", UNKNOWN_CALLERS.undeclared]) {
                assert.ok(cells(proof, caller, "cart").every((c) => c.verdict === "allowed" && c.mismatch === "undeclared call allowed"), caller);
            }
            // Plain text is still stopped by STRICT, a foreign mesh by trust-domain validation.
            assert.ok(cells(proof, UNKNOWN_CALLERS.plaintext, "cart").every((c) => c.verdict === "refused"));
            assert.ok(cells(proof, UNKNOWN_CALLERS.foreign, "cart").every((c) => c.verdict === "refused"));
        }
    });

    describe("a guard the plan cannot evaluate does not hide an open ALLOW", () => {
        const open = () => mutate(plan.graph, named("AuthorizationPolicy", "allow-cart"), (i) => { i.spec.rules[0].from = []; });
        const guards: Array<[string, any]> = [
            // authorization_policy.proto: CUSTOM denies only if the external authorizer does.
            ["CUSTOM", { selector: { matchLabels: { app: "cart" } }, action: "CUSTOM", provider: { name: "ext-authz" }, rules: [{}] }],
            ["DENY with a header condition", { selector: { matchLabels: { app: "cart" } }, action: "DENY", rules: [{ when: [{ key: "request.headers[x-internal]", notValues: ["yes"] }] }] }],
            ["DENY by IP block", { selector: { matchLabels: { app: "cart" } }, action: "DENY", rules: [{ from: [{ source: { notIpBlocks: ["10.0.0.0/8"] } }] }] }],
        ];
        for (const [name, spec] of guards) {
            it(name, () => {
                const proof = proofOf(plan, add(open(), "AuthorizationPolicy", { name: "guard", namespace: "shop" }, spec));
                const stray = cells(proof, UNKNOWN_CALLERS.undeclared, "cart");
                assert.ok(stray.length > 0 && stray.every((c) => c.verdict === "unprovable" && c.mismatch === "undeclared call not provably refused"), JSON.stringify(stray[0]));
            });
        }
    });

    it("a `namespaces` ALLOW lets the namespace's strays in", () => {
        const graph = mutate(plan.graph, named("AuthorizationPolicy", "allow-catalog"), (i) => { i.spec.rules.push({ from: [{ source: { namespaces: ["payments"] } }] }); });
        const proof = proofOf(plan, graph);
        assert.ok(cells(proof, `${UNKNOWN_CALLERS.undeclared} (payments)`, "catalog").every((c) => c.mismatch === "undeclared call allowed"));
        assert.ok(cells(proof, `${UNKNOWN_CALLERS.undeclared} (shop)`, "catalog").every((c) => c.verdict === "refused"));
    });

    it("probes what notMethods, path templates and end-user tokens let through", () => {
        const open = (rule: any) => proofOf(plan, mutate(plan.graph, named("AuthorizationPolicy", "allow-catalog"), (i) => { i.spec.rules.push(rule); }));
        const leaks = (proof: MeshProof) => cells(proof, `${UNKNOWN_CALLERS.undeclared} (stray)`, "catalog").filter((c) => c.mismatch === "undeclared call allowed");
        assert.equal(leaks(open({ to: [{ operation: { notMethods: ["GET", "POST"] } }] })).length, 4);
        assert.equal(leaks(open({ to: [{ operation: { notPaths: ["/", "/undeclared/*"] } }] })).length, 4);
        assert.equal(leaks(open({ to: [{ operation: { paths: ["/admin/{**}/export"] } }] })).length, 4);
        assert.match(leaks(open({ from: [{ source: { requestPrincipals: ["https://login.acme.example/*"] } }] }))[0].reason!, /with a token of https:\/\/login.acme.example\/probe/);
        // A rule for another port cannot match the declared one.
        assert.equal(leaks(open({ to: [{ operation: { ports: ["9999"] } }] })).length, 0);
    });

    it("a wrong trust domain in caCertificates refuses the other cloud's callers at the server", () => {
        const graph = mutate(plan.graph, istiodOf("net-prod-gcp-usc1"), (i) => { i.values.meshConfig.caCertificates[0].trustDomains = ["aws.prod.mesh.acme.exmaple"]; });
        const proof = proofOf(plan, graph);
        const paths = cells(proof, "cart", "payments");
        assert.deepEqual(paths.filter((c) => c.verdict === "refused").map((c) => [c.from, c.to, c.step]), [[AWS, GCP, "trust domain"]]);
    });

    it("a path typo refuses the declared call at authorization, and an undeclared path is caught too", () => {
        const typo = proofOf(plan, mutate(plan.graph, named("AuthorizationPolicy", "allow-cart"), (i) => { i.spec.rules[0].to[0].operation.paths = ["/crat/*"]; }));
        assert.ok(cells(typo, "frontend", "cart").every((c) => c.verdict === "refused" && c.step === "authorization" && /GET \/cart\/probe/.test(c.reason!)));
        const wide = proofOf(plan, mutate(plan.graph, named("AuthorizationPolicy", "allow-cart"), (i) => { delete i.spec.rules[0].to[0].operation.paths; }));
        assert.ok(cells(wide, "frontend", "cart").every((c) => c.mismatch === "allowed beyond its declared methods and paths"));
    });

    it("a network without an AUTO_PASSTHROUGH gateway cannot be reached from the other one", () => {
        const graph = mutate(plan.graph, named("Gateway", "cross-network-gateway"), (i) => { i.spec.servers[0].tls.mode = "ISTIO_MUTUAL"; });
        const proof = proofOf(plan, graph);
        const calls = cells(proof, "cart", "payments");
        assert.ok(calls.filter(crossCloud).every((c) => c.step === "routing"));
        assert.ok(calls.filter((c) => !crossCloud(c)).every((c) => c.verdict === "allowed"));
    });

    it("the east-west gateway's own AuthorizationPolicy does not apply to passed-through mTLS", () => {
        // gateway.go builtAutoPassthroughFilterChains: "We do not want any authz here"; the root default-deny selects
        // the gateway too, so without its allow policy only its 15021 status port would be refused.
        const resources = plan.graph.resources.filter((r) => !(r.custom && named("AuthorizationPolicy", "eastwest-gateway")(r, r.inputs as any)));
        assert.ok(resources.length < plan.graph.resources.length);
        const proof = proofOf(plan, { ...plan.graph, resources });
        assert.deepEqual(proof.mismatches, []);
        assert.ok(cells(proof, "frontend", "cart").filter(crossCloud).every((c) => c.verdict === "allowed"));
    });

    it("a DestinationRule sending plain text cannot cross networks (ep_filters.go isMtlsEnabled)", () => {
        const graph = mutate(permissiveShop(plan.graph), named("DestinationRule", "cart"), (i) => { i.spec.trafficPolicy.tls = { mode: "DISABLE" }; });
        const proof = proofOf(plan, graph);
        const calls = cells(proof, "frontend", "cart");
        assert.ok(calls.filter(crossCloud).every((c) => c.verdict === "refused" && c.step === "routing" && /sends DISABLE/.test(c.reason!)));
        // In the cluster the plain text gets through PERMISSIVE, without the identity the ALLOW names.
        assert.ok(calls.filter((c) => !crossCloud(c)).every((c) => c.verdict === "refused" && c.step === "authorization"));
        // A port-level setting for the service's port takes over the rule's (mtls_checker.go trafficPolicyTLSModeForPort).
        const portLevel = mutate(plan.graph, named("DestinationRule", "cart"), (i) => { i.spec.trafficPolicy.portLevelSettings = [{ port: { number: 8080 }, tls: { mode: "DISABLE" } }]; });
        assert.ok(cells(proofOf(plan, portLevel), "frontend", "cart").filter(crossCloud).every((c) => c.step === "routing"));
    });

    it("an east-west gateway viewing only the other network has no endpoint to pass a call to", () => {
        // proxy_view.go: the gateway's proxy sees endpoints of its requested networks only.
        const graph = mutate(plan.graph, (r, i) => r.type === "kubernetes:helm.sh/v3:Release" && i.values?.labels?.istio === "eastwestgateway" && i.values.labels["topology.istio.io/network"] === "net-prod-aws-use1",
            (i) => { i.values.env.ISTIO_META_REQUESTED_NETWORK_VIEW = "net-prod-gcp-usc1"; });
        const proof = proofOf(plan, graph);
        const calls = cells(proof, "frontend", "cart");
        assert.deepEqual(calls.filter((c) => c.verdict === "refused").map((c) => [c.from, c.to, c.step]), [[GCP, AWS, "routing"]]);
    });

    it("a gateway whose gatewayPort label names a port its Service lacks is no network gateway (network.go getGatewayDetails)", () => {
        const graph = mutate(plan.graph, (r, i) => r.type === "kubernetes:helm.sh/v3:Release" && i.values?.labels?.istio === "eastwestgateway",
            (i) => { i.values.labels["networking.istio.io/gatewayPort"] = "16443"; });
        assert.ok(cells(proofOf(plan, graph), "frontend", "cart").filter(crossCloud).every((c) => c.step === "routing" && /no gateway of network/.test(c.reason!)));
    });

    it("a remote secret is read by its data keys (secretcontroller.go), not by its annotations", () => {
        const graph = mutate(plan.graph, (r, i) => r.type.endsWith(":Secret") && i.metadata?.labels?.["istio/multiCluster"] === "true", (i) => {
            i.stringData = Object.fromEntries(Object.entries(i.stringData).map(([, v]) => ["renamed", v]));
        });
        assert.ok(cells(proofOf(plan, graph), "frontend", "cart").filter(crossCloud).every((c) => c.step === "discovery"));
    });
});
