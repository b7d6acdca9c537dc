import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import { CONFIG_DOC, configReference } from "../tools/config-docs";

describe("docs/config.md", () => {
    it("is the reference the config schema generates (npm run docs:config)", () => {
        const generated = configReference();
        const committed = fs.readFileSync(CONFIG_DOC, "utf8");
        assert.ok(committed === generated, "docs/config.md is stale: run `npm run docs:config` and commit the result");
    });

    it("lists every top-level key of both schemas with its type, default, stage and description", () => {
        const text = configReference();
        assert.match(text, /^\| `istio-production:highAvailability` \| boolean \| `false` \| all \| Replicas, PodDisruptionBudgets and zone spread/m);
        assert.match(text, /^\| `istio-production:traffic` \| object \| .* \| ≥ 4 \| /m, "the stage from the stage matrix");
        assert.match(text, /^\| `istio-production:edgeAuth` \| object \|  \| ≥ 3 \| End-user JWT authentication/m);
        assert.match(text, /^\| `istio-production:clusters\[\]\.masterCidr` \| string \| `"172\.16\.0\.0\/28"` \| all \| \(cloud: gcp\) /m);
        assert.match(text, /^## PKI stacks/m);
    });
});
