package registry

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"time"
)

// maxBody bounds what an API response may be, so a broken or hostile
// registry cannot exhaust memory.
const maxBody = 32 << 20

// retryable are the statuses worth another try (rate limit, server faults).
func retryable(code int) bool {
	switch code {
	case http.StatusRequestTimeout, http.StatusTooManyRequests, http.StatusInternalServerError,
		http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	}
	return false
}

// retryBackoff is how registry calls back off on 408/429/5xx and network
// flakes: 4 tries over about 1.5 s.
var retryBackoff = struct {
	Duration time.Duration
	Factor   float64
	Steps    int
}{Duration: 100 * time.Millisecond, Factor: 2.5, Steps: 4}

// getBody does one API call with retries (roundTrip) and returns the body
// of a 2xx answer.
func getBody(ctx context.Context, client *http.Client, build func() (*http.Request, error)) ([]byte, error) {
	resp, err := roundTrip(ctx, client, build)
	if err != nil {
		return nil, err
	}
	if resp.code/100 != 2 {
		return nil, resp.err()
	}
	return resp.body, nil
}

// roundTrip does one call with retries and backoff on 408/429/5xx and
// network errors, honouring Retry-After up to 5 s, and returns the first
// other answer with its body read (at most maxBody). build makes a fresh
// request per try.
func roundTrip(ctx context.Context, client *http.Client, build func() (*http.Request, error)) (*response, error) {
	return roundTripN(ctx, client, retryBackoff.Steps, build)
}

// roundTripN is roundTrip with at most tries tries.
func roundTripN(ctx context.Context, client *http.Client, tries int, build func() (*http.Request, error)) (*response, error) {
	wait := retryBackoff.Duration
	var lastErr error
	for try := 0; try < tries; try++ {
		if try > 0 {
			t := time.NewTimer(wait)
			select {
			case <-t.C:
			case <-ctx.Done():
				t.Stop()
				return nil, ctx.Err()
			}
			wait = time.Duration(float64(wait) * retryBackoff.Factor)
		}
		req, err := build()
		if err != nil {
			return nil, err
		}
		req = req.WithContext(ctx)
		resp, err := client.Do(req)
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			lastErr = err
			continue
		}
		body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
		resp.Body.Close()
		if retryable(resp.StatusCode) {
			lastErr = fmt.Errorf("%s %s: %s", req.Method, req.URL.Redacted(), resp.Status)
			if ra := resp.Header.Get("Retry-After"); ra != "" {
				if d, perr := time.ParseDuration(ra + "s"); perr == nil && d > wait && d <= 5*time.Second {
					wait = d
				}
			}
			continue
		}
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			lastErr = fmt.Errorf("%s %s: reading body: %w", req.Method, req.URL.Redacted(), err)
			continue
		}
		return &response{code: resp.StatusCode, header: resp.Header, body: body, url: req.URL.Redacted()}, nil
	}
	if tries == 1 {
		return nil, lastErr
	}
	return nil, fmt.Errorf("giving up after %d tries: %w", tries, lastErr)
}

// statusError is a non-retryable HTTP failure. It never carries the
// request's headers or body (credentials).
type statusError struct {
	method, url, status string
	code                int
}

func (e *statusError) Error() string { return fmt.Sprintf("%s %s: %s", e.method, e.url, e.status) }
