import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { planStack } from "../engine/plan";
import { KubernetesObject, validateChartValues, validateCustomResource } from "../engine/manifests/validate";
import { upstreamErrors } from "./support/upstream";

const JETSTACK_OCI = "oci://quay.io/jetstack/charts";
const ISTIO_REPO = "https://istio-release.storage.googleapis.com/charts";

/** The values this design settles on for each chart (one EKS cluster), as a user would write them. */
const CERT_MANAGER_VALUES = {
    crds: { enabled: true, keep: true },
    replicaCount: 2,
    podDisruptionBudget: { enabled: true },
    webhook: { replicaCount: 2, podDisruptionBudget: { enabled: true }, securePort: 10250 },
    cainjector: { replicaCount: 2 },
    prometheus: { enabled: true, servicemonitor: { enabled: false } },
};

const ISTIOD_VALUES = {
    global: {
        meshID: "mesh1",
        multiCluster: { clusterName: "eks-prod" },
        network: "net-aws",
        caAddress: "cert-manager-istio-csr.cert-manager.svc:443",
    },
    env: { ENABLE_CA_SERVER: "false" },
    meshConfig: { trustDomain: "mesh.example.internal" },
    base: { validationFailurePolicy: "Fail" },
    replicaCount: 2,
    pdb: { minAvailable: 1 },
};

const EAST_WEST_GATEWAY_VALUES = {
    name: "istio-eastwestgateway",
    networkGateway: "net-aws",
    service: { type: "LoadBalancer", annotations: {}, loadBalancerSourceRanges: [] },
    autoscaling: { enabled: true, minReplicas: 2, maxReplicas: 5 },
    podDisruptionBudget: { minAvailable: 1 },
};

const ISTIO_CSR_VALUES = {
    replicaCount: 2,
    podDisruptionBudget: { enabled: true, maxUnavailable: 1 },
    topologySpreadConstraints: [{
        maxSkew: 1, topologyKey: "topology.kubernetes.io/zone", whenUnsatisfiable: "ScheduleAnyway",
        labelSelector: { matchLabels: { app: "cert-manager-istio-csr" } },
    }],
    app: {
        logFormat: "json",
        certmanager: {
            namespace: "istio-system",
            preserveCertificateRequests: false,
            issuer: { enabled: true, name: "istio-ca", kind: "Issuer", group: "cert-manager.io" },
        },
        runtimeConfiguration: { name: "istio-issuer" },
        tls: {
            trustDomain: "mesh.example.internal",
            rootCAFile: "/var/run/secrets/istio-csr/ca.pem",
            certificateDNSNames: ["cert-manager-istio-csr.cert-manager.svc"],
            certificateDuration: "1h",
            istiodCertificateEnable: true,
            istiodCertificateDuration: "1h",
            istiodCertificateRenewBefore: "30m",
            istiodPrivateKeyAlgorithm: "ECDSA",
            istiodPrivateKeySize: 256,
        },
        server: {
            clusterID: "eks-prod",
            maxCertificateDuration: "1h",
            serving: { signatureAlgorithm: "ECDSA", certificateKeySize: 256 },
            caTrustedNodeAccounts: "",
        },
        istio: { revisions: ["default"], namespace: "istio-system" },
    },
    volumes: [{ name: "root-ca", secret: { secretName: "istio-root-ca" } }],
    volumeMounts: [{ name: "root-ca", mountPath: "/var/run/secrets/istio-csr", readOnly: true }],
};

/** Custom resources of this design: istio-csr's istiod certificate, the intermediate-backed Issuer, the trust bundle, mesh policy and routing. */
const ISTIOD_CERTIFICATE: KubernetesObject = {
    apiVersion: "cert-manager.io/v1",
    kind: "Certificate",
    metadata: { name: "istiod", namespace: "istio-system" },
    spec: {
        commonName: "istiod.istio-system.svc",
        dnsNames: ["istiod.istio-system.svc"],
        uris: ["spiffe://mesh.example.internal/ns/istio-system/sa/istiod-service-account"],
        secretName: "istiod-tls",
        duration: "1h",
        renewBefore: "30m",
        privateKey: { rotationPolicy: "Always", algorithm: "ECDSA", size: 256 },
        revisionHistoryLimit: 1,
        issuerRef: { name: "istio-ca", kind: "Issuer", group: "cert-manager.io" },
    },
};

