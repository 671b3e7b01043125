'use strict';
// The "require" target of package.json's exports. Node versions that can require() ES modules
// (20.19+, 22.12+) match "module-sync" first and load the package itself; older ones land here.
const error = new Error(
  'adam-optimizer is an ES module package, and this Node.js version cannot load ES modules with require(). ' +
    "Use import { Adam } from 'adam-optimizer' (or 'adam-optimizer/tfjs') in an ES module, " +
    "or const { Adam } = await import('adam-optimizer') from CommonJS, " +
    "or run Node.js 20.19+ / 22.12+, where require('adam-optimizer') works.",
);
error.code = 'ERR_REQUIRE_ESM';
throw error;
