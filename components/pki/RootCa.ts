import * as pulumi from "@pulumi/pulumi";
import * as tls from "@pulumi/tls";
import { KeySpec } from "../../config";
import { CA_KEY_USAGES, privateKeyArgs, rootSubject } from "./keys";

export interface RootCaArgs {
    /** Subject organisation (O). */
    readonly organization: string;
    /** The root's id, e.g. `prod-root-1`: it names the environment in the subject. */
    readonly rootId: string;
    /** The root's key: ECDSA P-384 or P-521, or RSA of 4096 bits or more. */
    readonly key: KeySpec;
    /** Validity of the self-signed certificate; at most 10 years. */
    readonly validityHours: number;
    /**
     * `protect` on the key and certificate: deleting a root revokes every identity under it.
     * @default true
     */
    readonly protect?: boolean;
}

/**
 * An offline root CA: a private key and a self-signed CA certificate. It exists only in the `pki` stack.
 *
 * The path length is constrained at the root (`maxPathLength: 1`): the provider emits nothing for 0, so the
 * constraint that stops a sub-CA under an intermediate has to live one level up.
 */
export class RootCa extends pulumi.ComponentResource {
    readonly certPem: pulumi.Output<string>;
    readonly privateKeyPem: pulumi.Output<string>;

    constructor(name: string, args: RootCaArgs, opts: pulumi.ComponentResourceOptions = {}) {
        super("istio-production:pki:RootCa", name, {}, opts);
        const protect = args.protect ?? true;
        const key = new tls.PrivateKey(`${name}-key`, privateKeyArgs(args.key), { parent: this, protect });
        const cert = new tls.SelfSignedCert(`${name}-cert`, {
            privateKeyPem: key.privateKeyPem,
            subject: rootSubject(args.organization, args.rootId),
            isCaCertificate: true,
            maxPathLength: 1,
            validityPeriodHours: args.validityHours,
            allowedUses: CA_KEY_USAGES,
            setSubjectKeyId: true,
        }, { parent: this, protect });
        this.certPem = cert.certPem;
        this.privateKeyPem = pulumi.secret(key.privateKeyPem);
        // The key is not registered: state holds it once, in the key resource.
        this.registerOutputs({ certPem: this.certPem });
    }
}
