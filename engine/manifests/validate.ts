/**
 * Offline checks of what the program would apply, against the upstream schemas of the versions this project pins
 * (vendored under engine/manifests/upstream-schemas, see its README): custom resources against their CRD's
 * `openAPIV3Schema`, Helm values against the chart's `values.schema.json` or, for Istio charts without one, against
 * the chart's key tree. Unknown fields are errors, as the API server with strict field validation and `helm install`
 * treat them; the CRDs' CEL rules are evaluated as the API server evaluates them on create.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import Ajv, { AnySchemaObject, ErrorObject, SchemaObject, ValidateFunction } from "ajv";
// An ES module: loaded with require() (Node.js 20.19 and later), as this project's CommonJS modules load it.
import { Environment as CelEnvironment } from "@marcbachmann/cel-js";

const UPSTREAM = path.join(__dirname, "upstream-schemas");

export interface KubernetesObject {
    readonly apiVersion: string;
    readonly kind: string;
    readonly metadata?: Record<string, unknown>;
    readonly spec?: unknown;
    readonly [field: string]: unknown;
}

type Schema = SchemaObject;

// Strict about keywords, so that a schema construct this validator would silently ignore is noticed; not about the
// constructs upstream schemas legitimately use: oneOf branches requiring fields declared beside them (Istio's mutually
// exclusive fields) and string keywords on int-or-string nodes (quantities).
const ajv = new Ajv({ allErrors: true, verbose: true, strict: true, strictRequired: false, strictTypes: false });
ajv.addKeyword({
    keyword: "x-kubernetes-list-type",
    schemaType: "string",
    errors: true,
    validate: function listType(listKind: string, data: unknown, parent?: Schema, where?: { instancePath: string }): boolean {
        if (!Array.isArray(data) || (listKind !== "set" && listKind !== "map")) return true;
        const keys: string[] = parent?.["x-kubernetes-list-map-keys"] ?? [];
        const identity = (item: any) => JSON.stringify(listKind === "set" ? item : keys.map((k) => item?.[k]));
        const seen = new Set<string>();
        for (const item of data) {
            const id = identity(item);
            if (seen.has(id)) {
                (listType as ValidateFunction).errors = [{ keyword: "x-kubernetes-list-type", instancePath: where?.instancePath ?? "", schemaPath: "", params: { duplicate: id },
                    message: listKind === "set" ? `holds ${id} twice (a set)` : `holds two entries with ${keys.join(", ")} = ${id} (a map keyed by ${keys.join(", ")})` }];
                return false;
            }
            seen.add(id);
        }
        return true;
    },
});
// Annotations the API server acts on elsewhere (merge strategy), or that structural() has already applied.
ajv.addKeyword("x-kubernetes-list-map-keys");
ajv.addKeyword("x-kubernetes-map-type");
ajv.addKeyword("x-kubernetes-preserve-unknown-fields");
ajv.addKeyword("x-kubernetes-int-or-string");

/**
 * What the Kubernetes CEL library's `url()` returns and `isURL()` tests: Go's `url.ParseRequestURI`, of which the
 * vendored rules read only the scheme.
 */
class KubernetesUrl {
    constructor(readonly scheme: string) {}

    static parse(text: string): KubernetesUrl {
        const absolute = /^([A-Za-z][A-Za-z0-9+.-]*):/.exec(text);
        if (absolute) return new KubernetesUrl(absolute[1].toLowerCase());
        if (text.startsWith("/")) return new KubernetesUrl("");
        throw new Error(`${JSON.stringify(text)} is neither an absolute URI nor an absolute path`);
    }
}

const celEnvironment = new CelEnvironment({ homogeneousAggregateLiterals: false })
    .registerType("URL", KubernetesUrl)
    .registerVariable("self", "dyn")
    .registerFunction("url(string): URL", KubernetesUrl.parse)
    .registerFunction("isURL(string): bool", (text: string) => {
        try {
            KubernetesUrl.parse(text);
            return true;
        } catch {
            return false;
        }
    })
    .registerFunction("URL.getScheme(): string", (u: KubernetesUrl) => u.scheme);

