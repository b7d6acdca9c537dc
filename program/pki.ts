import * as pulumi from "@pulumi/pulumi";
import { defaultRootId, PkiConfig } from "../config";
import { IntermediateCa } from "../components/pki/IntermediateCa";
import { RootCa } from "../components/pki/RootCa";
import { CertificateRecord, describeCertificate } from "../components/pki/inventory";

/**
 * The offline root CA stack: roots (one per environment by default) and one intermediate per cluster of every
 * environment. Mesh stacks read only the public outputs and their own clusters' intermediate keys; no root key is
 * ever an output.
 */
export function pkiProgram(config: PkiConfig) {
    const envs = Object.entries(config.environments).map(([name, env]) => {
        const roots = env.roots ?? [defaultRootId(name)];
        return { name, ...env, roots, issuingRoot: env.issuingRoot ?? roots[0] };
    });

    const rootIds = [...new Set(envs.flatMap((e) => e.roots))];
    const usersOf = (id: string) => envs.filter((e) => e.roots.includes(id)).map((e) => e.name);
    const roots = new Map<string, { certPem: pulumi.Output<string>; ca?: RootCa }>(rootIds.map((id) => {
        if (config.mode === "external") return [id, { certPem: pulumi.output(config.externalRoots[id]) }];
        const ca = new RootCa(id, {
            organization: config.organization,
            rootId: id,
            key: config.rootKey,
            validityHours: config.rootValidityHours,
        });
        return [id, { certPem: ca.certPem, ca }];
    }));

    const intermediates = envs.flatMap((env) => env.clusters.map((cluster) => {
        const issuer = roots.get(env.issuingRoot)!;
        // The epoch is part of the name: bumping it creates the new intermediate before the old one is deleted.
        const name = `int-${cluster}-e${env.intermediateEpoch}`;
        const ca = new IntermediateCa(name, {
            organization: config.organization,
            cluster,
            key: config.intermediateKey,
            validityHours: config.intermediateValidityHours,
            earlyRenewalHours: config.intermediateEarlyRenewalHours,
            issuer: issuer.ca && { certPem: issuer.ca.certPem, privateKeyPem: issuer.ca.privateKeyPem },
            externalCertPem: config.externalIntermediates[cluster],
            externalRootPem: config.externalRoots[env.issuingRoot],
        });
        return { name, cluster, environment: env.name, issuingRoot: env.issuingRoot, ca };
    }));

    const inventory = pulumi.all([
        ...rootIds.map((id) => roots.get(id)!.certPem.apply((pem) => describeCertificate(id, "root", pem, usersOf(id)))),
        ...intermediates.map((i) => pulumi.output(i.ca.certPem).apply((pem: string | undefined) =>
            pem ? describeCertificate(i.name, "intermediate", pem, [`${i.environment}/${i.cluster}`]) : undefined)),
    ]).apply((records) => records.filter((r): r is CertificateRecord => r !== undefined));

    return {
        organization: config.organization,
        mode: config.mode,
        /** Per environment, the root certificates its clusters trust, in bundle order (a list, for rotation). */
        trustBundles: pulumi.output(Object.fromEntries(envs.map((e) => [e.name, pulumi.all(e.roots.map((id) => roots.get(id)!.certPem))]))),
        /** Per cluster, the public half of its intermediate: certificate (absent until an external CA signed it) and CSR. */
        intermediates: pulumi.output(Object.fromEntries(intermediates.map((i) => [i.cluster, {
            environment: i.environment, issuingRoot: i.issuingRoot, certPem: i.ca.certPem, certRequestPem: i.ca.certRequestPem,
        }]))),
        /** Per cluster, its intermediate's private key. A secret; mesh stacks read only their own clusters' keys. */
        intermediateKeys: pulumi.secret(pulumi.output(Object.fromEntries(intermediates.map((i) => [i.cluster, i.ca.privateKeyPem])))),
        inventory,
    };
}
