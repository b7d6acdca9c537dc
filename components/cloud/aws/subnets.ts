/** The subnet layout of an EKS cluster's VPC: pure, so the config gate can refuse a VPC too small for it. */

// AWS refuses subnets smaller than a /28 (16 addresses), the public subnets' floor.
const SMALLEST_SUBNET = 16;

/** The longest VPC prefix (the smallest VPC) that subnetCidrs can split over this many zones. */
export function longestVpcPrefix(zones: number): number {
    const slots = 2 ** Math.ceil(Math.log2(zones));
    return 32 - Math.log2(SMALLEST_SUBNET * 4 * 2 * slots);
}

/**
 * Split the VPC CIDR: the lower half into private subnets (nodes and pods: the VPC CNI gives pods VPC addresses, so
 * they get the room), the upper half into small public subnets, one of each per zone.
 */
export function subnetCidrs(vpcCidr: string, zones: number): { private: string[]; public: string[] } {
    const [base, bits] = vpcCidr.split("/");
    const prefix = Number(bits);
    const start = base.split(".").reduce((acc, o) => acc * 256 + Number(o), 0);
    const size = 2 ** (32 - prefix);
    const slots = 2 ** Math.ceil(Math.log2(zones));
    const privateSize = size / 2 / slots;
    const publicSize = size / 2 / slots / 4;
    if (prefix > longestVpcPrefix(zones)) throw new Error(`vpcCidr ${vpcCidr} is too small for ${zones} zones`);
    const cidr = (addr: number, blockSize: number) =>
        `${[24, 16, 8, 0].map((s) => Math.floor(addr / 2 ** s) % 256).join(".")}/${32 - Math.log2(blockSize)}`;
    return {
        private: Array.from({ length: zones }, (_, i) => cidr(start + i * privateSize, privateSize)),
        public: Array.from({ length: zones }, (_, i) => cidr(start + size / 2 + i * publicSize, publicSize)),
    };
}
