import { loadStackConfig } from "./config";
import { meshProgram } from "./program/mesh";
import { pkiProgram } from "./program/pki";

// The one config gate: parsed and validated before anything is registered; components only see typed values.
const config = loadStackConfig();

export = config.role === "pki" ? pkiProgram(config) : meshProgram(config);
