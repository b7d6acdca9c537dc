import { PROJECT_ROOT } from "../../engine/plan";
import { readProject, readStack } from "../../engine/project";

const NS = "istio-production";

/** A shipped stack's config as the runtime receives it, with structured values parsed, ready to mutate. */
export function stackConfig(stack: string): Record<string, any> {
    const raw = readStack(readProject(PROJECT_ROOT), stack).config;
    return Object.fromEntries(Object.entries(raw).map(([k, v]) => [k.replace(`${NS}:`, ""), parse(v)]));
}

/** Back to the runtime's form: `istio-production:<key>` → text. */
export function toRuntime(config: Record<string, any>): Record<string, string> {
    return Object.fromEntries(Object.entries(config).filter(([, v]) => v !== undefined)
        .map(([k, v]) => [`${NS}:${k}`, typeof v === "string" ? v : JSON.stringify(v)]));
}

function parse(text: string): unknown {
    try {
        return JSON.parse(text);
    } catch {
        return text;
    }
}

/** prod with the `secret` backend on every cluster: the shipped pki-prod makes their keys until it signs a managed CA's CSR. */
export function secretBackendProd(): Record<string, any> {
    const config = stackConfig("prod");
    config.clusters = config.clusters.map((c: Record<string, unknown>) => ({ ...c, caBackend: "secret" }));
    return config;
}
