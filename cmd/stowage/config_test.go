package main

import (
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
	c, err := resolveBackend("filesystem", false, "testdata/registry.yml", params)
	if err != nil {
		t.Fatal(err)
	}
	if c.name != "s3" || c.params["bucket"] != "registry-bucket" || c.params["region"] != "eu-west-1" || c.params["accesskey"] != "AK" {
		t.Fatalf("config plus params: %+v", c)
	}

	c, err = resolveBackend("s3", true, "testdata/two-drivers.yml", nil)
	if err != nil || c.name != "s3" || c.params["bucket"] != "b" || c.params["rootdirectory"] != nil {
		t.Fatalf("--backend s3 over two drivers: %+v, %v", c, err)
	}

	c, err = resolveBackend("inmemory", true, "", paramFlag{{"k", "v"}})
	if err != nil || c.name != "inmemory" || c.params["k"] != "v" {
		t.Fatalf("no config: %+v, %v", c, err)
	}

	c, err = resolveBackend("filesystem", false, "", nil)
	if err != nil || c.name != "filesystem" || len(c.params) != 0 {
		t.Fatalf("defaults: %+v, %v", c, err)
	}

	if _, err := resolveBackend("filesystem", false, "testdata/two-drivers.yml", nil); err == nil || !strings.Contains(err.Error(), "choose one with --backend") {
		t.Fatalf("two drivers without --backend: %v", err)
	}
	if _, err := resolveBackend("inmemory", true, "testdata/registry.yml", nil); err == nil || !strings.Contains(err.Error(), "has no storage.inmemory section") {
		t.Fatalf("--backend naming another driver than the config: %v", err)
	}
}
