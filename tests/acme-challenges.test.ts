import assert from "node:assert/strict";
import { CapturedResource } from "../engine/graph";
import { Plan, planStack } from "../engine/plan";
import { plain } from "../engine/values";
import { ConfigError } from "../config";
import { authorize } from "../engine/mesh/authorization";
import { validateChartValues } from "../engine/manifests/validate";
import { shippedPlan } from "./support/plan";
import { stackConfig, toRuntime } from "./support/stacks";
import { gkeOnlyStaging } from "./support/variants";

/**
 * Can every cluster that serves the ingress hosts get their certificate from the ACME CA? Modelled from upstream:
 *
 * cert-manager (cert-manager/cert-manager, tag v1.21.1):
 * - pkg/issuer/acme/dns/dns.go `solverForChallenge`: Route 53 with `auth.kubernetes.serviceAccountRef` requests a
 *   token for that ServiceAccount in the issuer's resource namespace (cert-manager's own for a ClusterIssuer), with
 *   audience sts.amazonaws.com unless told otherwise, and assumes `role` with it (route53.go
 *   `AssumeRoleWithWebIdentity`); with neither keys nor role nor token it uses ambient credentials, which
 *   ClusterIssuers may by default (internal/apis/config/controller/v1alpha1/defaults.go
 *   `defaultClusterIssuerAmbientCredentials = true`): the AWS SDK's default chain, where EKS Pod Identity lives.
 * - route53.go `newTXTRecordSet`: each challenge value is its own multi-value record set (SetIdentifier = value), so
 *   the clusters' concurrent orders for one name do not overwrite each other.
 * - clouddns/clouddns.go `NewDNSProvider`: without a key, `google.DefaultClient` (on GKE, Workload Identity).
 * - deploy/charts/cert-manager/templates/rbac.yaml: no `serviceaccounts/token` grant; the program must add it.
 *
 * Istio (istio/istio, tag 1.30.3) pilot/pkg/config/kube/ingress/virtualservices.go `shouldProcessIngressWithClass`:
 * with meshConfig.ingressControllerMode STRICT (pkg/config/mesh/mesh.go default), an Ingress with a class is
 * served only if its IngressClass names the controller `istio.io/ingress-controller`.
 */

const of = (plan: Plan, type: string) => plan.graph.resources.filter((r) => r.type === type);
const inputs = (r: CapturedResource) => plain(r.inputs);
const outputs = (r: CapturedResource) => plain(r.outputs);
const kubernetesProvider = (plan: Plan, name: string) => plan.graph.resources.find((r) => r.type === "pulumi:providers:kubernetes" && r.name === name)!;
const onCluster = (plan: Plan, cluster: string, type: string) => of(plan, type).filter((r) => r.provider === kubernetesProvider(plan, cluster).urn);

/** The solver cert-manager uses for the ingress hosts on one cluster: the acme ClusterIssuer's only solver. */
function solverOn(plan: Plan, cluster: string): any {
    const [issuer] = onCluster(plan, cluster, "kubernetes:cert-manager.io/v1:ClusterIssuer").filter((r) => inputs(r).metadata.name === "acme");
    const solvers = inputs(issuer).spec.acme.solvers;
    assert.equal(solvers.length, 1);
    return solvers[0];
}

/** Does the IAM policy (Allow statements; ForAllValues conditions on record names and types) allow this change? */
function allowsChange(policy: any, zoneArn: string, record: { name: string; type: string }): boolean {
    const like = (pattern: string, v: string) => new RegExp(`^${pattern.split("*").map((p) => p.replace(/[.+?^${}()|[\]\\]/g, "\\$&")).join(".*")}$`).test(v);
    return policy.Statement.some((s: any) => s.Effect === "Allow" && [].concat(s.Action).includes("route53:ChangeResourceRecordSets" as never)
        && [].concat(s.Resource).some((r: string) => like(r, zoneArn))
        && (s.Condition?.["ForAllValues:StringLike"]?.["route53:ChangeResourceRecordSetsNormalizedRecordNames"] ?? ["*"]).some((p: string) => like(p, record.name))
        && (s.Condition?.["ForAllValues:StringEquals"]?.["route53:ChangeResourceRecordSetsRecordTypes"] ?? [record.type]).includes(record.type));
}

