package s3

import (
	"strings"

	"github.com/stowage-dev/stowage/driver"
)

func init() { driver.RegisterConfig(DriverName, FromParameters, New) }

// FromParameters builds a Config from distribution-style parameters (the
// `storage.s3` section of a registry configuration), so an existing
// registry configuration works unchanged:
//
//	bucket                       required
//	region                       e.g. us-east-1 (default: SDK chain, or us-east-1 with regionendpoint)
//	regionendpoint               URL of an S3-compatible server; "https://" is added when it has no scheme
//	                             ("http://" when secure is false)
//	secure                       default true; only used for a regionendpoint without scheme
//	forcepathstyle               default true when regionendpoint is set, false otherwise
//	accesskey, secretkey,        static credentials; the SDK's default chain when absent
//	sessiontoken
//	rootdirectory                key prefix of every path
//	storageclass                 STANDARD, REDUCED_REDUNDANCY, ... ; NONE sends none
//	encrypt, keyid               server-side encryption (SSE-KMS with keyid, else AES256)
//	chunksize                    Writer part size, >= 5 MiB (default 10 MiB)
//	multipartcopychunksize       Move part size, >= 5 MiB (default 32 MiB)
//	multipartcopymaxconcurrency  parts copied at once (default 100)
//	multipartcopythresholdsize   largest single CopyObject (default 32 MiB)
//	maxretries                   retries after a failed attempt (default 5; 0 disables)
//	maxconcurrency               DeleteObjects requests in flight (default 10)
//	deletebatchsize              keys per DeleteObjects, capped at 1000 (default 1000)
//	checksum                     whenrequired (default), whensupported or md5
//	httpclient                   an *http.Client (driver.HTTPClientParam)
//
// Sizes accept suffixes such as "10mb" (see driver.Params). Unknown
// parameters are ignored, as distribution does.
func FromParameters(params map[string]any) (Config, error) {
	var c Config
	f := c.CommonConfig.Fields(DriverName, params)
	f.String("bucket", &c.Bucket)
	f.String("region", &c.Region)
	f.String("regionendpoint", &c.RegionEndpoint)
	f.String("accesskey", &c.AccessKey)
	f.String("secretkey", &c.SecretKey)
	f.String("sessiontoken", &c.SessionToken)
	f.String("storageclass", &c.StorageClass)
	f.String("keyid", &c.KeyID)
	f.String("checksum", &c.Checksum)
	secure := true
	f.Bool("secure", &secure)
	if c.RegionEndpoint != "" && !strings.Contains(c.RegionEndpoint, "://") {
		if secure {
			c.RegionEndpoint = "https://" + c.RegionEndpoint
		} else {
			c.RegionEndpoint = "http://" + c.RegionEndpoint
		}
	}
	c.ForcePathStyle = c.RegionEndpoint != ""
	f.Bool("forcepathstyle", &c.ForcePathStyle)
	f.Bool("encrypt", &c.Encrypt)
	f.Positive64("chunksize", &c.ChunkSize)
	f.Positive64("multipartcopychunksize", &c.MultipartCopyChunkSize)
	f.Positive64("multipartcopythresholdsize", &c.MultipartCopyThresholdSize)
	f.Positive("multipartcopymaxconcurrency", &c.MultipartCopyMaxConcurrency)
	if err := f.Err(); err != nil {
		return c, err
	}
	return c.normalize()
}
