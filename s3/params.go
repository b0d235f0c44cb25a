package s3

import (
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/stowage-dev/stowage/driver"
)

func init() { driver.RegisterConfig(DriverName, FromParameters, New) }

// FromParameters builds a Config from distribution-style parameters (the
// `storage.s3` section of a registry configuration), so an existing
// registry configuration works unchanged. It knows every parameter of
// distribution v3.1.2's s3-aws driver; each is honoured, or, for the one
// value it cannot honour (v4auth: false), rejected with a
// *driver.ConfigError naming it:
//
//	bucket                       required
//	region                       e.g. us-east-1 (default: SDK chain, or us-east-1 with regionendpoint)
//	regionendpoint               URL of an S3-compatible server; "https://" is added when it has no scheme
//	                             ("http://" when secure is false)
//	secure                       default true; false: plain HTTP to a regionendpoint without scheme,
//	                             or to the AWS endpoint
//	skipverify                   default false; true: no TLS certificate verification
//	v4auth                       default true; false (signature version 2) is rejected: the SDK signs SigV4 only
//	forcepathstyle               default true when regionendpoint is set, false otherwise
//	                             (pathstyle, GitLab's name, is taken too)
//	accesskey, secretkey,        static credentials; the SDK's default chain when absent
//	sessiontoken                 (distribution ignores sessiontoken; stowage uses it)
//	rootdirectory                key prefix of every path
//	storageclass                 STANDARD, REDUCED_REDUNDANCY, STANDARD_IA, ONEZONE_IA, INTELLIGENT_TIERING,
//	                             OUTPOSTS, GLACIER_IR, EXPRESS_ONEZONE, any case; NONE (default) sends none
//	objectacl                    canned ACL of new objects (default private: no x-amz-acl header, see Config.ObjectACL)
//	encrypt, keyid               server-side encryption: SSE-KMS with keyid, else AES256 (default false);
//	                             keyid without encrypt is accepted with a warning and not sent
//	usefipsendpoint              default false; AWS FIPS endpoints
//	usedualstack                 default false; AWS dual-stack (IPv6) endpoints
//	accelerate                   default false; S3 Transfer Acceleration (virtual-hosted style only)
//	useragent                    appended to the SDK's User-Agent header (default none)
//	loglevel                     SDK request logging, to the logger at level Info: off (default, or false),
//	                             debug, debugwithsigning, debugwithhttpbody, debugwithrequestretries,
//	                             debugwithrequesterrors, debugwitheventstreambody
//	redirectendpoint             scheme://host URLFor's presigned URLs name instead of the endpoint's (default none)
//	chunksize                    Writer part size, >= 5 MiB (default 10 MiB)
//	multipartcopychunksize       Move part size, >= 5 MiB (default 32 MiB)
//	multipartcopymaxconcurrency  parts copied at once (default 100)
//	multipartcopythresholdsize   largest single CopyObject (default 32 MiB)
//	maxretries                   retries after a failed attempt (default 5; 0 disables)
//	maxconcurrency               DeleteObjects requests in flight (default 10)
//	deletebatchsize              keys per DeleteObjects, capped at 1000 (default 1000)
//	maxrequestspersecond         requests per second of the driver, SDK retries included
//	                             (default 350, as GitLab's registry; 0 disables)
//	checksum                     whenrequired (default), whensupported or md5
//	httpclient                   an *http.Client (driver.HTTPClientParam)
//	logger                       a *slog.Logger (driver.LoggerParam)
//	observer                     a driver.Observer (driver.ObserverParam)
//
// Sizes accept suffixes such as "10mb" (see driver.Params). Keys are read
// in any case (with a warning for one not in lower case); parameters it
// does not know are ignored, as distribution does, with one warning that
// names them.
func FromParameters(params map[string]any) (Config, error) {
	var c Config
	f := c.CommonConfig.Fields(DriverName, params)
	f.Require("bucket")
	f.String("bucket", &c.Bucket)
	f.String("region", &c.Region)
	f.String("regionendpoint", &c.RegionEndpoint)
	f.String("accesskey", &c.AccessKey)
	f.String("secretkey", &c.SecretKey)
	f.String("sessiontoken", &c.SessionToken)
	f.String("storageclass", &c.StorageClass)
	f.String("keyid", &c.KeyID)
	f.String("checksum", &c.Checksum)
	f.String("objectacl", &c.ObjectACL)
	f.String("useragent", &c.UserAgent)
	f.String("redirectendpoint", &c.RedirectEndpoint)
	f.Bool("skipverify", &c.SkipVerify)
	f.Bool("usefipsendpoint", &c.UseFIPSEndpoint)
	f.Bool("usedualstack", &c.UseDualStack)
	f.Bool("accelerate", &c.Accelerate)
	v4 := true
	f.Bool("v4auth", &v4)
	if !v4 {
		f.Fail("v4auth", "false (signature version 2) is not supported: aws-sdk-go-v2 signs with SigV4, which AWS S3 requires and S3-compatible servers accept")
	}
	if v, ok := f.Value("loglevel"); ok {
		mode, err := logMode(v)
		if err != nil {
			f.Fail("loglevel", "%w", err)
		}
		c.LogMode = mode
	}
	secure := true
	f.Bool("secure", &secure)
	if c.RegionEndpoint != "" && !strings.Contains(c.RegionEndpoint, "://") {
		if secure {
			c.RegionEndpoint = "https://" + c.RegionEndpoint
		} else {
			c.RegionEndpoint = "http://" + c.RegionEndpoint
		}
	}
	c.DisableHTTPS = !secure && c.RegionEndpoint == ""
	c.ForcePathStyle = c.RegionEndpoint != ""
	_, force := f.Value("forcepathstyle")
	if _, alias := f.Value("pathstyle"); alias {
		if force {
			f.Fail("pathstyle", "given with forcepathstyle; pathstyle is another name of it")
		}
		f.Bool("pathstyle", &c.ForcePathStyle)
	}
	f.Bool("forcepathstyle", &c.ForcePathStyle)
	f.Bool("encrypt", &c.Encrypt)
	f.Positive64("chunksize", &c.ChunkSize)
	f.Positive64("multipartcopychunksize", &c.MultipartCopyChunkSize)
	f.Positive64("multipartcopythresholdsize", &c.MultipartCopyThresholdSize)
	f.Positive("multipartcopymaxconcurrency", &c.MultipartCopyMaxConcurrency)
	if err := f.Done(); err != nil {
		return c, err
	}
	return c.normalize()
}