function hasType(data: unknown, type: unknown): boolean {
    switch (type) {
        case "object": return typeof data === "object" && data !== null && !Array.isArray(data);
        case "array": return Array.isArray(data);
        case "integer": return Number.isInteger(data);
        case "number": return typeof data === "number";
        case "string": return typeof data === "string";
        case "boolean": return typeof data === "boolean";
        default: return true;
    }
}

interface CelRule {
    readonly rule: string;
    readonly message?: string;
}

/**
 * CEL rules, evaluated as the API server does on create: `self` is the value at the rule's node, and a rule that
 * fails to evaluate (say, `duration("5")`) rejects the object too. A rule this evaluator cannot type-check fails when
 * the schema compiles, so a CRD using a function not provided here is noticed rather than skipped.
 */
ajv.addKeyword({
    keyword: "x-kubernetes-validations",
    schemaType: "array",
    errors: true,
    compile(rules: CelRule[], parent: AnySchemaObject) {
        const programs = rules.map((r) => {
            const checked = celEnvironment.check(r.rule);
            if (!checked.valid) throw new Error(`CEL rule ${JSON.stringify(r.rule)} cannot be evaluated offline: ${checked.error?.message}`);
            return { ...r, evaluate: celEnvironment.parse(r.rule) };
        });
        const validate: ((data: unknown, where?: { instancePath: string }) => boolean) & { errors?: Partial<ErrorObject>[] } = (data, where) => {
            const failures: Partial<ErrorObject>[] = [];
            // A value of the wrong type has its error already; the API server does not run rules on it either.
            for (const p of hasType(data, parent.type) ? programs : []) {
                let failure: string | undefined;
                try {
                    if (p.evaluate({ self: data }) !== true) failure = p.message ?? `failed rule: ${p.rule}`;
                } catch (e) {
                    failure = `${p.message ?? `rule ${p.rule}`} (${(e as Error).message.split("\n")[0]})`;
                }
                if (failure) failures.push({ keyword: "x-kubernetes-validations", instancePath: where?.instancePath ?? "", params: { rule: p.rule }, message: failure });
            }
            validate.errors = failures;
            return failures.length === 0;
        };
        return validate;
    },
});
// The API server checks `byte` and `date-time`; `int32`, `int64`, `double` and `text` only document the type.
ajv.addFormat("byte", /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/);
ajv.addFormat("date-time", /^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:[Zz]|[+-]\d{2}:\d{2})$/);
for (const documentary of ["int32", "int64", "double", "float", "text"]) ajv.addFormat(documentary, true);

// ---------------------------------------------------------------------------------------------------------------
// Custom resources

const HANDLED_EXTENSIONS = new Set(["x-kubernetes-preserve-unknown-fields", "x-kubernetes-int-or-string", "x-kubernetes-list-type",
    "x-kubernetes-list-map-keys", "x-kubernetes-map-type", "x-kubernetes-validations"]);

const DNS_LABEL = "[a-z0-9](?:[-a-z0-9]*[a-z0-9])?";
const DNS_SUBDOMAIN = `${DNS_LABEL}(?:\\.${DNS_LABEL})*`;
/** Label and annotation keys: an optional DNS-subdomain prefix (≤ 253) and a name (≤ 63). */
const QUALIFIED_NAME = `^(?:(?=[^/]{1,253}/)${DNS_SUBDOMAIN}/)?(?=[^/]{1,63}$)[A-Za-z0-9](?:[-A-Za-z0-9_.]*[A-Za-z0-9])?$`;

type NameRule = "subdomain" | "label" | "pathSegment";
const NAME_RULES: Record<NameRule, Schema> = {
    subdomain: { type: "string", maxLength: 253, pattern: `^${DNS_SUBDOMAIN}$` },
    label: { type: "string", maxLength: 63, pattern: `^${DNS_LABEL}$` },
    // RBAC names such as `system:controller:x` only have to be usable as a URL path segment.
    pathSegment: { type: "string", minLength: 1, pattern: "^(?!\\.\\.?$)[^/%]+$" },
};

