// Test files run in parallel worker processes, one per core (at least two: the suite is mostly CPU-bound plans,
// and each worker plans what its files need); `npm test` type-checks beside them.
const os = require("node:os");

module.exports = {
    require: ["tsx/cjs", "tests/support/global.ts"],
    spec: ["tests/**/*.test.ts"],
    timeout: 180000,
    reporter: "spec",
    parallel: true,
    // Plans allocate short-lived objects by the gigabyte: a larger young generation scavenges less often and
    // promotes less (about a tenth of the suite's CPU).
    "node-option": ["max-semi-space-size=64"],
    jobs: Math.max(2, os.availableParallelism ? os.availableParallelism() : os.cpus().length),
};
