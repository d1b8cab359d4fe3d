package osbclient

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/osb/osbapi"
)

// Options configure a Client.
type Options struct {
	// URL of the broker, prefix included (e.g. https://asb:1338/osb).
	URL                 string
	Username, Password  string
	BearerToken         string
	HTTPClient          *http.Client
	APIVersion          string // default 2.17
	OriginatingIdentity string // raw header value
	RequestIdentity     string
}

// maxResponseBytes bounds what the client reads; a 1,000-bundle catalog is
// about 5 MB.
const maxResponseBytes = 64 << 20

// Client speaks the OSB API to a broker.
type Client struct {
	o    Options
	http *http.Client
}

// NewClient makes a Client.
func New(o Options) *Client {
	if o.APIVersion == "" {
		o.APIVersion = osbapi.APIVersion
	}
	o.URL = strings.TrimRight(o.URL, "/")
	hc := o.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: 60 * time.Second}
	}
	return &Client{o: o, http: hc}
}

// Do sends one request. body may be nil, a json.RawMessage sent verbatim,
// or any value, JSON-encoded. hdr overrides the default headers (auth,
// API version, identities, Content-Type); a header given with only empty
// values is removed, so tests can send a request without, say, the version.
func (c *Client) Do(ctx context.Context, method, path string, body any, hdr http.Header) (int, []byte, http.Header, error) {
	var rd io.Reader
	if body != nil {
		var data []byte
		if raw, ok := body.(json.RawMessage); ok {
			data = raw
		} else {
			var err error
			if data, err = json.Marshal(body); err != nil {
				return 0, nil, nil, fmt.Errorf("encoding the request: %w", err)
			}
		}
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.o.URL+path, rd)
	if err != nil {
		return 0, nil, nil, fmt.Errorf("building %s %s: %w", method, path, err)
	}
	req.Header.Set("X-Broker-API-Version", c.o.APIVersion)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	switch {
	case c.o.BearerToken != "":
		req.Header.Set("Authorization", "Bearer "+c.o.BearerToken)
	case c.o.Username != "":
		req.SetBasicAuth(c.o.Username, c.o.Password)
	}
	if c.o.OriginatingIdentity != "" {
		req.Header.Set("X-Broker-API-Originating-Identity", c.o.OriginatingIdentity)
	}
	if c.o.RequestIdentity != "" {
		req.Header.Set("X-Broker-API-Request-Identity", c.o.RequestIdentity)
	}
	for k, vs := range hdr {
		k = http.CanonicalHeaderKey(k)
		if strings.Join(vs, "") == "" {
			req.Header.Del(k)
			continue
		}
		req.Header[k] = vs
	}
	resp, err := c.http.Do(req)
	if err != nil {
		// *url.Error already names the method and URL.
		return 0, nil, nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes))
	if err != nil {
		return 0, nil, nil, fmt.Errorf("reading the response to %s %s: %w", method, path, err)
	}
	return resp.StatusCode, data, resp.Header, nil
}

// call sends a request and decodes a 2xx body into out, or returns *Error.
func (c *Client) call(ctx context.Context, method, path string, body, out any) (int, http.Header, error) {
	status, data, hdr, err := c.Do(ctx, method, path, body, nil)
	if err != nil {
		return 0, nil, err
	}
	if status < 200 || status > 299 {
		e := &osbapi.Error{Status: status}
		if json.Unmarshal(data, e) != nil || (e.Description == "" && e.Code == "") {
			// Not an OSB body (a proxy's HTML page, say): keep its start.
			text := strings.TrimSpace(string(data))
			if len(text) > 512 {
				text = text[:512] + "..."
			}
			e.Description = text
		}
		e.Status = status
		return status, hdr, e
	}
	if out != nil && len(bytes.TrimSpace(data)) > 0 {
		if err := json.Unmarshal(data, out); err != nil {
			return status, hdr, fmt.Errorf("decoding the %d response to %s %s: %w", status, method, path, err)
		}
	}
	return status, hdr, nil
}

func instancePath(id string) string { return "/v2/service_instances/" + url.PathEscape(id) }

func bindingPath(iid, bid string) string {
	return instancePath(iid) + "/service_bindings/" + url.PathEscape(bid)
}

func withQuery(path string, kv ...string) string {
	q := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] != "" {
			q.Set(kv[i], kv[i+1])
		}
	}
	if len(q) == 0 {
		return path
	}
	return path + "?" + q.Encode()
}

func incomplete(ai bool) string {
	if ai {
		return "true"
	}
	return ""
}

