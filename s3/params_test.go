package s3

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/stowage-dev/stowage/driver"
)

func TestFromParametersDefaults(t *testing.T) {
	c, err := FromParameters(map[string]any{"bucket": "b", "region": "eu-west-1"})
	if err != nil {
		t.Fatal(err)
	}
	want := Config{
		Bucket:                      "b",
		Region:                      "eu-west-1",
		ChunkSize:                   DefaultChunkSize,
		MultipartCopyChunkSize:      DefaultMultipartCopyChunkSize,
		MultipartCopyThresholdSize:  DefaultMultipartCopyThresholdSize,
		MultipartCopyMaxConcurrency: DefaultMultipartCopyMaxConcurrency,
		Checksum:                    ChecksumWhenRequired,
		ObjectACL:                   ACLPrivate,
		CommonConfig: driver.CommonConfig{
			MaxConcurrency:       driver.DefaultMaxConcurrency,
			DeleteBatchSize:      MaxDeleteBatchSize,
			MaxRetries:           driver.DefaultMaxRetries,
			RetryMaxBackoff:      20 * time.Second,
			MaxRequestsPerSecond: driver.DefaultS3MaxRequestsPerSecond,
		},
	}
	c.Logger = nil
	if c != want {
		t.Errorf("FromParameters = %+v\nwant %+v", c, want)
	}
}

func TestFromParametersAll(t *testing.T) {
	hc := &http.Client{}
	c, err := FromParameters(map[string]any{
		"bucket":                      "reg",
		"regionendpoint":              "127.0.0.1:9000",
		"secure":                      "false",
		"accesskey":                   "AK",
		"secretkey":                   "SK",
		"sessiontoken":                "TOK",
		"rootdirectory":               "/registry/v2/",
		"storageclass":                "NONE",
		"encrypt":                     "true",
		"keyid":                       "kms-key",
		"chunksize":                   "16mb",
		"multipartcopychunksize":      64 << 20,
		"multipartcopymaxconcurrency": "7",
		"multipartcopythresholdsize":  int64(128 << 20),
		"maxretries":                  "0",
		"maxconcurrency":              3,
		"deletebatchsize":             "500",
		"checksum":                    "MD5",
		"objectacl":                   "bucket-owner-full-control",
		"skipverify":                  true,
		"usefipsendpoint":             "false",
		"usedualstack":                false,
		"accelerate":                  "false",
		"useragent":                   "registry/3.1 extra",
		"loglevel":                    "DebugWithSigning",
		"redirectendpoint":            "https://cdn.example.com",
		"v4auth":                      "true",
		"maxrequestspersecond":        "5",
		driver.HTTPClientParam:        hc,
		"unknownparameter":            "ignored",
	})
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"RegionEndpoint", c.RegionEndpoint, "http://127.0.0.1:9000"},
		{"Region", c.Region, "us-east-1"},
		{"ForcePathStyle", c.ForcePathStyle, true},
		{"AccessKey", c.AccessKey, "AK"},
		{"SecretKey", c.SecretKey, "SK"},
		{"SessionToken", c.SessionToken, "TOK"},
		{"RootDirectory", c.RootDirectory, "registry/v2"},
		{"StorageClass", c.StorageClass, ""},
		{"Encrypt", c.Encrypt, true},
		{"KeyID", c.KeyID, "kms-key"},
		{"ChunkSize", c.ChunkSize, int64(16 << 20)},
		{"MultipartCopyChunkSize", c.MultipartCopyChunkSize, int64(64 << 20)},
		{"MultipartCopyMaxConcurrency", c.MultipartCopyMaxConcurrency, 7},
		{"MultipartCopyThresholdSize", c.MultipartCopyThresholdSize, int64(128 << 20)},
		{"MaxRetries", c.MaxRetries, -1},
		{"MaxConcurrency", c.MaxConcurrency, 3},
		{"DeleteBatchSize", c.DeleteBatchSize, 500},
		{"Checksum", c.Checksum, ChecksumMD5},
		{"HTTPClient", c.HTTPClient, hc},
		{"ObjectACL", c.ObjectACL, "bucket-owner-full-control"},
		{"SkipVerify", c.SkipVerify, true},
		{"DisableHTTPS", c.DisableHTTPS, false},
		{"UseFIPSEndpoint", c.UseFIPSEndpoint, false},
		{"UserAgent", c.UserAgent, "registry/3.1 extra"},
		{"LogMode", c.LogMode, aws.LogRequest | aws.LogResponse | aws.LogSigning},
		{"RedirectEndpoint", c.RedirectEndpoint, "https://cdn.example.com"},
		{"MaxRequestsPerSecond", c.MaxRequestsPerSecond, 5.0},
	}
	for _, ch := range checks {
		if ch.got != ch.want {
			t.Errorf("%s = %v, want %v", ch.name, ch.got, ch.want)
		}
	}
}

