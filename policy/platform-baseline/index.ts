import { PolicyPack } from "@pulumi/policy";
import { platformBaselinePolicies } from "./rules";

new PolicyPack("platform-baseline", { enforcementLevel: "mandatory", policies: platformBaselinePolicies });
