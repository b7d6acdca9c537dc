import assert from "node:assert/strict";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { CapturedResource } from "../../engine/graph";
import { Plan, planStack } from "../../engine/plan";
import { ProgramError } from "../../engine/runtime";
import { plain } from "../../engine/values";
import { FIXTURE_POLICY } from "./plan";
import { upstreamErrors } from "./upstream";

/** Components built alone from explicit Args (tests/fixtures/components), as pulumi-eks tests its core. */
const PROGRAM = path.join(__dirname, "..", "fixtures", "components");

const ROOT_TYPE = "pulumi:pulumi:Stack";

/** One component (or a few side by side) built alone, as the offline engine registered it. */
export class Alone {
    constructor(readonly plan: Plan) {}

    get resources(): readonly CapturedResource[] {
        return this.plan.graph.resources;
    }

    /** The fixture's stack outputs: `exposed` (each built component's public properties), `given`, and its own. */
    get outputs(): Record<string, any> {
        return plain(this.resources.find((r) => r.type === ROOT_TYPE)!.outputs);
    }

    byName(name: string, type?: string): CapturedResource {
        const found = this.resources.filter((r) => r.name === name && (type === undefined || r.type === type));
        assert.equal(found.length, 1, `expected one resource named ${name}${type ? ` of type ${type}` : ""}, found ${found.length}`);
        return found[0];
    }

    /** A component of this project (`istio-production:*`) by name: its children often share the name. */
    component(name: string): CapturedResource {
        const found = this.resources.filter((r) => r.name === name && r.type.startsWith("istio-production:"));
        assert.equal(found.length, 1, `expected one component named ${name}, found ${found.length}`);
        return found[0];
    }

    inputs(name: string, type?: string): Record<string, any> {
        return plain(this.byName(name, type).inputs);
    }

    /** What the component registered with `registerOutputs`, plain. */
    registered(name: string): Record<string, any> {
        return plain(this.component(name).outputs);
    }

    children(of: CapturedResource): CapturedResource[] {
        return this.resources.filter((r) => r.parent === of.urn);
    }

    descendants(of: CapturedResource): CapturedResource[] {
        return this.children(of).flatMap((c) => [c, ...this.descendants(c)]);
    }

    /** The types a component created under itself, with how many of each. */
    typesUnder(name: string): Record<string, number> {
        const counts: Record<string, number> = {};
        for (const r of this.descendants(this.component(name))) counts[r.type] = (counts[r.type] ?? 0) + 1;
        return counts;
    }
}

export async function buildAlone(stack: string): Promise<Alone> {
    return new Alone(await planStack({ programDir: PROGRAM, stack, policyDir: FIXTURE_POLICY, mode: "created" }));
}

/**
 * What every component built alone must do: create everything under itself (only providers and the stand-ins it was
 * given sit beside it), register each public property as an output but a private key (state holds a key once, in
 * its key resource), and apply to Kubernetes only what the upstream CRDs and chart schemas accept.
 */
export function assertLibraryContract(alone: Alone): void {
    const { exposed, given } = alone.outputs as { exposed: Record<string, string[]>; given: string[] };
    const built = Object.keys(exposed).map((name) => alone.component(name));
    assert.ok(built.length > 0, "the fixture built no component");
    const root = alone.resources.find((r) => r.type === ROOT_TYPE)!;
    const owned = new Set([...built, ...built.flatMap((c) => alone.descendants(c))].map((r) => r.urn));
    const standIns = new Set(alone.resources.filter((r) => given.includes(r.urn)).flatMap((r) => [r, ...alone.descendants(r)]).map((r) => r.urn));
    const strays = alone.resources.filter((r) => r !== root && !owned.has(r.urn) && !standIns.has(r.urn) && !r.type.startsWith("pulumi:providers:"));
    assert.deepEqual(strays.map((r) => r.urn), [], "resources outside the component: a child without `parent`");
    for (const component of built) {
        const registered = Object.keys(plain(component.outputs ?? {}));
        const isKey = (key: string) => /privatekey/i.test(key);
        const missing = exposed[component.name].filter((key) => !isKey(key) && !registered.includes(key));
        assert.deepEqual(missing, [], `${component.type} ${component.name} exposes these properties without registering them as outputs`);
        assert.deepEqual(registered.filter(isKey), [], `${component.type} ${component.name} registers a private key as an output: a second copy in state`);
    }
    assert.deepEqual(upstreamErrors(alone.resources.filter((r) => owned.has(r.urn))), []);
}

/**
 * Builds `stack`'s component once for the enclosing `describe`, and checks the contract every component keeps.
 * Returns the build, for the block's own tests.
 */
export function builtAlone(stack: string): () => Alone {
    let alone: Alone | undefined;
    before(async () => {
        alone = await buildAlone(stack);
    });
    it("creates everything under itself, registers every public property as an output, and applies only what upstream schemas accept", () => {
        assertLibraryContract(alone!);
    });
    return () => alone!;
}

/**
 * Builds `stack`'s component from bad Args, which it must refuse with a `pulumi.ResourceError` naming itself
 * (`<Component> <name>: ...`). Returns the error's message and what was registered before the refusal.
 */
export async function refusedAlone(stack: string, component: string): Promise<{ message: string; registered: CapturedResource[] }> {
    const registered: CapturedResource[] = [];
    const error = await planStack({ programDir: PROGRAM, stack, policyDir: FIXTURE_POLICY, mode: "created", onRegister: (r) => registered.push(r) }).then(
        () => assert.fail(`stack ${stack}: the component accepted bad Args`),
        (e: unknown) => e as Error,
    );
    // A refused program leaves rejected registrations behind: let them surface now, between runs, not in the next run.
    await new Promise((resolve) => setImmediate(resolve));
    const causes = error instanceof ProgramError ? error.causes : [error];
    const refusal = causes.find((c) => pulumi.ResourceError.isInstance(c) && new RegExp(`(^|: )${component} \\S+: `).test(c.message));
    assert.ok(refusal, `stack ${stack}: expected a pulumi.ResourceError naming ${component}, got ${causes.map((c) => `${c.constructor.name}: ${c.message}`).join("; ")}`);
    return { message: refusal.message, registered };
}
