import { PolicyPack } from "@pulumi/policy";
import { keyMaterialPolicies } from "./rules";

new PolicyPack("key-material", { enforcementLevel: "mandatory", policies: keyMaterialPolicies });
