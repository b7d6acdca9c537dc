import { PolicyPack } from "@pulumi/policy";
import { recordingInputs } from "./preview";
import { platformBaselinePolicies } from "./rules";

new PolicyPack("platform-baseline", { enforcementLevel: "mandatory", policies: recordingInputs(platformBaselinePolicies) });