func TestFromParametersEndpointScheme(t *testing.T) {
	for _, tc := range []struct {
		params map[string]any
		want   string
		path   bool
	}{
		{map[string]any{"regionendpoint": "minio:9000"}, "https://minio:9000", true},
		{map[string]any{"regionendpoint": "http://minio:9000"}, "http://minio:9000", true},
		{map[string]any{"regionendpoint": "http://minio:9000", "forcepathstyle": false}, "http://minio:9000", false},
		{map[string]any{"region": "us-east-2"}, "", false},
	} {
		tc.params["bucket"] = "b"
		c, err := FromParameters(tc.params)
		if err != nil {
			t.Fatalf("%v: %v", tc.params, err)
		}
		if c.RegionEndpoint != tc.want || c.ForcePathStyle != tc.path {
			t.Errorf("%v: endpoint %q pathstyle %v, want %q %v", tc.params, c.RegionEndpoint, c.ForcePathStyle, tc.want, tc.path)
		}
	}
}

// DeleteBatchSize above the DeleteObjects limit is capped, never raised.
func TestDeleteBatchSizeCapped(t *testing.T) {
	for _, v := range []any{1001, "5000", int64(1 << 20)} {
		c, err := FromParameters(map[string]any{"bucket": "b", "region": "r", "deletebatchsize": v})
		if err != nil {
			t.Fatalf("deletebatchsize %v: %v", v, err)
		}
		if c.DeleteBatchSize != MaxDeleteBatchSize {
			t.Errorf("deletebatchsize %v gives %d, want %d", v, c.DeleteBatchSize, MaxDeleteBatchSize)
		}
	}
	c, err := Config{Bucket: "b", CommonConfig: driver.CommonConfig{DeleteBatchSize: 1}}.normalize()
	if err != nil || c.DeleteBatchSize != 1 {
		t.Errorf("DeleteBatchSize 1: %d, %v; want 1, nil", c.DeleteBatchSize, err)
	}
}

func TestConfigRejected(t *testing.T) {
	base := func() map[string]any { return map[string]any{"bucket": "b", "region": "r"} }
	cases := []struct {
		param string
		value any
	}{
		{"bucket", ""},
		{"chunksize", MinChunkSize - 1},
		{"chunksize", "4mb"},
		{"chunksize", int64(6) << 30},
		{"chunksize", "-1"},
		{"chunksize", "0"},
		{"multipartcopychunksize", 1 << 20},
		{"multipartcopythresholdsize", int64(6) << 30},
		{"multipartcopythresholdsize", -5},
		{"maxconcurrency", -1},
		{"maxconcurrency", 0},
		{"deletebatchsize", -1},
		{"deletebatchsize", 0},
		{"maxretries", -2},
		{"checksum", "sha512"},
		{"objectacl", "public"},
		{"objectacl", "PRIVATE"},
		{"storageclass", "GLACIER"},
		{"storageclass", "DEEP_ARCHIVE"},
		{"v4auth", false},
		{"v4auth", "false"},
		{"loglevel", "verbose"},
		{"loglevel", true},
		{"loglevel", 3},
		{"redirectendpoint", "cdn.example.com"},
		{"redirectendpoint", "https://cdn.example.com/base"},
		{"redirectendpoint", "https://cdn.example.com/?a=b"},
		{"skipverify", "sometimes"},
		{"usedualstack", 1},
		{"maxrequestspersecond", -1},
		{"maxrequestspersecond", "fast"},
		{"encrypt", "maybe"},
		{"chunksize", "ten"},
		{"bucket", []string{"a"}},
		{driver.HTTPClientParam, http.DefaultTransport},
	}
	for _, tc := range cases {
		p := base()
		p[tc.param] = tc.value
		_, err := FromParameters(p)
		var ce *driver.ConfigError
		if !errors.As(err, &ce) {
			t.Errorf("%s=%v: got %v, want a *driver.ConfigError", tc.param, tc.value, err)
			continue
		}
		if ce.DriverName != DriverName || ce.Parameter != tc.param {
			t.Errorf("%s=%v: ConfigError names driver %q parameter %q", tc.param, tc.value, ce.DriverName, ce.Parameter)
		}
	}
}

