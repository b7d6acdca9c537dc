import { createHash } from "node:crypto";
import { stableId } from "./stableId";
import { tlsEmulator } from "./tls";

/** A deterministic public IPv4 address in a prefix the cloud really allocates from (`3.` AWS, `34.` GCP). */
export function publicIp(firstOctet: string, seed: string): string {
    const b = createHash("sha256").update(seed).digest();
    return `${firstOctet}.${b[0]}.${b[1]}.${1 + (b[2] % 253)}`;
}

/**
 * A cluster CA as the cloud APIs return it (base64 of a PEM certificate). It is a real self-signed CA made by the
 * tls emulator, so kubeconfigs and remote secrets built from it parse like real ones; nothing trusts it.
 */
export async function clusterCaData(urn: string): Promise<string> {
    const base = { urn, project: "offline", stack: "offline", custom: true };
    const key = await tlsEmulator.create({ ...base, type: "tls:index/privateKey:PrivateKey", name: "cluster-ca", inputs: { algorithm: "ECDSA", ecdsaCurve: "P256" } });
    const cert = await tlsEmulator.create({
        ...base, type: "tls:index/selfSignedCert:SelfSignedCert", name: "cluster-ca",
        inputs: {
            privateKeyPem: key.outputs.privateKeyPem, subject: { commonName: `kubernetes-${stableId(urn, 8)}` }, isCaCertificate: true,
            validityPeriodHours: 87600, allowedUses: ["cert_signing", "digital_signature", "key_encipherment"],
        },
    });
    return Buffer.from(cert.outputs.certPem).toString("base64");
}
