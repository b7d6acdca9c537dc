import { PkiConfig } from "../config";

/** The offline root CA stack. */
export function pkiProgram(config: PkiConfig) {
    return { organization: config.organization, mode: config.mode, environments: Object.keys(config.environments) };
}