const stringMap = (values: Schema = { type: "string" }, keys?: Schema): Schema =>
    ({ type: "object", additionalProperties: values, ...(keys ? { propertyNames: keys } : {}) });

/** The ObjectMeta fields a client may set; the API server validates metadata itself, whatever a CRD says of it. */
function objectMeta(name: NameRule): Schema {
    return {
        type: "object",
        additionalProperties: false,
        properties: {
            name: NAME_RULES[name],
            generateName: { type: "string" },
            namespace: NAME_RULES.label,
            labels: stringMap({ type: "string", maxLength: 63, pattern: "^(?:(?:[A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$" }, { pattern: QUALIFIED_NAME }),
            annotations: stringMap({ type: "string" }, { pattern: QUALIFIED_NAME }),
            finalizers: { type: "array", items: { type: "string" } },
            ownerReferences: {
                type: "array",
                items: {
                    type: "object", additionalProperties: false, required: ["apiVersion", "kind", "name", "uid"],
                    properties: { apiVersion: { type: "string" }, kind: { type: "string" }, name: { type: "string" }, uid: { type: "string" }, controller: { type: "boolean" }, blockOwnerDeletion: { type: "boolean" } },
                },
            },
        },
    };
}

/**
 * A CRD schema with the API server's structural semantics made explicit for a JSON Schema validator: fields not in
 * `properties` are unknown (pruned, or refused under strict field validation) unless the node preserves unknown
 * fields; every object accepts `apiVersion`, `kind` and ObjectMeta `metadata` at its root.
 */
function structural(node: Schema, where: string, isRoot = false): Schema {
    const unhandled = Object.keys(node).filter((k) => k.startsWith("x-kubernetes-") && !HANDLED_EXTENSIONS.has(k));
    if (unhandled.length) throw new Error(`${where}: schema extension ${unhandled.join(", ")} is not handled by the offline validator`);
    const out: Schema = { ...node };
    if (node.properties) out.properties = Object.fromEntries(Object.entries(node.properties as Record<string, Schema>).map(([k, s]) => [k, structural(s, `${where}.${k}`)]));
    if (node.items && typeof node.items === "object" && !Array.isArray(node.items)) out.items = structural(node.items, `${where}[]`);
    if (node.additionalProperties && typeof node.additionalProperties === "object") out.additionalProperties = structural(node.additionalProperties, `${where}.*`);
    if ((node.type === "object" || node.properties) && node.additionalProperties === undefined && !node["x-kubernetes-preserve-unknown-fields"]) out.additionalProperties = false;
    if (isRoot) {
        out.properties = { ...out.properties, apiVersion: { type: "string" }, kind: { type: "string" }, metadata: objectMeta("subdomain") };
        out.required = [...new Set([...(node.required ?? []), "apiVersion", "kind"])];
    }
    return out;
}

interface CrdSchema {
    readonly schema: Schema;
    validate?: ValidateFunction;
}

let crdSchemas: Map<string, CrdSchema> | undefined;

/** `group/version/Kind` → the vendored schema, from every file under crds/. */
function crdIndex(): Map<string, CrdSchema> {
    if (crdSchemas) return crdSchemas;
    crdSchemas = new Map();
    const dir = path.join(UPSTREAM, "crds");
    for (const file of fs.readdirSync(dir).filter((f) => f.endsWith(".json"))) {
        const { entries } = JSON.parse(fs.readFileSync(path.join(dir, file), "utf8")) as { entries: Array<{ types: string[]; openAPIV3Schema: Schema }> };
        for (const entry of entries) {
            // Types sharing a schema share one compiled validator.
            const shared: CrdSchema = { schema: entry.openAPIV3Schema };
            for (const type of entry.types) crdSchemas.set(type, shared);
        }
    }
    return crdSchemas;
}