// logModes maps distribution's loglevel values (aws-sdk-go v1's
// aws.LogLevelType) to the ClientLogMode of aws-sdk-go-v2 that logs the
// same: v1's debug logs each request and response without bodies.
var logModes = map[string]aws.ClientLogMode{
	"off":                      0,
	"debug":                    aws.LogRequest | aws.LogResponse,
	"debugwithsigning":         aws.LogRequest | aws.LogResponse | aws.LogSigning,
	"debugwithhttpbody":        aws.LogRequestWithBody | aws.LogResponseWithBody,
	"debugwithrequestretries":  aws.LogRequest | aws.LogResponse | aws.LogRetries,
	"debugwithrequesterrors":   aws.LogRequest | aws.LogResponse | aws.LogRetries,
	"debugwitheventstreambody": aws.LogRequest | aws.LogResponse | aws.LogRequestEventMessage | aws.LogResponseEventMessage,
}

// logMode reads the loglevel parameter. YAML reads "off" as false, which
// is taken as off; distribution takes any other value it does not know as
// off too, stowage says so.
func logMode(v any) (aws.ClientLogMode, error) {
	switch v := v.(type) {
	case bool:
		if !v {
			return 0, nil
		}
	case string:
		if v == "" {
			return 0, nil
		}
		if mode, ok := logModes[strings.ToLower(v)]; ok {
			return mode, nil
		}
	}
	return 0, fmt.Errorf("%v is not one of off, debug, debugwithsigning, debugwithhttpbody, debugwithrequestretries, debugwithrequesterrors, debugwitheventstreambody", v)
}
