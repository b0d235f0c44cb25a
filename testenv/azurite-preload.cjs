// Preloaded into Azurite by testenv/up (NODE_OPTIONS=--require). It changes
// two defaults of dist/src/blob/utils/constants.js, read when the blob
// server is built, because the command line cannot:
//
// DEFAULT_GC_INTERVAL_MS: the blob service's garbage collection of deleted
// extents runs every 10 minutes. With --inMemoryPersistence, a pass after
// the suites have created and deleted tens of thousands of blobs keeps
// Azurite's one thread busy for many minutes, and it answers nothing
// meanwhile (seen with 3.37.0: a test run hung at the 10-minute mark,
// Azurite at full CPU). Once a day instead: the test server lives for one
// run, so keeping deleted extents in memory costs only memory.
//
// DEFAULT_BLOB_KEEP_ALIVE_TIMEOUT: Azurite closes a connection idle for 5 s,
// while Go's transport keeps idle connections for 90 s. A request sent on a
// connection idle for almost 5 s while Node is busy with other requests is
// then reset unread, and the SDK sends it again: a request count one too
// high (seen in the azure count tests under load). 120 s, above Go's 90 s,
// so Go always closes an idle connection first. (--blobKeepAliveTimeout
// would be the flag, but 3.37.0 reads it as flags.keepAliveTimeout and so
// never sees it.)
"use strict";
const path = require("path");
const constants = require(path.join(process.env.STOWAGE_AZURITE_HOME, "dist/src/blob/utils/constants.js"));
constants.DEFAULT_GC_INTERVAL_MS = 24 * 60 * 60 * 1000;
constants.DEFAULT_BLOB_KEEP_ALIVE_TIMEOUT = 120;