function rolePolicy(plan: Plan, roleArn: string): any {
    const role = of(plan, "aws:iam/role:Role").find((r) => outputs(r).arn === roleArn);
    assert.ok(role, `role ${roleArn}`);
    const policy = of(plan, "aws:iam/rolePolicy:RolePolicy").find((p) => inputs(p).role === outputs(role).id)!;
    return { role, policy: JSON.parse(inputs(policy).policy), trust: JSON.parse(inputs(role).assumeRolePolicy) };
}

function checkRoute53Zone(plan: Plan, roleArn: string, zoneId: string, host: string) {
    const { policy } = rolePolicy(plan, roleArn);
    const zone = `arn:aws:route53:::hostedzone/${zoneId}`;
    assert.ok(allowsChange(policy, zone, { name: `_acme-challenge.${host}`, type: "TXT" }), "the challenge record");
    assert.ok(!allowsChange(policy, zone, { name: host, type: "A" }), "nothing else in the zone");
    assert.ok(!allowsChange(policy, "arn:aws:route53:::hostedzone/ZOTHER", { name: `_acme-challenge.${host}`, type: "TXT" }), "no other zone");
    assert.ok(policy.Statement.some((s: any) => s.Action === "route53:GetChange"), "cert-manager waits for INSYNC");
}