const MESH_WIDE_STRICT: KubernetesObject = {
    apiVersion: "security.istio.io/v1",
    kind: "PeerAuthentication",
    metadata: { name: "default", namespace: "istio-system" },
    spec: { mtls: { mode: "STRICT" } },
};

const ACCEPTED: KubernetesObject[] = [
    ISTIOD_CERTIFICATE,
    { apiVersion: "cert-manager.io/v1", kind: "Issuer", metadata: { name: "istio-ca", namespace: "istio-system" }, spec: { ca: { secretName: "istio-ca-eks-2026q3" } } },
    { apiVersion: "cert-manager.io/v1", kind: "ClusterIssuer", metadata: { name: "istio-ca" }, spec: { ca: { secretName: "istio-ca-eks-2026q3" } } },
    {
        apiVersion: "trust.cert-manager.io/v1alpha1",
        kind: "Bundle",
        metadata: { name: "mesh-root-ca" },
        spec: {
            sources: [{ secret: { name: "mesh-root-ca-src", key: "root.pem" } }],
            target: { configMap: { key: "ca.pem" }, namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "cert-manager" } } },
        },
    },
    {
        apiVersion: "policy.cert-manager.io/v1alpha1",
        kind: "CertificateRequestPolicy",
        metadata: { name: "istio-csr-workloads" },
        spec: {
            allowed: { uris: { values: ["spiffe://mesh.example.internal/ns/*/sa/*"], required: true }, usages: ["client auth", "server auth"], isCA: false },
            constraints: { maxDuration: "1h", privateKey: { algorithm: "ECDSA", minSize: 256 } },
            selector: { issuerRef: { name: "istio-ca", kind: "Issuer", group: "cert-manager.io" } },
        },
    },
    MESH_WIDE_STRICT,
    {
        apiVersion: "security.istio.io/v1",
        kind: "AuthorizationPolicy",
        metadata: { name: "allow-frontend", namespace: "shop" },
        spec: {
            selector: { matchLabels: { app: "checkout" } },
            action: "ALLOW",
            rules: [{ from: [{ source: { principals: ["mesh.example.internal/ns/web/sa/frontend"] } }], to: [{ operation: { methods: ["GET", "POST"], ports: ["8080"] } }] }],
        },
    },
    {
        apiVersion: "security.istio.io/v1",
        kind: "RequestAuthentication",
        metadata: { name: "edge-jwt", namespace: "istio-ingress" },
        spec: { selector: { matchLabels: { istio: "ingressgateway" } }, jwtRules: [{ issuer: "https://login.example.com", jwksUri: "https://login.example.com/.well-known/jwks.json", forwardOriginalToken: true }] },
    },
    {
        apiVersion: "networking.istio.io/v1",
        kind: "Gateway",
        metadata: { name: "cross-network-gateway", namespace: "istio-system" },
        spec: { selector: { istio: "eastwestgateway" }, servers: [{ port: { number: 15443, name: "tls", protocol: "TLS" }, tls: { mode: "AUTO_PASSTHROUGH" }, hosts: ["*.local"] }] },
    },
    {
        apiVersion: "networking.istio.io/v1",
        kind: "DestinationRule",
        metadata: { name: "checkout", namespace: "shop" },
        spec: { host: "checkout.shop.svc.cluster.local", trafficPolicy: { tls: { mode: "ISTIO_MUTUAL" }, connectionPool: { tcp: { connectTimeout: "5s" } }, outlierDetection: { consecutive5xxErrors: 5, interval: "10s", baseEjectionTime: "30s" } } },
    },
    {
        apiVersion: "networking.istio.io/v1",
        kind: "VirtualService",
        metadata: { name: "checkout", namespace: "shop" },
        spec: { hosts: ["checkout.shop.svc.cluster.local"], http: [{ route: [{ destination: { host: "checkout.shop.svc.cluster.local", port: { number: 8080 } } }], timeout: "3s", retries: { attempts: 2, perTryTimeout: "1s" } }] },
    },
    {
        apiVersion: "telemetry.istio.io/v1",
        kind: "Telemetry",
        metadata: { name: "mesh-default", namespace: "istio-system" },
        spec: { accessLogging: [{ providers: [{ name: "envoy" }] }], tracing: [{ randomSamplingPercentage: 1 }] },
    },
    { apiVersion: "v1", kind: "Namespace", metadata: { name: "istio-system", labels: { "topology.istio.io/network": "net-aws" } } },
    {
        apiVersion: "v1", kind: "Secret", metadata: { name: "istio-ca-eks-2026q3", namespace: "istio-system" }, type: "kubernetes.io/tls",
        stringData: { "tls.crt": "-----BEGIN CERTIFICATE-----", "tls.key": "-----BEGIN PRIVATE KEY-----", "ca.crt": "-----BEGIN CERTIFICATE-----" },
    },
    { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "istio-issuer", namespace: "cert-manager" }, data: { "issuer-name": "istio-ca", "issuer-kind": "Issuer", "issuer-group": "cert-manager.io" } },
    { apiVersion: "v1", kind: "ServiceAccount", metadata: { name: "istio-reader-service-account", namespace: "istio-system" }, automountServiceAccountToken: false },
    {
        apiVersion: "rbac.authorization.k8s.io/v1", kind: "ClusterRole", metadata: { name: "istio-production:approve-istio-ca" },
        rules: [{ apiGroups: ["cert-manager.io"], resources: ["signers"], verbs: ["approve"], resourceNames: ["issuers.cert-manager.io/istio-system.istio-ca"] }],
    },
    {
        apiVersion: "rbac.authorization.k8s.io/v1", kind: "ClusterRoleBinding", metadata: { name: "istio-production:approve-istio-ca" },
        roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "istio-production:approve-istio-ca" },
        subjects: [{ kind: "ServiceAccount", name: "cert-manager-approver-policy", namespace: "cert-manager" }],
    },
];

