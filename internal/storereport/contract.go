package storereport

import (
	"fmt"
	"time"

	"github.com/stowage-dev/stowage/driver"
)

// contract is what a provider documents, for the Expected column. The
// numbers the probes compare against come from the driver's
// Capabilities; these are the provider's words behind them.
type contract struct {
	// provider names the service in Expected texts ("S3").
	provider string
	// consistency says how soon a write or delete is visible.
	consistency string
	// eventual is set when the provider documents lag (then a measured
	// lag is as documented, not a difference).
	eventual bool
	// listPage is the documented page limit of a flat listing.
	listPage string
	// bulkDelete is the documented bulk-delete limit.
	bulkDelete string
	// multipart is the documented limits of multipart/compose uploads.
	multipart string
	// signed is how the provider signs URLs.
	signed string
}

// contracts are the documented contracts of the providers stowage has a
// backend for, by driver name.
var contracts = map[string]contract{
	// Amazon S3: strong read-after-write and list-after-write consistency
	// for every PUT and DELETE since December 2020
	// (https://aws.amazon.com/s3/consistency/,
	// https://docs.aws.amazon.com/AmazonS3/latest/userguide/Welcome.html#ConsistencyModel);
	// ListObjectsV2 "returns some or all (up to 1,000) of the objects"
	// (https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListObjectsV2.html);
	// DeleteObjects takes "up to 1,000 keys"
	// (https://docs.aws.amazon.com/AmazonS3/latest/API/API_DeleteObjects.html);
	// multipart parts 5 MiB to 5 GiB, at most 10,000
	// (https://docs.aws.amazon.com/AmazonS3/latest/userguide/qfacts.html);
	// SigV4 presigned URLs live at most 7 days.
	"s3": {
		provider:    "S3",
		consistency: "at once (S3 strong read-after-write and list-after-write consistency since December 2020)",
		listPage:    "1,000 keys per page (ListObjectsV2 MaxKeys)",
		bulkDelete:  "1,000 keys per DeleteObjects request",
		multipart:   "parts of 5 MiB to 5 GiB (the last may be smaller), at most 10,000 parts",
		signed:      "SigV4 presigned GET/HEAD URLs, at most 7 days",
	},
	// Google Cloud Storage: strong global consistency of object reads,
	// writes, deletes and object listings
	// (https://cloud.google.com/storage/docs/consistency); objects.list
	// maxResults at most 1,000
	// (https://cloud.google.com/storage/docs/json_api/v1/objects/list);
	// a JSON batch request holds at most 100 calls
	// (https://cloud.google.com/storage/docs/batch); compose takes at most
	// 32 sources per request and resumable chunks are multiples of
	// 256 KiB (https://cloud.google.com/storage/docs/composite-objects,
	// https://cloud.google.com/storage/docs/performing-resumable-uploads);
	// V4 signed URLs live at most 7 days.
	"gcs": {
		provider:    "GCS",
		consistency: "at once (GCS strong global consistency of reads and object listings)",
		listPage:    "1,000 objects per page (objects.list maxResults)",
		bulkDelete:  "100 calls per JSON batch request",
		multipart:   "resumable upload chunks in multiples of 256 KiB; compose of at most 32 sources per request",
		signed:      "V4 signed GET/HEAD URLs (needs a signing account), at most 7 days",
	},
	// Azure Blob Storage is strongly consistent
	// (https://learn.microsoft.com/azure/storage/blobs/concurrency-manage);
	// List Blobs returns at most 5,000 items per call
	// (https://learn.microsoft.com/rest/api/storageservices/list-blobs);
	// a blob batch holds at most 256 sub-requests
	// (https://learn.microsoft.com/rest/api/storageservices/blob-batch);
	// a block blob has at most 50,000 blocks
	// (https://learn.microsoft.com/rest/api/storageservices/put-block-list).
	"azure": {
		provider:    "Azure Blob Storage",
		consistency: "at once (Azure Blob Storage is strongly consistent)",
		listPage:    "5,000 blobs per page (List Blobs maxresults)",
		bulkDelete:  "256 sub-requests per blob batch",
		multipart:   "block blobs of at most 50,000 staged blocks",
		signed:      "SAS URLs (shared key: no expiry limit; user delegation: at most 7 days)",
	},
	// OpenStack Swift is eventually consistent: container listings are
	// updated asynchronously and may lag behind object writes and deletes
	// (https://docs.openstack.org/swift/latest/overview_architecture.html,
	// "Updaters"); a container GET returns at most container_listing_limit
	// names, 10,000 by default, and ListLimit in stowage's config
	// (https://docs.openstack.org/swift/latest/api/large_lists.html);
	// bulk delete takes max_deletes_per_request names, advertised in /info
	// (10,000 by default,
	// https://docs.openstack.org/swift/latest/middleware.html#module-swift.common.middleware.bulk);
	// static large objects hold at most max_manifest_segments (1,000 by
	// default) segments
	// (https://docs.openstack.org/swift/latest/overview_large_objects.html).
	"swift": {
		provider:    "Swift",
		consistency: "reads at once, container listings may lag (Swift is eventually consistent)",
		eventual:    true,
		listPage:    "the cluster's container_listing_limit (10,000 by default; stowage asks for ListLimit)",
		bulkDelete:  "max_deletes_per_request names per bulk-delete request, from /info (10,000 by default)",
		multipart:   "static large objects of at most max_manifest_segments (1,000 by default) segments",
		signed:      "temp URLs (needs the account's temp URL key)",
	},
	"inmemory": {
		provider:    "inmemory",
		consistency: "at once (local store, strongly consistent)",
		listPage:    "no pages (local store)",
		bulkDelete:  "DeleteFiles in process",
		multipart:   "resumable writer in process",
		signed:      "none",
	},
	"filesystem": {
		provider:    "filesystem",
		consistency: "at once (local disk, strongly consistent)",
		listPage:    "no pages (local disk)",
		bulkDelete:  "DeleteFiles on local disk",
		multipart:   "resumable writer on local disk",
		signed:      "none",
	},
}

// contractOf returns the contract of the backend named name; an unknown
// backend gets stowage's own contract (DESIGN: strong consistency, the
// limits of its Capabilities).
func contractOf(name string, caps driver.Capabilities) contract {
	if c, ok := contracts[name]; ok {
		return c
	}
	c := contract{
		provider:    name,
		consistency: "at once (stowage's contract)",
		listPage:    "no pages reported",
		bulkDelete:  "as Capabilities.DeleteBatchSize",
		multipart:   "resumable writer",
		signed:      "none reported",
	}
	if caps.ListPageSize > 0 {
		c.listPage = fmt.Sprintf("%s keys per page (Capabilities.ListPageSize)", thousands(caps.ListPageSize))
	}
	if caps.SignedURLs {
		c.signed = "signed GET/HEAD URLs (Capabilities.SignedURLs)"
		if caps.MaxURLExpiry > 0 {
			c.signed += ", at most " + caps.MaxURLExpiry.String()
		}
	}
	return c
}

// thousands formats n with commas: 2,500.
func thousands(n int) string {
	s := fmt.Sprint(n)
	neg := ""
	if n < 0 {
		neg, s = "-", s[1:]
	}
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return neg + s
}

// human formats a duration for texts: 2.06s, 250ms.
func human(d time.Duration) string {
	switch {
	case d >= time.Second:
		return d.Round(10 * time.Millisecond).String()
	case d >= time.Millisecond:
		return d.Round(time.Millisecond).String()
	}
	return d.String()
}
