import type { ConfigIssue, StackConfig } from "./load";

/** What binds a configuration to a stack. */
export type StackBinding = Pick<StackConfig, "role" | "environment">;

/**
 * The stack a configuration may run in. `environment` decides whose key material a stack holds and reads, so it is
 * bound to the stack's name instead of trusted as free config: a mesh stack is named after its environment
 * (dev, staging, prod), the environment's pki stack `pki-<environment>`. There is no mapping to other names: an
 * environment deployed under another stack name is a change to this function, reviewed as code.
 */
export function expectedStackName(config: StackBinding): string {
    return config.role === "pki" ? `pki-${config.environment}` : config.environment;
}

/** The issue when `stack` (pulumi.getStack()) is not the stack the configuration's environment belongs to. */
export function stackBindingIssues(config: StackBinding, stack: string): ConfigIssue[] {
    const expected = expectedStackName(config);
    if (stack === expected) return [];
    return [{ key: "istio-production:environment", value: JSON.stringify(config.environment),
        message: `does not belong to stack "${stack}": environment "${config.environment}" runs only in stack "${expected}" (the ${config.role === "pki" ? "pki stack pki-<environment>" : "mesh stack named after its environment"})` }];
}
