import * as pulumi from "@pulumi/pulumi";
import { defaultRootId, PkiConfig } from "../config";
import { IntermediateCa } from "../components/pki/IntermediateCa";
import { RootCa } from "../components/pki/RootCa";
import { CertificateRecord, describeCertificate } from "../components/pki/inventory";
import { meshIssuerServingNames } from "../components/kubernetes/names";

/**
 * One environment's offline root CA stack (`pki-<environment>`): its roots and one name-constrained intermediate per
 * cluster. Its mesh stack reads the public outputs and the intermediate keys; no root key is ever an output, and no
 * other environment's key is ever here.
 */
export function pkiProgram(config: PkiConfig) {
    const rootIds = config.roots ?? [defaultRootId(config.environment)];
    const issuingRoot = config.issuingRoot ?? rootIds[0];
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
    const issuer = roots.get(issuingRoot)!;

    const intermediates = config.clusters.map((cluster) => {
        // The epoch is part of the name: bumping it creates the new intermediate before the old one is deleted.
        const name = `int-${cluster.name}-e${config.intermediateEpoch}`;
        const ca = new IntermediateCa(name, {
            organization: config.organization,
            cluster: cluster.name,
            trustDomain: cluster.trustDomain,
            dnsNames: [...meshIssuerServingNames(), ...cluster.dnsNames],
            key: config.intermediateKey,
            validityHours: config.intermediateValidityHours,
            earlyRenewalHours: config.intermediateEarlyRenewalHours,
            issuer: issuer.ca && { certPem: issuer.ca.certPem, privateKeyPem: issuer.ca.privateKeyPem },
            externalCertPem: config.externalIntermediates[cluster.name],
            externalRootPem: config.externalRoots[issuingRoot],
            subordinateCsrPem: config.subordinateCsrs[cluster.name],
        });
        return { name, cluster, ca };
    });

    const inventory = pulumi.all([
        ...rootIds.map((id) => roots.get(id)!.certPem.apply((pem) => describeCertificate(id, "root", pem, [config.environment]))),
        ...intermediates.map((i) => pulumi.output(i.ca.certPem).apply((pem: string | undefined) =>
            pem ? describeCertificate(i.name, "intermediate", pem, [`${config.environment}/${i.cluster.name}`]) : undefined)),
    ]).apply((records) => records.filter((r): r is CertificateRecord => r !== undefined));

    return {
        /** The one environment whose key material this stack holds; mesh stacks and policies check it. */
        environment: config.environment,
        organization: config.organization,
        mode: config.mode,
        /** The root certificates the environment's clusters trust, in bundle order (more than one during a rotation). */
        trustBundle: pulumi.all(rootIds.map((id) => roots.get(id)!.certPem)),
        /** Per cluster, the public half of its intermediate: certificate (absent until an external CA signed it) and CSR. */
        intermediates: pulumi.output(Object.fromEntries(intermediates.map((i) => [i.cluster.name, {
            issuingRoot, trustDomain: i.cluster.trustDomain, certPem: i.ca.certPem, certRequestPem: i.ca.certRequestPem,
            // Where the key is: here (handed off in intermediateKeys) or in the managed CA that sent the CSR.
            key: i.ca.privateKeyPem ? "pki-stack" : "managed-ca",
        }]))),
        /** Per cluster whose key this stack made, its intermediate's private key. A secret. */
        intermediateKeys: pulumi.secret(pulumi.output(Object.fromEntries(intermediates.flatMap((i) => i.ca.privateKeyPem ? [[i.cluster.name, i.ca.privateKeyPem]] : [])))),
        inventory,
    };
}