const clone = <T>(v: T): T => structuredClone(v);
const withSpec = (obj: KubernetesObject, spec: unknown): KubernetesObject => ({ ...clone(obj), spec });

describe("what the shipped stacks would apply, against upstream schemas", () => {
    for (const stack of ["dev", "staging", "prod"]) {
        it(`${stack}: every custom resource and every Helm release's values validate`, async () => {
            const plan = await planStack({ stack });
            assert.ok(plan.graph.resources.some((r) => r.custom && r.type.startsWith("kubernetes:")), `${stack} registers no Kubernetes resource: this test would check nothing`);
            const errors = upstreamErrors(plan.graph.resources);
            assert.deepEqual(errors, []);
        });
    }
});

describe("custom resources against their CRD schemas", () => {
    it("accepts the reference resources of this design", () => {
        for (const obj of ACCEPTED) assert.deepEqual(validateCustomResource(obj), [], `${obj.apiVersion} ${obj.kind} ${obj.metadata?.name}`);
    });

    it("knows a schema for every kind the mesh layer registers", () => {
        const kinds = [
            "cert-manager.io/v1 Certificate", "cert-manager.io/v1 Issuer", "cert-manager.io/v1 ClusterIssuer",
            "policy.cert-manager.io/v1alpha1 CertificateRequestPolicy", "trust.cert-manager.io/v1alpha1 Bundle",
            "security.istio.io/v1 PeerAuthentication", "security.istio.io/v1 AuthorizationPolicy", "security.istio.io/v1 RequestAuthentication",
            "networking.istio.io/v1 Gateway", "networking.istio.io/v1 DestinationRule", "networking.istio.io/v1 VirtualService",
            "telemetry.istio.io/v1 Telemetry",
        ];
        for (const k of kinds) {
            const [apiVersion, kind] = k.split(" ");
            const errors = validateCustomResource({ apiVersion, kind, metadata: { name: "x" } });
            assert.ok(!errors.some((e) => e.startsWith("no schema is known")), `${k}: ${errors.join("; ")}`);
        }
    });

    it("compiles every vendored CRD schema, CEL rules included, so a construct it cannot check fails here first", () => {
        const dir = path.join(__dirname, "..", "engine", "manifests", "upstream-schemas", "crds");
        const types = fs.readdirSync(dir).flatMap((f) => JSON.parse(fs.readFileSync(path.join(dir, f), "utf8")).entries.flatMap((e: { types: string[] }) => e.types));
        assert.ok(types.includes("networking.istio.io/v1alpha3/EnvoyFilter") && types.includes("cert-manager.io/v1/CertificateRequest"), types.join(", "));
        for (const type of types) {
            const kind = type.slice(type.lastIndexOf("/") + 1);
            const errors = validateCustomResource({ apiVersion: type.slice(0, type.lastIndexOf("/")), kind, metadata: { name: "x" } });
            assert.ok(!errors.some((e) => e.startsWith("no schema is known")), type);
        }
    });

    it("refuses a cert-manager Certificate whose private key rotation policy is not Never or Always", () => {
        const cert = clone(ISTIOD_CERTIFICATE) as any;
        cert.spec.privateKey.rotationPolicy = "Sometimes";
        assert.deepEqual(validateCustomResource(cert), ['spec.privateKey.rotationPolicy: "Sometimes" is not one of "Never", "Always"']);
    });

    it("refuses a field the CRD does not define, naming the fields it does", () => {
        assert.deepEqual(validateCustomResource(withSpec(MESH_WIDE_STRICT, { mtls: { mode: "STRICT" }, mtlsMode: "STRICT" })),
            ["spec.mtlsMode: unknown field; known: mtls, portLevelMtls, selector"]);
        assert.deepEqual(validateCustomResource(withSpec(ISTIOD_CERTIFICATE, { ...(ISTIOD_CERTIFICATE.spec as object), dnsNAMES: ["x"] })),
            ['spec.dnsNAMES: unknown field; did you mean "dnsNames"?']);
    });

    it("refuses an mTLS mode Istio does not have", () => {
        assert.deepEqual(validateCustomResource(withSpec(MESH_WIDE_STRICT, { mtls: { mode: "STRICTER" } })),
            ['spec.mtls.mode: "STRICTER" is not one of "UNSET", "DISABLE", "PERMISSIVE", "STRICT"']);
    });

    it("refuses wrong types, including an int-or-string given neither", () => {
        const vs = ACCEPTED.find((o) => o.kind === "VirtualService")!;
        const spec = clone(vs.spec) as any;
        spec.http[0].route[0].destination.port.number = "8080";
        spec.http[0].timeout = 3;
        assert.deepEqual(validateCustomResource(withSpec(vs, spec)), [
            'spec.http[0].route[0].destination.port.number: must be integer, not "8080"',
            "spec.http[0].timeout: must be string, not 3",
        ]);
        const policy = clone(ACCEPTED.find((o) => o.kind === "CertificateRequestPolicy")!) as any;
        policy.spec.constraints.privateKey.minSize = true;
        assert.ok(validateCustomResource(policy).some((e) => e.startsWith("spec.constraints.privateKey.minSize: must be integer")));
        const solverResources = { limits: { cpu: true } };
        const acme = { server: "https://acme.example.com/directory", privateKeySecretRef: { name: "acme-key" }, solvers: [{ http01: { ingress: { podTemplate: { spec: { resources: solverResources } } } } }] };
        assert.deepEqual(validateCustomResource({ apiVersion: "cert-manager.io/v1", kind: "ClusterIssuer", metadata: { name: "edge" }, spec: { acme } }),
            ["spec.acme.solvers[0].http01.ingress.podTemplate.spec.resources.limits.cpu: must be integer or string, not true"]);
    });

    it("refuses fields Istio declares mutually exclusive", () => {
        const dr = ACCEPTED.find((o) => o.kind === "DestinationRule")!;
        assert.deepEqual(validateCustomResource(withSpec(dr, { host: "checkout", trafficPolicy: { loadBalancer: { simple: "ROUND_ROBIN", consistentHash: { httpHeaderName: "x-user" } } } })),
            ["spec.trafficPolicy.loadBalancer: simple, consistentHash are mutually exclusive"]);
    });

    it("evaluates the CRDs' CEL rules, as the API server does", () => {
        assert.deepEqual(validateCustomResource(withSpec(MESH_WIDE_STRICT, { mtls: { mode: "STRICT" }, portLevelMtls: { "15021": { mode: "PERMISSIVE" } } })),
            ["spec: portLevelMtls requires selector"]);
        const allow = ACCEPTED.find((o) => o.kind === "AuthorizationPolicy")!;
        assert.deepEqual(validateCustomResource(withSpec(allow, { ...(allow.spec as object), targetRef: { group: "", kind: "Service", name: "checkout" } })),
            ["spec: only one of targetRefs or selector can be set"]);
        const dr = ACCEPTED.find((o) => o.kind === "DestinationRule")!;
        const spec = clone(dr.spec) as any;
        spec.trafficPolicy.connectionPool.tcp.connectTimeout = "5";
        assert.deepEqual(validateCustomResource(withSpec(dr, spec)),
            ["spec.trafficPolicy.connectionPool.tcp.connectTimeout: must be a valid duration greater than 1ms (Invalid duration string: 5)"]);
        const jwt = ACCEPTED.find((o) => o.kind === "RequestAuthentication")!;
        assert.deepEqual(validateCustomResource(withSpec(jwt, { jwtRules: [{ issuer: "https://login.example.com", jwksUri: "ldap://login.example.com/keys" }] })),
            ["spec.jwtRules[0].jwksUri: url must have scheme http:// or https://"]);
    });

    it("refuses two entries with the same key in a list the schema declares a map", () => {
        const policy = clone(ACCEPTED.find((o) => o.kind === "CertificateRequestPolicy")!) as any;
        policy.spec.allowed.commonName = { validations: [{ rule: "self.endsWith('.svc')" }, { rule: "self.endsWith('.svc')", message: "again" }] };
        assert.deepEqual(validateCustomResource(policy), [`spec.allowed.commonName.validations: holds two entries with rule = ["self.endsWith('.svc')"] (a map keyed by rule)`]);
    });

    it("checks metadata as the API server does: names, label keys and values, no unknown fields", () => {
        const meta = (metadata: Record<string, unknown>) => validateCustomResource({ ...clone(MESH_WIDE_STRICT), metadata });
        assert.deepEqual(meta({ name: "Default_Policy", namespace: "istio-system" }), ['metadata.name: must match pattern "^[a-z0-9](?:[-a-z0-9]*[a-z0-9])?(?:\\.[a-z0-9](?:[-a-z0-9]*[a-z0-9])?)*$", not "Default_Policy"']);
        assert.deepEqual(meta({ name: "default", labels: { "topology.istio.io/network": "net aws" } }), ['metadata.labels["topology.istio.io/network"]: must match pattern "^(?:(?:[A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$", not "net aws"']);
        assert.deepEqual(meta({ name: "default", labels: { "bad key!": "x" } }), ['metadata.labels: invalid key "bad key!"']);
        assert.deepEqual(meta({ name: "default", label: { app: "x" } }), ['metadata.label: unknown field; did you mean "labels"?']);
    });

    it("checks the built-in kinds the mesh layer registers against their API shape", () => {
        assert.deepEqual(validateCustomResource({ apiVersion: "v1", kind: "Namespace", metadata: { name: "istio.system" } }),
            ['metadata.name: must match pattern "^[a-z0-9](?:[-a-z0-9]*[a-z0-9])?$", not "istio.system"']);
        assert.deepEqual(validateCustomResource({ apiVersion: "v1", kind: "Secret", metadata: { name: "istio-root-ca", namespace: "cert-manager" }, data: { "ca.pem": "-----BEGIN CERTIFICATE-----" } }),
            ['data["ca.pem"]: must match format "byte", not "-----BEGIN CERTIFICATE-----"']);
        assert.deepEqual(validateCustomResource({ apiVersion: "rbac.authorization.k8s.io/v1", kind: "RoleBinding", metadata: { name: "x", namespace: "istio-system" }, subjects: [] }),
            ["roleRef: required"]);
        assert.deepEqual(validateCustomResource({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "x" }, stringData: { a: "b" } }),
            ['stringData: unknown field; known: apiVersion, kind, metadata, data, binaryData, immutable']);
    });

    it("checks only the metadata of other built-in kinds, and reports kinds it has no schema for", () => {
        assert.deepEqual(validateCustomResource({ apiVersion: "apps/v1", kind: "Deployment", metadata: { name: "istiod" }, spec: { anything: true } }), []);
        assert.deepEqual(validateCustomResource({ apiVersion: "policy/v1", kind: "PodDisruptionBudget", metadata: { name: "Istiod" } }).length, 1);
        assert.deepEqual(validateCustomResource({ apiVersion: "gateway.networking.k8s.io/v1", kind: "Gateway", metadata: { name: "x" } }), [
            "no schema is known for gateway.networking.k8s.io/v1 Gateway (known: networking.istio.io/v1/Gateway, networking.istio.io/v1alpha3/Gateway, networking.istio.io/v1beta1/Gateway): vendor its CRD under engine/manifests/upstream-schemas",
        ]);
        assert.match(validateCustomResource({ apiVersion: "security.istio.io/v2", kind: "PeerAuthentication", metadata: { name: "x" } })[0], /^no schema is known for security\.istio\.io\/v2 PeerAuthentication/);
    });
});

