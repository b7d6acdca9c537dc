import { Region as AwsRegion } from "@pulumi/aws/types/enums";

/**
 * The regions each cloud has, so a region that does not exist for the cluster's cloud (a typo, or the other cloud's
 * spelling) is refused at the gate instead of by the provider halfway through an update.
 */

/** The AWS provider's own list: the `Region` enum of @pulumi/aws 7.48.0 (types/enums/index.ts). */
export const AWS_REGIONS: readonly string[] = Object.values(AwsRegion);

/**
 * @pulumi/gcp 9.37.0 ships no region list (its region inputs are plain strings, and the provider asks the Compute API),
 * so this is Google's own published one: the regional `scope`s of https://www.gstatic.com/ipranges/cloud.json, which
 * lists every region that allocates customer addresses, as of 2026-02-21 (mirrored in MaximeWewer/CloudIPAtlas,
 * cloud_ips/gcp/index.md at 00d731f). A new region is added here when Google announces it.
 */
export const GCP_REGIONS: readonly string[] = [
    "africa-south1",
    "asia-east1", "asia-east2", "asia-northeast1", "asia-northeast2", "asia-northeast3", "asia-south1", "asia-south2",
    "asia-southeast1", "asia-southeast2", "asia-southeast3",
    "australia-southeast1", "australia-southeast2",
    "europe-central2", "europe-north1", "europe-north2", "europe-southwest1", "europe-west1", "europe-west10",
    "europe-west12", "europe-west15", "europe-west2", "europe-west3", "europe-west4", "europe-west6", "europe-west8",
    "europe-west9",
    "me-central1", "me-central2", "me-west1",
    "northamerica-northeast1", "northamerica-northeast2", "northamerica-south1",
    "southamerica-east1", "southamerica-west1",
    "us-central1", "us-central2", "us-east1", "us-east4", "us-east5", "us-east7", "us-south1", "us-west1", "us-west2",
    "us-west3", "us-west4", "us-west8",
];
