package registry

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// Docker Hub's defaults; config url replaces both (a test server, a mirror
// speaking the Hub API and the registry API on one address).
const (
	hubAPI      = "https://hub.docker.com"
	hubRegistry = "index.docker.io"
	// maxPages bounds paginated listings (100 per page: 100,000 repos).
	maxPages = 1000
)

// newDockerHub lists an org's repositories through the Hub API, then reads
// them through the registry v2 API with token auth.
func newDockerHub(c Config, o Options) (*v2, error) {
	if err := checkTag(c.Tag); err != nil {
		return nil, err
	}
	cs, err := newCredSource(c, o)
	if err != nil {
		return nil, err
	}
	api := hubAPI
	host, schemes := hubRegistry, []string{"https"}
	if c.URL != "" {
		u, err := parseURL(c.URL)
		if err != nil {
			return nil, err
		}
		api = strings.TrimSuffix(u.Scheme+"://"+u.Host+u.Path, "/")
		host, schemes = u.Host, []string{u.Scheme}
	}
	client := &http.Client{Transport: transportFor(c, o), Timeout: o.HTTPClient.Timeout}
	v := &v2{
		regName: c.Name, host: host, schemes: schemes, imageHost: host, tag: c.Tag, images: c.Images,
		creds: cs, hc: client, log: o.Logger,
	}
	if c.URL == "" {
		v.imageHost = "docker.io"
	}
	v.lister = func(ctx context.Context, cr creds) ([]string, error) {
		return hubList(ctx, client, api, c.Org, cr)
	}
	return v, nil
}

// hubList pages through GET /v2/repositories/<org>/, logged in with
// POST /v2/users/login/ when credentials are set.
func hubList(ctx context.Context, client *http.Client, api, org string, cr creds) ([]string, error) {
	var authz string
	if cr.User != "" {
		body, err := json.Marshal(map[string]string{"username": cr.User, "password": cr.Pass})
		if err != nil {
			return nil, err
		}
		out, err := getBody(ctx, client, func() (*http.Request, error) {
			req, err := http.NewRequest(http.MethodPost, api+"/v2/users/login/", bytes.NewReader(body))
			if err == nil {
				req.Header.Set("Content-Type", "application/json")
			}
			return req, err
		})
		if err != nil {
			return nil, fmt.Errorf("docker hub login: %w", err)
		}
		var tok struct {
			Token string `json:"token"`
		}
		if err := json.Unmarshal(out, &tok); err != nil || tok.Token == "" {
			return nil, errors.New("docker hub login: no token in the response")
		}
		authz = "JWT " + tok.Token
	}
	next := api + "/v2/repositories/" + url.PathEscape(org) + "/?page_size=100"
	base, _ := url.Parse(api)
	var names []string
	for page := 0; next != ""; page++ {
		if page == maxPages {
			return nil, fmt.Errorf("docker hub listing: more than %d pages", maxPages)
		}
		// Follow next only on the API's own host, so a forged link cannot
		// take the login token elsewhere.
		nu, err := url.Parse(next)
		if err != nil || nu.Host != base.Host {
			return nil, fmt.Errorf("docker hub listing: next page %q is not on %s", next, base.Host)
		}
		out, err := getBody(ctx, client, func() (*http.Request, error) {
			req, err := http.NewRequest(http.MethodGet, next, nil)
			if err == nil && authz != "" {
				req.Header.Set("Authorization", authz)
			}
			return req, err
		})
		if err != nil {
			return nil, fmt.Errorf("docker hub listing: %w", err)
		}
		var p struct {
			Next    string `json:"next"`
			Results []struct {
				Name      string `json:"name"`
				Namespace string `json:"namespace"`
			} `json:"results"`
		}
		if err := json.Unmarshal(out, &p); err != nil {
			return nil, fmt.Errorf("docker hub listing: %w", err)
		}
		for _, r := range p.Results {
			ns := r.Namespace
			if ns == "" {
				ns = org
			}
			names = append(names, ns+"/"+r.Name)
		}
		next = p.Next
	}
	return names, nil
}
