import { PolicyPack } from "@pulumi/policy";
import { meshMtlsPolicies } from "./rules";

new PolicyPack("mesh-mtls", { enforcementLevel: "mandatory", policies: meshMtlsPolicies });
