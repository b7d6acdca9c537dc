import * as tls from "@pulumi/tls";
import { KeySpec } from "../../config";

/** `tls.PrivateKey` args for a key spec; the curve is always explicit, never the provider's P224 default. */
export function privateKeyArgs(spec: KeySpec): tls.PrivateKeyArgs {
    return spec.algorithm === "ECDSA" ? { algorithm: "ECDSA", ecdsaCurve: spec.ecdsaCurve } : { algorithm: "RSA", rsaBits: spec.rsaBits };
}

/**
 * Key usages of a CA certificate, in the provider's snake_case spelling (camelCase is refused by the real provider).
 * `digital_signature` lets the CA sign OCSP responses and is what Go and OpenSSL expect of an ECDSA CA.
 */
export const CA_KEY_USAGES = ["cert_signing", "crl_signing", "digital_signature"];

/** The subject of an environment's root: the organisation and the root's id (which names the environment). */
export function rootSubject(organization: string, rootId: string) {
    return { organization, commonName: `${organization} ${rootId} Root CA` };
}

/**
 * The subject of a cluster's intermediate: it names the cluster; the environment is already in the issuer's name.
 * Every mTLS handshake carries this certificate, so it stays lean.
 */
export function intermediateSubject(organization: string, cluster: string) {
    return { organization, commonName: `${cluster} Intermediate CA` };
}
