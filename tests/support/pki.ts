/**
 * PKI helpers for tests: workload certificates made with the tls emulator's own primitives, and checks against real
 * verifiers (the openssl CLI and node:tls) rather than against our own parsing.
 */
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as tls from "node:tls";
import { pemEncode } from "../../engine/emulation/tls/der";
import { generatePrivateKey, parsePrivateKeyPem, privateKeyPem, subjectKeyId } from "../../engine/emulation/tls/keys";
import { nameFromSubject, parseIp } from "../../engine/emulation/tls/names";
import { createCertificate, EXTENDED_KEY_USAGES, KEY_USAGES, parseCertificatePem } from "../../engine/emulation/tls/x509";

export interface LeafOptions {
    readonly caCertPem: string;
    readonly caKeyPem: string;
    /** Becomes the URI SAN, e.g. `spiffe://cluster.local/ns/default/sa/web`. */
    readonly spiffeId?: string;
    readonly dnsNames?: readonly string[];
    readonly curve?: "P-256" | "P-384";
    readonly validityHours?: number;
    /** Backdate to make expired certificates (default: now). */
    readonly notBefore?: Date;
    /** Issue a sub-CA instead of a workload leaf (for path-length tests). */
    readonly isCa?: boolean;
    /** IP address SANs (for name-constraint tests). */
    readonly ipAddresses?: readonly string[];
    /** A subject CN, as istiod's serving certificate carries. */
    readonly commonName?: string;
}

/**
 * Issues an Istio-style workload certificate: empty subject with the identity in a (hence critical) URI SAN, digital
 * signature + key encipherment, server and client auth. With `isCa` a sub-CA with a subject and no EKU instead.
 */
export async function issueLeaf(options: LeafOptions): Promise<{ certPem: string; keyPem: string }> {
    const issuer = parseCertificatePem(options.caCertPem);
    const signer = parsePrivateKeyPem(options.caKeyPem);
    const key = await generatePrivateKey("ECDSA", 2048, options.curve === "P-384" ? "P384" : "P256");
    const isCa = options.isCa ?? false;
    const notBefore = options.notBefore ?? new Date();
    const der = createCertificate(
        {
            serialNumber: BigInt("0x" + randomBytes(16).toString("hex")),
            notBefore,
            notAfter: new Date(notBefore.getTime() + (options.validityHours ?? 24) * 3_600_000),
            subject: nameFromSubject(isCa ? { organization: "istio-production", commonName: "sub-ca" } : options.commonName ? { commonName: options.commonName } : undefined),
            sans: { dnsNames: options.dnsNames ?? [], ipAddresses: (options.ipAddresses ?? []).map((ip) => parseIp(ip)!), uris: options.spiffeId ? [options.spiffeId] : [] },
            keyUsage: isCa
                ? KEY_USAGES.cert_signing | KEY_USAGES.crl_signing | KEY_USAGES.digital_signature
                : KEY_USAGES.digital_signature | KEY_USAGES.key_encipherment,
            extKeyUsage: isCa ? [] : [EXTENDED_KEY_USAGES.server_auth, EXTENDED_KEY_USAGES.client_auth],
            isCa,
            maxPathLen: 0,
            subjectKeyId: isCa ? subjectKeyId(key.publicKey) : undefined,
        },
        issuer,
        key.publicKey,
        signer,
    );
    return { certPem: pemEncode("CERTIFICATE", der), keyPem: privateKeyPem(key) };
}

/** `openssl verify [flags] -CAfile roots [-untrusted chain] leaf`; never throws, reports openssl's own words. */
export async function opensslVerify(rootPems: readonly string[], untrustedPems: readonly string[], leafPem: string, flags: readonly string[] = []): Promise<{ ok: boolean; output: string }> {
    const dir = await mkdtemp(join(tmpdir(), "pki-verify-"));
    try {
        const file = async (name: string, content: string) => {
            const path = join(dir, name);
            await writeFile(path, content);
            return path;
        };
        const args = ["verify", ...flags, "-CAfile", await file("roots.pem", rootPems.join(""))];
        if (untrustedPems.length) args.push("-untrusted", await file("untrusted.pem", untrustedPems.join("")));
        args.push(await file("leaf.pem", leafPem));
        return await new Promise((resolve) =>
            execFile("openssl", args, { timeout: 10_000 }, (err, stdout, stderr) =>
                resolve({ ok: !err && /: OK\s*$/.test(stdout), output: `${stdout}${stderr}`.trim() }),
            ),
        );
    } finally {
        await rm(dir, { recursive: true, force: true });
    }
}

