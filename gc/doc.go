// Package gc is a garbage collector for the storage of a distribution
// registry (the layout package registry describes) that finishes on object
// storage: it lists the whole registry in one flat Walk, reads the
// manifests in parallel, and deletes with DeleteFiles, so that a store of
// K keys and M manifests costs about ceil(K/1000) listing requests, M
// reads and ceil(N/B) deletes for N files at the backend's bulk-delete
// limit B, where distribution's garbage collector lists directory by
// directory, reads one manifest at a time and deletes one path at a time.
//
// # What it keeps
//
// Mark, the first phase, reads every manifest revision of every
// repository once (a manifest shared by repositories is read once) and
// keeps, per repository:
//
//   - every manifest revision; with Options.DeleteUntagged only those a
//     tag's current link points at;
//   - the child manifests of every kept manifest list and index,
//     recursively, and the subject of every kept OCI referrer, where the
//     repository holds their revision link (as distribution's registry
//     requires when they are pushed);
//   - with DeleteUntagged, an untagged manifest that another kept
//     manifest references anywhere in the registry (as distribution
//     keeps it), and an untagged OCI referrer whose subject is kept in
//     its repository (its signature, SBOM or attestation: see below);
//   - every file younger than Options.MinAge (1 hour by default), and what
//     it points at: a layer link younger than that keeps its blob, a
//     revision or tag link keeps its manifest, so that a push in progress
//     (blobs uploaded, manifest not yet pushed) loses nothing.
//
// It marks the config, layers, child manifests and subject of every kept
// manifest: Docker schema 2 and schema 1, Docker manifest lists, OCI image
// manifests and OCI image indexes. A manifest of a media type it does not
// know is kept, tagged or not, reported (registry.UnknownManifest), and every digest its
// JSON names in a "digest" field is marked: nothing it may reference is
// swept.
//
// # What it deletes
//
// Sweep removes, with DeleteFiles: the data file of every blob that is
// neither marked nor young; the layer links to those blobs (they would
// dangle); with DeleteUntagged, the revision link of every manifest not
// kept and its tag index entries; with Options.DeleteDanglingLinks, the
// layer and revision links whose blob does not exist. Links go first, in
// one DeleteFiles call, blobs after, in another: a sweep that stops
// between the two leaves unreferenced blobs that the next run collects,
// never a link or manifest that names a missing blob. If a link could not
// be deleted, no blob is. Backends with directories (filesystem,
// inmemory) prune the directories DeleteFiles leaves empty.
//
// Nothing is deleted when a manifest or a tag link cannot be read or
// parsed, or a manifest's content does not hash to its digest: the plan
// lists why, and Run and Sweep refuse with an error matching ErrAborted.
// Options.SkipUnreadable keeps such a manifest (and, for an unreadable tag
// link, every manifest of its repository) and goes on: what only it
// references is then swept. A revision link whose manifest blob does not
// exist is a dangling link, reported, not a reason to abort: there is
// nothing left for it to protect.
//
// # Against distribution's collector
//
// On a registry with no file younger than MinAge (Options.MinAge =
// NoMinAge to compare), gc deletes the same blobs, revision links and tag
// index entries as distribution v3's storage.MarkAndSweep with the same
// RemoveUntagged setting; the distribution module's tests prove it on
// every backend. It differs where distribution's result depends on the
// order it walks the repositories in, or loses data:
//
//   - Layer links. distribution deletes a repository's link to a blob no
//     manifest marked before the end of that repository's turn marks: a
//     link to a blob that a repository walked later keeps goes too. gc
//     deletes the links of the blobs it sweeps (and, with
//     DeleteDanglingLinks, of blobs that do not exist); a link to a kept
//     blob stays, whatever the order. Without DeleteDanglingLinks its link
//     deletions are a subset of distribution's.
//   - Referrers. distribution v3.1.2 follows no subject, so with
//     RemoveUntagged it deletes every untagged OCI referrer (signatures,
//     SBOMs) of a kept image; gc keeps them, and marks the subject of a
//     kept referrer.
//   - A manifest kept because another repository references it has its
//     references marked in its own repository too.
//   - Dangling links are reported; distribution aborts its mark on a
//     revision link whose manifest blob is missing.
//
// # Concurrency with pushes
//
// MinAge protects what a push in progress writes. As with distribution's
// collector, a push that reuses a blob older than MinAge that the plan
// sweeps (a client that found the blob present before the sweep and
// pushes a manifest referencing it after) can still lose it; run the
// sweep while the registry is read-only, or with a MinAge longer than
// any push, to rule that out.
package gc
