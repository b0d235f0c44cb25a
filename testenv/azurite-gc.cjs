// Preloaded into Azurite by testenv/up (NODE_OPTIONS=--require): moves the
// blob service's garbage collection of deleted extents from every 10 minutes
// (DEFAULT_GC_INTERVAL_MS in dist/src/blob/utils/constants.js, read when
// BlobGCManager is built) to once a day. With --inMemoryPersistence, a GC pass
// after the suites have created and deleted tens of thousands of blobs keeps
// Azurite's one thread busy for many minutes, and it answers nothing
// meanwhile (seen with 3.37.0: a test run hung at the 10-minute mark, Azurite
// at full CPU). The test server lives for one run, so keeping deleted extents
// in memory costs only memory.
"use strict";
const path = require("path");
const constants = require(path.join(process.env.STOWAGE_AZURITE_HOME, "dist/src/blob/utils/constants.js"));
constants.DEFAULT_GC_INTERVAL_MS = 24 * 60 * 60 * 1000;
