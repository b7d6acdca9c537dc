/**
 * Ports the Kubernetes control plane must reach on nodes for the admission webhooks the mesh installs. Managed
 * control planes live outside the cluster network, and both clouds block these by default (istio.io: GKE private
 * clusters do not open 15017; EKS node security groups from a launch template admit nothing from the control plane).
 */
export const WEBHOOK_PORTS: ReadonlyArray<{ port: number; why: string }> = [
    { port: 15017, why: "istiod: sidecar injection and config validation webhooks" },
    { port: 10250, why: "cert-manager and approver-policy webhooks (and the kubelet)" },
    { port: 9443, why: "AWS Load Balancer Controller webhook" },
];