const objectRef: Schema = {
    type: "object", additionalProperties: false,
    properties: Object.fromEntries(["apiVersion", "fieldPath", "kind", "name", "namespace", "resourceVersion", "uid"].map((k) => [k, { type: "string" }])),
};
const strings: Schema = { type: "array", items: { type: "string" } };
const labelSelector: Schema = {
    type: "object", additionalProperties: false,
    properties: {
        matchLabels: stringMap(),
        matchExpressions: {
            type: "array",
            items: { type: "object", additionalProperties: false, required: ["key", "operator"], properties: { key: { type: "string" }, operator: { enum: ["In", "NotIn", "Exists", "DoesNotExist"] }, values: strings } },
        },
    },
};
const policyRule: Schema = {
    type: "object", additionalProperties: false, required: ["verbs"],
    properties: { apiGroups: strings, nonResourceURLs: strings, resourceNames: strings, resources: strings, verbs: strings },
};
const roleBinding: Record<string, Schema> = {
    roleRef: {
        type: "object", additionalProperties: false, required: ["apiGroup", "kind", "name"],
        properties: { apiGroup: { type: "string" }, kind: { enum: ["Role", "ClusterRole"] }, name: { type: "string" } },
    },
    subjects: {
        type: "array",
        items: {
            type: "object", additionalProperties: false, required: ["kind", "name"],
            properties: { kind: { enum: ["User", "Group", "ServiceAccount"] }, name: { type: "string" }, namespace: { type: "string" }, apiGroup: { type: "string" } },
        },
    },
};
/** ConfigMap and Secret keys. */
const DATA_KEY: Schema = { maxLength: 253, pattern: "^[-._a-zA-Z0-9]+$" };
const BASE64: Schema = { type: "string", format: "byte" };

/**
 * Built-in kinds the mesh layer registers, as the Kubernetes API reference defines them (fields a client sets;
 * read-only and deprecated fields left out).
 */
const BUILTIN: Record<string, { name: NameRule; fields: Record<string, Schema>; required?: string[] }> = {
    "v1/Namespace": { name: "label", fields: { spec: { type: "object", additionalProperties: false, properties: { finalizers: strings } } } },
    "v1/Secret": { name: "subdomain", fields: { data: stringMap(BASE64, DATA_KEY), stringData: stringMap({ type: "string" }, DATA_KEY), type: { type: "string" }, immutable: { type: "boolean" } } },
    "v1/ConfigMap": { name: "subdomain", fields: { data: stringMap({ type: "string" }, DATA_KEY), binaryData: stringMap(BASE64, DATA_KEY), immutable: { type: "boolean" } } },
    "v1/ServiceAccount": {
        name: "subdomain",
        fields: {
            secrets: { type: "array", items: objectRef },
            imagePullSecrets: { type: "array", items: { type: "object", additionalProperties: false, properties: { name: { type: "string" } } } },
            automountServiceAccountToken: { type: "boolean" },
        },
    },
    "rbac.authorization.k8s.io/v1/ClusterRole": {
        name: "pathSegment",
        fields: { rules: { type: "array", items: policyRule }, aggregationRule: { type: "object", additionalProperties: false, properties: { clusterRoleSelectors: { type: "array", items: labelSelector } } } },
    },
    "rbac.authorization.k8s.io/v1/Role": { name: "pathSegment", fields: { rules: { type: "array", items: policyRule } } },
    "rbac.authorization.k8s.io/v1/ClusterRoleBinding": { name: "pathSegment", fields: roleBinding, required: ["roleRef"] },
    "rbac.authorization.k8s.io/v1/RoleBinding": { name: "pathSegment", fields: roleBinding, required: ["roleRef"] },
};

/**
 * Built-in API groups whose other kinds (Deployment, Job, Service, PodDisruptionBudget, ...) have no shape here: only their
 * metadata is checked. Their full schemas are the cluster's own OpenAPI, which a server-side dry run checks.
 */
