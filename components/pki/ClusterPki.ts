import * as pulumi from "@pulumi/pulumi";
import { CaBackend } from "../../config";
import { CaHandoffStep } from "../../config/stageGate";
import { SignedSubordinate } from "./managedCa";

/** What one cluster of a mesh stack receives from the offline PKI: never a root key. */
export interface ClusterPki {
    /** The environment's root certificates, in bundle order (more than one during a root rotation). */
    readonly roots: pulumi.Output<string[]>;
    readonly intermediateCertPem: pulumi.Output<string>;
    readonly backend: CaBackend;
    readonly step: CaHandoffStep;
    /** Secret. Only while the mesh CA runs on the pki stack's intermediate (steps `secret` and `awaiting-signature`). */
    readonly intermediateKeyPem?: pulumi.Output<string>;
    /** Step `managed`: the certificate the pki stack signed for the managed subordinate, and the root that signed it. */
    readonly signed?: SignedSubordinate;
}
