import { Region as AwsRegion } from "@pulumi/aws/types/enums";

/**
 * The regions each cloud has, so a region that does not exist for the cluster's cloud (a typo, or the other cloud's
 * spelling) is refused at the gate instead of by the provider halfway through an update.
 */

/** The AWS provider's own list: the `Region` enum of @pulumi/aws 7.48.0 (types/enums/index.ts). */
export const AWS_REGIONS: readonly string[] = Object.values(AwsRegion);

/**
 * The availability zones each AWS region gives an account, so a cluster asking for more is refused at the gate
 * instead of by `getAvailabilityZones` in the middle of an update (and the offline plan sees the same zones). From
 * AWS's published list of Regions and their zones (docs.aws.amazon.com/global-infrastructure/latest/regions/
 * aws-availability-zones.html, "Availability Zones" per Region), as of 2025-11; it is not re-read at build time.
 * Accounts may differ: where AWS gives new accounts fewer zones than older ones (us-west-1: 2 of 3; ap-northeast-1:
 * 3 of 4), the smaller count is the one used; `aws ec2 describe-availability-zones --region <r>` shows an account's own.
 */
const AWS_ZONE_COUNTS: Readonly<Record<string, number>> = {
    "us-east-1": 6, "us-west-2": 4, "ap-northeast-2": 4, "us-west-1": 2,
};
// AWS opens every Region since 2016 with at least three zones ("AWS Regions ... consist of a minimum of three
// isolated and physically separate AZs", AWS Global Infrastructure page); the few older ones are listed above.
const AWS_MIN_ZONES = 3;

/** The availability zones an account gets in an AWS region. */
export function awsZoneCount(region: string): number {
    return AWS_ZONE_COUNTS[region] ?? AWS_MIN_ZONES;
}

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