describe("Helm values against the chart's schema", () => {
    it("accepts the reference values for cert-manager, istio-csr, istiod, the east-west gateway and base", () => {
        assert.deepEqual(validateChartValues(`${JETSTACK_OCI}/cert-manager`, "v1.21.1", CERT_MANAGER_VALUES), []);
        assert.deepEqual(validateChartValues(`${JETSTACK_OCI}/cert-manager-istio-csr`, "v0.17.0", ISTIO_CSR_VALUES), []);
        assert.deepEqual(validateChartValues("cert-manager-istio-csr", "v0.17.0", ISTIO_CSR_VALUES, { repo: "https://charts.jetstack.io/" }), []);
        assert.deepEqual(validateChartValues("istiod", "1.30.3", ISTIOD_VALUES, { repo: ISTIO_REPO }), []);
        assert.deepEqual(validateChartValues("gateway", "1.30.3", EAST_WEST_GATEWAY_VALUES, { repo: ISTIO_REPO }), []);
        assert.deepEqual(validateChartValues("base", "1.30.3", { defaultRevision: "default", base: { enableCRDTemplates: true, excludedCRDs: [] }, global: { enableReaderRBAC: true, istioNamespace: "istio-system" } }, { repo: ISTIO_REPO }), []);
        assert.deepEqual(validateChartValues(`${JETSTACK_OCI}/cert-manager-approver-policy`, "v0.27.0", { replicaCount: 2, app: { approveSignerNames: ["issuers.cert-manager.io/*"] } }), []);
    });

    it("refuses istio-csr keys in the wrong case, saying which key was meant", () => {
        const values = clone(ISTIO_CSR_VALUES) as any;
        delete values.app.server.clusterID;
        values.app.server.clusterId = "eks-prod";
        delete values.app.tls.rootCAFile;
        values.app.tls.rootCaFile = "/var/run/secrets/istio-csr/ca.pem";
        assert.deepEqual(validateChartValues(`${JETSTACK_OCI}/cert-manager-istio-csr`, "v0.17.0", values), [
            'app.server.clusterId: unknown field; did you mean "clusterID"?',
            'app.tls.rootCaFile: unknown field; did you mean "rootCAFile"?',
        ]);
    });

    it("refuses a cert-manager value of the wrong type, and lets null remove a key as Helm does", () => {
        assert.deepEqual(validateChartValues(`${JETSTACK_OCI}/cert-manager`, "v1.21.1", { ...CERT_MANAGER_VALUES, installCRDs: "yes" }), ['installCRDs: must be boolean, not "yes"']);
        assert.deepEqual(validateChartValues(`${JETSTACK_OCI}/cert-manager`, "v1.21.1", { ...CERT_MANAGER_VALUES, installCRDs: null }), []);
    });

    it("refuses IstioOperator syntax in istiod values: env goes at the top level, not under pilot", () => {
        assert.deepEqual(validateChartValues("istiod", "1.30.3", { ...ISTIOD_VALUES, pilot: { env: { ENABLE_CA_SERVER: "false" } } }, { repo: ISTIO_REPO }), [
            "pilot: not a value of chart istiod 1.30.3; `pilot.*` is IstioOperator syntax; the istiod chart takes these values at the top level (`env`, `cni`, `resources`, ...)",
        ]);
    });

    it("checks istiod keys at every level, meshConfig's against the MeshConfig API, and not below free-form values", () => {
        const values = clone(ISTIOD_VALUES) as any;
        values.global.multiCluster.clustername = "eks-prod";
        values.meshConfig.trustDomainAlias = ["old.example.internal"];
        values.meshConfig.defaultConfig = { proxyMetadata: { ECC_SIGNATURE_ALGORITHM: "ECDSA" }, anyProxyConfigField: true };
        values.env.ANY_FEATURE_FLAG = "true";
        values.podAnnotations = { "example.com/anything": "x" };
        values.resources = { requests: { cpu: "1", "ephemeral-storage": "1Gi" } };
        assert.deepEqual(validateChartValues("istiod", "1.30.3", values, { repo: ISTIO_REPO }), [
            'global.multiCluster.clustername: not a value of chart istiod 1.30.3; did you mean "clusterName"?',
            'meshConfig.trustDomainAlias: not a value of chart istiod 1.30.3; did you mean "trustDomainAliases"?',
        ]);
        assert.deepEqual(validateChartValues("istiod", "1.30.3", { global: { proxy: "proxyv2" } }, { repo: ISTIO_REPO }), ["global.proxy: must be a map of values"]);
        assert.deepEqual(validateChartValues("base", "1.30.3", { defaults: { base: {} } }, { repo: ISTIO_REPO }), ["defaults: not a value of chart base 1.30.3"]);
    });

    it("refuses values the gateway chart's schema does not define", () => {
        assert.deepEqual(validateChartValues("gateway", "1.30.3", { ...EAST_WEST_GATEWAY_VALUES, networkGatewayPort: {} }, { repo: ISTIO_REPO }), [
            'networkGatewayPort: unknown field; did you mean "networkGatewayPorts"?',
        ]);
    });

    it("reports a chart without a known schema unless the caller names it, another version, or another publisher", () => {
        const lbc = { repo: "https://aws.github.io/eks-charts" };
        assert.deepEqual(validateChartValues("aws-load-balancer-controller", "1.14.0", { clusterName: "x" }, lbc), [
            "no values schema is known for chart aws-load-balancer-controller from https://aws.github.io/eks-charts: vendor its values.schema.json under engine/manifests/upstream-schemas, or name it in withoutSchema",
        ]);
        assert.deepEqual(validateChartValues("aws-load-balancer-controller", "1.14.0", { clusterName: "x" }, { ...lbc, withoutSchema: ["aws-load-balancer-controller"] }), []);
        assert.deepEqual(validateChartValues(`${JETSTACK_OCI}/cert-manager`, "1.21.1", CERT_MANAGER_VALUES), [
            "no values schema is vendored for chart cert-manager 1.21.1 (vendored: v1.21.1): extract that version's, see engine/manifests/upstream-schemas/README.md",
        ]);
        assert.deepEqual(validateChartValues("istiod", "1.30.3", ISTIOD_VALUES, { repo: "https://charts.example.com" }), [
            `chart istiod from https://charts.example.com is not the upstream chart whose schema is vendored (published at ${ISTIO_REPO})`,
        ]);
    });
});
