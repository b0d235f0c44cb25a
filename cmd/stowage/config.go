package main

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/stowage-dev/stowage/driver"
)

// param is one --param key=value.
type param struct{ key, value string }

// paramFlag collects repeated --param key=value flags, in order.
type paramFlag []param

// String implements flag.Value.
func (p *paramFlag) String() string {
	var parts []string
	for _, kv := range *p {
		parts = append(parts, kv.key+"="+kv.value)
	}
	return strings.Join(parts, " ")
}

// Set implements flag.Value: "key=value", the value may be empty or hold
// "=" itself.
func (p *paramFlag) Set(s string) error {
	k, v, ok := strings.Cut(s, "=")
	k = strings.TrimSpace(k)
	if !ok || k == "" {
		return fmt.Errorf("want key=value, got %q", s)
	}
	*p = append(*p, param{k, v})
	return nil
}

// storageSettings are the keys of distribution's storage section that
// configure the registry, not a driver.
var storageSettings = map[string]bool{"delete": true, "maintenance": true, "cache": true, "redirect": true, "tag": true}

// storageConfig is a distribution-style configuration file: only its
// storage section is read.
type storageConfig struct {
	Storage map[string]any `yaml:"storage"`
}

// loadStorageConfig reads the storage section of a distribution-style
// configuration file and returns its driver sections by name (usually
// exactly one), each with its parameters.
func loadStorageConfig(path string) (map[string]map[string]any, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	var c storageConfig
	if err := yaml.Unmarshal(b, &c); err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	if c.Storage == nil {
		return nil, fmt.Errorf("config %s: no storage section (want storage: <driver>: <parameters>)", path)
	}
	drivers := map[string]map[string]any{}
	for name, v := range c.Storage {
		if storageSettings[name] {
			continue
		}
		switch v := v.(type) {
		case nil:
			drivers[name] = map[string]any{}
		case map[string]any:
			drivers[name] = v
		default:
			return nil, fmt.Errorf("config %s: storage.%s: want a map of parameters, got %T", path, name, v)
		}
	}
	if len(drivers) == 0 {
		return nil, fmt.Errorf("config %s: the storage section names no driver", path)
	}
	return drivers, nil
}

// backendChoice is the resolved backend: its name and parameters.
type backendChoice struct {
	name   string
	params map[string]any
}

// resolveBackend combines --backend, --config, the environment and
// --param: the config's driver section gives the backend and its
// parameters unless --backend names another one (an error, since the
// config would be ignored); REGISTRY_STORAGE_<DRIVER>_<KEY> variables in
// environ override the config's parameters (see envOverrides), and --param
// values override both. A section named as distribution's adapter
// registers it ("stowage-s3") opens the backend it wraps ("s3").
func resolveBackend(backend string, backendSet bool, configPath string, params paramFlag, environ []string) (backendChoice, error) {
	choice := backendChoice{name: backend, params: map[string]any{}}
	if configPath != "" {
		drivers, err := loadStorageConfig(configPath)
		if err != nil {
			return choice, err
		}
		names := make([]string, 0, len(drivers))
		for n := range drivers {
			names = append(names, n)
		}
		sort.Strings(names)
		switch {
		case backendSet:
			p, ok := drivers[backend]
			if !ok {
				return choice, fmt.Errorf("config %s has no storage.%s section (it has %s)", configPath, backend, strings.Join(names, ", "))
			}
			choice.params = p
		case len(drivers) > 1:
			return choice, fmt.Errorf("config %s names several drivers (%s); choose one with --backend", configPath, strings.Join(names, ", "))
		default:
			choice.name = names[0]
			choice.params = drivers[names[0]]
		}
	}
	if choice.name == "" {
		return choice, errors.New("no backend named")
	}
	section := choice.name
	if name, ok := strings.CutPrefix(choice.name, "stowage-"); ok && slices.Contains(driver.Registered(), name) {
		choice.name = name
	}
	if err := envOverrides(choice.params, section, environ); err != nil {
		return choice, err
	}
	for _, kv := range params {
		choice.params[kv.key] = kv.value
	}
	return choice, nil
}

// envOverrides applies the REGISTRY_STORAGE_<DRIVER>_<KEY>=value variables
// of environ to params, the parameters of the storage section named
// section, as distribution's configuration parser does: DRIVER is the
// section's name in upper case ("-" also as "_"), a KEY matches an
// existing parameter without regard to case, and a KEY that matches none
// adds one in lower case; KEY_SUB sets sub in the map parameter KEY
// (REGISTRY_STORAGE_AZURE_CREDENTIALS_TYPE), and a key that holds "_"
// itself (max_retries) is matched whole first. Values are read as YAML, so
// "true" and "10" are a boolean and a number.
func envOverrides(params map[string]any, section string, environ []string) error {
	prefixes := []string{"REGISTRY_STORAGE_" + strings.ToUpper(section) + "_"}
	if alt := strings.ReplaceAll(prefixes[0], "-", "_"); alt != prefixes[0] {
		prefixes = append(prefixes, alt)
	}
	for _, kv := range environ {
		name, value, ok := strings.Cut(kv, "=")
		if !ok {
			continue
		}
		for _, prefix := range prefixes {
			key, ok := strings.CutPrefix(name, prefix)
			if !ok || key == "" {
				continue
			}
			var v any
			if err := yaml.Unmarshal([]byte(value), &v); err != nil {
				return fmt.Errorf("environment variable %s: %w", name, err)
			}
			setEnvParam(params, key, v)
			break
		}
	}
	return nil
}

// setEnvParam sets the parameter the upper-case key path names in m (see
// envOverrides).
func setEnvParam(m map[string]any, key string, v any) {
	for k := range m {
		if strings.ToUpper(k) == key {
			m[k] = v
			return
		}
	}
	head, rest, nested := strings.Cut(key, "_")
	if nested && rest != "" {
		for k, sub := range m {
			if strings.ToUpper(k) == head {
				if sm, ok := sub.(map[string]any); ok {
					setEnvParam(sm, rest, v)
					return
				}
			}
		}
		sm := map[string]any{}
		setEnvParam(sm, rest, v)
		m[strings.ToLower(head)] = sm
		return
	}
	m[strings.ToLower(key)] = v
}
