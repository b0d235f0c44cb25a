// Package smoke holds one smoke test per test server that testenv/up starts
// (MinIO, fake-gcs-server, Azurite, Azurite with OAuth over https, OpenStack
// Swift). Each puts, reads back, lists and deletes one object through the
// provider's own Go SDK, not through a stowage driver, so that a broken
// server setup is reported as that and not as a driver bug. Like every
// backend test, each skips when its server is not configured and fails when
// STOWAGE_REQUIRE_BACKENDS names it.
package smoke
