import { loadStackConfig } from "./config";
import { meshProgram } from "./program/mesh";
import { pkiProgram } from "./program/pki";

// The one config gate: parsed and validated before anything is registered; components only see typed values.
const config = loadStackConfig();

// A function export: the Node.js runtime awaits it, so the mesh program can read its previous stage first.
export = async () => (config.role === "pki" ? pkiProgram(config) : meshProgram(config));
