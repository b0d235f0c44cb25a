package s3

import (
	"context"
	"strings"

	"github.com/stowage-dev/stowage/driver"
)

func init() {
	driver.Register(DriverName, func(ctx context.Context, params map[string]any) (driver.StorageDriver, error) {
		cfg, err := FromParameters(params)
		if err != nil {
			return nil, err
		}
		return New(ctx, cfg)
	})
}

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
	p := driver.Params{DriverName: DriverName, Values: params}
	var c Config
	var err error
	str := func(key string, dst *string) {
		if err == nil {
			*dst, err = p.String(key, "")
		}
	}
	str("bucket", &c.Bucket)
	str("region", &c.Region)
	str("regionendpoint", &c.RegionEndpoint)
	str("accesskey", &c.AccessKey)
	str("secretkey", &c.SecretKey)
	str("sessiontoken", &c.SessionToken)
	str("storageclass", &c.StorageClass)
	str("keyid", &c.KeyID)
	str("checksum", &c.Checksum)
	if err != nil {
		return c, err
	}
	secure, err := p.Bool("secure", true)
	if err != nil {
		return c, err
	}
	if c.RegionEndpoint != "" && !strings.Contains(c.RegionEndpoint, "://") {
		if secure {
			c.RegionEndpoint = "https://" + c.RegionEndpoint
		} else {
			c.RegionEndpoint = "http://" + c.RegionEndpoint
		}
	}
	if c.ForcePathStyle, err = p.Bool("forcepathstyle", c.RegionEndpoint != ""); err != nil {
		return c, err
	}
	if c.Encrypt, err = p.Bool("encrypt", false); err != nil {
		return c, err
	}
	size := func(key string, dst *int64) {
		if err == nil {
			*dst, err = p.Positive64(key)
		}
	}
	size("chunksize", &c.ChunkSize)
	size("multipartcopychunksize", &c.MultipartCopyChunkSize)
	size("multipartcopythresholdsize", &c.MultipartCopyThresholdSize)
	if err != nil {
		return c, err
	}
	if c.MultipartCopyMaxConcurrency, err = p.Positive("multipartcopymaxconcurrency"); err != nil {
		return c, err
	}
	if err := c.CommonConfig.ReadParameters(p); err != nil {
		return c, err
	}
	return c.normalize()
}
