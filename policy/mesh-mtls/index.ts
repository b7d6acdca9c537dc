import { PolicyPack } from "@pulumi/policy";
import { recordingInputs } from "./preview";
import { meshMtlsPolicies } from "./rules";

new PolicyPack("mesh-mtls", { enforcementLevel: "mandatory", policies: recordingInputs(meshMtlsPolicies) });
