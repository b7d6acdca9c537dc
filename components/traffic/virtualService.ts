import { FaultConfig, ResolvedResilience } from "../../config";
import { ReleaseRouting } from "./releases";
import { istioDuration } from "./duration";

export interface VirtualServiceArgs {
    /** The service's FQDN. */
    readonly host: string;
    readonly port: number;
    readonly protocol: "http" | "grpc" | "tcp";
    readonly resilience: ResolvedResilience;
    /** Absent: one route to the whole service. */
    readonly routing?: ReleaseRouting;
    readonly fault?: FaultConfig;
}


/**
 * The VirtualService of a declared service, for the mesh's sidecars: weighted routes to the release's subsets (or
 * one route to the service), and for HTTP and gRPC the request timeout, retries, mirroring and injected faults.
 */
export function virtualServiceSpec(a: VirtualServiceArgs) {
    const destination = (subset?: string) => ({ host: a.host, ...(subset ? { subset } : {}), port: { number: a.port } });
    const route = a.routing
        ? a.routing.routes.map((r) => ({ destination: destination(r.subset), weight: r.weight }))
        : [{ destination: destination(), weight: 100 }];
    if (a.protocol === "tcp") return { hosts: [a.host], tcp: [{ route }] };
    const mirror = a.routing?.mirror;
    return {
        hosts: [a.host],
        http: [{
            name: "default",
            route,
            ...httpRouteResilience(a.resilience),
            ...(mirror ? { mirrors: [{ destination: destination(mirror.subset), percentage: { value: mirror.percent } }] } : {}),
            ...(a.fault ? { fault: faultSpec(a.fault) } : {}),
        }],
    };
}

/** An Istio HTTPRoute's timeout and retries: the same on every route to a service, from the mesh or from the edge. */
export interface HttpRouteResilience {
    readonly timeout: string;
    readonly retries: { readonly attempts: number; readonly perTryTimeout?: string; readonly retryOn?: string };
}

export function httpRouteResilience(r: Pick<ResolvedResilience, "timeoutMs" | "retries">): HttpRouteResilience {
    return {
        timeout: istioDuration(r.timeoutMs),
        retries: r.retries.attempts > 0
            ? { attempts: r.retries.attempts, perTryTimeout: istioDuration(r.retries.perTryTimeoutMs), retryOn: r.retries.retryOn }
            // Istio retries twice by default when retries are not set: zero attempts must be said.
            : { attempts: 0 },
    };
}

function faultSpec(f: FaultConfig) {
    return {
        ...(f.delay ? { delay: { fixedDelay: istioDuration(f.delay.fixedDelayMs), percentage: { value: f.delay.percent } } } : {}),
        ...(f.abort ? { abort: { httpStatus: f.abort.httpStatus, percentage: { value: f.abort.percent } } } : {}),
    };
}
