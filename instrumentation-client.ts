// Runs in the browser before the app. Zod probes `new Function('')` once to decide whether to compile its
// object parsers; the app's Content-Security-Policy has no 'unsafe-eval', so the probe is blocked and reported
// as a CSP violation (though caught). Zod's interpreter is what runs under the policy anyway: say so up front.
// Zod keeps its settings on `globalThis.__zod_globalConfig` and adopts an object already there when it loads
// (zod/v4/core/core.js), so this sets `jitless` without importing zod: the screens that validate in the browser
// load zod with their own code, not every first visit (tests/unit/zod-jitless.test.ts checks zod still does so).
const holder = globalThis as { __zod_globalConfig?: { jitless?: boolean } };
holder.__zod_globalConfig ??= {};
holder.__zod_globalConfig.jitless = true;

export {};