describe("ACME challenges (upstream model)", () => {
    for (const stack of ["staging", "prod"]) {
        it(`${stack}: every cluster writes DNS-01 challenges to the zone with its own cloud identity`, async () => {
            const plan = await shippedPlan(stack);
            const config = stackConfig(stack);
            const zoneId = config.ingress.dnsZone.hostedZoneId;
            const host = config.ingress.hosts[0];
            assert.ok(config.clusters.length > 1, "several clusters serve the hosts: HTTP-01 could not work");
            for (const c of config.clusters) {
                const { route53 } = solverOn(plan, c.name).dns01;
                assert.equal(route53.hostedZoneID, zoneId);
                assert.equal(route53.accessKeyID ?? route53.secretAccessKeySecretRef, undefined, "no static keys");
                if (c.cloud === "aws") {
                    // Ambient: the Pod Identity association of cert-manager's own service account.
                    assert.equal(route53.role ?? route53.auth, undefined);
                    const eks = of(plan, "aws:eks/cluster:Cluster").find((r) => inputs(r).name === c.name)!;
                    const association = of(plan, "aws:eks/podIdentityAssociation:PodIdentityAssociation")
                        .find((a) => inputs(a).clusterName === outputs(eks).name && inputs(a).namespace === "cert-manager" && inputs(a).serviceAccount === "cert-manager");
                    assert.ok(association, `${c.name}: Pod Identity for cert-manager`);
                    const { trust } = rolePolicy(plan, inputs(association).roleArn);
                    assert.equal(trust.Statement[0].Principal.Service, "pods.eks.amazonaws.com");
                    checkRoute53Zone(plan, inputs(association).roleArn, zoneId, host);
                    // The SDK's chain reaches Pod Identity only through what EKS injects into a pod at creation; a
                    // controller started before the association falls back to IMDS, which the nodes' hop limit keeps
                    // from pods. So the release waits for the association, and its pod template carries the
                    // association (the chart's `podAnnotations`, deployment.yaml), rolling the pods when it changes.
                    const [release] = onCluster(plan, c.name, "kubernetes:helm.sh/v3:Release").filter((r) => inputs(r).name === "cert-manager");
                    assert.ok(release.dependencies.includes(association.urn), `${c.name}: cert-manager after its Pod Identity`);
                    assert.ok(Object.values(inputs(release).values.podAnnotations ?? {}).includes(association.id), `${c.name}: pods created under the association`);
                    assert.deepEqual(validateChartValues(inputs(release).chart, inputs(release).version, inputs(release).values), []);
                    const template = of(plan, "aws:ec2/launchTemplate:LaunchTemplate").find((t) => inputs(t).tags["istio-production/cluster"] === c.name)!;
                    assert.equal(inputs(template).metadataOptions.httpPutResponseHopLimit, 1, "IMDS is no fallback");
                } else {
                    // Web identity: a token of the named ServiceAccount in cert-manager's namespace, for sts.amazonaws.com.
                    const account = route53.auth.kubernetes.serviceAccountRef.name;
                    assert.equal(route53.auth.kubernetes.serviceAccountRef.audiences, undefined, "the default audience, sts.amazonaws.com");
                    assert.ok(onCluster(plan, c.name, "kubernetes:core/v1:ServiceAccount").some((r) => inputs(r).metadata.name === account && inputs(r).metadata.namespace === "cert-manager"));
                    const roles = onCluster(plan, c.name, "kubernetes:rbac.authorization.k8s.io/v1:Role").filter((r) =>
                        inputs(r).rules.some((rule: any) => rule.resources.includes("serviceaccounts/token") && rule.verbs.includes("create") && rule.resourceNames.includes(account)));
                    assert.equal(roles.length, 1);
                    const binding = onCluster(plan, c.name, "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding").find((b) => inputs(b).roleRef.name === inputs(roles[0]).metadata.name)!;
                    assert.deepEqual(inputs(binding).subjects, [{ kind: "ServiceAccount", name: "cert-manager", namespace: "cert-manager" }]);
                    const [certificate] = onCluster(plan, c.name, "kubernetes:cert-manager.io/v1:Certificate");
                    assert.ok(certificate.dependencies.includes(binding.urn), "the certificate is requested once cert-manager may request the token");
                    const issuer = `container.googleapis.com/v1/projects/${c.project}/locations/${c.region}/clusters/${c.name}`;
                    const { trust } = rolePolicy(plan, route53.role);
                    const statement = trust.Statement[0];
                    assert.equal(statement.Action, "sts:AssumeRoleWithWebIdentity");
                    assert.deepEqual(statement.Condition.StringEquals, { [`${issuer}:sub`]: `system:serviceaccount:cert-manager:${account}`, [`${issuer}:aud`]: "sts.amazonaws.com" });
                    const oidc = of(plan, "aws:iam/openIdConnectProvider:OpenIdConnectProvider").find((p) => outputs(p).arn === statement.Principal.Federated)!;
                    assert.deepEqual([inputs(oidc).url, inputs(oidc).clientIdLists], [`https://${issuer}`, ["sts.amazonaws.com"]]);
                    checkRoute53Zone(plan, route53.role, zoneId, host);
                }
            }
        });
    }

    it("GKE with a Cloud DNS zone: Workload Identity of cert-manager's service account, no key", async () => {
        const plan = await gkeOnlyStaging();
        const config = plan.settings.config as Record<string, string>;
        const zone = JSON.parse(config["istio-production:ingress"]).dnsZone;
        const clusters = JSON.parse(config["istio-production:clusters"]);
        for (const c of clusters) {
            const { cloudDNS } = solverOn(plan, c.name).dns01;
            assert.deepEqual(cloudDNS, { project: zone.project, hostedZoneName: zone.managedZone }, "no serviceAccountSecretRef: ambient Google credentials");
            const [certManager] = onCluster(plan, c.name, "kubernetes:helm.sh/v3:Release").filter((r) => inputs(r).name === "cert-manager");
            const email = inputs(certManager).values.serviceAccount.annotations["iam.gke.io/gcp-service-account"];
            assert.deepEqual(validateChartValues(inputs(certManager).chart, inputs(certManager).version, inputs(certManager).values), []);
            const account = of(plan, "gcp:serviceaccount/account:Account").find((a) => outputs(a).email === email)!;
            assert.ok(account, `${c.name}: a Google service account for cert-manager`);
            assert.ok(of(plan, "gcp:serviceaccount/iAMMember:IAMMember").some((m) => inputs(m).serviceAccountId === outputs(account).name
                && inputs(m).role === "roles/iam.workloadIdentityUser" && inputs(m).member === `serviceAccount:${c.project}.svc.id.goog[cert-manager/cert-manager]`));
            assert.ok(of(plan, "gcp:projects/iAMMember:IAMMember").some((m) => inputs(m).project === zone.project && inputs(m).role === "roles/dns.admin" && inputs(m).member === `serviceAccount:${email}`));
        }
    });

    it("HTTP-01 on one cluster: the Ingress class cert-manager uses is one Istio serves, and the edge lets the CA in", async () => {
        const config = stackConfig("dev");
        config.stage = 3;
        config.ingress = { hosts: ["shop.dev.acme.example"], issuer: "acme", acmeEmail: "ops@acme.example", acmeChallenge: "http01" };
        // The intermediate is name-constrained to what its issuer signs: with ACME it signs no ingress name.
        const pki = stackConfig("pki-dev");
        pki.clusters = pki.clusters.map(({ dnsNames: _, ...c }: any) => c);
        const plan = await planStack({ stack: "dev", config: toRuntime(config), referencedConfig: { "pki-dev": toRuntime(pki) }, mode: "created" });
        const className = solverOn(plan, "dev-aws-1").http01.ingress.ingressClassName;
        const classes = of(plan, "kubernetes:networking.k8s.io/v1:IngressClass").map(inputs);
        const served = (ingressClass: any) => ingressClass !== undefined && ingressClass.spec.controller === "istio.io/ingress-controller";
        assert.ok(served(classes.find((c) => c.metadata.name === className)), `IngressClass ${className} names Istio's controller`);
        assert.ok(!served(undefined), "without it (the defect), Istio in STRICT mode ignores the solver's Ingress");
        // Under default deny (stage 3), the CA's unauthenticated fetch must pass the ingress gateway.
        const edge = of(plan, "kubernetes:security.istio.io/v1:AuthorizationPolicy").filter((r) => inputs(r).metadata.name === "ingress-gateway").map((r) => ({ name: "ingress-gateway", namespace: "istio-system", spec: inputs(r).spec }));
        assert.equal(authorize(edge, { host: "shop.dev.acme.example", path: "/.well-known/acme-challenge/token", method: "GET", port: 80 }).decision, "allowed");
    });

    describe("refused in config where it cannot work", () => {
        const refused = async (stack: string, mutate: (c: Record<string, any>) => void) => {
            const config = stackConfig(stack);
            mutate(config);
            try {
                await planStack({ stack, config: toRuntime(config) });
            } catch (e) {
                // By name: a plan forgets the project's modules, so the error's class is another instance of ConfigError.
                assert.equal((e as Error).name, "ConfigError", (e as Error).message);
                return (e as ConfigError).issues;
            }
            return assert.fail("accepted");
        };

        it("HTTP-01 with several clusters, HTTP-01 for a wildcard, DNS-01 without a zone", async () => {
            const several = await refused("staging", (c) => { c.ingress.acmeChallenge = "http01"; delete c.ingress.dnsZone; });
            assert.deepEqual(several.map((i) => [i.key, i.value]), [["istio-production:ingress.acmeChallenge", '"http01"']]);
            assert.match(several[0].message, /2 clusters serve these hosts: each places its own order/);
            const wildcard = await refused("dev", (c) => { c.ingress = { hosts: ["*.dev.acme.example"], issuer: "acme", acmeEmail: "ops@acme.example", acmeChallenge: "http01" }; });
            assert.deepEqual(wildcard.map((i) => i.key), ["istio-production:ingress.hosts[0]"]);
            const zoneless = await refused("prod", (c) => { delete c.ingress.dnsZone; });
            assert.deepEqual(zoneless.map((i) => i.key), ["istio-production:ingress.dnsZone"]);
        });

        it("a Cloud DNS zone with EKS clusters, a Route 53 zone without one, a zone nobody reads", async () => {
            const cloudDns = await refused("prod", (c) => { c.ingress.dnsZone = { provider: "cloudDns", project: "acme-dns-prod", managedZone: "acme-example" }; });
            assert.deepEqual(cloudDns.map((i) => [i.key, i.value]), [["istio-production:ingress.dnsZone.provider", '"cloudDns"']]);
            assert.match(cloudDns[0].message, /EKS clusters prod-aws-use1 cannot write to Cloud DNS/);
            const noAws = await refused("staging", (c) => {
                const gke = stackConfig("prod").clusters[1];
                c.clusters = [{ ...gke, trustDomain: "staging.mesh.acme.example" }, { ...gke, name: "staging-gcp-2", network: "net-2", trustDomain: "staging.mesh.acme.example" }];
            });
            assert.ok(noAws.some((i) => i.key === "istio-production:ingress.dnsZone.provider" && /assume a role in the account of the stack's EKS clusters/.test(i.message)));
            const unread = await refused("dev", (c) => { c.ingress.dnsZone = { provider: "route53", hostedZoneId: "Z0123" }; });
            assert.deepEqual(unread.map((i) => i.key), ["istio-production:ingress.dnsZone"]);
        });
    });
});
