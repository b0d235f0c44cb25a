package main

import (
	"reflect"
	"strings"
	"testing"
)

func TestParamFlag(t *testing.T) {
	var p paramFlag
	for _, s := range []string{"bucket=b", "secretkey=a=b=c", "empty=", " region =eu"} {
		if err := p.Set(s); err != nil {
			t.Fatalf("Set(%q): %v", s, err)
		}
	}
	want := paramFlag{{"bucket", "b"}, {"secretkey", "a=b=c"}, {"empty", ""}, {"region", "eu"}}
	if len(p) != len(want) {
		t.Fatalf("got %v", p)
	}
	for i := range want {
		if p[i] != want[i] {
			t.Fatalf("param %d = %+v, want %+v", i, p[i], want[i])
		}
	}
	if p.String() != "bucket=b secretkey=a=b=c empty= region=eu" {
		t.Fatalf("String() = %q", p.String())
	}
	for _, bad := range []string{"novalue", "=v", " =v"} {
		if err := p.Set(bad); err == nil {
			t.Errorf("Set(%q) succeeded", bad)
		}
	}
}

func TestLoadStorageConfig(t *testing.T) {
	drivers, err := loadStorageConfig("testdata/registry.yml")
	if err != nil {
		t.Fatal(err)
	}
	if len(drivers) != 1 {
		t.Fatalf("drivers %v: the delete, maintenance and cache settings are not drivers", drivers)
	}
	s3 := drivers["s3"]
	if s3["bucket"] != "registry-bucket" || s3["regionendpoint"] != "http://127.0.0.1:9000" ||
		s3["forcepathstyle"] != true || s3["chunksize"] != 5242880 || s3["rootdirectory"] != "/registry" {
		t.Fatalf("s3 parameters %#v", s3)
	}

	drivers, err = loadStorageConfig("testdata/inmemory.yml")
	if err != nil || len(drivers) != 1 || drivers["inmemory"] == nil || len(drivers["inmemory"]) != 0 {
		t.Fatalf("inmemory.yml: %v, %v", drivers, err)
	}

	for file, want := range map[string]string{
		"testdata/no-storage.yml":    "no storage section",
		"testdata/only-settings.yml": "names no driver",
		"testdata/bad-section.yml":   "want a map of parameters",
		"testdata/broken.yml":        "broken.yml",
		"testdata/missing.yml":       "no such file",
	} {
		_, err := loadStorageConfig(file)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: err = %v, want one mentioning %q", file, err, want)
		}
	}
}

func TestResolveBackend(t *testing.T) {
	params := paramFlag{{"region", "eu-west-1"}, {"accesskey", "AK"}}
	c, err := resolveBackend("filesystem", false, "testdata/registry.yml", params, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.name != "s3" || c.params["bucket"] != "registry-bucket" || c.params["region"] != "eu-west-1" || c.params["accesskey"] != "AK" {
		t.Fatalf("config plus params: %+v", c)
	}

	c, err = resolveBackend("s3", true, "testdata/two-drivers.yml", nil, nil)
	if err != nil || c.name != "s3" || c.params["bucket"] != "b" || c.params["rootdirectory"] != nil {
		t.Fatalf("--backend s3 over two drivers: %+v, %v", c, err)
	}

	c, err = resolveBackend("inmemory", true, "", paramFlag{{"k", "v"}}, nil)
	if err != nil || c.name != "inmemory" || c.params["k"] != "v" {
		t.Fatalf("no config: %+v, %v", c, err)
	}

	c, err = resolveBackend("filesystem", false, "", nil, nil)
	if err != nil || c.name != "filesystem" || len(c.params) != 0 {
		t.Fatalf("defaults: %+v, %v", c, err)
	}

	if _, err := resolveBackend("filesystem", false, "testdata/two-drivers.yml", nil, nil); err == nil || !strings.Contains(err.Error(), "choose one with --backend") {
		t.Fatalf("two drivers without --backend: %v", err)
	}
	if _, err := resolveBackend("inmemory", true, "testdata/registry.yml", nil, nil); err == nil || !strings.Contains(err.Error(), "has no storage.inmemory section") {
		t.Fatalf("--backend naming another driver than the config: %v", err)
	}
}

// TestEnvironmentOverrides: REGISTRY_STORAGE_<DRIVER>_<KEY> variables
// override the config's parameters as distribution's parser does (keys
// matched without regard to case, new ones added in lower case, values
// read as YAML, KEY_SUB into a map), and --param overrides them.
func TestEnvironmentOverrides(t *testing.T) {
	environ := []string{
		"REGISTRY_STORAGE_S3_BUCKET=from-env",
		"REGISTRY_STORAGE_S3_SECURE=true",
		"REGISTRY_STORAGE_S3_MULTIPARTCOPYCHUNKSIZE=33554432",
		"REGISTRY_STORAGE_S3_REGION=env-region",
		"REGISTRY_STORAGE_GCS_BUCKET=not-mine",
		"REGISTRY_STORAGE_S3=ignored",
		"UNRELATED=1",
	}
	c, err := resolveBackend("", false, "testdata/registry.yml", paramFlag{{"region", "flag-region"}}, environ)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"bucket": "from-env", "secure": true, "multipartcopychunksize": 33554432, "region": "flag-region",
		"regionendpoint": "http://127.0.0.1:9000", "forcepathstyle": true, "chunksize": 5242880, "rootdirectory": "/registry",
	}
	if !reflect.DeepEqual(c.params, want) {
		t.Fatalf("params = %v\nwant %v", c.params, want)
	}

	environ = []string{
		"REGISTRY_STORAGE_STOWAGE_AZURE_ACCOUNTNAME=env-acct", // the "-" of the section's name as "_"
		"REGISTRY_STORAGE_STOWAGE_AZURE_MAX_RETRIES=10",
		"REGISTRY_STORAGE_STOWAGE_AZURE_CREDENTIALS_TYPE=client_secret",
		"REGISTRY_STORAGE_STOWAGE_AZURE_CREDENTIALS_CLIENTID=id",
		"REGISTRY_STORAGE_STOWAGE_AZURE_REALM=core.chinacloudapi.cn",
	}
	c, err = resolveBackend("", false, "testdata/azure-mixed.yml", nil, environ)
	if err != nil {
		t.Fatal(err)
	}
	want = map[string]any{
		"AccountName": "env-acct", "container": "reg", "max_retries": 10, "realm": "core.chinacloudapi.cn",
		"credentials": map[string]any{"type": "client_secret", "clientid": "id"},
	}
	if c.name != "azure" || !reflect.DeepEqual(c.params, want) {
		t.Fatalf("%s params = %v\nwant azure %v", c.name, c.params, want)
	}

	c, err = resolveBackend("inmemory", true, "", nil, []string{"REGISTRY_STORAGE_INMEMORY_CREDENTIALS_TYPE=x"})
	if err != nil || !reflect.DeepEqual(c.params, map[string]any{"credentials": map[string]any{"type": "x"}}) {
		t.Fatalf("new nested key without a config: %v, %v", c.params, err)
	}
	if _, err := resolveBackend("inmemory", true, "", nil, []string{"REGISTRY_STORAGE_INMEMORY_X=[unclosed"}); err == nil || !strings.Contains(err.Error(), "REGISTRY_STORAGE_INMEMORY_X") {
		t.Fatalf("bad YAML in a variable: %v, want an error naming it", err)
	}
}