const METADATA_ONLY_API_VERSIONS = new Set(["v1", "apps/v1", "batch/v1", "rbac.authorization.k8s.io/v1", "policy/v1", "networking.k8s.io/v1"]);

const builtinValidators = new Map<string, ValidateFunction>();

function builtinValidator(type: string): ValidateFunction | undefined {
    const known = BUILTIN[type];
    const apiVersion = type.slice(0, type.lastIndexOf("/"));
    if (!known && !METADATA_ONLY_API_VERSIONS.has(apiVersion)) return undefined;
    let validate = builtinValidators.get(type);
    if (!validate) {
        validate = ajv.compile(known
            ? { type: "object", additionalProperties: false, required: ["apiVersion", "kind", ...(known.required ?? [])], properties: { apiVersion: { type: "string" }, kind: { type: "string" }, metadata: objectMeta(known.name), ...known.fields } }
            : { type: "object", properties: { metadata: objectMeta("subdomain") } });
        builtinValidators.set(type, validate);
    }
    return validate;
}

/**
 * Errors (empty when valid) of a Kubernetes object against the schema its API server would apply: the vendored CRD
 * schema for custom resources, a built-in shape for the core and RBAC kinds the mesh layer registers, metadata only
 * for other kinds of the built-in groups (`v1`, `apps/v1`, `batch/v1`, `rbac.authorization.k8s.io/v1`, `policy/v1`,
 * `networking.k8s.io/v1`), and an error for any other kind, so a new kind is noticed. CEL rules
 * (`x-kubernetes-validations`) are evaluated too.
 */
export function validateCustomResource(obj: KubernetesObject): string[] {
    const type = `${obj.apiVersion}/${obj.kind}`;
    const builtin = builtinValidator(type);
    if (builtin) return builtin(obj) ? [] : describe(builtin.errors ?? []);
    const crd = crdIndex().get(type);
    if (!crd) {
        const kinds = [...crdIndex().keys()].filter((t) => t.endsWith(`/${obj.kind}`));
        return [`no schema is known for ${obj.apiVersion} ${obj.kind}${kinds.length ? ` (known: ${kinds.join(", ")})` : ""}: vendor its CRD under engine/manifests/upstream-schemas`];
    }
    crd.validate ??= ajv.compile(structural(crd.schema, type, true));
    return crd.validate(obj) ? [] : describe(crd.validate.errors ?? []);
}

// ---------------------------------------------------------------------------------------------------------------
// Helm values

const JETSTACK = ["oci://quay.io/jetstack/charts", "https://charts.jetstack.io"];
const ISTIO = ["https://istio-release.storage.googleapis.com/charts"];

/** Where each chart with vendored values data is published; the files under charts/ say which versions are vendored. */
const CHART_SOURCES: Record<string, readonly string[]> = {
    "cert-manager": JETSTACK,
    "cert-manager-istio-csr": JETSTACK,
    "cert-manager-approver-policy": JETSTACK,
    "trust-manager": JETSTACK,
    "cert-manager-google-cas-issuer": JETSTACK,
    base: ISTIO,
    istiod: ISTIO,
    gateway: ISTIO,
    prometheus: ["https://prometheus-community.github.io/helm-charts", "oci://ghcr.io/prometheus-community/charts"],
};

/** Keys whose Helm-chart form differs from the IstioOperator form found in much of the Istio documentation. */
const KEY_HINTS: Record<string, Record<string, string>> = {
    istiod: { pilot: "`pilot.*` is IstioOperator syntax; the istiod chart takes these values at the top level (`env`, `cni`, `resources`, ...)" },
};

export interface ChartValuesOptions {
    /** The chart's Helm repository (`repositoryOpts.repo`) when `chart` is a bare name. */
    readonly repo?: string;
    /** Names of charts known to ship no values schema upstream: their values are accepted unchecked instead of reported. */
    readonly withoutSchema?: readonly string[];
}

type KeyTree = { [key: string]: KeyTree | true };

