package azure

import (
	"fmt"
	"strings"

	"github.com/stowage-dev/stowage/driver"
)

func init() { driver.RegisterConfig(DriverName, FromParameters, New) }

// FromParameters builds a Config from distribution-style parameters (the
// `storage.azure` section of a registry configuration), so an existing
// registry configuration works unchanged:
//
//	accountname                  required
//	accountkey                   required: the shared key (base64)
//	container                    required; must exist
//	realm                        default core.windows.net
//	serviceurl                   blob endpoint, default https://<accountname>.blob.<realm>
//	                             (for Azurite: http://127.0.0.1:10000/devstoreaccount1)
//	rootdirectory                blob name prefix of every path
//	chunksize                    Writer block size, <= 4000 MiB (default 8 MiB)
//	maxretries                   retries after a failed attempt (default 5; 0 disables)
//	maxconcurrency               blob batch requests in flight (default 10)
//	deletebatchsize              blobs per batch, capped at 256 (default 256)
//	copy_status_poll_delay       first wait for a pending Move copy (default 100ms)
//	copy_status_poll_max_retry   polls of a pending Move copy (default 20)
//	httpclient                   an *http.Client (driver.HTTPClientParam)
//
// Only shared key authentication is supported: distribution's
// "credentials" with a type other than shared_key, and "connectionstring",
// give a *driver.ConfigError rather than being silently ignored.
// rootdirectory, maxretries, maxconcurrency, deletebatchsize and httpclient
// are driver.CommonConfig's, read by its ReadParameters. Sizes
// accept suffixes such as "8mb" (see driver.Params). Other unknown
// parameters are ignored, as distribution does.
func FromParameters(params map[string]any) (Config, error) {
	var c Config
	f := c.CommonConfig.Fields(DriverName, params)
	var conn string
	f.String("accountname", &c.AccountName)
	f.String("accountkey", &c.AccountKey)
	f.String("container", &c.Container)
	f.String("realm", &c.Realm)
	f.String("serviceurl", &c.ServiceURL)
	f.String("connectionstring", &conn)
	f.Positive64("chunksize", &c.ChunkSize)
	f.Positive("copy_status_poll_max_retry", &c.CopyStatusPollMaxRetry)
	f.Duration("copy_status_poll_delay", &c.CopyStatusPollDelay)
	if err := f.Err(); err != nil {
		return c, err
	}
	if conn != "" {
		return c, &driver.ConfigError{DriverName: DriverName, Parameter: "connectionstring",
			Err: fmt.Errorf("not supported: give accountname, accountkey and serviceurl")}
	}
	if v, ok := params["credentials"]; ok && v != nil {
		if m, ok := v.(map[string]any); ok {
			if t, _ := m["type"].(string); t != "" && !strings.EqualFold(t, "shared_key") {
				return c, &driver.ConfigError{DriverName: DriverName, Parameter: "credentials",
					Err: fmt.Errorf("type %q not supported: only shared_key (accountkey)", t)}
			}
		}
	}
	return c.normalize()
}