func TestConfigCredentialsInPairs(t *testing.T) {
	_, err := Config{Bucket: "b", AccessKey: "AK"}.normalize()
	var ce *driver.ConfigError
	if !errors.As(err, &ce) || !strings.Contains(err.Error(), "together") {
		t.Errorf("access key without secret: %v, want a ConfigError", err)
	}
}

func TestOpenUnknownBucketParams(t *testing.T) {
	_, err := driver.Open(context.Background(), DriverName, map[string]any{"region": "r"})
	var ce *driver.ConfigError
	if !errors.As(err, &ce) || ce.Parameter != "bucket" {
		t.Errorf("Open without bucket: %v, want a ConfigError for bucket", err)
	}
	d, err := driver.Open(context.Background(), DriverName, map[string]any{
		"bucket": "b", "regionendpoint": "http://127.0.0.1:1", "accesskey": "a", "secretkey": "s",
	})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	if d.Name() != DriverName {
		t.Errorf("Name() = %q", d.Name())
	}
}

func TestKeyMapping(t *testing.T) {
	for _, tc := range []struct {
		root, path, key, dir string
	}{
		{"", "/a/b", "a/b", "a/b/"},
		{"/reg/", "/a/b", "reg/a/b", "reg/a/b/"},
		{"x/y", "/f", "x/y/f", "x/y/f/"},
	} {
		d, err := New(context.Background(), Config{Bucket: "b", Region: "r", AccessKey: "a", SecretKey: "s",
			CommonConfig: driver.CommonConfig{RootDirectory: tc.root}})
		if err != nil {
			t.Fatal(err)
		}
		keys := d.b.keys
		if k := keys.Key(tc.path); k != tc.key {
			t.Errorf("root %q: Key(%s) = %q, want %q", tc.root, tc.path, k, tc.key)
		}
		if k := keys.Dir(tc.path); k != tc.dir {
			t.Errorf("root %q: Dir(%s) = %q, want %q", tc.root, tc.path, k, tc.dir)
		}
		if p, ok := keys.Path(tc.key); !ok || p != tc.path {
			t.Errorf("root %q: Path(%q) = %q, %v", tc.root, tc.key, p, ok)
		}
		for _, junk := range []string{d.b.tailKey(tc.key, "upload"), keys.Prefix + "a//b", keys.Prefix + "a/", keys.Prefix, "elsewhere/x"} {
			if keys.Prefix == "" && junk == "elsewhere/x" {
				continue
			}
			if p, ok := keys.Path(junk); ok {
				t.Errorf("root %q: Path(%q) = %q, want it hidden", tc.root, junk, p)
			}
		}
	}
}

// The SDK's retryer waits the full-jitter backoff of RetryBaseDelay.
func TestSDKBackoff(t *testing.T) {
	b := sdkBackoff{driver.Backoff{Base: 10 * time.Millisecond, Max: 50 * time.Millisecond}}
	for attempt := 1; attempt < 10; attempt++ {
		limit := min(10*time.Millisecond<<(attempt-1), 50*time.Millisecond)
		for i := 0; i < 100; i++ {
			if d, err := b.BackoffDelay(attempt, nil); err != nil || d < 0 || d >= limit {
				t.Fatalf("BackoffDelay(%d) = %v, %v, want in [0, %v)", attempt, d, err, limit)
			}
		}
	}
}

