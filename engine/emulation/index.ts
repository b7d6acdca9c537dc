import { EmulatedState, ProviderEmulator, ResourceRequest } from "./types";
import { kubernetesEmulator } from "./kubernetes";
import { tlsEmulator } from "./tls";
import { awsEmulator } from "./aws";
import { gcpEmulator } from "./gcp";
import { dynamicEmulator } from "./dynamic";
import { stableId } from "./stableId";
import { withResourceRandomness } from "../reproducible";

export { EmulatedState, ProviderEmulator, ProviderInputError, ResourceRequest } from "./types";
export { stableId } from "./stableId";

/** Dispatches to the emulator of each provider package; unknown packages and invokes fail loudly. */
export class Emulators {
    private readonly byPkg: Map<string, ProviderEmulator>;

    constructor(emulators: readonly ProviderEmulator[] = DEFAULT_EMULATORS) {
        this.byPkg = new Map(emulators.map((e) => [e.pkg, e]));
    }

    create(req: ResourceRequest): EmulatedState | Promise<EmulatedState> {
        if (req.type.startsWith("pulumi:providers:")) return { id: stableId(req.urn), outputs: {} };
        const pkg = req.type.split(":")[0];
        const emulator = this.byPkg.get(pkg);
        if (!emulator) throw new Error(`the offline engine has no emulator for provider package "${pkg}" (resource ${req.type} "${req.name}")`);
        // Keys, serials and signatures of a plan are drawn from its stack and URN: the same input, the same plan.
        return withResourceRandomness(`${req.project}/${req.stack}\0${req.urn}`, () => emulator.create(req));
    }

    invoke(token: string, inputs: Record<string, any>, provider?: Record<string, any>): Record<string, any> | Promise<Record<string, any>> {
        const emulator = this.byPkg.get(token.split(":")[0]);
        // As in the awsx tests: an invoke nobody emulates is a new dependency someone must look at, never a silent {}.
        if (!emulator?.invoke) throw new Error(`the offline engine does not emulate the provider function ${token}`);
        return emulator.invoke(token, inputs, provider);
    }
}

export const DEFAULT_EMULATORS: readonly ProviderEmulator[] = [kubernetesEmulator, tlsEmulator, awsEmulator, gcpEmulator, dynamicEmulator];
