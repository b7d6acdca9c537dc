import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";

/** A custom resource of a CRD the mesh installs. The spec is typed loosely; tests validate it against the CRD schema. */
export function customResource(
    name: string,
    apiVersion: string,
    kind: string,
    metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> },
    body: Record<string, pulumi.Input<any>>,
    opts: pulumi.CustomResourceOptions,
): k8s.apiextensions.CustomResource {
    return new k8s.apiextensions.CustomResource(name, { apiVersion, kind, metadata, ...body }, opts);
}

/** Pulumi waits until the resource reports this condition (pulumi-kubernetes `pulumi.com/waitFor`). */
export const WAIT_READY = { "pulumi.com/waitFor": "condition=Ready" };
