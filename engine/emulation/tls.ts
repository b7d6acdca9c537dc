/**
 * Offline emulation of the @pulumi/tls provider with real keys and certificates; see tls/resources.ts for the
 * resources, tls/x509.ts and tls/keys.ts for the Go crypto/x509 behaviour they reproduce.
 */
export { tlsEmulator } from "./tls/resources";
