import * as assert from "node:assert/strict";
import { packs, outOfSync, SHARED_PACK_FILES } from "../tools/policy-sync";

describe("policy packs' shared files", () => {
    it("finds every pack", () => {
        assert.deepEqual(packs(), ["key-material", "mesh-mtls", "platform-baseline"]);
    });

    for (const file of SHARED_PACK_FILES) {
        it(`keeps ${file} identical in every pack`, () => {
            const [first] = packs();
            const differing = outOfSync(first, file);
            assert.deepEqual(differing, [], `policy/{${differing.join(",")}}/${file} differ from policy/${first}/${file}: edit one, then npm run policy:sync -- <that pack>`);
        });
    }
});