// Catalog fetches the catalog.
func (c *Client) Catalog(ctx context.Context) (*osbapi.Catalog, error) {
	var out osbapi.Catalog
	_, _, err := c.call(ctx, "GET", "/v2/catalog", nil, &out)
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// Provision creates an instance.
func (c *Client) Provision(ctx context.Context, id string, req *osbapi.ProvisionRequest, acceptsIncomplete bool) (*osbapi.ProvisionResponse, error) {
	var out osbapi.ProvisionResponse
	status, _, err := c.call(ctx, "PUT", withQuery(instancePath(id), "accepts_incomplete", incomplete(acceptsIncomplete)), req, &out)
	if err != nil {
		return nil, err
	}
	out.Async, out.Exists = status == http.StatusAccepted, status == http.StatusOK
	return &out, nil
}

// Update changes an instance.
func (c *Client) Update(ctx context.Context, id string, req *osbapi.UpdateRequest, acceptsIncomplete bool) (*osbapi.UpdateResponse, error) {
	var out osbapi.UpdateResponse
	status, _, err := c.call(ctx, "PATCH", withQuery(instancePath(id), "accepts_incomplete", incomplete(acceptsIncomplete)), req, &out)
	if err != nil {
		return nil, err
	}
	out.Async = status == http.StatusAccepted
	return &out, nil
}

// Deprovision deletes an instance.
func (c *Client) Deprovision(ctx context.Context, id string, req *osbapi.DeprovisionRequest, acceptsIncomplete bool) (*osbapi.DeprovisionResponse, error) {
	if req == nil {
		req = &osbapi.DeprovisionRequest{}
	}
	var out osbapi.DeprovisionResponse
	status, _, err := c.call(ctx, "DELETE", withQuery(instancePath(id), "service_id", req.ServiceID,
		"plan_id", req.PlanID, "accepts_incomplete", incomplete(acceptsIncomplete)), nil, &out)
	if err != nil {
		return nil, err
	}
	out.Async = status == http.StatusAccepted
	return &out, nil
}

// GetInstance fetches an instance; req may be nil.
func (c *Client) GetInstance(ctx context.Context, id string, req *osbapi.FetchRequest) (*osbapi.GetInstanceResponse, error) {
	if req == nil {
		req = &osbapi.FetchRequest{}
	}
	var out osbapi.GetInstanceResponse
	if _, _, err := c.call(ctx, "GET", withQuery(instancePath(id), "service_id", req.ServiceID, "plan_id", req.PlanID), nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

func lastOpQuery(path string, req *osbapi.LastOperationRequest) string {
	if req == nil {
		req = &osbapi.LastOperationRequest{}
	}
	return withQuery(path+"/last_operation", "service_id", req.ServiceID, "plan_id", req.PlanID, "operation", req.Operation)
}

func (c *Client) lastOp(ctx context.Context, path string) (*osbapi.LastOperationResponse, error) {
	var out osbapi.LastOperationResponse
	_, hdr, err := c.call(ctx, "GET", path, nil, &out)
	if err != nil {
		return nil, err
	}
	out.RetryAfter, _ = strconv.Atoi(hdr.Get("Retry-After"))
	return &out, nil
}

// LastOperation polls an instance's operation once.
func (c *Client) LastOperation(ctx context.Context, id string, req *osbapi.LastOperationRequest) (*osbapi.LastOperationResponse, error) {
	return c.lastOp(ctx, lastOpQuery(instancePath(id), req))
}

// Bind creates a binding.
func (c *Client) Bind(ctx context.Context, iid, bid string, req *osbapi.BindRequest, acceptsIncomplete bool) (*osbapi.BindResponse, error) {
	var out osbapi.BindResponse
	status, _, err := c.call(ctx, "PUT", withQuery(bindingPath(iid, bid), "accepts_incomplete", incomplete(acceptsIncomplete)), req, &out)
	if err != nil {
		return nil, err
	}
	out.Async, out.Exists = status == http.StatusAccepted, status == http.StatusOK
	return &out, nil
}

// Unbind deletes a binding.
func (c *Client) Unbind(ctx context.Context, iid, bid string, req *osbapi.UnbindRequest, acceptsIncomplete bool) (*osbapi.UnbindResponse, error) {
	if req == nil {
		req = &osbapi.UnbindRequest{}
	}
	var out osbapi.UnbindResponse
	status, _, err := c.call(ctx, "DELETE", withQuery(bindingPath(iid, bid), "service_id", req.ServiceID,
		"plan_id", req.PlanID, "accepts_incomplete", incomplete(acceptsIncomplete)), nil, &out)
	if err != nil {
		return nil, err
	}
	out.Async = status == http.StatusAccepted
	return &out, nil
}

// GetBinding fetches a binding; req may be nil.
func (c *Client) GetBinding(ctx context.Context, iid, bid string, req *osbapi.FetchRequest) (*osbapi.GetBindingResponse, error) {
	if req == nil {
		req = &osbapi.FetchRequest{}
	}
	var out osbapi.GetBindingResponse
	if _, _, err := c.call(ctx, "GET", withQuery(bindingPath(iid, bid), "service_id", req.ServiceID, "plan_id", req.PlanID), nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// BindingLastOperation polls a binding's operation once.
func (c *Client) BindingLastOperation(ctx context.Context, iid, bid string, req *osbapi.LastOperationRequest) (*osbapi.LastOperationResponse, error) {
	return c.lastOp(ctx, lastOpQuery(bindingPath(iid, bid), req))
}

// poll repeats once until the state is no longer "in progress", waiting
// interval (or the broker's Retry-After, capped so tests stay quick).
func poll(ctx context.Context, interval time.Duration, once func() (*osbapi.LastOperationResponse, error)) (*osbapi.LastOperationResponse, error) {
	for {
		lo, err := once()
		if err != nil || lo.State != osbapi.StateInProgress {
			return lo, err
		}
		wait := interval
		if ra := time.Duration(lo.RetryAfter) * time.Second; ra > wait {
			wait = min(ra, 2*interval+time.Second)
		}
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			return lo, fmt.Errorf("operation still in progress: %w", ctx.Err())
		}
	}
}

// PollLastOperation polls an instance's operation until it ends or ctx does.
func (c *Client) PollLastOperation(ctx context.Context, id string, req *osbapi.LastOperationRequest, interval time.Duration) (*osbapi.LastOperationResponse, error) {
	return poll(ctx, interval, func() (*osbapi.LastOperationResponse, error) { return c.LastOperation(ctx, id, req) })
}

// PollBindingLastOperation polls a binding's operation until it ends or ctx does.
func (c *Client) PollBindingLastOperation(ctx context.Context, iid, bid string, req *osbapi.LastOperationRequest, interval time.Duration) (*osbapi.LastOperationResponse, error) {
	return poll(ctx, interval, func() (*osbapi.LastOperationResponse, error) { return c.BindingLastOperation(ctx, iid, bid, req) })
}
