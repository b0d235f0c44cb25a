package s3

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	smithyendpoints "github.com/aws/smithy-go/endpoints"
	"github.com/aws/smithy-go/logging"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/stowage-dev/stowage/driver"
)

// newClient builds the SDK client for a normalized Config, sending every
// request through hc (CommonConfig.Client: the rate limiter and
// skipverify). It checks with the SDK's endpoint rules that the endpoint
// options go together.
func newClient(ctx context.Context, c Config, hc *http.Client) (*s3.Client, error) {
	opts := []func(*awsconfig.LoadOptions) error{
		awsconfig.WithRetryer(func() aws.Retryer { return newRetryer(c) }),
	}
	if c.Region != "" {
		opts = append(opts, awsconfig.WithRegion(c.Region))
	}
	if c.AccessKey != "" {
		opts = append(opts, awsconfig.WithCredentialsProvider(
			credentials.NewStaticCredentialsProvider(c.AccessKey, c.SecretKey, c.SessionToken)))
	}
	awsCfg, err := awsconfig.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, &driver.ConfigError{DriverName: DriverName, Err: fmt.Errorf("loading AWS configuration: %w", err)}
	}
	if awsCfg.Region == "" {
		return nil, &driver.ConfigError{DriverName: DriverName, Parameter: "region",
			Err: fmt.Errorf("required (none set and none found in the environment)")}
	}
	client := s3.NewFromConfig(awsCfg, func(o *s3.Options) {
		if c.RegionEndpoint != "" {
			o.BaseEndpoint = aws.String(c.RegionEndpoint)
		}
		o.UsePathStyle = c.ForcePathStyle
		// Set here rather than in LoadDefaultConfig, which would try to add
		// AWS_CA_BUNDLE to it and fail on a plain *http.Client.
		o.HTTPClient = hc
		if c.Checksum == ChecksumWhenSupported {
			o.RequestChecksumCalculation = aws.RequestChecksumCalculationWhenSupported
			o.ResponseChecksumValidation = aws.ResponseChecksumValidationWhenSupported
		} else {
			o.RequestChecksumCalculation = aws.RequestChecksumCalculationWhenRequired
			o.ResponseChecksumValidation = aws.ResponseChecksumValidationWhenRequired
		}
		o.DisableLogOutputChecksumValidationSkipped = true
		o.Logger = sdkLogger{l: c.Logger, requests: c.LogMode != 0}
		o.ClientLogMode = c.LogMode
		if c.UseFIPSEndpoint {
			o.EndpointOptions.UseFIPSEndpoint = aws.FIPSEndpointStateEnabled
		}
		if c.UseDualStack {
			o.EndpointOptions.UseDualStackEndpoint = aws.DualStackEndpointStateEnabled
		}
		o.UseAccelerate = c.Accelerate
		if c.DisableHTTPS && c.RegionEndpoint == "" {
			o.EndpointResolverV2 = plainHTTP{s3.NewDefaultEndpointResolverV2()}
		}
		if c.UserAgent != "" {
			o.APIOptions = append(o.APIOptions, userAgent(c.UserAgent))
		}
	})
	if err := checkEndpoint(ctx, client, c); err != nil {
		return nil, err
	}
	return client, nil
}

// checkEndpoint resolves the endpoint of c's bucket as a request would, so
// that options the SDK's endpoint rules refuse together (a custom endpoint
// with FIPS, dual-stack or Accelerate; Accelerate with path style or
// FIPS) fail New, naming the parameter, rather than every request.
func checkEndpoint(ctx context.Context, client *s3.Client, c Config) error {
	o := client.Options()
	params := s3.EndpointParameters{
		Bucket:         aws.String(c.Bucket),
		Region:         aws.String(o.Region),
		UseFIPS:        aws.Bool(c.UseFIPSEndpoint),
		UseDualStack:   aws.Bool(c.UseDualStack),
		Endpoint:       o.BaseEndpoint,
		ForcePathStyle: aws.Bool(o.UsePathStyle),
		Accelerate:     aws.Bool(c.Accelerate),
	}
	_, err := o.EndpointResolverV2.ResolveEndpoint(ctx, params)
	if err == nil {
		return nil
	}
	param := "regionendpoint"
	switch {
	case c.Accelerate:
		param = "accelerate"
	case c.UseFIPSEndpoint:
		param = "usefipsendpoint"
	case c.UseDualStack:
		param = "usedualstack"
	}
	return &driver.ConfigError{DriverName: DriverName, Parameter: param, Err: fmt.Errorf("the SDK resolves no endpoint: %w", err)}
}

// plainHTTP is an endpoint resolver whose endpoints use http instead of
// https (Config.DisableHTTPS).
type plainHTTP struct{ next s3.EndpointResolverV2 }