func TestPartRanges(t *testing.T) {
	const mib = 1 << 20
	r := func(first, last int64) byteRange { return byteRange{first, last} }
	for _, tc := range []struct {
		size, chunk int64
		keepMin     bool
		want        []byteRange
	}{
		{0, 5 * mib, false, nil},
		{10, 5 * mib, false, []byteRange{r(0, 9)}},
		{11 * mib, 5 * mib, false, []byteRange{r(0, 5*mib-1), r(5*mib, 10*mib-1), r(10*mib, 11*mib-1)}},
		{11 * mib, 5 * mib, true, []byteRange{r(0, 5*mib-1), r(5*mib, 11*mib-1)}},
		{10 * mib, 5 * mib, true, []byteRange{r(0, 5*mib-1), r(5*mib, 10*mib-1)}},
		{6 * mib, 32 * mib, true, []byteRange{r(0, 6*mib-1)}},
		// A 5 GiB chunk is capped so that a joined rest stays within 5 GiB.
		{MaxChunkSize + 1, MaxChunkSize, true, []byteRange{r(0, MaxChunkSize-MinChunkSize-1), r(MaxChunkSize-MinChunkSize, MaxChunkSize)}},
		{2*MaxChunkSize - 2*MinChunkSize + 1, MaxChunkSize, true, []byteRange{
			r(0, MaxChunkSize-MinChunkSize-1), r(MaxChunkSize-MinChunkSize, 2*MaxChunkSize-2*MinChunkSize)}},
	} {
		got := partRanges(tc.size, tc.chunk, MaxParts, tc.keepMin)
		if !slices.Equal(got, tc.want) {
			t.Errorf("partRanges(%d, %d, %v) = %v, want %v", tc.size, tc.chunk, tc.keepMin, got, tc.want)
		}
		for i, p := range got {
			n := p.last - p.first + 1
			if n > MaxChunkSize || (tc.keepMin && n < MinChunkSize) {
				t.Errorf("partRanges(%d, %d, %v): part %d of %d bytes", tc.size, tc.chunk, tc.keepMin, i, n)
			}
		}
	}
}

// Objects that would take more than maxParts parts of chunk bytes get
// fewer, larger parts: S3 refuses part 10,001 of an upload.
func TestPartRangesWithinMaxParts(t *testing.T) {
	const tib = 1 << 40
	for _, tc := range []struct {
		size, chunk int64
		maxParts    int
		keepMin     bool
		want        int // parts
	}{
		{5 * tib, DefaultMultipartCopyChunkSize, MaxParts, false, MaxParts}, // Move of a 5 TiB object
		{5 * tib, DefaultMultipartCopyChunkSize, MaxParts / 2, true, MaxParts / 2},
		{12<<20 + 7, 5 << 20, 2, false, 2},
		{12<<20 + 7, 5 << 20, 3, false, 3},
	} {
		got := partRanges(tc.size, tc.chunk, tc.maxParts, tc.keepMin)
		if len(got) != tc.want {
			t.Errorf("partRanges(%d, %d, %d, %v): %d parts, want %d", tc.size, tc.chunk, tc.maxParts, tc.keepMin, len(got), tc.want)
			continue
		}
		var sum int64
		for i, p := range got {
			n := p.last - p.first + 1
			if p.first != sum || n > MaxChunkSize || (i < len(got)-1 && n < MinChunkSize) {
				t.Errorf("partRanges(%d, %d, %d, %v): part %d is %v", tc.size, tc.chunk, tc.maxParts, tc.keepMin, i, p)
			}
			sum += n
		}
		if sum != tc.size {
			t.Errorf("partRanges(%d, %d, %d, %v) covers %d bytes", tc.size, tc.chunk, tc.maxParts, tc.keepMin, sum)
		}
	}
}

// The Writer's part size doubles every tenth of the part limit, up to
// MaxChunkSize, which makes room for S3's 5 TiB object limit in 10,000
// parts of a 10 MiB ChunkSize.
func TestPartSize(t *testing.T) {
	b := &backend{cfg: Config{ChunkSize: DefaultChunkSize}, maxParts: MaxParts}
	for n, want := range map[int]int64{1: 10 << 20, 1000: 10 << 20, 1001: 20 << 20, 2001: 40 << 20, 9001: MaxChunkSize, 10000: MaxChunkSize} {
		if got := b.partSize(n); got != want {
			t.Errorf("partSize(%d) = %d, want %d", n, got, want)
		}
	}
	var total int64
	for n := 1; n <= MaxParts; n++ {
		total += b.partSize(n)
	}
	if total < 5<<40 {
		t.Errorf("%d parts hold %d bytes, less than 5 TiB", MaxParts, total)
	}
	b = &backend{cfg: Config{ChunkSize: 5 << 20}, maxParts: 3}
	if got := []int64{b.partSize(1), b.partSize(2), b.partSize(3)}; !slices.Equal(got, []int64{5 << 20, 10 << 20, 20 << 20}) {
		t.Errorf("with 3 parts: part sizes %v", got)
	}
}

