import { PolicyPack } from "@pulumi/policy";
import { recordingInputs } from "./preview";
import { keyMaterialPolicies } from "./rules";

new PolicyPack("key-material", { enforcementLevel: "mandatory", policies: recordingInputs(keyMaterialPolicies) });
