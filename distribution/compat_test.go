package distribution_test

import (
	"log/slog"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/distribution/distribution/v3/configuration"

	"github.com/stowage-dev/stowage/azure"
	"github.com/stowage-dev/stowage/filesystem"
	"github.com/stowage-dev/stowage/gcs"
	"github.com/stowage-dev/stowage/internal/recorder"
	"github.com/stowage-dev/stowage/s3"
	"github.com/stowage-dev/stowage/swift"
)

// fromParameters is each backend's FromParameters, its Config as any.
var fromParameters = map[string]func(map[string]any) (any, error){
	"s3":         func(p map[string]any) (any, error) { return s3.FromParameters(p) },
	"gcs":        func(p map[string]any) (any, error) { return gcs.FromParameters(p) },
	"azure":      func(p map[string]any) (any, error) { return azure.FromParameters(p) },
	"swift":      func(p map[string]any) (any, error) { return swift.FromParameters(p) },
	"filesystem": func(p map[string]any) (any, error) { return filesystem.FromParameters(p) },
}

// TestDistributionConfigsWorkUnchanged parses real distribution registry
// configurations (testdata/compat, every documented parameter of each
// driver set) with distribution's own configuration parser, environment
// overrides included, and hands the storage section to the stowage
// backend of the same name: it must take every parameter without a
// warning (none unknown, none ignored) and set the Config fields the
// parameters name.
func TestDistributionConfigsWorkUnchanged(t *testing.T) {
	for _, tc := range []struct {
		file string
		env  map[string]string
		want map[string]any // Config field (promoted fields too) -> value
	}{
		{"s3.yml", map[string]string{"REGISTRY_STORAGE_S3_BUCKET": "from-env"}, map[string]any{
			"Bucket": "from-env", "Region": "us-west-1", "RegionEndpoint": "http://127.0.0.1:9000", "ForcePathStyle": true,
			"AccessKey": "AKIAEXAMPLE", "Encrypt": true, "KeyID": "arn:aws:kms:us-west-1:123456789012:key/example",
			"SkipVerify": true, "ChunkSize": int64(5242880), "MultipartCopyChunkSize": int64(33554432),
			"MultipartCopyMaxConcurrency": 100, "MultipartCopyThresholdSize": int64(33554432),
			"RootDirectory": "s3/object/name/prefix", "StorageClass": "STANDARD", "ObjectACL": "bucket-owner-full-control",
		}},
		{"azure-shared-key.yml", map[string]string{"REGISTRY_STORAGE_AZURE_CONTAINER": "from-env"}, map[string]any{
			"AccountName": "accountname", "Container": "from-env", "Realm": "core.windows.net",
			"ServiceURL": "https://accountname.blob.core.windows.net", "MaxRetries": 10,
			"RootDirectory": "az/object/name/prefix", "RetryBaseDelay": 100 * time.Millisecond,
		}},
		{"azure-client-secret.yml", nil, map[string]any{"AccountName": "accountname", "Container": "containername"}},
		{"azure-default-credentials.yml", nil, map[string]any{"AccountName": "accountname"}},
		{"azure-connection-string.yml", nil, map[string]any{
			"AccountName": "devstoreaccount1", "ServiceURL": "http://127.0.0.1:10000/devstoreaccount1", "Container": "containername",
		}},
		{"gcs.yml", map[string]string{"REGISTRY_STORAGE_GCS_CHUNKSIZE": "10485760"}, map[string]any{
			"Bucket": "registry-bucket", "RootDirectory": "gcs/object/name/prefix", "ChunkSize": int64(10485760), "MaxConcurrency": 50,
		}},
		{"swift.yml", nil, map[string]any{
			"AuthURL": "https://keystone.example.com/v3", "UserName": "registry", "AuthVersion": 3, "EndpointType": "public", "TenantDomain": "Default", "Container": "registry",
			"TenantID": "123456", "Region": "RegionOne", "RootDirectory": "swift/object/name/prefix",
		}},
		{"filesystem.yml", map[string]string{"REGISTRY_STORAGE_FILESYSTEM_MAXTHREADS": "50"}, map[string]any{
			"RootDirectory": "/var/lib/registry", "MaxThreads": 50,
		}},
	} {
		t.Run(tc.file, func(t *testing.T) {
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			f, err := os.Open("testdata/compat/" + tc.file)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			cfg, err := configuration.Parse(f)
			if err != nil {
				t.Fatalf("distribution's parser: %v", err)
			}
			name := cfg.Storage.Type()
			params := map[string]any{}
			for k, v := range cfg.Storage.Parameters() {
				params[k] = v
			}
			logs := &recorder.Logs{MinLevel: slog.LevelWarn}
			params["logger"] = logs.Logger()
			c, err := fromParameters[name](params)
			if err != nil {
				t.Fatalf("%s.FromParameters: %v", name, err)
			}
			if len(logs.Messages()) > 0 {
				t.Errorf("warnings: %q, want none: every parameter of distribution's %s driver is known", logs.Messages(), name)
			}
			v := reflect.ValueOf(c)
			for field, want := range tc.want {
				got := v.FieldByName(field)
				if !got.IsValid() {
					t.Errorf("%T has no field %s", c, field)
					continue
				}
				if !reflect.DeepEqual(got.Interface(), want) {
					t.Errorf("%s = %#v, want %#v", field, got.Interface(), want)
				}
			}
		})
	}
}

// TestDistributionConfigTypos: a key stowage does not know gets one
// warning naming it, and one spelled in another case is honoured with a
// warning, never ignored in silence.
func TestDistributionConfigTypos(t *testing.T) {
	yml := "version: 0.1\nstorage:\n  s3:\n    bucket: b\n    region: us-east-1\n    RootDirectory: /mixed\n    rootdir: /typo\n    bukket: x\n"
	cfg, err := configuration.Parse(strings.NewReader(yml))
	if err != nil {
		t.Fatal(err)
	}
	params := map[string]any{}
	for k, v := range cfg.Storage.Parameters() {
		params[k] = v
	}
	logs := &recorder.Logs{MinLevel: slog.LevelWarn}
	params["logger"] = logs.Logger()
	c, err := s3.FromParameters(params)
	if err != nil {
		t.Fatal(err)
	}
	if c.RootDirectory != "mixed" {
		t.Errorf("RootDirectory = %q: the mixed-case key was not honoured", c.RootDirectory)
	}
	want := []string{`s3: parameter "RootDirectory" taken as "rootdirectory" (parameters are lower case)`, "s3: unknown parameters ignored: bukket, rootdir"}
	if !reflect.DeepEqual(logs.Messages(), want) {
		t.Errorf("warnings = %q\nwant %q", logs.Messages(), want)
	}
}
