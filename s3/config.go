package s3

import (
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/stowage-dev/stowage/driver"
)

// Limits and defaults of the S3 API and of this driver.
const (
	// MinChunkSize is the smallest part S3 accepts in a multipart upload
	// (all parts but the last): 5 MiB.
	MinChunkSize = 5 << 20
	// MaxChunkSize is the largest part S3 accepts: 5 GiB.
	MaxChunkSize = 5 << 30
	// MaxURLExpiry is the longest validity of a SigV4 presigned URL (7
	// days); URLFor caps a later expiry to it.
	MaxURLExpiry = 7 * 24 * time.Hour
	// MaxDeleteBatchSize is the most keys one DeleteObjects request takes.
	MaxDeleteBatchSize = 1000
	// MaxParts is the most parts one multipart upload may have. Writer
	// grows its part size to make room (see partSize), and the multipart
	// copies of Move and of a continued object grow theirs (see
	// partRanges).
	MaxParts = 10000

	// DefaultChunkSize is the part size of Writer uploads.
	DefaultChunkSize = 10 << 20
	// DefaultMultipartCopyChunkSize is the part size of multipart copies.
	DefaultMultipartCopyChunkSize = 32 << 20
	// DefaultMultipartCopyThresholdSize is the size above which Move copies
	// in parts instead of with one CopyObject.
	DefaultMultipartCopyThresholdSize = 32 << 20
	// DefaultMultipartCopyMaxConcurrency bounds the parts copied at once.
	DefaultMultipartCopyMaxConcurrency = 100

	// ACLPrivate is the default Config.ObjectACL.
	ACLPrivate = string(types.ObjectCannedACLPrivate)
)

// storageClasses are the storage classes distribution accepts: those
// whose objects can be read at once (no GLACIER or DEEP_ARCHIVE).
var storageClasses = []string{
	string(types.StorageClassStandard),
	string(types.StorageClassReducedRedundancy),
	string(types.StorageClassStandardIa),
	string(types.StorageClassOnezoneIa),
	string(types.StorageClassIntelligentTiering),
	string(types.StorageClassOutposts),
	string(types.StorageClassGlacierIr),
	string(types.StorageClassExpressOnezone),
}

// Checksum modes (Config.Checksum, parameter "checksum").
const (
	// ChecksumWhenRequired sends a request checksum only where the API
	// requires one (DeleteObjects gets an x-amz-checksum-crc32 header) and
	// validates response checksums only where required. The default: it
	// works with AWS S3, MinIO and most S3-compatible servers.
	ChecksumWhenRequired = "whenrequired"
	// ChecksumWhenSupported is the SDK's own default: a CRC32 checksum on
	// every upload and response validation wherever possible.
	ChecksumWhenSupported = "whensupported"
	// ChecksumMD5 sends Content-MD5 instead of x-amz-checksum-* headers
	// where a checksum is required, for older S3-compatible servers that
	// know only MD5.
	ChecksumMD5 = "md5"
)

