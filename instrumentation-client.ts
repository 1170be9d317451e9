import { config } from 'zod';

// Runs in the browser before the app. Zod probes `new Function('')` once to decide whether to compile its
// object parsers; the app's Content-Security-Policy has no 'unsafe-eval', so the probe is blocked and reported
// as a CSP violation (though caught). Zod's interpreter is what runs under the policy anyway: say so up front.
config({ jitless: true });