/** As Helm's own validator, ignores keywords JSON Schema does not define (the gateway chart's root `defaults`). */
const helmAjv = new Ajv({ allErrors: true, verbose: true, strict: false });
const valuesValidators = new Map<string, ValidateFunction>();

/**
 * Errors (empty when valid) of Helm values for a chart at a version: against the chart's `values.schema.json`
 * (which `helm install` enforces), or for Istio's `base` and `istiod`, which ship none, against the keys the chart
 * defines or reads. `chart` is an OCI reference (`oci://quay.io/jetstack/charts/cert-manager`) or a bare name with
 * `options.repo`. Values are checked as given, after Helm's rule that a null value removes a key.
 */
export function validateChartValues(chart: string, version: string, values: object, options: ChartValuesOptions = {}): string[] {
    const oci = chart.startsWith("oci://");
    const name = oci ? chart.slice(chart.lastIndexOf("/") + 1) : chart;
    const source = (oci ? chart.slice(0, chart.lastIndexOf("/")) : options.repo)?.replace(/\/+$/, "");
    const sources = CHART_SOURCES[name];
    if (!sources) {
        return options.withoutSchema?.includes(name) ? [] : [`no values schema is known for chart ${chart}${source && !oci ? ` from ${source}` : ""}: vendor its values.schema.json under engine/manifests/upstream-schemas, or name it in withoutSchema`];
    }
    if (source && !sources.includes(source)) return [`chart ${name} from ${source} is not the upstream chart whose schema is vendored (published at ${sources.join(", ")})`];
    const dir = path.join(UPSTREAM, "charts");
    const schemaFile = path.join(dir, `${name}@${version}.values.schema.json`);
    const keysFile = path.join(dir, `${name}@${version}.keys.json`);
    const plainValues = withoutNulls(values);
    if (fs.existsSync(schemaFile)) {
        let validate = valuesValidators.get(schemaFile);
        if (!validate) {
            validate = helmAjv.compile(JSON.parse(fs.readFileSync(schemaFile, "utf8")));
            valuesValidators.set(schemaFile, validate);
        }
        return validate(plainValues) ? [] : describe(validate.errors ?? []);
    }
    if (fs.existsSync(keysFile)) return unknownKeys(plainValues, JSON.parse(fs.readFileSync(keysFile, "utf8")), [], KEY_HINTS[name] ?? {}, `${name} ${version}`);
    const vendored = fs.readdirSync(dir).filter((f) => f.startsWith(`${name}@`)).map((f) => f.slice(name.length + 1).replace(/\.(values\.schema|keys)\.json$/, ""));
    return [`no values schema is vendored for chart ${name} ${version} (vendored: ${vendored.join(", ") || "none"}): extract that version's, see engine/manifests/upstream-schemas/README.md`];
}

/** Helm removes keys set to null before it validates or renders. */
function withoutNulls(value: unknown): unknown {
    if (Array.isArray(value)) return value.map(withoutNulls);
    if (typeof value !== "object" || value === null) return value;
    return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== null).map(([k, v]) => [k, withoutNulls(v)]));
}

function unknownKeys(values: unknown, tree: KeyTree, at: Array<string | number>, hints: Record<string, string>, chart: string): string[] {
    if (typeof values !== "object" || values === null || Array.isArray(values)) return [`${pathText(at)}: must be a map of values`];
    return Object.entries(values).flatMap(([key, value]) => {
        const here = [...at, key];
        const known = tree[key];
        if (known === undefined) {
            const hint = hints[pathText(here)] ?? didYouMean(key, Object.keys(tree));
            return [`${pathText(here)}: not a value of chart ${chart}${hint ? `; ${hint}` : ""}`];
        }
        return known === true ? [] : unknownKeys(value, known, here, hints, chart);
    });
}

// ---------------------------------------------------------------------------------------------------------------
// Error messages: a path a reader can find in the source, the bad value, and what would be accepted.