// keyid without encrypt is accepted, as distribution does, and not sent:
// S3 takes a KMS key only with x-amz-server-side-encryption: aws:kms.
func TestKeyIDWithoutEncrypt(t *testing.T) {
	c, err := FromParameters(map[string]any{"bucket": "b", "region": "r", "keyid": "kms-key"})
	if err != nil {
		t.Fatalf("keyid without encrypt: %v", err)
	}
	b := &backend{cfg: c}
	var acl types.ObjectCannedACL
	var class types.StorageClass
	var sse types.ServerSideEncryption
	var keyID *string
	b.putOptions(&acl, &class, &sse, &keyID)
	if sse != "" || keyID != nil {
		t.Errorf("keyid without encrypt sends encryption %q key %v, want none", sse, keyID)
	}
	b.cfg.Encrypt = true
	b.putOptions(&acl, &class, &sse, &keyID)
	if sse != types.ServerSideEncryptionAwsKms || aws.ToString(keyID) != "kms-key" {
		t.Errorf("keyid with encrypt sends encryption %q key %v, want aws:kms kms-key", sse, aws.ToString(keyID))
	}
}

// The loglevel values are distribution's (aws-sdk-go v1's), in any case;
// YAML's false (what it reads for off) is off.
func TestLogLevels(t *testing.T) {
	for v, want := range map[any]aws.ClientLogMode{
		"off":                     0,
		false:                     0,
		"":                        0,
		"debug":                   aws.LogRequest | aws.LogResponse,
		"DEBUG":                   aws.LogRequest | aws.LogResponse,
		"debugwithhttpbody":       aws.LogRequestWithBody | aws.LogResponseWithBody,
		"debugwithrequestretries": aws.LogRequest | aws.LogResponse | aws.LogRetries,
		"debugwithrequesterrors":  aws.LogRequest | aws.LogResponse | aws.LogRetries,
		"debugwitheventstreambody": aws.LogRequest | aws.LogResponse | aws.LogRequestEventMessage |
			aws.LogResponseEventMessage,
	} {
		c, err := FromParameters(map[string]any{"bucket": "b", "region": "r", "loglevel": v})
		if err != nil || c.LogMode != want {
			t.Errorf("loglevel %#v: mode %b, %v; want %b", v, c.LogMode, err, want)
		}
	}
}

// storageclass is taken in any case and checked against distribution's
// list; NONE sends none.
func TestStorageClasses(t *testing.T) {
	for v, want := range map[string]string{"standard": "STANDARD", "Glacier_IR": "GLACIER_IR", "none": "", "NONE": "", "": ""} {
		c, err := FromParameters(map[string]any{"bucket": "b", "region": "r", "storageclass": v})
		if err != nil || c.StorageClass != want {
			t.Errorf("storageclass %q: %q, %v; want %q", v, c.StorageClass, err, want)
		}
	}
}

// secure: false means plain HTTP: to a regionendpoint without scheme, and
// to the AWS endpoint when there is none.
func TestSecureFalse(t *testing.T) {
	c, err := FromParameters(map[string]any{"bucket": "b", "region": "r", "secure": false})
	if err != nil || !c.DisableHTTPS {
		t.Errorf("secure false without regionendpoint: DisableHTTPS %v, %v", c.DisableHTTPS, err)
	}
	c, err = FromParameters(map[string]any{"bucket": "b", "regionendpoint": "https://minio:9000", "secure": false})
	if err != nil || c.DisableHTTPS || c.RegionEndpoint != "https://minio:9000" {
		t.Errorf("secure false with an https regionendpoint: %q DisableHTTPS %v, %v; want it kept", c.RegionEndpoint, c.DisableHTTPS, err)
	}
}

// pathstyle, GitLab's name of forcepathstyle, is taken, but not together
// with forcepathstyle.
func TestPathStyleAlias(t *testing.T) {
	c, err := FromParameters(map[string]any{"bucket": "b", "region": "r", "pathstyle": true})
	if err != nil || !c.ForcePathStyle {
		t.Errorf("pathstyle true: ForcePathStyle %v, %v", c.ForcePathStyle, err)
	}
	_, err = FromParameters(map[string]any{"bucket": "b", "region": "r", "pathstyle": true, "forcepathstyle": true})
	if ce, ok := errors.AsType[*driver.ConfigError](err); !ok || ce.Parameter != "pathstyle" {
		t.Errorf("pathstyle with forcepathstyle: %v, want a ConfigError naming pathstyle", err)
	}
}
