/**
 * The contract between the offline engine and the provider emulators.
 *
 * The engine hands an emulator the resource's inputs with every secret already unwrapped to its plain value,
 * and merges what the emulator returns over those inputs to form the resource's state, the way a real provider's
 * Create returns inputs plus computed outputs. Any output named in `secretOutputs` is re-wrapped as a Pulumi secret
 * by the engine, as the real engine does for a provider schema's secret properties.
 */
export interface ResourceRequest {
    /** Pulumi type token, e.g. `tls:index/privateKey:PrivateKey`. */
    readonly type: string;
    /** The logical name given to the resource. */
    readonly name: string;
    /** The URN the engine assigned. */
    readonly urn: string;
    /** Inputs with secrets unwrapped (plain JSON values; emulators run for an emulated create, where all are known). */
    readonly inputs: Record<string, any>;
    /** True for custom resources, false for components. */
    readonly custom: boolean;
    /** For reads (`Resource.get`, `StackReference`): the id being read. */
    readonly id?: string;
    /** For reads of something this program created with the same provider: its state as created (plain). */
    readonly existing?: Record<string, any>;
    /** Inputs of the explicit provider the resource uses (plain), or undefined for the default provider. */
    readonly provider?: Record<string, any>;
    readonly project: string;
    readonly stack: string;
}

export interface EmulatedState {
    /** The provider-assigned id. */
    readonly id: string;
    /** Computed outputs; merged over the inputs to form the state. */
    readonly outputs: Record<string, any>;
    /** Names of outputs (or inputs echoed back) the real provider marks secret. */
    readonly secretOutputs?: readonly string[];
    /**
     * Output paths (`name`, `metadata.name`) the provider's Check fills in before any create, so that a preview
     * knows them: auto-names. Every other computed output is unknown until the resource exists.
     */
    readonly knownAtPreview?: readonly string[];
}

/** Thrown by an emulator when the real provider would refuse the inputs; the engine reports it as a failed resource. */
export class ProviderInputError extends Error {
    constructor(readonly type: string, readonly resourceName: string, message: string) {
        super(`${type} "${resourceName}": ${message}`);
        this.name = "ProviderInputError";
    }
}

export interface ProviderEmulator {
    /** The provider package this emulator serves: the first segment of the type token (`tls`, `aws`, ...). */
    readonly pkg: string;
    create(req: ResourceRequest): EmulatedState | Promise<EmulatedState>;
    /** Provider functions (`aws:index/getRegion:getRegion`, ...). */
    /** `provider` holds the inputs of the explicit provider the invoke was given, if any. */
    invoke?(token: string, inputs: Record<string, any>, provider?: Record<string, any>): Record<string, any> | Promise<Record<string, any>>;
}