function describe(errors: readonly ErrorObject[]): string[] {
    // A failed anyOf/oneOf reports each branch's failure as well: the combinator's own message says it better.
    const combinators = errors.filter((e) => e.keyword === "anyOf" || e.keyword === "oneOf").map((e) => `${e.schemaPath}/`);
    const shown = errors.filter((e) => !combinators.some((c) => e.schemaPath.startsWith(c)) && !(e.keyword !== "propertyNames" && e.propertyName !== undefined));
    return [...new Set(shown.map(message))];
}

function message(e: ErrorObject): string {
    const at = pointerPath(e.instancePath);
    const p = e.params as Record<string, any>;
    switch (e.keyword) {
        case "additionalProperties": {
            const known = Object.keys(e.parentSchema?.properties ?? {});
            const hint = didYouMean(p.additionalProperty, known) ?? (known.length && known.length <= 20 ? `known: ${known.join(", ")}` : undefined);
            return `${pathText([...at, p.additionalProperty])}: unknown field${hint ? `; ${hint}` : ""}`;
        }
        case "required":
            return `${pathText([...at, p.missingProperty])}: required`;
        case "enum":
            return `${pathText(at)}: ${JSON.stringify(e.data)} is not one of ${(p.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(", ")}`;
        case "type":
            return `${pathText(at)}: must be ${[p.type].flat().join(" or ")}, not ${JSON.stringify(e.data)}`;
        case "anyOf":
        case "oneOf": {
            const fields = requiredNames(e.schema);
            if (fields.length) return `${pathText(at)}: ${fields.join(", ")} are mutually exclusive`;
            const types = (e.schema as Schema[]).map((s) => s.type).filter(Boolean);
            return `${pathText(at)}: must be ${types.length ? types.join(" or ") : `one of the ${e.keyword} alternatives`}, not ${JSON.stringify(e.data)}`;
        }
        case "propertyNames":
            return `${pathText(at)}: invalid key ${JSON.stringify(p.propertyName)}`;
        default:
            return `${pathText(at)}: ${e.message ?? e.keyword}${e.keyword.startsWith("x-kubernetes-") ? "" : `, not ${JSON.stringify(e.data)}`}`;
    }
}

/** Field names a oneOf/anyOf constrains by `required`, the form of Istio's mutually exclusive fields. */
function requiredNames(schema: unknown): string[] {
    if (Array.isArray(schema)) return [...new Set(schema.flatMap(requiredNames))];
    if (typeof schema !== "object" || schema === null) return [];
    const s = schema as Schema;
    return [...new Set([...(s.required ?? []), ...requiredNames(s.anyOf ?? []), ...requiredNames(s.oneOf ?? []), ...requiredNames(s.not ?? [])])];
}

function pointerPath(pointer: string): Array<string | number> {
    return pointer.split("/").slice(1).map((s) => s.replace(/~1/g, "/").replace(/~0/g, "~")).map((s) => (/^\d+$/.test(s) ? Number(s) : s));
}

/** `spec.rules[0].from`, `metadata.labels["app.kubernetes.io/name"]`. */
function pathText(parts: ReadonlyArray<string | number>): string {
    if (!parts.length) return "(root)";
    return parts.map((p, i) => (typeof p === "number" ? `[${p}]` : /^[A-Za-z_$][\w$-]*$/.test(p) ? `${i ? "." : ""}${p}` : `[${JSON.stringify(p)}]`)).join("");
}

/** A known key the given one is probably a misspelling of: same letters in another case, or at most two edits away. */
function didYouMean(key: string, known: readonly string[]): string | undefined {
    const match = known.find((k) => k.toLowerCase() === key.toLowerCase()) ?? (key.length > 3 ? known.find((k) => editDistance(k, key) <= 2) : undefined);
    return match ? `did you mean "${match}"?` : undefined;
}

function editDistance(a: string, b: string): number {
    let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
    for (let i = 1; i <= a.length; i++) {
        const current = [i];
        for (let j = 1; j <= b.length; j++) current[j] = Math.min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
        previous = current;
    }
    return previous[b.length];
}
