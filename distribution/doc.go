// Package distribution presents any stowage driver.StorageDriver as a
// storage driver of the CNCF distribution registry
// (github.com/distribution/distribution/v3), so that a registry can keep its
// blobs on any stowage backend and gain stowage's retries, bulk deletes and
// digest-verifiable content without changing its own code.
//
// Importing the package registers six distribution storage drivers with
// distribution's factory package, one per stowage backend:
//
//	stowage-s3  stowage-gcs  stowage-azure  stowage-swift  stowage-filesystem  stowage-inmemory
//
// Each takes exactly the parameters of the stowage backend it names (see
// the FromParameters or FromParameters function of packages s3, gcs,
// azure, swift and filesystem), which are those of distribution's own
// driver of the same kind, so an existing storage section only needs its
// driver renamed. A registry binary gets them with one blank import:
//
//	import _ "github.com/stowage-dev/stowage/distribution"
//
// and its config.yml then names one of them as its storage driver:
//
//	storage:
//	  stowage-s3:
//	    bucket: registry
//	    region: us-east-1
//	    regionendpoint: http://127.0.0.1:9000
//	    forcepathstyle: true
//	    accesskey: minio
//	    secretkey: minio123
//	    rootdirectory: /registry
//	  delete:
//	    enabled: true
//	  redirect:
//	    disable: false
//
// With redirects enabled the registry sends clients to the URL the backend's
// URLFor makes (a presigned S3 URL, a signed GCS URL, an Azure SAS URL, a
// Swift temp URL); a backend that cannot make one (filesystem, inmemory, GCS
// without a service-account key, Swift without a temp URL key) makes
// RedirectURL return "" and the registry serves the bytes itself.
//
// Code that already holds a stowage driver wraps it with New instead:
//
//	d, err := s3.New(ctx, cfg)
//	...
//	var sd storagedriver.StorageDriver = distribution.New(d)
//
// Errors come back as the value types distribution's registry switches on
// (storagedriver.PathNotFoundError, InvalidPathError, InvalidOffsetError,
// ErrUnsupportedMethod), and every other failure as a storagedriver.Error
// whose Detail is stowage's error, so errors.As on the Detail still finds
// stowage's own error types. Walk maps distribution's ErrSkipDir,
// ErrFilledBuffer and WithStartAfterHint to their stowage equivalents.
// The adapter's DeleteFiles method exposes stowage's batched delete to
// callers that look for it (GitLab's container registry has the same
// method).
package distribution