export interface TlsPeer {
    /** The peer's certificate followed by its intermediates. */
    readonly certChainPem: string;
    readonly keyPem: string;
    /** The only roots this peer trusts. */
    readonly caPems: readonly string[];
}

export interface HandshakeResult {
    /** Both sides completed TLS 1.3 and each accepted the other's chain. */
    readonly ok: boolean;
    readonly serverSawPeerUri?: string;
    readonly clientSawPeerUri?: string;
    /** Why the server did not accept the client (an OpenSSL verify code such as UNABLE_TO_GET_ISSUER_CERT_LOCALLY). */
    readonly serverError?: string;
    readonly clientError?: string;
}

interface SideReport {
    readonly error?: string;
    readonly peerUri?: string;
}

/** Node renders SANs as `URI:a, DNS:b`, quoting (JSON-style) values that contain separators. */
function firstUri(subjectAltName: string | undefined): string | undefined {
    const match = /(?:^|, )URI:("(?:[^"\\]|\\.)*"|[^,]*)/.exec(subjectAltName ?? "");
    return match ? (match[1].startsWith('"') ? JSON.parse(match[1]) : match[1]) : undefined;
}

/** Peers are accepted or refused by inspecting authorizationError: with rejectUnauthorized Node drops the peer mutely. */
function report(socket: tls.TLSSocket): SideReport {
    const peer = socket.getPeerX509Certificate();
    const error = socket.authorized ? undefined : peer ? String(socket.authorizationError) : "NO_PEER_CERTIFICATE";
    return { error, peerUri: firstUri(peer?.subjectAltName) };
}

/**
 * A real TLS 1.3 mutual-auth handshake on 127.0.0.1 (ephemeral port), each side trusting only its `caPems`. No
 * hostname check: identities are SPIFFE URIs, as in a mesh. Resolves within `timeoutMs` whatever happens.
 */
export function mtlsHandshake(peers: { server: TlsPeer; client: TlsPeer }, timeoutMs = 5_000): Promise<HandshakeResult> {
    const context = (peer: TlsPeer) => ({
        cert: peer.certChainPem,
        key: peer.keyPem,
        ca: [...peer.caPems],
        minVersion: "TLSv1.3" as const,
        maxVersion: "TLSv1.3" as const,
        rejectUnauthorized: false,
    });
    return new Promise((resolve) => {
        let server: SideReport | undefined;
        let client: SideReport | undefined;
        let clientSocket: tls.TLSSocket | undefined;
        const serverSockets = new Set<tls.TLSSocket>();
        const listener = tls.createServer({ ...context(peers.server), requestCert: true }, (socket) => {
            serverSockets.add(socket);
            server ??= report(socket);
            settleIfDone();
        });
        const timer = setTimeout(() => {
            server ??= { error: "TIMEOUT" };
            client ??= { error: "TIMEOUT" };
            settleIfDone();
        }, timeoutMs);
        function settleIfDone() {
            if (!server || !client) return;
            clearTimeout(timer);
            clientSocket?.destroy();
            serverSockets.forEach((s) => s.destroy());
            listener.close();
            resolve({
                ok: !server.error && !client.error,
                serverSawPeerUri: server.peerUri,
                clientSawPeerUri: client.peerUri,
                serverError: server.error,
                clientError: client.error,
            });
        }
        listener.on("tlsClientError", (err: NodeJS.ErrnoException) => {
            server ??= { error: err.code ?? err.message };
            settleIfDone();
        });
        listener.on("error", (err: NodeJS.ErrnoException) => {
            server ??= { error: err.code ?? err.message };
            client ??= { error: "SERVER_FAILED" };
            settleIfDone();
        });
        listener.listen(0, "127.0.0.1", () => {
            const { port } = listener.address() as AddressInfo;
            clientSocket = tls.connect({ ...context(peers.client), host: "127.0.0.1", port, checkServerIdentity: () => undefined });
            clientSocket.on("secureConnect", () => {
                client ??= report(clientSocket!);
                settleIfDone();
            });
            clientSocket.on("error", (err: NodeJS.ErrnoException) => {
                client ??= { error: err.code ?? err.message };
                settleIfDone();
            });
        });
    });
}