// ResolveEndpoint implements s3.EndpointResolverV2.
func (p plainHTTP) ResolveEndpoint(ctx context.Context, params s3.EndpointParameters) (smithyendpoints.Endpoint, error) {
	e, err := p.next.ResolveEndpoint(ctx, params)
	if err == nil && e.URI.Scheme == "https" {
		e.URI.Scheme = "http"
	}
	return e, err
}

// userAgent appends ua to the SDK's User-Agent header: each
// space-separated token, "name/version" as a key and value.
func userAgent(ua string) func(*middleware.Stack) error {
	return func(stack *middleware.Stack) error {
		for _, tok := range strings.Fields(ua) {
			var err error
			if name, version, ok := strings.Cut(tok, "/"); ok {
				err = awsmiddleware.AddUserAgentKeyValue(name, version)(stack)
			} else {
				err = awsmiddleware.AddUserAgentKey(tok)(stack)
			}
			if err != nil {
				return err
			}
		}
		return nil
	}
}

// redirectHost makes a presigned request name, and be signed for, the
// scheme and host of u instead of the endpoint's (Config.RedirectEndpoint),
// as distribution's redirectendpoint does.
func redirectHost(u *url.URL) func(*middleware.Stack) error {
	return func(stack *middleware.Stack) error {
		return stack.Finalize.Insert(middleware.FinalizeMiddlewareFunc("stowageRedirectEndpoint",
			func(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
				if req, ok := in.Request.(*smithyhttp.Request); ok {
					req.URL.Scheme, req.URL.Host = u.Scheme, u.Host
					req.Host = ""
				}
				return next.HandleFinalize(ctx, in)
			}), "ResolveEndpointV2", middleware.After)
	}
}

// newRetryer is the SDK's standard retryer with c.MaxRetries retries, 429
// added to its retryable statuses (500, 502, 503, 504, throttling codes
// and connection errors are there already), and no client-side retry quota:
// a burst of faults must not turn into errors while retries are left. A
// cancelled context stops it at once (the SDK does not retry a cancelled
// request and wakes from backoff when the context ends).
func newRetryer(c Config) aws.Retryer {
	if c.MaxRetries < 0 {
		return aws.NopRetryer{}
	}
	std := retry.NewStandard(func(o *retry.StandardOptions) {
		o.MaxAttempts = c.MaxRetries + 1
		o.MaxBackoff = c.RetryMaxBackoff
		o.RateLimiter = ratelimit.None
		o.Retryables = append(o.Retryables, retry.RetryableHTTPStatusCode{
			Codes: map[int]struct{}{http.StatusTooManyRequests: {}},
		})
		if c.RetryBaseDelay > 0 {
			o.Backoff = sdkBackoff{c.Backoff()}
		}
	})
	return observedRetryer{RetryerV2: std, events: c.Events()}
}

// observedRetryer reports each retry of the SDK to the Observer: the SDK
// calls RetryDelay once before each retry, after it decided to retry.
type observedRetryer struct {
	aws.RetryerV2
	events driver.Observer
}

// RetryDelay implements aws.Retryer.
func (r observedRetryer) RetryDelay(attempt int, err error) (time.Duration, error) {
	r.events.Retried(DriverName, err)
	return r.RetryerV2.RetryDelay(attempt, err)
}

// sdkBackoff gives the SDK's retryer driver.Backoff, the full-jitter
// exponential backoff of Config.RetryBaseDelay.
type sdkBackoff struct{ driver.Backoff }

// BackoffDelay implements retry.BackoffDelayer.
func (b sdkBackoff) BackoffDelay(attempt int, _ error) (time.Duration, error) {
	return b.Delay(attempt), nil
}

// sdkLogger sends the SDK's log lines to the driver's slog.Logger: its
// warnings (e.g. a response body it could not drain after a dropped
// connection) as Debug, since the driver reports what matters itself, and
// the request logs that Config.LogMode asked for as Info.
type sdkLogger struct {
	l        *slog.Logger
	requests bool
}

// Logf implements logging.Logger.
func (s sdkLogger) Logf(c logging.Classification, format string, v ...any) {
	level := slog.LevelDebug
	if s.requests && c == logging.Debug {
		level = slog.LevelInfo
	}
	s.l.Log(context.Background(), level, "s3: SDK: "+fmt.Sprintf(format, v...), "level", string(c))
}

// contentMD5 makes an operation that requires a checksum send Content-MD5
// instead of an x-amz-checksum-* header (Config.Checksum == ChecksumMD5).
func contentMD5(stack *middleware.Stack) error {
	stack.Initialize.Remove("AWSChecksum:SetupInputContext")
	stack.Finalize.Remove("AWSChecksum:ComputeInputPayloadChecksum")
	return smithyhttp.AddContentChecksumMiddleware(stack)
}
