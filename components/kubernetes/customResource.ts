import * as apiextensions from "@pulumi/kubernetes/apiextensions";
import * as pulumi from "@pulumi/pulumi";

/** A custom resource of a CRD the mesh installs. The spec is typed loosely; tests validate it against the CRD schema. */
export function customResource(
    name: string,
    apiVersion: string,
    kind: string,
    metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> },
    body: Record<string, pulumi.Input<any>>,
    opts: pulumi.CustomResourceOptions,
): apiextensions.CustomResource {
    return new apiextensions.CustomResource(name, { apiVersion, kind, metadata, ...body }, opts);
}

/** Pulumi waits until the resource reports this condition (pulumi-kubernetes `pulumi.com/waitFor`). */
export const WAIT_READY = { "pulumi.com/waitFor": "condition=Ready" };