// Config configures a Driver. The zero value of every field but Bucket
// means its default.
//
// Of the common settings (driver.CommonConfig), RetryBaseDelay, when set,
// also replaces the SDK's backoff (50 ms base, 1 s for throttling,
// doubling per attempt, full jitter) with a full-jitter exponential backoff
// from this base for every retryable error; MaxConcurrency bounds the
// DeleteObjects requests in flight, DeleteBatchSize may lower the
// DeleteObjects maximum of 1,000 keys, and MaxRequestsPerSecond 0 means
// driver.DefaultS3MaxRequestsPerSecond (350; negative: no limit). Every
// SDK retry is reported to Observer.
type Config struct {
	driver.CommonConfig

	// Bucket holds all the driver's objects. Required.
	Bucket string
	// Region of the bucket. Defaults to the SDK's default chain
	// (AWS_REGION, shared config), or "us-east-1" when RegionEndpoint is set.
	Region string
	// RegionEndpoint is the URL of an S3-compatible server, e.g.
	// "http://127.0.0.1:9000". Empty for AWS S3.
	RegionEndpoint string
	// ForcePathStyle addresses buckets as https://host/bucket/key instead of
	// https://bucket.host/key. Needed by MinIO and most S3-compatibles; see
	// FromParameters for its default.
	ForcePathStyle bool

	// AccessKey, SecretKey and SessionToken are static credentials. When
	// AccessKey and SecretKey are empty the SDK's default credential chain
	// is used (environment, shared files, instance roles, ...).
	AccessKey    string
	SecretKey    string
	SessionToken string

	// StorageClass of new objects, e.g. "STANDARD" or "REDUCED_REDUNDANCY"
	// (any case), one of the classes distribution accepts, which a
	// registry can read at once; empty or "NONE" sends none (the
	// bucket's default, STANDARD on AWS).
	StorageClass string
	// Encrypt asks for server-side encryption: SSE-KMS with KeyID when it is
	// set, otherwise SSE-S3 (AES256).
	Encrypt bool
	// KeyID is the KMS key for Encrypt. Without Encrypt it is accepted,
	// as distribution does, with a warning, and not sent: S3 takes a KMS
	// key only together with x-amz-server-side-encryption: aws:kms.
	KeyID string

	// ChunkSize is the part size of Writer uploads, at least MinChunkSize:
	// of their first 1,000 parts; later parts double every 1,000 parts,
	// up to MaxChunkSize, to fit S3's MaxParts.
	ChunkSize int64
	// MultipartCopyChunkSize is the part size of multipart copies (Move
	// above MultipartCopyThresholdSize), at least MinChunkSize; larger for
	// an object that would need more than MaxParts of them.
	MultipartCopyChunkSize int64
	// MultipartCopyMaxConcurrency bounds the parts copied at once.
	MultipartCopyMaxConcurrency int
	// MultipartCopyThresholdSize is the largest object Move copies with one
	// CopyObject request (at most 5 GiB).
	MultipartCopyThresholdSize int64

	// Checksum selects how request checksums are sent: ChecksumWhenRequired
	// (default), ChecksumWhenSupported or ChecksumMD5.
	Checksum string

	// ObjectACL is the canned ACL of new objects (PutObject,
	// CreateMultipartUpload, CopyObject): one of the SDK's
	// types.ObjectCannedACL values; empty means ACLPrivate, as in
	// distribution. ACLPrivate is what S3 gives an object written without
	// an ACL, so for it no x-amz-acl header is sent: a bucket whose Object
	// Ownership is "bucket owner enforced" (the default of new AWS buckets
	// since April 2023) refuses every request that sets an ACL with
	// AccessControlListNotSupported (see distribution/distribution#4820).
	ObjectACL string
	// SkipVerify turns TLS certificate verification off (distribution's
	// skipverify), for a server with a self-signed certificate. It has no
	// effect with a CommonConfig.HTTPClient, which keeps its own TLS
	// settings.
	SkipVerify bool
	// DisableHTTPS makes the driver talk plain HTTP to the AWS endpoint it
	// resolves (distribution's secure: false without a regionendpoint). A
	// RegionEndpoint keeps the scheme it is given.
	DisableHTTPS bool
	// UseFIPSEndpoint, UseDualStack and Accelerate select AWS's FIPS,
	// dual-stack (IPv6) and Transfer Acceleration endpoints. The SDK
	// refuses each of them with a RegionEndpoint, and Accelerate with FIPS
	// or ForcePathStyle; New reports such a combination as a
	// *driver.ConfigError.
	UseFIPSEndpoint bool
	UseDualStack    bool
	Accelerate      bool
	// UserAgent is appended to the SDK's User-Agent header: each
	// space-separated "name/version" or "name" in it, with characters a
	// User-Agent token cannot hold replaced by "-".
	UserAgent string
	// LogMode selects what the SDK logs about requests (see the
	// loglevel parameter of FromParameters); its lines go to
	// CommonConfig.Logger at level Info. 0 logs nothing.
	LogMode aws.ClientLogMode
	// RedirectEndpoint, when set, is the scheme and host ("https://cdn.example.com")
	// that URLFor's presigned URLs name instead of the S3 endpoint's,
	// for a proxy or CDN in front of the bucket that forwards the request
	// with its Host header; the URL is signed for that host.
	RedirectEndpoint string

	// maxParts replaces MaxParts when set: a test knob (see
	// export_test.go), so that the part limit is reachable with a few
	// small parts. New leaves the Config as it is and keeps the limit in
	// backend.maxParts.
	maxParts int
}

// normalize checks c and fills in its defaults. It returns a
// *driver.ConfigError naming the offending parameter.
func (c Config) normalize() (Config, error) {
	bad := func(param, format string, args ...any) (Config, error) {
		return c, &driver.ConfigError{DriverName: DriverName, Parameter: param, Err: fmt.Errorf(format, args...)}
	}
	if c.Bucket == "" {
		return bad("bucket", "required")
	}
	if err := c.CommonConfig.Normalize(DriverName, MaxDeleteBatchSize); err != nil {
		return c, err
	}
	if c.Region == "" && c.RegionEndpoint != "" {
		c.Region = "us-east-1"
	}
	if strings.EqualFold(c.StorageClass, "NONE") {
		c.StorageClass = ""
	}
	if c.StorageClass != "" {
		c.StorageClass = strings.ToUpper(c.StorageClass)
		if !slices.Contains(storageClasses, c.StorageClass) {
			return bad("storageclass", "%q is not one of NONE, %s (the classes a registry can read at once)",
				c.StorageClass, strings.Join(storageClasses, ", "))
		}
	}
	if c.KeyID != "" && !c.Encrypt {
		// distribution accepts this; it sends the key ID without asking
		// for SSE-KMS, which S3 does not take, so the key is not sent.
		c.Logger.Warn(DriverName+": keyid has no effect without encrypt: true; objects are written without SSE-KMS",
			"driver", DriverName, "parameter", "keyid")
	}
	if c.ObjectACL == "" {
		c.ObjectACL = ACLPrivate
	}
	if !slices.Contains(types.ObjectCannedACL("").Values(), types.ObjectCannedACL(c.ObjectACL)) {
		return bad("objectacl", "%q is not a canned ACL (%v)", c.ObjectACL, types.ObjectCannedACL("").Values())
	}
	if c.MaxRequestsPerSecond == 0 {
		c.MaxRequestsPerSecond = driver.DefaultS3MaxRequestsPerSecond
	}
	if c.RedirectEndpoint != "" {
		u, err := url.Parse(c.RedirectEndpoint)
		switch {
		case err != nil:
			return c, &driver.ConfigError{DriverName: DriverName, Parameter: "redirectendpoint", Err: err}
		case u.Scheme == "" || u.Host == "":
			return bad("redirectendpoint", "%q is not a URL with a scheme and a host", c.RedirectEndpoint)
		case u.Path != "" && u.Path != "/":
			return bad("redirectendpoint", "%q has a path; only a scheme and a host are replaced", c.RedirectEndpoint)
		case u.RawQuery != "" || u.Fragment != "":
			return bad("redirectendpoint", "%q has a query or fragment", c.RedirectEndpoint)
		}
	}

	if c.ChunkSize == 0 {
		c.ChunkSize = DefaultChunkSize
	}
	if c.ChunkSize < MinChunkSize || c.ChunkSize > MaxChunkSize {
		return bad("chunksize", "%d is outside [%d, %d] (S3's part size limits)", c.ChunkSize, MinChunkSize, int64(MaxChunkSize))
	}
	if c.MultipartCopyChunkSize == 0 {
		c.MultipartCopyChunkSize = DefaultMultipartCopyChunkSize
	}
	if c.MultipartCopyChunkSize < MinChunkSize || c.MultipartCopyChunkSize > MaxChunkSize {
		return bad("multipartcopychunksize", "%d is outside [%d, %d] (S3's part size limits)", c.MultipartCopyChunkSize, MinChunkSize, int64(MaxChunkSize))
	}
	if c.MultipartCopyThresholdSize == 0 {
		c.MultipartCopyThresholdSize = DefaultMultipartCopyThresholdSize
	}
	if c.MultipartCopyThresholdSize < 0 || c.MultipartCopyThresholdSize > MaxChunkSize {
		return bad("multipartcopythresholdsize", "%d is outside [0, %d] (CopyObject's limit)", c.MultipartCopyThresholdSize, int64(MaxChunkSize))
	}
	if c.MultipartCopyMaxConcurrency == 0 {
		c.MultipartCopyMaxConcurrency = DefaultMultipartCopyMaxConcurrency
	}
	if c.MultipartCopyMaxConcurrency < 0 {
		return bad("multipartcopymaxconcurrency", "%d is negative", c.MultipartCopyMaxConcurrency)
	}
	switch strings.ToLower(strings.ReplaceAll(c.Checksum, "_", "")) {
	case "", "required", ChecksumWhenRequired:
		c.Checksum = ChecksumWhenRequired
	case "supported", "always", ChecksumWhenSupported:
		c.Checksum = ChecksumWhenSupported
	case ChecksumMD5, "contentmd5":
		c.Checksum = ChecksumMD5
	default:
		return bad("checksum", "%q is not one of %s, %s, %s", c.Checksum, ChecksumWhenRequired, ChecksumWhenSupported, ChecksumMD5)
	}
	if (c.AccessKey == "") != (c.SecretKey == "") {
		return c, &driver.ConfigError{DriverName: DriverName, Parameter: "accesskey",
			Err: errors.New("accesskey and secretkey must be given together")}
	}
	return c, nil
}
